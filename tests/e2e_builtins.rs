//! The ansible.builtin modules of issue 12 on testbed hosts, each through
//! `support::module_e2e` (check mode proven harmless, twice for idempotence, compared with
//! ansible-playbook when it is installed).

use crate::support::module_e2e::ModuleE2e;
use crate::support::testbed::testbed;

/// The helper itself, on a module troupe has had for long (`copy`).
#[test]
fn module_e2e_drives_copy() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let seen = ModuleE2e::new("copy", "{dest: /tmp/troupe-me2e-copy, content: \"hi\\n\", mode: \"0640\"}")
        .reset("rm -f /tmp/troupe-me2e-copy")
        .probe("stat -c '%a %s' /tmp/troupe-me2e-copy 2>&1 || true")
        .compare(&["changed", "dest", "mode", "size", "checksum"])
        .run(tb, host);
    assert_eq!(seen.first["changed"], true);
    assert_eq!(seen.second["changed"], false);
    assert!(seen.ansible.is_none() || seen.ansible.as_ref().is_some_and(|a| a["dest"] == "/tmp/troupe-me2e-copy"));
}

#[test]
fn ping_answers_with_its_data() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new("ping", "{data: hello}")
        .first_changed(false)
        .compare(&["changed", "ping"])
        .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["ping"], "hello");
}

#[test]
fn raw_runs_text_always_changed_skipped_in_check_mode() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen =
        ModuleE2e::new("raw", r#"'if [ -n "$BASH_VERSION" ]; then echo bash; else echo sh; fi > /tmp/troupe-e2e-raw'"#)
            .vars("{}")
            .reset("rm -f /tmp/troupe-e2e-raw")
            .probe("cat /tmp/troupe-e2e-raw 2>&1 || true")
            .check_predicts(false)
            .second_changed(true)
            .compare(&["changed", "rc"])
            .run(tb, &tb.hosts[0]);
    assert_eq!(seen.check["skipped"], true);
    assert_eq!(seen.first["rc"], 0);
    let bash = ModuleE2e::new("raw", "\"echo $0\"\n      args: {executable: /bin/bash}")
        .check_predicts(false)
        .second_changed(true)
        .compare(&["changed", "rc", "stdout_lines"])
        .run(tb, &tb.hosts[0]);
    assert_eq!(bash.first["stdout"], "/bin/bash\n");
}

#[test]
fn tempfile_makes_a_new_name_each_run() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let d = "/tmp/troupe-e2e-tempfile";
    let reset = format!("rm -rf {d} && mkdir {d}");
    let probe = format!("ls {d} | sed 's/[.].*[.]/.X./' | sort | uniq -c");
    let args = format!("{{path: {d}, suffix: .s, state: directory}}");
    let seen = ModuleE2e::new("tempfile", &args)
        .reset(&reset)
        .probe(&probe)
        .check_predicts(false)
        .second_changed(true)
        .compare(&["changed", "state", "mode", "owner", "group", "uid", "gid"])
        .present(&["path", "size"])
        .run(tb, &tb.hosts[0]);
    assert!(seen.first["path"].as_str().is_some_and(|p| p.starts_with("/tmp/troupe-e2e-tempfile/ansible.")));
    assert_ne!(seen.first["path"], seen.second["path"]);
    let file = ModuleE2e::new("tempfile", "{}")
        .check_predicts(false)
        .second_changed(true)
        .same_state(false)
        .compare(&["changed", "state", "mode", "size"])
        .run(tb, &tb.hosts[0]);
    assert!(file.first["path"].as_str().is_some_and(|p| p.starts_with("/tmp/ansible.")));
}

