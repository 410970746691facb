//! pip, git, iptables, synchronize and reboot (issue 12, branch mods12a) on testbed hosts,
//! each through `support::module_e2e` (check mode proven harmless, twice for idempotence,
//! compared with ansible-playbook when it is installed). Hosts have no internet: pip installs
//! from a wheel made on the host, git clones a bare repository made on the host.

use crate::support::module_e2e::ModuleE2e;
use crate::support::testbed::testbed;

/// A wheel of `troupe-demo` VERSION in /srv/troupe-wheels (a zip with a module and its dist-info).
fn wheel(version: &str) -> String {
    let d = format!("troupe_demo-{version}.dist-info");
    format!(
        "mkdir -p /srv/troupe-wheels && cd /srv/troupe-wheels && python3 -c \"import zipfile; \
         z = zipfile.ZipFile('troupe_demo-{version}-py3-none-any.whl', 'w'); \
         z.writestr('troupe_demo.py', 'VERSION = 1\\n'); \
         z.writestr('{d}/METADATA', 'Metadata-Version: 2.1\\nName: troupe-demo\\nVersion: {version}\\n'); \
         z.writestr('{d}/WHEEL', 'Wheel-Version: 1.0\\nGenerator: troupe\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'); \
         z.writestr('{d}/RECORD', ''); z.close()\""
    )
}

#[test]
fn pip_installs_into_a_new_virtualenv_from_local_wheels() {
    let Some(tb) = testbed(2) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[1];
    let reset = format!("{} && rm -rf /opt/troupe-venv", wheel("1.0"));
    let args =
        "{name: troupe-demo, version: '1.0', virtualenv: /opt/troupe-venv, virtualenv_command: python3 -m venv, \
                extra_args: --no-index --find-links /srv/troupe-wheels}";
    let seen = ModuleE2e::new("pip", args)
        .reset(&reset)
        .probe("/opt/troupe-venv/bin/pip list --format=freeze 2>/dev/null | grep -i troupe || echo none")
        .compare(&["changed", "name", "version", "state", "virtualenv", "requirements"])
        .run(tb, host);
    assert_eq!(seen.first["name"], serde_json::json!(["troupe-demo"]));
    assert!(seen.first["stdout"].as_str().is_some_and(|s| s.contains("Successfully installed troupe-demo-1.0")));

    // latest: a newer wheel appears; absent: it goes.
    let reset = format!(
        "{} && {}",
        wheel("1.1"),
        "/opt/troupe-venv/bin/pip install -q --no-index --find-links /srv/troupe-wheels troupe-demo==1.0"
    );
    ModuleE2e::new("pip", "{name: troupe-demo, state: latest, virtualenv: /opt/troupe-venv, extra_args: --no-index --find-links /srv/troupe-wheels}")
        .reset(&reset)
        .probe("/opt/troupe-venv/bin/pip list --format=freeze | grep -i troupe || echo none")
        .compare(&["changed", "name", "state"])
        .run(tb, host);
    ModuleE2e::new("pip", "{name: troupe_demo, state: absent, virtualenv: /opt/troupe-venv}")
        .probe("/opt/troupe-venv/bin/pip list --format=freeze | grep -i troupe || echo none")
        .reset("/opt/troupe-venv/bin/pip install -q --no-index --find-links /srv/troupe-wheels troupe-demo")
        .compare(&["changed", "name", "state"])
        .run(tb, host);
}

/// A bare repository /srv/troupe-git.git with commits `one` (tagged v1) and `two` on main;
/// fixed dates keep the commit ids the same each time it is made.
const GIT_REPO: &str = "rm -rf /srv/troupe-git.git /srv/troupe-git-src /opt/troupe-checkout && \
    export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' && \
    git init -q -b main /srv/troupe-git-src && cd /srv/troupe-git-src && echo one > f && git add f && \
    git -c user.name=t -c user.email=t@t commit -qm one && git tag v1 && echo two > f && \
    git -c user.name=t -c user.email=t@t commit -qam two && git clone -q --bare /srv/troupe-git-src /srv/troupe-git.git";

