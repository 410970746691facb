//! Every module over real SSH on the testbed's 4th–6th hosts (the first three and tb7–tb10 belong to other
//! suites). Each playbook runs once in `--check` on a fresh state (then the host is asked that
//! nothing changed), then twice for real: the second run must report `changed=0`.
//!
//! File editing, downloads and archives are in `e2e_files.rs`, `dnf` in `e2e_dnf.rs`. `sudo` is
//! not installed on the hosts, so `become` is tested with `su` from root.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::run::{scratch, Done, Run};
use crate::support::testbed::{skip, testbed, TbHost, Testbed};

/// The hosts this suite may touch, as a `--limit`.
pub(crate) fn limit(tb: &Testbed) -> String {
    mine(tb).iter().map(|h| h.name.as_str()).collect::<Vec<_>>().join(",")
}

/// A number no other run uses, for names of files, users and units.
pub(crate) fn nonce() -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    (nanos as u64 ^ (u64::from(std::process::id()) << 32)) % 1_000_000_000
}

/// The 4th, 5th and 6th hosts of the testbed (the etcd tests use the first four), by their
/// place in the inventory, not their names: a testbed may name its hosts as it likes.
pub(crate) fn mine(tb: &Testbed) -> Vec<&TbHost> {
    let hosts: Vec<&TbHost> = tb.hosts.iter().skip(3).take(3).collect();
    assert_eq!(hosts.len(), 3, "the testbed at {} has fewer than 6 hosts", tb.inventory.display());
    hosts
}

/// `path` does not exist on `host` (exit 1 of `test -e`, not an ssh failure).
pub(crate) fn absent(tb: &Testbed, host: &TbHost, path: &str) {
    let out = tb.on(host, &format!("test -e {path}"));
    assert_eq!(out.status, Some(1), "{path} exists on {}: {out:?}", host.name);
}

pub(crate) fn troupe(tb: &Testbed, dir: &Path, playbook: &str, extra: &[&str]) -> Run {
    let inventory = tb.inventory.to_string_lossy().into_owned();
    let limit = limit(tb);
    Run::new().in_dir(dir).args(["-i", inventory.as_str(), "-l", limit.as_str(), playbook]).args(extra)
}

/// `--check` run that must succeed and claim changes on every host.
pub(crate) fn check(tb: &Testbed, dir: &Path, playbook: &str, extra: &[&str]) -> Done {
    let args: Vec<&str> = extra.iter().copied().chain(["--check"]).collect();
    let done = troupe(tb, dir, playbook, &args).succeeds();
    for h in mine(tb) {
        assert!(done.changed(&h.name) > 0, "--check of {playbook} predicts no change on {}\n{}", h.name, done.stdout);
    }
    done
}

/// Runs `playbook` twice: the first run changes every host, the second changes nothing.
pub(crate) fn converge(tb: &Testbed, dir: &Path, playbook: &str, extra: &[&str]) -> Done {
    let first = troupe(tb, dir, playbook, extra).succeeds();
    for h in mine(tb) {
        assert!(first.changed(&h.name) > 0, "{playbook} changed nothing on {}\n{}", h.name, first.stdout);
    }
    let second = troupe(tb, dir, playbook, extra).succeeds();
    for h in mine(tb) {
        let recap = second.recap(&h.name);
        assert_eq!(recap[1], 0, "second run of {playbook} changed {}\n{}", h.name, second.stdout);
        assert_eq!(recap[3], 0, "second run of {playbook} failed on {}\n{}", h.name, second.stdout);
    }
    first
}

/// Runs a shell command on tb4–tb6 when dropped, so a failing test still cleans up.
pub(crate) struct Cleanup<'a> {
    pub tb: &'a Testbed,
    pub command: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for h in mine(self.tb) {
            let _ = self.tb.run(h, &self.command);
        }
    }
}