/// A host made by `add_host` is reached over ssh through the variables given to it, and
/// `group_by` groups testbed hosts by a fact read from them.
#[test]
fn add_host_connects_through_its_variables() {
    let Some(tb) = testbed(2) else { return };
    let _steady = tb.shared();
    let (a, b) = (&tb.hosts[0].name, &tb.hosts[1].name);
    let play = format!(
        "- hosts: {a},{b}\n  gather_facts: false\n  tasks:\n\
         \x20   - command: cat /etc/hostname\n      register: hn\n      changed_when: false\n\
         \x20   - group_by: {{key: \"named_{{{{ hn.stdout }}}}\"}}\n\
         \x20   - add_host:\n        name: alias-of-{b}\n        groups: aliases\n\
         \x20       ansible_host: \"{{{{ hostvars['{b}'].ansible_host }}}}\"\n\
         \x20       ansible_user: root\n\
         \x20       ansible_ssh_private_key_file: \"{{{{ hostvars['{b}'].ansible_ssh_private_key_file }}}}\"\n\
         \x20       ansible_ssh_common_args: \"{{{{ hostvars['{b}'].ansible_ssh_common_args }}}}\"\n\
         - hosts: aliases:named_{a}\n  gather_facts: false\n  tasks:\n\
         \x20   - command: cat /etc/hostname\n      register: r\n      changed_when: false\n\
         \x20   - debug: {{msg: \"{{{{ inventory_hostname }}}} is {{{{ r.stdout }}}}\"}}\n"
    );
    let dir = crate::support::run::scratch(&[("pb.yml", &play)]);
    let inventory = tb.inventory.to_string_lossy().into_owned();
    let done = crate::support::run::Run::new().in_dir(dir.path()).args(["-i", inventory.as_str(), "pb.yml"]).succeeds();
    let name_a = tb.ok(&tb.hosts[0], "cat /etc/hostname");
    let name_b = tb.ok(&tb.hosts[1], "cat /etc/hostname");
    done.stdout_has(&format!("\"msg\": \"alias-of-{b} is {name_b}\""));
    done.stdout_has(&format!("\"msg\": \"{a} is {name_a}\""));
    assert_eq!(done.recap(&format!("alias-of-{b}"))[3], 0);
}

#[test]
fn script_runs_a_controller_file_once_with_creates() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new(
        "script",
        "\"make.sh /tmp/troupe-e2e-script 'two words'\"\n      args: {creates: /tmp/troupe-e2e-script, chdir: /tmp}",
    )
    .file("files/make.sh", "#!/bin/sh\nprintf '%s|%s\\n' \"$2\" \"$(pwd)\" > \"$1\"\necho made\n")
    .reset("rm -f /tmp/troupe-e2e-script")
    .probe("cat /tmp/troupe-e2e-script 2>&1 || true")
    .compare(&["changed", "rc", "stdout_lines"])
    .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["stdout"], "made\n");
    assert_eq!(seen.second["msg"], "/tmp/troupe-e2e-script exists, matching creates option");
    assert_eq!(tb.ok(&tb.hosts[0], "cat /tmp/troupe-e2e-script"), "two words|/tmp");
}

#[test]
fn replace_edits_a_section_once() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new(
        "replace",
        r#"{path: /tmp/troupe-e2e-replace, regexp: '^port (\d+)$', replace: 'port \1 # ok', after: '\[main\]', mode: "0640"}"#,
    )
    .reset("printf 'port 1\\n[main]\\nport 80\\nx\\nport 8080\\n' > /tmp/troupe-e2e-replace && chmod 0644 /tmp/troupe-e2e-replace")
    .probe("cat /tmp/troupe-e2e-replace; stat -c %a /tmp/troupe-e2e-replace")
    .compare(&["changed", "msg", "rc"])
    .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["msg"], "2 replacements made and ownership, perms or SE linux context changed");
    assert_eq!(
        tb.ok(&tb.hosts[0], "cat /tmp/troupe-e2e-replace; stat -c %a /tmp/troupe-e2e-replace"),
        "port 1\n[main]\nport 80 # ok\nx\nport 8080 # ok\n640"
    );
}

#[test]
fn getent_and_wait_for_connection_read_only() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new("getent", "{database: passwd, key: root}")
        .first_changed(false)
        .compare(&["changed", "ansible_facts"])
        .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["ansible_facts"]["getent_passwd"]["root"][1], "0");
    ModuleE2e::new("getent", "{database: group, key: no-such-group-troupe, fail_key: false}")
        .first_changed(false)
        .compare(&["changed", "ansible_facts", "msg"])
        .run(tb, &tb.hosts[0]);
    let seen = ModuleE2e::new("wait_for_connection", "{timeout: 20}")
        .first_changed(false)
        .compare(&["changed"])
        .present(&["elapsed"])
        .run(tb, &tb.hosts[0]);
    assert_eq!(seen.check["skipped"], true);
}

