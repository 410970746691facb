//! The transport under a bad day, over real SSH on the testbed's last host: a full `/tmp`,
//! become passwords with real `sudo` and `su`, runs killed at random points, Ctrl-C. Host names
//! come from the inventory; files, users and sudoers rules carry a nonce and are removed after.

use std::path::Path;

use crate::e2e_modules::nonce;
use crate::support::run::{scratch, Done, Run};
use crate::support::testbed::{testbed, TbHost, Testbed};

/// The host these tests use: the last one, so that a small testbed (one or two hosts) works.
fn host(tb: &Testbed) -> &TbHost {
    tb.hosts.last().expect("the testbed has hosts")
}

fn troupe(tb: &Testbed, dir: &Path, extra: &[&str]) -> Run {
    let inventory = tb.inventory.to_string_lossy().into_owned();
    Run::new().in_dir(dir).args(["-i", inventory.as_str(), "-l", host(tb).name.as_str(), "site.yml"]).args(extra)
}

/// Runs `command` on the host when dropped, so a failing test still cleans up.
struct Cleanup<'a> {
    tb: &'a Testbed,
    command: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.tb.run(host(self.tb), &self.command);
    }
}

fn failed(done: &Done, host: &str) -> u32 {
    done.recap(host)[3]
}

const COPY_PLAY: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - copy: {src: payload.txt, dest: "{{ d }}/dest"}
"#;

/// 14.1: the shell's stdin spool lives in /tmp; with /tmp full the copy fails with the reason,
/// the destination keeps its old content and no byte of the file is run as a command.
#[test]
fn full_tmp_fails_the_copy_and_runs_no_payload() {
    let Some(tb) = testbed(1) else { return };
    // A small /tmp over the host's own would disturb other tests' shells: run alone.
    let _alone = tb.exclusive();
    let h = host(tb);
    let d = format!("/var/tmp/troupe-e2e-spool-{}", nonce());
    let _cleanup = Cleanup { tb, command: format!("umount /tmp; rm -rf {d}") };
    tb.ok(h, &format!("mkdir -p {d} && echo old > {d}/dest"));
    tb.ok(h, "mount -t tmpfs -o size=20m tmpfs /tmp && head -c 19m /dev/zero > /tmp/filler");
    let line = format!("touch {d}/ran\n");
    let payload = line.repeat(5 * 1024 * 1024 / line.len());
    let dir = scratch(&[("site.yml", COPY_PLAY), ("payload.txt", &payload)]);
    let done = troupe(tb, dir.path(), &["-e", &format!("d={d}")]).code(2);
    done.stdout_has("No space left on device");
    assert_eq!(failed(&done, &h.name), 1);
    assert_eq!(tb.ok(h, &format!("cat {d}/dest")), "old");
    assert_eq!(tb.on(h, &format!("test -e {d}/ran")).status, Some(1), "the shell ran payload lines");
    assert_eq!(tb.ok(h, &format!("ls -A {d}")), "dest", "no temporary file left");
}

const BECOME_PLAY: &str = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: "{{ who }}"
  become_method: "{{ method }}"
  tasks:
    - copy: {content: "hello\n", dest: "{{ d }}/{{ name }}"}
    - shell: cat; id -un
      register: cat
    - assert:
        that: ["cat.stdout == who"]
"#;