const FILES_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - name: folder
      file: {path: "{{ d }}", state: directory, mode: "0750"}
    - name: content
      copy: {dest: "{{ d }}/hello.txt", content: "hello {{ inventory_hostname }}\n", mode: "0640"}
    - name: a binary file from the controller
      copy: {src: files/blob.bin, dest: "{{ d }}/blob.bin"}
    - name: rendered
      template: {src: templates/app.conf.j2, dest: "{{ d }}/app.conf", mode: "0600"}
    # Like Ansible, a link to a file that does not exist yet fails without force, even in --check.
    - name: link
      file: {path: "{{ d }}/link", state: link, src: hello.txt}
      when: not ansible_check_mode
    - name: touched once
      command: touch {{ d }}/created
      args: {creates: "{{ d }}/created"}
    - name: nothing to remove
      shell: rm {{ d }}/never-there
      args: {removes: "{{ d }}/never-there"}
    - name: read back
      command: cat {{ d }}/hello.txt
      register: cat
      changed_when: false
    - name: mode through a pipe
      shell: stat -c %a {{ d }}/app.conf | tr -d '\n'
      register: mode
      changed_when: false
    - stat: {path: "{{ d }}/app.conf"}
      register: st
    - slurp: {src: "{{ d }}/app.conf"}
      register: sl
      when: not ansible_check_mode
    - fetch: {src: "{{ d }}/hello.txt", dest: fetched}
      when: not ansible_check_mode
    - assert:
        that:
          - cat.stdout == 'hello ' ~ inventory_hostname
          - mode.stdout == '600'
          - st.stat.exists and st.stat.mode == '0600'
          - (sl.content | b64decode) == 'name=' ~ inventory_hostname ~ ' port=' ~ port ~ '\n'
      when: not ansible_check_mode
"#;

#[test]
fn files_commands_and_transfers_over_ssh() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let d = format!("/var/tmp/troupe-e2e-files-{}", nonce());
    let _cleanup = Cleanup { tb, command: format!("rm -rf {d}") };
    let dir = scratch(&[
        ("site.yml", FILES_PLAY),
        ("templates/app.conf.j2", "name={{ inventory_hostname }} port={{ port }}\n"),
    ]);
    // 300 KiB of every byte value: framing and upload must not care about text.
    let blob: Vec<u8> = (0..300 * 1024).map(|i| (i % 251) as u8).collect();
    std::fs::create_dir_all(dir.path().join("files")).expect("mkdir");
    std::fs::write(dir.path().join("files/blob.bin"), &blob).expect("write blob");
    let vars = format!("d={d} port=8080");
    let extra = ["-e", vars.as_str()];

    check(tb, dir.path(), "site.yml", &extra);
    for h in mine(tb) {
        absent(tb, h, &d);
    }
    assert!(!dir.path().join("fetched").exists(), "--check fetched a file");

    converge(tb, dir.path(), "site.yml", &extra);
    let local_sum = sha256(&dir.path().join("files/blob.bin"));
    for h in mine(tb) {
        assert_eq!(tb.ok(h, &format!("cat {d}/hello.txt")), format!("hello {}", h.name));
        assert_eq!(tb.ok(h, &format!("cat {d}/app.conf")), format!("name={} port=8080", h.name));
        assert_eq!(tb.ok(h, &format!("stat -c %a {d} {d}/app.conf")), "750\n600");
        assert_eq!(tb.ok(h, &format!("readlink {d}/link")), "hello.txt");
        assert_eq!(tb.ok(h, &format!("sha256sum < {d}/blob.bin")), local_sum);
        tb.ok(h, &format!("test -f {d}/created"));
        let fetched = dir.path().join("fetched").join(&h.name).join(d.trim_start_matches('/')).join("hello.txt");
        let text = std::fs::read_to_string(&fetched).unwrap_or_else(|e| panic!("{}: {e}", fetched.display()));
        assert_eq!(text, format!("hello {}\n", h.name));
    }
}