const GIT_PROBE: &str = "git -C /opt/troupe-checkout rev-parse HEAD 2>&1; git -C /opt/troupe-checkout status --short 2>&1; cat /opt/troupe-checkout/f 2>&1; true";

#[test]
fn git_clones_then_checks_out_a_tag() {
    let Some(tb) = testbed(3) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[2];
    let seen = ModuleE2e::new("git", "{repo: /srv/troupe-git.git, dest: /opt/troupe-checkout}")
        .reset(GIT_REPO)
        .probe(GIT_PROBE)
        .compare(&["changed", "before", "after"])
        .run(tb, host);
    assert!(seen.first["before"].is_null() && seen.first["after"].as_str().is_some_and(|s| s.len() == 40));
    let reset = format!("{GIT_REPO} && git clone -q /srv/troupe-git.git /opt/troupe-checkout");
    let seen = ModuleE2e::new("git", "{repo: /srv/troupe-git.git, dest: /opt/troupe-checkout, version: v1}")
        .reset(&reset)
        .probe(GIT_PROBE)
        .compare(&["changed", "before", "after", "remote_url_changed"])
        .run(tb, host);
    assert_ne!(seen.first["before"], seen.first["after"]);
    // Local changes: refused without force, discarded with it.
    let dirty = format!("{reset} && echo local > /opt/troupe-checkout/f");
    ModuleE2e::new("git", "{repo: /srv/troupe-git.git, dest: /opt/troupe-checkout, force: true}")
        .reset(&dirty)
        .probe(GIT_PROBE)
        .compare(&["changed", "before", "after", "msg"])
        .run(tb, host);
}

/// reboot: the host goes down and comes back (the testbed restarts its container); troupe
/// reconnects (new SSH master and shell) and reports `rebooted` and `elapsed`.
#[test]
fn reboot_comes_back_on_a_new_connection() {
    let Some(tb) = testbed(4) else { return };
    let _alone = tb.exclusive();
    let host = &tb.hosts[3];
    let marker = "/run/troupe-reboot-marker";
    let probe = "hostname";
    let seen = ModuleE2e::new("reboot", "{reboot_timeout: 120, msg: troupe e2e}")
        .reset("touch /run/troupe-reboot-marker")
        .probe(probe)
        .second_changed(true)
        .compare(&["changed", "rebooted"])
        .present(&["elapsed"])
        .run(tb, host);
    assert_eq!(seen.check["rebooted"], true);
    assert_eq!(seen.check["elapsed"], 0);
    assert!(seen.first["elapsed"].as_u64().is_some_and(|e| e < 120), "{:?}", seen.first);
    // /run is a tmpfs: the marker is gone after a real reboot.
    assert_eq!(tb.on(host, &format!("test -e {marker} && echo stale || echo fresh")).stdout.trim(), "fresh");
}

/// synchronize: rsync from the controller over the host's ssh settings (key, user, ssh args).
#[test]
fn synchronize_pushes_a_folder_with_rsync() {
    let Some(tb) = testbed(5) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[4];
    let seen = ModuleE2e::new("ansible.posix.synchronize", "{src: site/, dest: /srv/troupe-sync/, use_ssh_args: true}")
        .file("files/site/a.txt", "hello\n")
        .file("files/site/sub/b.txt", "world\n")
        .reset("rm -rf /srv/troupe-sync")
        .probe("cd /srv/troupe-sync 2>/dev/null && find . -type f | sort | xargs cat || echo none")
        .compare(&["changed", "msg", "stdout_lines", "rc"])
        .run(tb, host);
    assert!(seen.first["msg"].as_str().is_some_and(|m| m.contains("<f+++++++++ sub/b.txt")), "{:?}", seen.first);
    assert!(
        seen.check["cmd"].as_str().is_some_and(|c| c.contains("--dry-run") && c.contains(" /")),
        "{:?}",
        seen.check
    );
    // pull brings it back.
    let _ = std::fs::remove_dir_all("/tmp/troupe-sync-pulled-e2e");
    ModuleE2e::new("synchronize", "{mode: pull, src: /srv/troupe-sync/sub, dest: /tmp/troupe-sync-pulled-e2e}")
        .compare(&["changed", "msg"])
        .probe("true")
        .first_changed(true)
        .run(tb, host);
    let _ = std::fs::remove_dir_all("/tmp/troupe-sync-pulled-e2e");
}