/// 14.2: the become password reaches `sudo`/`su` only when they ask; otherwise the command's
/// stdin (a copied file, `cat`) would start with it.
#[test]
fn become_password_reaches_only_a_prompt() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let h = host(tb);
    let n = nonce();
    let (free, asked) = (format!("tpf{n}"), format!("tpa{n}"));
    let d = format!("/var/tmp/troupe-e2e-become-{n}");
    let _cleanup = Cleanup {
        tb,
        command: format!(
            "rm -rf {d} /etc/sudoers.d/{free} /etc/sudoers.d/{asked}; userdel -r {free}; userdel -r {asked}"
        ),
    };
    assert!(tb.on(h, "command -v sudo").success(), "sudo is missing: run tests/testbed/install-deps.sh");
    for (user, rule) in [(&free, "NOPASSWD: ALL"), (&asked, "ALL")] {
        tb.ok(
            h,
            &format!(
                "useradd -m -s /bin/sh {user} && echo '{user}:pw-{user}' | chpasswd && \
                 mkdir -p /home/{user}/.ssh && cp /root/.ssh/authorized_keys /home/{user}/.ssh/ && \
                 chown -R {user} /home/{user}/.ssh && echo '{user} ALL=(ALL) {rule}' > /etc/sudoers.d/{user} && \
                 chmod 0440 /etc/sudoers.d/{user}"
            ),
        );
    }
    tb.ok(h, &format!("mkdir -p {d} && chmod 1777 {d}"));
    let dir = scratch(&[("site.yml", BECOME_PLAY)]);
    // (case, login user, method, become user, password)
    let cases = [
        ("root-su", "root", "su", "root", "not-asked-for".to_string()),
        ("nopasswd-sudo", free.as_str(), "sudo", "root", format!("pw-{free}")),
        ("asked-sudo", asked.as_str(), "sudo", "root", format!("pw-{asked}")),
        ("asked-su", asked.as_str(), "su", free.as_str(), format!("pw-{free}")),
    ];
    for (name, user, method, who, password) in &cases {
        let vars = format!(
            "d={d} name={name} who={who} method={method} ansible_user={user} ansible_become_password={password}"
        );
        let done = troupe(tb, dir.path(), &["-e", &vars, "-v"]).run();
        assert_eq!(done.out.status.code(), Some(0), "{name}\n{}\n{}", done.stdout, done.stderr);
        assert!(!done.stdout.contains(password.as_str()), "{name}: password in the output\n{}", done.stdout);
        assert_eq!(tb.ok(h, &format!("cat {d}/{name}")), "hello", "{name}: the file holds more than its content");
    }
}

const OVERLAP_PLAY: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - shell: sleep 3; echo "$TOKEN"
      environment: {TOKEN: "{{ token }}"}
      delegate_to: "{{ groups.all | last }}"
    - shell: sleep 3; echo "$TOKEN"
      environment: {TOKEN: "{{ token }}"}
      delegate_to: "{{ groups.all | last }}"
      become: true
      become_method: su
"#;

/// 14.13: every host delegates to the last one at once, so its commands overlap (one on the
/// persistent shell, the others on channels of their own), with and without become: the
/// script, `export TOKEN=…` included, never shows in the host's process list.
#[test]
fn scripts_stay_off_the_command_line_when_commands_overlap() {
    let Some(tb) = testbed(2) else { return };
    let _steady = tb.shared();
    let h = host(tb);
    let token = format!("s3cret{}", nonce());
    let dir = scratch(&[("site.yml", OVERLAP_PLAY)]);
    let inventory = tb.inventory.to_string_lossy().into_owned();
    let mut child = std::process::Command::new(crate::support::run::troupe_bin())
        .args(["-i", inventory.as_str(), "site.yml", "-e", &format!("token={token}")])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("troupe");
    let (mut seen, mut polls) = (Vec::new(), 0);
    while child.try_wait().expect("wait").is_none() {
        let ps = tb.ok(h, "ps -eo args");
        polls += 1;
        seen.extend(ps.lines().filter(|l| l.contains(&token)).map(String::from));
    }
    let out = child.wait_with_output().expect("troupe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(polls >= 3, "the run was too short to look at ({polls} polls)");
    assert!(seen.is_empty(), "the script is on a command line on {}: {seen:?}", h.name);
}

/// Processes on this machine that belong to the troupe run `pid` (its ssh masters hold
/// sockets in `/tmp/troupe-<uid>-<pid>/`).
fn masters_of(pid: u32) -> Vec<String> {
    let mark = format!("-{pid}/.ssh-connection");
    let entries = std::fs::read_dir("/proc").map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    entries
        .iter()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&mark))
        .collect()
}

fn control_dir_of(pid: u32) -> bool {
    std::fs::read_dir("/tmp")
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with(&format!("-{pid}"))))
        .unwrap_or(false)
}

/// Waits (a few seconds: a shell ends once the command it runs does) until the host holds
/// no shell or shell folder that was not there `before`.
fn same_leftovers(tb: &Testbed, before: &std::collections::BTreeSet<String>, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
    let mut new: Vec<String> = leftovers(tb).difference(before).cloned().collect();
    while !new.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(250));
        new = leftovers(tb).difference(before).cloned().collect();
    }
    assert!(new.is_empty(), "{what} left shells or folders on {}: {new:?}", host(tb).name);
}