pub(crate) fn sha256(path: &Path) -> String {
    let out = Command::new("sh").arg("-c").arg("sha256sum < \"$1\"").arg("sh").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const USERS_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - group: {name: "{{ who }}", state: present}
    - user:
        name: "{{ who }}"
        group: "{{ who }}"
        shell: /bin/sh
        comment: troupe e2e
        create_home: true
"#;

const BECOME_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  become: true
  become_method: su
  become_user: "{{ who }}"
  tasks:
    - copy: {dest: "/home/{{ who }}/note.txt", content: "mine\n"}
    - command: id -un
      register: id
      changed_when: false
    - assert: {that: ["id.stdout == who"]}
"#;

const USERS_GONE_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - user: {name: "{{ who }}", state: absent, remove: true}
    - group: {name: "{{ who }}", state: absent}
"#;

#[test]
fn users_groups_and_become_with_su() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let who = format!("te{}", nonce() % 100_000_000);
    let _cleanup = Cleanup { tb, command: format!("userdel -r {who} 2>/dev/null; groupdel {who} 2>/dev/null; true") };
    let dir = scratch(&[("users.yml", USERS_PLAY), ("become.yml", BECOME_PLAY), ("gone.yml", USERS_GONE_PLAY)]);
    let vars = format!("who={who}");
    let extra = ["-e", vars.as_str()];

    check(tb, dir.path(), "users.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.on(h, &format!("getent passwd {who}")).status, Some(2), "--check made {who} on {}", h.name);
        assert_eq!(tb.on(h, &format!("getent group {who}")).status, Some(2), "--check made group {who}");
    }

    converge(tb, dir.path(), "users.yml", &extra);
    for h in mine(tb) {
        let entry = tb.ok(h, &format!("getent passwd {who}"));
        let fields: Vec<&str> = entry.split(':').collect();
        assert_eq!(fields.get(4..7), Some(&["troupe e2e", &*format!("/home/{who}"), "/bin/sh"][..]), "{entry}");
        let gid = tb.ok(h, &format!("getent group {who} | cut -d: -f3"));
        assert_eq!(fields.get(3).copied(), Some(gid.as_str()), "{who} is not in its own group on {}", h.name);
        tb.ok(h, &format!("test -d /home/{who}"));
    }

    converge(tb, dir.path(), "become.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.ok(h, &format!("stat -c %U:%G /home/{who}/note.txt")), format!("{who}:{who}"));
    }

    check(tb, dir.path(), "gone.yml", &extra);
    for h in mine(tb) {
        tb.ok(h, &format!("getent passwd {who}"));
    }
    converge(tb, dir.path(), "gone.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.on(h, &format!("getent passwd {who}")).status, Some(2), "{who} still on {}", h.name);
        assert_eq!(tb.on(h, &format!("getent group {who}")).status, Some(2), "group {who} still on {}", h.name);
        absent(tb, h, &format!("/home/{who}"));
    }
}

// The unit lives in /usr/local/lib: `systemctl mask` refuses a unit whose file is in /etc.
const WEB_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - file: {path: "/var/tmp/{{ unit }}", state: directory}
    - copy: {dest: "/var/tmp/{{ unit }}/index.html", content: "served by {{ inventory_hostname }}\n"}
    - file: {path: /usr/local/lib/systemd/system, state: directory}
    - copy:
        dest: "/usr/local/lib/systemd/system/{{ unit }}.service"
        content: |
          [Unit]
          Description=troupe e2e web server
          [Service]
          ExecStart=/usr/bin/python3 -m http.server {{ port }} --bind 127.0.0.1 --directory /var/tmp/{{ unit }}
          [Install]
          WantedBy=multi-user.target
    # On a fresh host --check cannot know the unit (its file was not written): Ansible fails too.
    - systemd: {name: "{{ unit }}", daemon_reload: true, state: started, enabled: true}
      when: not ansible_check_mode
    - service: {name: "{{ unit }}.service", state: started}
      when: not ansible_check_mode
    - wait_for: {port: "{{ port }}", timeout: 30}
    - wait_for: {path: "/var/tmp/{{ unit }}/index.html", timeout: 5}
    - uri: {url: "http://127.0.0.1:{{ port }}/index.html", return_content: true}
      register: page
    - assert:
        that:
          - page.status == 200
          - page.content == 'served by ' ~ inventory_hostname ~ '\n'
      when: not ansible_check_mode
"#;

const WEB_STOP_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - systemd: {name: "{{ unit }}", state: stopped, enabled: false}
    - systemd: {name: "{{ unit }}", masked: true}
    - wait_for: {port: "{{ port }}", state: stopped, timeout: 10}
"#;

