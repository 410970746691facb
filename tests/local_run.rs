//! Whole runs on the local connection, driving the real binary.

use crate::support::run::{scratch, Run, LOCAL_INV};

const FILES_PLAY: &str = r#"
- hosts: local
  gather_facts: false
  vars:
    greeting: hello
  tasks:
    - name: a folder
      file: path={{ out }}/d state=directory mode=0750
    - name: a copied file
      copy:
        content: "{{ greeting }} world\n"
        dest: "{{ out }}/d/copied.txt"
        mode: "0640"
    - name: a file from src
      copy: src=plain.txt dest={{ out }}/d/plain.txt
    - name: a template
      template: src=conf.j2 dest={{ out }}/d/conf.txt mode=0600
"#;

fn files_project() -> tempfile::TempDir {
    scratch(&[
        ("inv.ini", LOCAL_INV),
        ("site.yml", FILES_PLAY),
        ("files/plain.txt", "plain\n"),
        ("templates/conf.j2", "name={{ inventory_hostname }}\ngreeting={{ greeting | upper }}\n"),
    ])
}

#[test]
fn files_copy_template_are_idempotent() {
    let p = files_project();
    let out = p.path().join("out");
    let out_arg = format!("out={}", out.display());
    let first = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", &out_arg]).succeeds();
    assert_eq!(first.changed("localhost"), 4, "{}", first.stdout);
    assert_eq!(std::fs::read_to_string(out.join("d/copied.txt")).unwrap(), "hello world\n");
    assert_eq!(std::fs::read_to_string(out.join("d/conf.txt")).unwrap(), "name=localhost\ngreeting=HELLO\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out.join("d/conf.txt")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let second = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", &out_arg]).succeeds();
    assert_eq!(second.recap("localhost")[..2], [4, 0], "{}", second.stdout);
}

#[test]
fn check_mode_changes_no_file() {
    let p = files_project();
    let out = p.path().join("out");
    let out_arg = format!("out={}", out.display());
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", &out_arg, "--check"]).succeeds();
    assert!(d.changed("localhost") >= 1, "{}", d.stdout);
    assert!(!out.exists(), "--check created {}", out.display());
    // After a real run, a content change in check mode leaves the file alone and shows a diff.
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", &out_arg]).succeeds();
    let d = Run::new()
        .in_dir(p.path())
        .args(["-i", "inv.ini", "site.yml", "-e", &out_arg, "-e", "greeting=bye", "--check", "--diff"])
        .succeeds();
    d.stdout_has("+bye world").stdout_has("-hello world");
    assert_eq!(std::fs::read_to_string(out.join("d/copied.txt")).unwrap(), "hello world\n");
}

/// Each `vN` is defined at precedence level N and at the level just below it; the higher must win.
#[test]
fn variable_precedence_every_level() {
    let p = scratch(&[
        ("inventory/hosts.ini", "[local]\nlocalhost ansible_connection=local v4=4 v5=4\n[local:vars]\nv2=2 \nv3=2\n"),
        ("inventory/group_vars/local.yml", "v3: '3'\nv4: '3'\n"),
        ("inventory/host_vars/localhost.yml", "v5: '5'\nv6: '5'\nansible_system: from-host-vars\n"),
        ("vars.yml", "v8: '8'\nv9: '8'\n"),
        ("extra.yml", "v12: '12'\nv13: '12'\n"),
        ("roles/r/defaults/main.yml", "v2: '1'\n"),
        ("roles/r/vars/main.yml", "v9: '9'\nv10: '9'\n"),
        (
            "roles/r/tasks/main.yml",
            r#"
- include_vars: "{{ playbook_dir }}/extra.yml"
- set_fact:
    v13: '13'
    v14: '13'
- block:
    - name: show
      debug:
        msg: "{{ [v2, v3, v4, v5, v7, v8, v9, v10, v11, v12, v13, v14, v15] | join(',') }}"
      vars:
        v11: '11'
        v12: '11'
  vars:
    v10: '10'
    v11: '10'
"#,
        ),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  vars:
    v6: '6'
    v7: '7'
    v8: '7'
  vars_files: [vars.yml]
  roles:
    - role: r
      v14: '14'
      v15: '14'
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inventory/hosts.ini", "site.yml", "-e", "v15=15"]).succeeds();
    d.stdout_has("\"msg\": \"2,3,4,5,7,8,9,10,11,12,13,14,15\"");
}

#[test]
fn loops_register_when_and_handlers() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  tasks:
    - command: echo {{ item }}
      loop: [a, b, c]
      register: echoed
      changed_when: false
    - assert:
        that:
          - echoed.results | map(attribute='stdout') | list == ['a', 'b', 'c']
          - echoed is not changed
    - shell: "exit 3"
      register: r
      failed_when: r.rc not in [0, 3]
    - debug: msg="skipped"
      when: r.rc == 0
    - command: "true"
      notify: [bell]
    - debug: msg=after
  handlers:
    - name: bell
      debug: msg="handler ran"
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds();
    d.stdout_has("ok: [localhost] => (item=a)").stdout_has("RUNNING HANDLER [bell]").stdout_has("handler ran");
    assert_eq!(d.recap("localhost")[4], 1, "one skipped: {}", d.stdout);
}

#[test]
fn block_rescue_always_and_ignore_errors() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  tasks:
    - block:
        - fail: msg=boom
        - debug: msg=never-here
      rescue:
        - debug: msg="rescued {{ ansible_failed_task is defined }}"
      always:
        - debug: msg=always-ran
    - command: "false"
      ignore_errors: true
    - debug: msg=end
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds();
    d.stdout_lacks("never-here").stdout_has("always-ran").stdout_has("...ignoring").stdout_has("\"msg\": \"end\"");
    let r = d.recap("localhost");
    assert_eq!((r[3], r[5], r[6]), (0, 1, 1), "failed, rescued, ignored: {}", d.stdout);
    // As ansible-playbook: the ignored failure counts as ok too.
    assert_eq!(r[0], 4, "ok: {}", d.stdout);
}