#[test]
fn find_selects_like_ansible() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let d = "/tmp/troupe-e2e-find";
    let setup = format!(
        "rm -rf {d} && mkdir -p {d}/sub/deeper && printf 'x\\nerror: 1\\n' > {d}/a.log && echo y > {d}/b.txt && \
         echo z > {d}/.h.log && echo w > {d}/sub/c.log && echo v > {d}/sub/deeper/e.log && chmod 0600 {d}/sub/c.log"
    );
    tb.ok(&tb.hosts[0], &setup);
    let sorted = |r: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> =
            r["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
        v.sort();
        v
    };
    for (args, want) in [
        (format!("{{paths: {d}, patterns: '*.log', recurse: true, depth: 2, hidden: true}}"), 3),
        (format!("{{paths: [{d}, {d}/nope], contains: 'error', recurse: true, get_checksum: true}}"), 1),
        (format!("{{paths: {d}, file_type: directory, recurse: true}}"), 2),
        (format!("{{paths: {d}, patterns: ['^[a-c]\\.(log|txt)$'], use_regex: true, recurse: true, mode: '0600'}}"), 1),
    ] {
        let seen = ModuleE2e::new("find", &args)
            .first_changed(false)
            .probe("true")
            .compare(&["changed", "matched", "examined", "msg", "skipped_paths"])
            .run(tb, &tb.hosts[0]);
        assert_eq!(seen.first["matched"], want, "{args}: {:#}", seen.first);
        if let Some(theirs) = &seen.ansible {
            assert_eq!(sorted(&seen.second), sorted(theirs), "{args}");
            let pick = |r: &serde_json::Value| {
                let mut files = r["files"].as_array().unwrap().clone();
                files.sort_by_key(|f| f["path"].as_str().unwrap().to_string());
                files
                    .iter()
                    .map(|f| {
                        (
                            f["mode"].clone(),
                            f["size"].clone(),
                            f["pw_name"].clone(),
                            f["checksum"].clone(),
                            f["isreg"].clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(pick(&seen.second), pick(theirs), "{args}");
        }
    }
}

#[test]
fn dpkg_selections_holds_a_package() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new("dpkg_selections", "{name: bash, selection: hold}")
        .reset("echo 'bash install' | dpkg --set-selections")
        .probe("dpkg --get-selections bash")
        .compare(&["changed", "before", "after"])
        .run(tb, &tb.hosts[0]);
    assert_eq!((seen.first["before"].as_str(), seen.second["before"].as_str()), (Some("install"), Some("hold")));
    tb.ok(&tb.hosts[0], "echo 'bash install' | dpkg --set-selections");
}

/// Renames the last host and back; holds the testbed exclusively (other tests read names).
#[test]
fn hostname_sets_current_and_permanent_names() {
    let Some(tb) = testbed(1) else { return };
    let _only = tb.exclusive();
    let host = tb.hosts.last().expect("a host");
    let original = tb.ok(host, "cat /etc/hostname");
    let reset = format!("hostnamectl set-hostname {original}");
    let seen = ModuleE2e::new("hostname", "{name: troupe-renamed}")
        .reset(&reset)
        .probe("hostname; cat /etc/hostname")
        .compare(&["changed", "name", "ansible_facts"])
        .run(tb, host);
    assert_eq!(seen.first["ansible_facts"]["ansible_hostname"], "troupe-renamed");
    tb.ok(host, &reset);
}

#[test]
fn service_facts_match_ansible() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new("service_facts", "{}").first_changed(false).compare(&["changed"]).run(tb, &tb.hosts[0]);
    let ours = &seen.first["ansible_facts"]["services"];
    assert_eq!(ours["ssh.service"]["state"], "running", "{ours:#}");
    if let Some(theirs) = &seen.ansible {
        let theirs = &theirs["ansible_facts"]["services"];
        // The same services, each the same (timers may start or stop a unit between the runs).
        let names =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
        assert_eq!(names(ours), names(theirs));
        for unit in ["ssh.service", "systemd-networkd.service", "etcd.service", "getty@tty1.service", "dbus.service"] {
            assert_eq!(ours[unit], theirs[unit], "{unit}");
        }
    }
}

/// troupe reads dpkg directly: `origin` (python3-apt's) is not given, and `category` is the
/// installed package's section (python3-apt gives the apt cache's, which differs for a few).
#[test]
fn package_facts_match_ansible() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new("package_facts", "{}").first_changed(false).compare(&["changed"]).run(tb, &tb.hosts[0]);
    let ours = &seen.first["ansible_facts"]["packages"];
    assert_eq!(ours["bash"][0]["source"], "apt", "{:#}", ours["bash"]);
    if let Some(theirs) = &seen.ansible {
        let theirs = &theirs["ansible_facts"]["packages"];
        let strip = |v: &serde_json::Value| {
            let mut v = v.clone();
            for (_, list) in v.as_object_mut().unwrap() {
                for p in list.as_array_mut().unwrap() {
                    p.as_object_mut().unwrap().remove("origin");
                    p.as_object_mut().unwrap().remove("category");
                }
            }
            v
        };
        let (ours, theirs) = (strip(ours), strip(theirs));
        let names =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
        assert_eq!(names(&ours), names(&theirs));
        for name in names(&theirs) {
            assert_eq!(ours[&name], theirs[&name], "{name}");
        }
    }
}