#[test]
fn a_unit_serves_http_then_stops_and_is_masked() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let n = nonce();
    let unit = format!("troupe-e2e-web-{n}");
    let port = (20_000 + n % 20_000).to_string();
    let _cleanup = Cleanup {
        tb,
        command: format!(
            "systemctl unmask {unit}; systemctl disable --now {unit}; \
             rm -rf /usr/local/lib/systemd/system/{unit}.service /var/tmp/{unit}; systemctl daemon-reload"
        ),
    };
    let dir = scratch(&[("web.yml", WEB_PLAY), ("stop.yml", WEB_STOP_PLAY)]);
    let vars = format!("unit={unit} port={port}");
    let extra = ["-e", vars.as_str()];

    check(tb, dir.path(), "web.yml", &extra);
    for h in mine(tb) {
        absent(tb, h, &format!("/usr/local/lib/systemd/system/{unit}.service"));
        absent(tb, h, &format!("/var/tmp/{unit}"));
        assert_ne!(tb.on(h, &format!("systemctl is-active {unit}")).stdout.trim(), "active");
    }

    converge(tb, dir.path(), "web.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.ok(h, &format!("systemctl is-active {unit}")), "active");
        assert_eq!(tb.ok(h, &format!("systemctl is-enabled {unit}")), "enabled");
        let page = tb.ok(h, &format!("curl -sf http://127.0.0.1:{port}/index.html"));
        assert_eq!(page, format!("served by {}", h.name));
    }

    check(tb, dir.path(), "stop.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.ok(h, &format!("systemctl is-active {unit}")), "active", "--check stopped {unit}");
        assert_eq!(tb.ok(h, &format!("systemctl is-enabled {unit}")), "enabled", "--check disabled {unit}");
    }

    converge(tb, dir.path(), "stop.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.on(h, &format!("systemctl is-active {unit}")).stdout.trim(), "inactive");
        assert_eq!(tb.on(h, &format!("systemctl is-enabled {unit}")).stdout.trim(), "masked");
    }
}

const PACKAGES_PLAY: &str = r#"
- hosts: testbed
  gather_facts: true
  tasks:
    - name: facts gathered over ssh
      assert:
        that:
          - ansible_os_family == 'Debian'
          - ansible_distribution == 'Debian'
          - ansible_hostname == inventory_hostname
          - ansible_service_mgr == 'systemd'
          - ansible_architecture == 'x86_64'
          - ansible_host in ansible_all_ipv4_addresses
    - name: installed in the hosts' lower layer already
      package: {name: etcd-client, state: present}
    - apt: {name: [etcd-client], state: present}
    - file: {path: "{{ repo }}", state: directory}
    - copy: {src: "repo/{{ item }}", dest: "{{ repo }}/{{ item }}"}
      loop: [Packages, "{{ deb }}"]
    - copy:
        dest: /etc/apt/sources.list.d/troupe-e2e.list
        content: "deb [trusted=yes] file:{{ repo }} ./\n"
    # --check on a fresh host: the source list was not written, so apt cannot know the package.
    - apt: {name: troupe-e2e-hello, state: present, update_cache: true}
      when: not ansible_check_mode
"#;

const PACKAGES_GONE_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - package: {name: troupe-e2e-hello, state: absent}
    - file: {path: /etc/apt/sources.list.d/troupe-e2e.list, state: absent}
    - file: {path: "{{ repo }}", state: absent}
"#;

/// Builds `troupe-e2e-hello_1.0_all.deb` and its `Packages` index in `dir/repo`; `None` when
/// this machine lacks dpkg-deb or dpkg-scanpackages.
fn local_package(dir: &Path) -> Option<&'static str> {
    const DEB: &str = "troupe-e2e-hello_1.0_all.deb";
    let root = dir.join("pkg");
    std::fs::create_dir_all(root.join("DEBIAN")).expect("mkdir");
    std::fs::create_dir_all(root.join("usr/share/troupe-e2e-hello")).expect("mkdir");
    std::fs::create_dir_all(dir.join("repo")).expect("mkdir");
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: troupe-e2e-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: troupe <troupe@example.invalid>\n\
         Description: troupe e2e test package\n",
    )
    .expect("write control");
    std::fs::write(root.join("usr/share/troupe-e2e-hello/hello.txt"), "hello\n").expect("write");
    let built = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&root)
        .arg(dir.join("repo").join(DEB))
        .stdout(Stdio::null())
        .status();
    let index = Command::new("sh")
        .arg("-c")
        .arg("dpkg-scanpackages . /dev/null > Packages 2>/dev/null")
        .current_dir(dir.join("repo"))
        .status();
    match (built, index) {
        (Ok(b), Ok(i)) if b.success() && i.success() => Some(DEB),
        _ => None,
    }
}