#[test]
fn failed_host_exits_2_and_stops() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            "- hosts: local\n  gather_facts: false\n  tasks:\n    - fail: msg=stop\n    - debug: msg=not-reached\n",
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).code(2);
    d.stdout_has("fatal: [localhost]: FAILED!").stdout_lacks("not-reached");
}

#[test]
fn serial_run_once_delegate_to() {
    let p = scratch(&[
        ("inv.ini", "[g]\nh1 ansible_connection=local\nh2 ansible_connection=local\nh3 ansible_connection=local\n"),
        (
            "site.yml",
            r#"
- hosts: g
  gather_facts: false
  serial: 2
  tasks:
    - debug: msg="batch {{ ansible_play_batch | join(',') }}"
    - command: echo once
      run_once: true
      register: once
    - assert: { that: [once.stdout == 'once'] }
    - command: hostname
      delegate_to: localhost
      changed_when: false
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds();
    d.stdout_has("batch h1,h2").stdout_has("batch h3").stdout_has("[h1 -> localhost]");
}

/// On a terminal (here one made by `script`), the progress display names the hosts still
/// running the task; the result lines and the recap are printed as without it.
#[test]
fn progress_display_on_a_terminal_names_running_hosts() {
    let p = scratch(&[
        ("inv.ini", "[web]\nh1\nh2\nh3\n[web:vars]\nansible_connection=local\n"),
        ("pb.yml", "- hosts: web\n  gather_facts: false\n  tasks:\n    - name: slow step\n      command: sleep 1\n"),
    ]);
    let line = format!("{} -i inv.ini pb.yml", crate::support::run::troupe_bin().display());
    let out = std::process::Command::new("script")
        .args(["-qefc", &line, "/dev/null"])
        .current_dir(p.path())
        .env_remove("CI")
        .env("TERM", "xterm")
        .output()
        .expect("`script` (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("slow step · running: h1, h2, h3"), "no progress line naming the hosts:\n{text}");
    assert!(text.contains("changed: [h2]") && text.contains("PLAY RECAP"), "{text}");
}

/// A big `copy` source streams to the host: troupe's peak memory stays far below the file's
/// size (it used to hold the file and its base64 copy), the bytes arrive intact, and a second
/// run changes nothing.
#[test]
fn copy_streams_a_big_source_file() {
    const SIZE: usize = 64 << 20;
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "pb.yml",
            "- hosts: local\n  gather_facts: false\n  tasks:\n    - copy: {src: big.bin, dest: \"{{ out }}\"}\n",
        ),
    ]);
    let data: Vec<u8> = (0..SIZE as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(p.path().join("big.bin"), &data).unwrap();
    let out = p.path().join("copy.bin");
    let out_arg = format!("out={}", out.display());
    let run = || {
        std::process::Command::new("/usr/bin/time")
            .args(["-f", "peak-kb=%M"])
            .arg(crate::support::run::troupe_bin())
            .args(["-i", "inv.ini", "pb.yml", "-e", &out_arg])
            .current_dir(p.path())
            .env("CI", "1")
            .output()
            .expect("/usr/bin/time (Debian package `time`) runs troupe")
    };
    let first = run();
    let (stdout, stderr) = (String::from_utf8_lossy(&first.stdout), String::from_utf8_lossy(&first.stderr));
    assert!(first.status.success() && stdout.contains("changed=1"), "{stdout}{stderr}");
    let peak_kb: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in {stderr}"));
    assert!(peak_kb < (SIZE as u64 / 1024) / 2, "troupe peaked at {peak_kb} KiB copying a {SIZE}-byte file");
    assert!(std::fs::read(&out).unwrap() == data, "the copy differs from the source");
    let second = run();
    assert!(String::from_utf8_lossy(&second.stdout).contains("changed=0"), "{second:?}");
}

/// A failed command still ran, so it is `changed` (as in Ansible) unless `changed_when` says
/// otherwise; ignored, it counts in the recap's `changed`.
#[test]
fn failed_command_is_changed_unless_changed_when_says_not() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            "- hosts: local\n  gather_facts: false\n  tasks:\n    - command: /bin/false\n      ignore_errors: true\n    - command: /bin/false\n      changed_when: false\n      ignore_errors: true\n",
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds();
    d.stdout_has(r#"FAILED! => {"changed": true, "cmd": ["/bin/false"]"#);
    d.stdout_has(r#"FAILED! => {"changed": false, "cmd": ["/bin/false"]"#);
    assert_eq!(d.recap("localhost")[..2], [2, 1], "{}", d.stdout);
    assert_eq!(d.recap("localhost")[6], 2, "{}", d.stdout);
}

#[test]
fn template_include_finds_files_beside_the_template_as_ansible() {
    let play =
        "- hosts: local\n  gather_facts: false\n  vars: {x: 1}\n  tasks:\n    - template: src=main.j2 dest={{ out }}\n";
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("site.yml", play),
        ("templates/main.j2", "head\n{% include 'inc.j2' %}\ntail\n{% include 'sub/deep.j2' %}\n"),
        ("templates/inc.j2", "included {{ x }}\n"),
        ("templates/sub/deep.j2", "deep {{ x + 1 }}\n"),
        ("missing.yml", "- hosts: local\n  gather_facts: false\n  tasks:\n    - template: src=bad.j2 dest={{ out }}\n"),
        ("templates/bad.j2", "{% include 'nope.j2' %}\n"),
    ]);
    let out = p.path().join("out.txt");
    let out_arg = format!("out={}", out.display());
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", &out_arg]).succeeds();
    // What ansible-core 2.19 writes, byte for byte: an included file loses its last newline
    // and trim_blocks eats the one after the tag.
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "head\nincluded 1tail\ndeep 2\n");
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "missing.yml", "-e", &out_arg]).code(2);
    d.stdout_has("nope.j2");
}