/// What a run may leave on the host: its shells' folders and the shells themselves.
fn leftovers(tb: &Testbed) -> std::collections::BTreeSet<String> {
    let text =
        tb.ok(host(tb), "ls -d /tmp/.troupe.* 2>/dev/null; ps -eo pid=,args= | grep -E '^ *[0-9]+ /bin/sh$' || true");
    text.lines().map(|l| l.trim().to_string()).collect()
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill").args([sig, &pid.to_string()]).status().expect("kill");
    assert!(ok.success());
}

const SLOW_PLAY: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - shell: sleep 3; echo first
    - shell: touch {{ d }}/second
"#;

/// 14.4 and 13.6: a normal run leaves nothing behind; one Ctrl-C lets the running task
/// finish, starts no other, prints the recap and exits 99; a second Ctrl-C, or SIGTERM, ends
/// at once. Every way out closes the masters (here) and the remote shells (on the host).
#[test]
fn every_way_out_closes_masters_and_shells() {
    let Some(tb) = testbed(1) else { return };
    // Counting the host's shells needs no other run on it.
    let _alone = tb.exclusive();
    let h = host(tb);
    let d = format!("/var/tmp/troupe-e2e-int-{}", nonce());
    let _cleanup = Cleanup { tb, command: format!("rm -rf {d}") };
    tb.ok(h, &format!("mkdir -p {d}"));
    let dir = scratch(&[("site.yml", SLOW_PLAY)]);
    let inventory = tb.inventory.to_string_lossy().into_owned();
    let before = leftovers(tb);
    let start = || {
        std::process::Command::new(crate::support::run::troupe_bin())
            .args(["-i", inventory.as_str(), "-l", h.name.as_str(), "site.yml", "-e", &format!("d={d}")])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("troupe")
    };
    let settle = || std::thread::sleep(std::time::Duration::from_millis(1500));

    let normal = start();
    let pid = normal.id();
    let out = normal.wait_with_output().expect("troupe");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!control_dir_of(pid), "/tmp/troupe-*-{pid} left after a normal run");
    assert!(masters_of(pid).is_empty(), "{:?}", masters_of(pid));
    tb.ok(h, &format!("rm -f {d}/second"));
    same_leftovers(tb, &before, "a normal run");

    // One Ctrl-C during the first task.
    let child = start();
    let pid = child.id();
    settle();
    assert!(!masters_of(pid).is_empty(), "no master to close: the test saw nothing");
    signal(pid, "-INT");
    let out = child.wait_with_output().expect("troupe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("first") || stdout.contains("changed: ["), "the running task finished: {stdout}");
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
    assert_eq!(tb.on(h, &format!("test -e {d}/second")).status, Some(1), "a task started after Ctrl-C");
    assert!(masters_of(pid).is_empty() && !control_dir_of(pid), "{:?}", masters_of(pid));
    same_leftovers(tb, &before, "Ctrl-C");

    // Twice, and SIGTERM: out at once, masters closed all the same.
    for (signals, code) in [(&["-INT", "-INT"][..], 99), (&["-TERM"][..], 143)] {
        let child = start();
        let pid = child.id();
        settle();
        let t = std::time::Instant::now();
        for s in signals {
            signal(pid, s);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let out = child.wait_with_output().expect("troupe");
        assert_eq!(out.status.code(), Some(code), "{signals:?}");
        assert!(t.elapsed() < std::time::Duration::from_secs(1), "{signals:?} took {:?}", t.elapsed());
        assert!(masters_of(pid).is_empty() && !control_dir_of(pid), "{signals:?}: {:?}", masters_of(pid));
        same_leftovers(tb, &before, &format!("{signals:?}"));
    }
}

const KILL_PLAY: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - copy: {src: new.bin, dest: "{{ d }}/copied"}
    - template: {src: new.j2, dest: "{{ d }}/rendered"}
"#;

/// 14.3: copy and template runs SIGKILLed at random points, 50 times: each destination is
/// always wholly old or wholly new, never a part of the new file.
#[test]
fn killed_runs_leave_files_wholly_old_or_new() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let h = host(tb);
    let d = format!("/var/tmp/troupe-e2e-kill-{}", nonce());
    let _cleanup = Cleanup { tb, command: format!("rm -rf {d}") };
    // Big enough that a kill often lands while the bytes are on their way.
    let copied: String = (0..60_000).map(|i| format!("copy line {i:08}\n")).collect();
    let rendered: String = (0..40_000).map(|i| format!("template line {i:08} {{{{ x }}}}\n")).collect();
    let dir = scratch(&[("site.yml", KILL_PLAY), ("new.bin", &copied), ("new.j2", &rendered)]);
    let new_rendered = rendered.replace("{{ x }}", "y");
    let sha = |text: &str| {
        use std::io::Write;
        let mut c = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sha256sum");
        c.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
        String::from_utf8_lossy(&c.wait_with_output().expect("sha").stdout)[..64].to_string()
    };
    let old = sha("old\n");
    let wanted = [(format!("{d}/copied"), sha(&copied)), (format!("{d}/rendered"), sha(&new_rendered))];
    let inventory = tb.inventory.to_string_lossy().into_owned();
    let reset = format!("mkdir -p {d} && echo old > {d}/copied && echo old > {d}/rendered");
    let run = || {
        std::process::Command::new(crate::support::run::troupe_bin())
            .args(["-i", inventory.as_str(), "-l", h.name.as_str(), "site.yml", "-e", &format!("d={d} x=y")])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("troupe")
    };
    // One whole run tells how long a run takes.
    tb.ok(h, &reset);
    let t = std::time::Instant::now();
    assert!(run().wait().expect("troupe").success());
    let whole = t.elapsed();
    assert_eq!(tb.ok(h, &format!("sha256sum < {d}/copied"))[..64], wanted[0].1, "a whole run writes the new file");
    let mut seed = nonce() | 1;
    let (mut old_seen, mut new_seen) = (0, 0);
    tb.ok(h, &reset);
    for trial in 0..50 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = whole.mul_f64((seed >> 11) as f64 / (1u64 << 53) as f64 * 1.2);
        let mut child = run();
        let pid = child.id();
        std::thread::sleep(at);
        let _ = child.kill();
        let _ = child.wait();
        // Its masters can't be closed by a killed run; don't leave them for a minute.
        let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").expect("uid"));
        troupe::interrupt::close_masters(&std::path::PathBuf::from(format!("/tmp/troupe-{uid}-{pid}")));
        // One login per trial: read both files, then put the old content back.
        let seen = tb.ok(h, &format!("sha256sum < {d}/copied; sha256sum < {d}/rendered; {reset}"));
        for ((path, new), line) in wanted.iter().zip(seen.lines()) {
            let now = &line[..64];
            assert!(now == new || now == old, "trial {trial} (killed after {at:?}): {path} is neither old nor new");
            old_seen += usize::from(now == old);
            new_seen += usize::from(now == new);
        }
    }
    // Kills landed before and after the writes, not all on one side.
    assert!(old_seen > 0 && new_seen > 0, "old {old_seen} new {new_seen}");
}