#[test]
fn facts_and_packages_from_a_local_apt_repository() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let repo = format!("/var/tmp/troupe-e2e-repo-{}", nonce());
    let _cleanup = Cleanup {
        tb,
        command: format!(
            "dpkg -P troupe-e2e-hello >/dev/null 2>&1; rm -rf {repo} /etc/apt/sources.list.d/troupe-e2e.list; true"
        ),
    };
    let dir = scratch(&[("site.yml", PACKAGES_PLAY), ("gone.yml", PACKAGES_GONE_PLAY)]);
    let Some(deb) = local_package(dir.path()) else {
        skip("skipped: needs dpkg-deb and dpkg-scanpackages (dpkg-dev) to build a local package");
        return;
    };
    for h in mine(tb) {
        tb.on(h, "dpkg -P troupe-e2e-hello >/dev/null 2>&1; rm -f /etc/apt/sources.list.d/troupe-e2e.list");
    }
    let vars = format!("repo={repo} deb={deb}");
    let extra = ["-e", vars.as_str()];
    let installed = "dpkg-query -W -f '${Status}' troupe-e2e-hello 2>/dev/null";

    check(tb, dir.path(), "site.yml", &extra);
    for h in mine(tb) {
        absent(tb, h, &repo);
        absent(tb, h, "/etc/apt/sources.list.d/troupe-e2e.list");
    }

    converge(tb, dir.path(), "site.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.ok(h, installed), "install ok installed");
        assert_eq!(tb.ok(h, "cat /usr/share/troupe-e2e-hello/hello.txt"), "hello");
    }

    check(tb, dir.path(), "gone.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.ok(h, installed), "install ok installed", "--check removed the package on {}", h.name);
    }
    converge(tb, dir.path(), "gone.yml", &extra);
    for h in mine(tb) {
        assert_ne!(tb.on(h, installed).stdout.trim(), "install ok installed");
        absent(tb, h, "/usr/share/troupe-e2e-hello/hello.txt");
        absent(tb, h, &repo);
    }
}

const PKI_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  vars:
    pki: "{{ playbook_dir }}/pki"
  tasks:
    - x509: {kind: ca, path: "{{ pki }}/ca.pem", common_name: troupe e2e CA}
      run_once: true
    - x509:
        path: "{{ pki }}/{{ inventory_hostname }}.pem"
        ca_path: "{{ pki }}/ca.pem"
        common_name: "{{ inventory_hostname }}"
        sans: ["{{ ansible_host }}", "{{ inventory_hostname }}"]
        usage: server
    - file: {path: "{{ d }}", state: directory, mode: "0700"}
    - copy: {src: "{{ pki }}/ca.pem", dest: "{{ d }}/ca.pem"}
      when: not ansible_check_mode
    - copy: {src: "{{ pki }}/{{ inventory_hostname }}.pem", dest: "{{ d }}/cert.pem"}
      when: not ansible_check_mode
    - copy: {src: "{{ pki }}/{{ inventory_hostname }}-key.pem", dest: "{{ d }}/key.pem", mode: "0600"}
      when: not ansible_check_mode
"#;

