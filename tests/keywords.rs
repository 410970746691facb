//! Keywords that used to be parsed and then ignored: each one now does what ansible-playbook
//! does with it (checked side by side when ansible-core is there), or is refused at load time.

use std::process::Command;

use crate::support::run::{ansible_playbook, scratch, Run};
use crate::support::testbed::{testbed, Testbed};

/// The `msg` lines a run printed, sorted (hosts and glob matches come in any order).
fn messages(stdout: &str) -> Vec<String> {
    let mut m: Vec<String> =
        stdout.lines().filter(|l| l.trim_start().starts_with("\"msg\"")).map(|l| l.trim().to_string()).collect();
    m.sort();
    m
}

/// ansible-playbook's messages for the same run, when ansible-core is installed.
fn ansible_messages(dir: &std::path::Path, args: &[&str]) -> Option<Vec<String>> {
    let ap = ansible_playbook()?;
    let out = Command::new(ap).args(args).current_dir(dir).env("ANSIBLE_NOCOLOR", "1").output().ok()?;
    assert!(out.status.success(), "ansible-playbook failed: {}", String::from_utf8_lossy(&out.stdout));
    Some(messages(&String::from_utf8_lossy(&out.stdout)))
}

const TWO_LOCAL: &str = "[g]\na ansible_connection=local\nb ansible_connection=local\n";

#[test]
fn delegate_facts_puts_the_facts_on_the_delegate() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - set_fact: {x: "from {{ inventory_hostname }}"}
      delegate_to: b
      delegate_facts: true
      when: inventory_hostname == 'a'
    - set_fact: {y: "plain {{ inventory_hostname }}"}
      delegate_to: b
      when: inventory_hostname == 'a'
    - debug: msg="{{ inventory_hostname }} x={{ x | default('unset') }} y={{ y | default('unset') }}"
"#;
    let p = scratch(&[("inv.ini", TWO_LOCAL), ("p.yml", play)]);
    let args = ["-i", "inv.ini", "p.yml"];
    let ours = messages(&Run::new().in_dir(p.path()).args(args).succeeds().stdout);
    assert_eq!(ours, [r#""msg": "a x=unset y=plain a""#, r#""msg": "b x=from a y=unset""#]);
    if let Some(theirs) = ansible_messages(p.path(), &args) {
        assert_eq!(ours, theirs);
    }
}

#[test]
fn with_fileglob_loops_over_matching_files() {
    let play = r#"
- hosts: all
  gather_facts: false
  tasks:
    - debug: msg="{{ item | basename }} in {{ item | dirname | basename }}"
      with_fileglob: ["*.conf", "sub/*.conf", "d.*", "nomatch*"]
"#;
    let p = scratch(&[
        ("inv.ini", "localhost ansible_connection=local\n"),
        ("p.yml", play),
        ("files/a.conf", ""),
        ("files/b.conf", ""),
        ("files/.hidden.conf", ""),
        ("files/sub/c.conf", ""),
        ("files/dir.conf/x", ""),
        ("d.conf", ""),
    ]);
    let args = ["-i", "inv.ini", "p.yml"];
    let ours = messages(&Run::new().in_dir(p.path()).args(args).succeeds().stdout);
    let top = p.path().canonicalize().unwrap();
    let top = top.file_name().unwrap().to_string_lossy();
    let want = [
        r#""msg": "a.conf in files""#.to_string(),
        r#""msg": "b.conf in files""#.to_string(),
        r#""msg": "c.conf in sub""#.to_string(),
        format!(r#""msg": "d.conf in {top}""#),
    ];
    assert_eq!(ours, want);
    if let Some(theirs) = ansible_messages(p.path(), &args) {
        assert_eq!(ours, theirs);
    }
}

#[test]
fn order_sorts_the_play_hosts() {
    let inv = "[g]\nzeta ansible_connection=local\nalpha ansible_connection=local\nmid ansible_connection=local\n";
    for (order, want) in [
        ("inventory", ["zeta", "alpha", "mid"]),
        ("reverse_inventory", ["mid", "alpha", "zeta"]),
        ("sorted", ["alpha", "mid", "zeta"]),
        ("reverse_sorted", ["zeta", "mid", "alpha"]),
    ] {
        let play = format!("- hosts: g\n  order: {order}\n  gather_facts: false\n  tasks: [{{debug: msg=hi}}]\n");
        let p = scratch(&[("inv.ini", inv), ("p.yml", &play)]);
        let args = ["-i", "inv.ini", "p.yml", "--list-hosts"];
        let ours = Run::new().in_dir(p.path()).args(args).succeeds().stdout;
        let listed: Vec<&str> = ours.lines().skip_while(|l| !l.contains("hosts (3)")).skip(1).map(str::trim).collect();
        assert_eq!(listed, want, "order: {order}\n{ours}");
        // Ansible lists hosts in set order, but runs them in the play's order: compare the runs.
        let run = ["-i", "inv.ini", "p.yml", "-f", "1"];
        let ran = |stdout: &str| -> Vec<String> {
            stdout
                .lines()
                .filter_map(|l| l.strip_prefix("ok: ["))
                .map(|l| l[..l.find(']').unwrap()].to_string())
                .collect()
        };
        let ours = ran(&Run::new().in_dir(p.path()).args(run).succeeds().stdout);
        assert_eq!(ours, want, "order: {order}");
        if let Some(ap) = ansible_playbook() {
            let theirs = Command::new(ap).args(run).current_dir(p.path()).env("ANSIBLE_NOCOLOR", "1").output().unwrap();
            assert_eq!(ours, ran(&String::from_utf8_lossy(&theirs.stdout)), "order: {order}");
        }
    }
}

#[test]
fn refused_keywords_fail_at_load_with_their_place() {
    for (play, line, col, says) in [
        ("- hosts: all\n  strategy: debug\n  tasks: []\n", 2, 13, "strategy: debug"),
        ("- hosts: all\n  tasks:\n    - command: date\n      debugger: always\n", 4, 7, "`debugger`"),
    ] {
        let p = scratch(&[("inv.ini", "localhost ansible_connection=local\n"), ("p.yml", play)]);
        let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "p.yml"]).code(4);
        d.stderr_has(&format!("p.yml:{line}:{col}"));
        d.stderr_has(says);
        d.stderr_has("not supported by troupe");
    }
    // What troupe does anyway is accepted.
    let play = "- hosts: all\n  strategy: free\n  force_handlers: true\n  gather_facts: false\n  tasks: []\n";
    let p = scratch(&[("inv.ini", "localhost ansible_connection=local\n"), ("p.yml", play)]);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "p.yml"]).succeeds();
}