const KH_ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBXAmdVcWmOnw2aPbJlsvTgSCMrQUfujJeNpdXWkdvjs";
const KH_ED2: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDpDvxKrjJ3IuNyGCPNX29iaLJ9lORHLmtpSf5xc3KT2";
const KH_RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDiHboeHbZBYi/and3CXBOc51CG8LA5cqxw3TwmAOrPD5nI3Ol/fueqODpIbv8ST+OtWaqUjzONxN8EJJ+3mMMbWo4vq/psBwQsCAir0IP2F6VetEb3QO2E/WzqnR2LYn2BVpLK3zRKpIHNqlxLxGVvaP203MvfHen/if4K8BRmfQ==";

#[test]
fn known_hosts_adds_replaces_hashes_and_removes() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let f = "/tmp/troupe-e2e-known_hosts";
    let probe = format!("cat {f} 2>&1 || true");
    let fields: &[&str] = &["changed", "name", "path", "state", "hash_host", "key", "mode", "owner"];
    // Another host's line stays; the host's rsa key stays; an ed25519 key is appended.
    let reset = format!("printf 'other.example {KH_ED}\\nweb.example {KH_RSA}\\n' > {f}");
    let args = format!("{{name: Web.Example, key: 'web.example {KH_ED}', path: {f}}}");
    ModuleE2e::new("known_hosts", &args).reset(&reset).probe(&probe).compare(fields).run(tb, host);
    assert_eq!(
        tb.ok(host, &format!("cat {f}")),
        format!("other.example {KH_ED}\nweb.example {KH_RSA}\nweb.example {KH_ED}")
    );
    // Another ed25519 key of the host is replaced in place of its line.
    let reset = format!("printf 'web.example {KH_ED2}\\nz.example {KH_RSA}\\n' > {f}");
    ModuleE2e::new("known_hosts", &args).reset(&reset).probe(&probe).compare(fields).run(tb, host);
    assert_eq!(tb.ok(host, &format!("cat {f}")), format!("z.example {KH_RSA}\nweb.example {KH_ED}"));
    // Hashed: the second run finds the hashed line (a new salt each run, so states differ).
    let reset = format!("rm -f {f}");
    let hashed = format!("{{name: web.example, key: 'web.example {KH_ED}', path: {f}, hash_host: true}}");
    ModuleE2e::new("known_hosts", &hashed).reset(&reset).probe(&probe).compare(fields).same_state(false).run(tb, host);
    assert!(tb.ok(host, &format!("cat {f}")).starts_with("|1|"));
    assert!(tb.ok(host, &format!("ssh-keygen -F web.example -f {f}")).contains("found: line 1"));
    // Absent without a key: every line of the host goes.
    let reset = format!("printf 'web.example {KH_ED}\\nz.example {KH_RSA}\\nweb.example {KH_RSA}\\n' > {f}");
    ModuleE2e::new("known_hosts", &format!("{{name: web.example, path: {f}, state: absent}}"))
        .reset(&reset)
        .probe(&probe)
        .compare(&["changed", "name", "path", "state"])
        .run(tb, host);
    assert_eq!(tb.ok(host, &format!("cat {f}")), format!("z.example {KH_RSA}"));
}