#[test]
fn certificates_made_on_the_controller_verify_on_the_hosts() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let d = format!("/var/tmp/troupe-e2e-pki-{}", nonce());
    let _cleanup = Cleanup { tb, command: format!("rm -rf {d}") };
    let dir = scratch(&[("site.yml", PKI_PLAY)]);
    let vars = format!("d={d}");
    let extra = ["-e", vars.as_str()];

    check(tb, dir.path(), "site.yml", &extra);
    assert!(!dir.path().join("pki").exists(), "--check wrote keys on the controller");
    for h in mine(tb) {
        absent(tb, h, &d);
    }

    converge(tb, dir.path(), "site.yml", &extra);
    let key_mode = std::fs::metadata(dir.path().join(format!("pki/{}-key.pem", mine(tb)[0].name))).map(|m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o777
    });
    assert_eq!(key_mode.ok(), Some(0o600), "private key mode on the controller");
    for h in mine(tb) {
        let verify = tb.ok(h, &format!("openssl verify -CAfile {d}/ca.pem {d}/cert.pem"));
        assert_eq!(verify, format!("{d}/cert.pem: OK"));
        let text = tb.ok(h, &format!("openssl x509 -in {d}/cert.pem -noout -ext subjectAltName,extendedKeyUsage"));
        assert!(text.contains(&format!("IP Address:{}", h.ip)) && text.contains(&format!("DNS:{}", h.name)), "{text}");
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
        // The key on the host is the certificate's key.
        let pubkeys =
            tb.ok(h, &format!("openssl x509 -in {d}/cert.pem -noout -pubkey; openssl pkey -in {d}/key.pem -pubout"));
        let keys: Vec<&str> =
            pubkeys.split("-----END PUBLIC KEY-----").map(str::trim).filter(|k| !k.is_empty()).collect();
        assert_eq!(keys.len(), 2, "{pubkeys}");
        assert_eq!(keys[0], keys[1], "the certificate on {} is not for its key", h.name);
    }
}

// The victim schedules its own sshd's death (listener and every session, troupe's included)
// outside the ssh session, in transient services (not timers: systemd coalesces those by up to
// a minute), and its return a few seconds later.
const UNREACHABLE_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - name: every host answers
      command: hostname
      changed_when: false
    - name: sshd dies on the victim in a second, and comes back later
      shell: |
        systemd-run --quiet --no-block --unit {{ unit }}-back /bin/sh -c 'sleep {{ back_after }}; systemctl start ssh.service'
        systemd-run --quiet --no-block --unit {{ unit }}-kill /bin/sh -c 'sleep 1; systemctl stop ssh.service; pkill -KILL -x sshd'
      when: inventory_hostname == victim
    - pause: {seconds: 4}
    - name: after the kill
      command: hostname
      register: name
      changed_when: false
    - assert: {that: ["name.stdout == inventory_hostname"]}
"#;

#[test]
fn a_host_whose_sshd_dies_mid_run_is_unreachable_and_the_others_finish() {
    let Some(tb) = testbed(6) else { return };
    let _alone = tb.exclusive();
    let hosts = mine(tb);
    let victim = hosts[2];
    let unit = format!("troupe-e2e-sshd-{}", nonce());
    let dir = scratch(&[("site.yml", UNREACHABLE_PLAY)]);
    let vars = format!("victim={} unit={unit} back_after=12", victim.name);

    let done = troupe(tb, dir.path(), "site.yml", &["-e", vars.as_str()]).code(4);
    let back = wait_for_ssh(tb, victim, Duration::from_secs(90));
    if back {
        // The kill unit can end "failed": pkill exits 1 when no sshd was left to kill.
        let _ = tb.run(victim, &format!("systemctl reset-failed {unit}-kill.service {unit}-back.service"));
    }

    let recap = done.recap(&victim.name);
    assert_eq!((recap[2], recap[3]), (1, 0), "{} should be unreachable, not failed\n{}", victim.name, done.stdout);
    for h in &hosts[..2] {
        // hostname, hostname, assert, and pause on the batch's first host only (as in Ansible;
        // the victim's shell task is skipped here).
        let recap = done.recap(&h.name);
        assert!(matches!(recap[0], 3 | 4), "{} did not finish every task\n{}", h.name, done.stdout);
        assert_eq!(recap[1..4], [0, 0, 0], "{} did not finish every task\n{}", h.name, done.stdout);
    }
    assert!(done.stdout.contains(&format!("fatal: [{}]: UNREACHABLE!", victim.name)), "{}", done.stdout);
    assert!(back, "sshd on {} did not come back", victim.name);
}

/// Polls until `host` runs a command over ssh again.
fn wait_for_ssh(tb: &Testbed, host: &TbHost, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if tb.run_timeout(host, "true", Duration::from_secs(10)).is_ok_and(|out| out.success()) {
            return true;
        }
        thread::sleep(Duration::from_millis(500));
    }
    false
}