/// iptables: a rule in a chain of its own (appended, then removed), ip6tables, a chain made
/// with chain_management, and a chain's policy; every result compared with ansible-core's.
#[test]
fn iptables_rules_chains_and_policies() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[5];
    const KEYS: &[&str] =
        &["changed", "rule", "chain", "table", "state", "ip_version", "flush", "chain_management", "wait"];
    let fresh = "iptables -F TROUPE_T 2>/dev/null; iptables -X TROUPE_T 2>/dev/null; iptables -N TROUPE_T";
    let rule = "{chain: TROUPE_T, protocol: tcp, destination_port: 8080, ctstate: [NEW], jump: ACCEPT, \
                comment: troupe e2e, wait: 5}";
    let seen = ModuleE2e::new("iptables", rule).reset(fresh).probe("iptables -S TROUPE_T").compare(KEYS).run(tb, host);
    assert_eq!(
        seen.first["rule"],
        "-p tcp -j ACCEPT --destination-port 8080 -m conntrack --ctstate NEW -m comment --comment troupe e2e"
    );
    let listed = tb.ok(host, "iptables -S TROUPE_T");
    assert!(listed.contains("--dport 8080") && listed.contains("troupe e2e"), "{listed}");

    // Inserted at the top, then taken out again with state: absent.
    let with_rule = "iptables -F TROUPE_T 2>/dev/null; iptables -X TROUPE_T 2>/dev/null; iptables -N TROUPE_T; \
                     iptables -A TROUPE_T -s 10.9.9.9/32 -j DROP";
    ModuleE2e::new(
        "ansible.builtin.iptables",
        "{chain: TROUPE_T, source: '!10.1.0.0/16', jump: RETURN, action: insert, rule_num: 1}",
    )
    .reset(with_rule)
    .probe("iptables -S TROUPE_T")
    .compare(KEYS)
    .run(tb, host);
    assert!(tb.ok(host, "iptables -S TROUPE_T | sed -n 2p").contains("! -s 10.1.0.0/16"));
    ModuleE2e::new("iptables", "{chain: TROUPE_T, source: 10.9.9.9, jump: DROP, state: absent}")
        .reset(with_rule)
        .probe("iptables -S TROUPE_T")
        .compare(KEYS)
        .run(tb, host);

    // ip6tables.
    let fresh6 = "ip6tables -F TROUPE_T 2>/dev/null; ip6tables -X TROUPE_T 2>/dev/null; ip6tables -N TROUPE_T";
    ModuleE2e::new(
        "iptables",
        "{ip_version: ipv6, chain: TROUPE_T, protocol: udp, destination_ports: ['53', '5353'], jump: ACCEPT}",
    )
    .reset(fresh6)
    .probe("ip6tables -S TROUPE_T")
    .compare(KEYS)
    .run(tb, host);

    // A chain of its own, made by chain_management.
    ModuleE2e::new("iptables", "{chain: TROUPE_C, chain_management: true}")
        .reset("iptables -F TROUPE_C 2>/dev/null; iptables -X TROUPE_C 2>/dev/null; true")
        .probe("iptables -S TROUPE_C 2>&1 || true")
        .compare(KEYS)
        .run(tb, host);

    // A built-in chain's policy (FORWARD: nothing on the testbed forwards).
    ModuleE2e::new("iptables", "{chain: FORWARD, policy: DROP}")
        .reset("iptables -P FORWARD ACCEPT")
        .probe("iptables -S FORWARD | head -1")
        .compare(KEYS)
        .run(tb, host);
    tb.ok(
        host,
        "iptables -P FORWARD ACCEPT; iptables -F TROUPE_T; iptables -X TROUPE_T; iptables -F TROUPE_C; \
                 iptables -X TROUPE_C; ip6tables -F TROUPE_T; ip6tables -X TROUPE_T",
    );
}