/// The testbed's inventory without the variables that would beat the keywords.
fn inventory_without(tb: &Testbed, vars: &[&str]) -> String {
    let text = std::fs::read_to_string(&tb.inventory).expect("testbed inventory");
    text.lines()
        .filter(|l| !vars.iter().any(|v| l.trim_start().starts_with(&format!("{v}:"))))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn e2e_remote_user_and_port_reach_the_host_as_asked() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0].name;
    let play = |keywords: &str, task_user: &str| {
        format!(
            "- hosts: {host}\n  gather_facts: false\n{keywords}  tasks:\n    - command: id -un\n      changed_when: false\n      \
             register: who\n    - debug: msg=\"user={{{{ who.stdout }}}}\"\n    - command: id -un\n      changed_when: false\n{task_user}"
        )
    };
    let bare = inventory_without(tb, &["ansible_user", "ansible_port"]);
    let p = scratch(&[
        ("bare.yml", &bare),
        ("root.yml", &play("  remote_user: root\n", "")),
        // The second task logs in as someone else: it needs its own connection, which fails.
        ("task.yml", &play("  remote_user: root\n", "      remote_user: troupe-no-such-user\n")),
        ("nouser.yml", &play("  remote_user: troupe-no-such-user\n", "")),
        ("port.yml", &play("  remote_user: root\n  port: 1\n", "")),
    ]);
    let inv = tb.inventory.display().to_string();
    let run = |inv: &str, pb: &str| Run::new().in_dir(p.path()).args(["-i", inv, pb]).run();

    let d = run("bare.yml", "root.yml");
    assert_eq!(d.out.status.code(), Some(0), "{}", d.stdout);
    d.stdout_has("\"msg\": \"user=root\"");
    let d = run("bare.yml", "task.yml");
    assert_eq!(d.out.status.code(), Some(4), "{}", d.stdout);
    assert_eq!(d.recap(host)[..4], [2, 0, 1, 0], "two tasks ok as root, the third unreachable: {}", d.stdout);
    let d = run("bare.yml", "nouser.yml");
    assert_eq!(d.out.status.code(), Some(4), "{}", d.stdout);
    d.stdout_has("UNREACHABLE");
    let d = run("bare.yml", "port.yml");
    assert_eq!(d.out.status.code(), Some(4), "port 1 has no sshd: {}", d.stdout);
    // Variables beat keywords (Ansible): the inventory's `ansible_user: root` wins.
    let d = run(&inv, "nouser.yml");
    assert_eq!(d.out.status.code(), Some(0), "{}", d.stdout);
    d.stdout_has("\"msg\": \"user=root\"");
}

/// A keyword that renders to `omit` is unset at that level: the block's or play's value holds.
#[test]
fn a_keyword_set_to_omit_inherits_the_outer_value() {
    let pb = r#"- hosts: all
  gather_facts: false
  ignore_errors: true
  tasks:
    - fail: msg=ignored
      ignore_errors: "{{ omit }}"
    - block:
        - command: /bin/false
          ignore_errors: "{{ omit }}"
          register: r
      ignore_errors: false
      rescue:
        - debug: msg="rescued {{ r.rc }}"
    - debug: msg=after
"#;
    crate::support::compare::check(
        &[("pb.yml", pb)],
        &["-i", "localhost,", "-c", "local", "pb.yml"],
        &[],
        &[r#""msg": "rescued 1""#, r#""msg": "after""#],
    );
}