/// Testbed hosts have no cron package (they see this machine's packages), so user crontabs
/// are tested with a stand-in `crontab` (`-l`, `-u user`, `FILE`) over cron's spool folder;
/// Ansible's module also needs the command for `cron_file`, troupe's does not.
const FAKE_CRONTAB: &str = r#"mkdir -p /usr/local/bin /var/spool/cron/crontabs && cat > /usr/local/bin/crontab <<'SH'
#!/bin/sh
u=$(id -un); if [ "$1" = -u ]; then u=$2; shift 2; fi
f=/var/spool/cron/crontabs/$u
if [ "$1" = -l ]; then [ -f "$f" ] || { echo "no crontab for $u" >&2; exit 1; }; exec cat "$f"; fi
cat "$1" > "$f.new" && mv "$f.new" "$f"
SH
chmod 0755 /usr/local/bin/crontab"#;

#[test]
fn cron_manages_jobs_variables_and_cron_files() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let tab = "/var/spool/cron/crontabs/root";
    let probe = format!("cat {tab} 2>&1 || true");
    let fields: &[&str] = &["changed", "jobs", "envs"];
    let reset = format!("{FAKE_CRONTAB}\nprintf 'MAILTO=root\\n#Ansible: old\\n1 1 * * * /bin/old\\n' > {tab}");
    ModuleE2e::new("cron", "{name: backup, minute: '5', hour: '2', job: /usr/bin/backup}")
        .reset(&reset)
        .probe(&probe)
        .compare(fields)
        .run(tb, host);
    assert_eq!(
        tb.ok(host, &format!("cat {tab}")),
        "MAILTO=root\n#Ansible: old\n1 1 * * * /bin/old\n#Ansible: backup\n5 2 * * * /usr/bin/backup"
    );
    // A changed job is rewritten in place; a variable goes after another.
    ModuleE2e::new("cron", "{name: old, special_time: daily, job: /bin/old, disabled: true}")
        .reset(&reset)
        .probe(&probe)
        .compare(fields)
        .run(tb, host);
    assert_eq!(tb.ok(host, &format!("cat {tab}")), "MAILTO=root\n#Ansible: old\n#@daily /bin/old");
    ModuleE2e::new("cron", "{name: PATH, env: true, job: /usr/bin:/bin, insertafter: MAILTO, user: root}")
        .reset(&reset)
        .probe(&probe)
        .compare(fields)
        .run(tb, host);
    assert_eq!(
        tb.ok(host, &format!("cat {tab}")),
        "MAILTO=root\nPATH=\"/usr/bin:/bin\"\n#Ansible: old\n1 1 * * * /bin/old"
    );
    // A cron_file is created 0644, and removed once its last job goes.
    let f = "/etc/cron.d/troupe-e2e";
    let probe = format!("cat {f} 2>&1; stat -c %a {f} 2>&1 || true");
    ModuleE2e::new("cron", "{name: hi, cron_file: troupe-e2e, user: nobody, job: echo hi, weekday: '1-5'}")
        .reset(&format!("{FAKE_CRONTAB}\nrm -f {f}"))
        .probe(&probe)
        .compare(&["changed", "jobs", "envs", "cron_file"])
        .run(tb, host);
    assert_eq!(tb.ok(host, &format!("cat {f}; stat -c %a {f}")), "#Ansible: hi\n* * * * 1-5 nobody echo hi\n644");
    ModuleE2e::new("cron", "{name: hi, cron_file: troupe-e2e, state: absent}")
        .reset(&format!("{FAKE_CRONTAB}\nprintf '#Ansible: hi\\n* * * * 1-5 nobody echo hi\\n' > {f}"))
        .probe(&probe)
        .compare(&["changed", "cron_file", "state"])
        .run(tb, host);
    assert!(!tb.on(host, &format!("test -e {f}")).success(), "the emptied cron_file is removed");
}