/// `service` on a systemd host: other init systems' options are dropped with Ansible's warning
/// (its service action's `UNUSED_PARAMS`), and `use: systemd` is accepted.
#[test]
fn service_drops_other_init_systems_options_with_a_warning() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new("service", "{name: ssh, state: started, pattern: sshd, sleep: 1, use: systemd}")
        .probe("systemctl is-active ssh")
        .first_changed(false)
        .compare(&["changed", "name", "state", "warnings"])
        .run(tb, &tb.hosts[5]);
    assert_eq!(seen.first["warnings"][0], "Ignoring \"pattern\" as it is not used in \"systemd\"");
}

/// ansible-playbook's and troupe's arguments for `site.yml` on one testbed host, with the hosts'
/// Python (the venv's lives under this machine's /root, which hosts don't see).
fn on_host<'a>(inventory: &'a str, host: &'a crate::support::testbed::TbHost) -> [&'a str; 7] {
    ["-i", inventory, "-l", host.name.as_str(), "-e", "ansible_python_interpreter=/usr/bin/python3", "site.yml"]
}

/// systemd: a unit enabled only through `Also=` reads `indirect` from `is-enabled`, but with
/// `-l` lists what it enabled; Ansible then counts it enabled, so a second enable changes nothing.
#[test]
fn systemd_enables_an_indirect_unit_once() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[5];
    let play = r#"- hosts: all
  gather_facts: false
  tasks:
    - copy:
        dest: /etc/systemd/system/troupe-ind.service
        content: "[Unit]\nRequires=troupe-ind.socket\n[Service]\nExecStart=/bin/yes\nStandardInput=socket\n[Install]\nAlso=troupe-ind.socket\n"
    - copy:
        dest: /etc/systemd/system/troupe-ind.socket
        content: "[Socket]\nListenDatagram=127.0.0.1:6969\n[Install]\nWantedBy=sockets.target\n"
    - systemd: {name: troupe-ind.service, enabled: false}
      register: a
    - systemd: {name: troupe-ind.service, enabled: true}
      register: b
    - systemd: {name: troupe-ind.service, enabled: true}
      register: c
    - debug: msg="{{ a.changed }} {{ b.changed }} {{ c.changed }}"
    - systemd: {name: troupe-ind.socket, enabled: false}
    - file: {path: "{{ item }}", state: absent}
      loop: [/etc/systemd/system/troupe-ind.service, /etc/systemd/system/troupe-ind.socket]
    - systemd: {daemon_reload: true}
"#;
    let inventory = tb.inventory.to_string_lossy().into_owned();
    crate::support::compare::check(
        &[("site.yml", play)],
        &on_host(&inventory, host),
        &[],
        &[r#""msg": "False True False""#],
    );
}

/// A leading `~` or `~user` is expanded on the host, as the user the task becomes: stat, copy,
/// fetch and file, as Ansible's become target checks them.
#[test]
fn tilde_paths_expand_on_the_host_as_the_become_user() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[4];
    tb.ok(host, "id troupetilde >/dev/null 2>&1 || useradd -m -s /bin/sh troupetilde; rm -f ~troupetilde/t.txt");
    let play = r#"- hosts: all
  gather_facts: false
  tasks:
    - stat: {path: "~"}
      register: home
    - stat: {path: "~troupetilde"}
      register: other
    - copy: {content: "hi\n", dest: "~troupetilde/t.txt"}
      become: true
      become_method: su
      become_user: troupetilde
      register: put
    - stat: {path: "~/t.txt"}
      become: true
      become_method: su
      become_user: troupetilde
      register: mine
    - fetch: {src: "~troupetilde/t.txt", dest: "{{ playbook_dir }}/got/", flat: true}
    - file: {path: "~troupetilde/t.txt", state: absent}
      register: gone
    - debug: msg="{{ home.stat.path }} {{ other.stat.path }} {{ put.dest }} {{ mine.stat.path }} {{ lookup('file', playbook_dir + '/got/t.txt') }} {{ gone.path }} {{ gone.changed }}"
"#;
    let inventory = tb.inventory.to_string_lossy().into_owned();
    crate::support::compare::check(
        &[("site.yml", play)],
        &on_host(&inventory, host),
        &[],
        &[
            r#""msg": "/root /home/troupetilde /home/troupetilde/t.txt /home/troupetilde/t.txt hi /home/troupetilde/t.txt True""#,
        ],
    );
}