const LOST_PLAY: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - shell: sleep 3
          ignore_errors: true
      rescue:
        - debug: {msg: rescued}
    - debug: {msg: after}
"#;

/// 14.10: the SSH master dies mid-task. ansible-playbook 2.19, seen on the same play with its
/// master killed: `UNREACHABLE!`, neither `ignore_errors` nor `rescue` applies, the next task
/// does not run, `unreachable=1`, exit 4.
#[test]
fn a_connection_lost_mid_task_is_unreachable() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let h = host(tb);
    let dir = scratch(&[("site.yml", LOST_PLAY)]);
    let inventory = tb.inventory.to_string_lossy().into_owned();
    let child = std::process::Command::new(crate::support::run::troupe_bin())
        .args(["-i", inventory.as_str(), "-l", h.name.as_str(), "site.yml"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("troupe");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let master = format!("-{}/.ssh-connection", child.id());
    let pids: Vec<String> = std::fs::read_dir("/proc")
        .map(|d| d.flatten().collect::<Vec<_>>())
        .unwrap_or_default()
        .iter()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(&master))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(pids.len(), 1, "one master for one host: {pids:?}");
    signal(pids[0].parse().expect("pid"), "-KILL");
    let out = child.wait_with_output().expect("troupe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains(&format!("fatal: [{}]: UNREACHABLE!", h.name)), "{stdout}");
    assert!(!stdout.contains("\"msg\": \"after\"") && !stdout.contains("\"msg\": \"rescued\""), "{stdout}");
    assert_eq!(done_recap(&stdout, &h.name), "ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0");
}

/// A host's recap line, its counters separated by single spaces.
fn done_recap(stdout: &str, host: &str) -> String {
    let line = stdout.lines().find(|l| l.starts_with(host) && l.contains("ok=")).unwrap_or_default();
    line.split(':').nth(1).unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ")
}