#[test]
fn failed_no_log_task_gives_its_reason_with_secrets_masked() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            r#"- hosts: local
  gather_facts: false
  vars:
    base: hunter2-base
    pw: "{{ base }}-secret"
    users: [{name: app, password: app-pw-12345}]
  tasks:
    - name: secret on stdin and in the script
      shell: "read -r a; echo \"login $a failed, tried {{ pw }}\" >&2; exit 3"
      args:
        stdin: "{{ users[0].password }}"
      no_log: true
      ignore_errors: true
    - name: secret in a loop item
      fail:
        msg: "user {{ item.name }} has password {{ item.password }}"
      loop: "{{ users }}"
      no_log: true
      ignore_errors: true
    - name: success stays censored
      shell: "echo {{ pw }}"
      no_log: true
"#,
        ),
    ]);
    for v in ["-v", "-vvv"] {
        let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", v]).succeeds();
        d.stdout_has(r#""rc": 3"#)
            .stdout_has(r#""stderr": "login ******** failed, tried ********""#)
            .stdout_has("user app has password ********")
            .stdout_has("censored");
        for secret in ["hunter2-base", "app-pw-12345"] {
            d.stdout_lacks(secret);
        }
    }
}

/// What stat, lineinfile, blockinfile and file return that the ansible-core targets check:
/// stat's mime and attribute fields, and the `diff` of the editing modules, in diff mode and not.
const RESULTS_PLAY: &str = r#"
- hosts: local
  gather_facts: false
  tasks:
    - copy: {dest: "{{ d }}/a.txt", content: "hello world", mode: "0644"}
    - stat: {path: "{{ d }}/a.txt"}
      register: st
    - lineinfile: {path: "{{ d }}/a.txt", line: "second", mode: "0600"}
      diff: true
      register: li
    - lineinfile: {path: "{{ d }}/a.txt", line: "third"}
      register: li_plain
    - blockinfile: {path: "{{ d }}/a.txt", block: "in a block"}
      diff: true
      register: bi
    - file: {path: "{{ d }}/a.txt", mode: "0640"}
      diff: true
      register: fi
    - file: {path: "{{ d }}/a.txt", mode: "0640"}
      register: fi_plain
    - debug:
        msg:
          stat: "{{ st.stat | dict2items | selectattr('key', 'in', ['mimetype', 'charset', 'attr_flags', 'device_type']) | items2dict }}"
          stat_keys: "{{ 'version' in st.stat and st.stat.attributes is iterable and st.stat.blocks > 0 and st.stat.block_size > 0 }}"
          lineinfile: "{{ li.diff }}"
          lineinfile_plain: "{{ li_plain.diff }}"
          blockinfile: "{{ bi.diff }}"
          file: "{{ fi.diff }}"
          file_plain: "{{ fi_plain.diff is defined }}"
"#;

#[test]
fn file_module_results_match_ansible() {
    let Some(ap) = crate::support::run::ansible_playbook() else {
        eprintln!("skipped: needs ansible-core (run scripts/test.sh, or set TROUPE_ANSIBLE_PLAYBOOK)");
        return;
    };
    // Ansible's modules run with the system Python (interpreter discovery may find a shim).
    let inv = "[local]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n";
    let p = scratch(&[("inv.ini", inv), ("site.yml", RESULTS_PLAY)]);
    let d = p.path().join("d");
    let run = |ansible: bool| {
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let args = ["-i", "inv.ini", "site.yml", "-e", &format!("d={}", d.display())];
        let out = match ansible {
            true => {
                let o = std::process::Command::new(&ap)
                    .args(args)
                    .current_dir(p.path())
                    .env("ANSIBLE_NOCOLOR", "1")
                    .output()
                    .expect("ansible-playbook runs");
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
                String::from_utf8_lossy(&o.stdout).into_owned()
            }
            false => Run::new().in_dir(p.path()).args(args).succeeds().stdout.clone(),
        };
        // From the line after the banner (whose width follows the terminal in Ansible).
        let banner = out.find("TASK [debug]").expect("the debug task ran");
        let start = banner + out[banner..].find('\n').unwrap_or(0);
        let end = out[start..].find("PLAY RECAP").map(|e| start + e).unwrap_or(out.len());
        out[start..end].trim().to_string()
    };
    let theirs = run(true);
    assert!(theirs.contains("\"mimetype\": \"text/plain\""), "{theirs}");
    assert_eq!(run(false), theirs);
}

/// A missing inventory source is a warning, as in Ansible, and the others still load.
#[test]
fn a_missing_inventory_source_is_a_warning() {
    let pb = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n";
    let dir = scratch(&[("pb.yml", pb)]);
    let missing = dir.path().join("nonexistent");
    let done = Run::new()
        .in_dir(dir.path())
        .args(["-i", missing.to_str().unwrap_or_default(), "-i", "localhost,", "-c", "local", "pb.yml"])
        .succeeds();
    done.stderr_has(&format!("[WARNING]: Unable to parse {} as an inventory source", missing.display()))
        .stdout_has("\"msg\": \"hi\"");
}

/// -vvv traces how each host is reached and the command each task runs, as Ansible's
/// `ESTABLISH` and `EXEC` lines: with become the `sudo` wrapper, with Ansible's `sudo -H -S`
/// (the ansint target var_templating greps for it); never the script, which may hold secrets,
/// nor the become password. Both markers are checked against ansible-playbook too.
#[test]
fn vvv_traces_the_connection_and_the_become_wrapper_never_the_script() {
    let play = r#"
- hosts: local
  gather_facts: false
  vars:
    token: tok-s3cret-991
  tasks:
    - command: "echo {{ token }}"
      become: true
      no_log: true
    - command: whoami
"#;
    let p = scratch(&[("inv.ini", LOCAL_INV), ("site.yml", play)]);
    let args = ["-i", "inv.ini", "site.yml", "-vvvv", "-e", "ansible_become_password=pw-s3cret-17"];
    let env = [("ANSIBLE_BECOME_ALLOW_SAME_USER", "true")];
    let markers = ["ESTABLISH LOCAL CONNECTION FOR USER: root", "EXEC ", "sudo -H -S "];
    let d = Run::new().in_dir(p.path()).args(args).env(env[0].0, env[0].1).succeeds();
    for m in markers {
        d.stdout_has(m);
    }
    for secret in ["tok-s3cret-991", "pw-s3cret-17"] {
        d.stdout_lacks(secret);
    }
    assert_eq!(d.stdout.matches("ESTABLISH LOCAL CONNECTION").count(), 1, "one connection:\n{}", d.stdout);
    // Without -vvv, no trace.
    let quiet = Run::new().in_dir(p.path()).args(&args[..3]).env(env[0].0, env[0].1).succeeds();
    quiet.stdout_lacks("ESTABLISH").stdout_lacks("EXEC ");
    if let Some(ap) = crate::support::run::ansible_playbook() {
        let out = crate::support::compare::ansible(&ap, p.path(), &args, &env);
        let theirs = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{theirs}");
        for m in markers {
            assert!(theirs.contains(m), "ansible-playbook has no {m:?}:\n{theirs}");
        }
    }
}
