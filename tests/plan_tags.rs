//! The plan: tag selection, inheritance, and guards pulled in by destructive tasks.

use crate::support::run::{scratch, Run, LOCAL_INV};

const GUARDED: &str = r#"
- hosts: local
  gather_facts: false
  tasks:
    - name: check for an instance
      command: "true"
      tags: [app_check]
    - name: safeguard
      assert: { that: [not (protect | default(false) | bool)] }
      tags: [app_check]
    - name: purge
      command: "true"
      tags: [app_purge]
      guarded_by: [app_check]
    - name: unrelated
      debug: msg=x
      tags: [other]
"#;

#[test]
fn destructive_task_pulls_its_guards_under_tags() {
    let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", GUARDED)]);
    let d =
        Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml", "--list-tasks", "--tags", "app_purge"]).succeeds();
    d.stdout_has("check for an instance").stdout_has("safeguard").stdout_has("purge").stdout_lacks("unrelated");
    // And at run time the guard stops the purge.
    let d = Run::new()
        .in_dir(p.path())
        .args(["-i", "inv.ini", "pb.yml", "--tags", "app_purge", "-e", "protect=true"])
        .code(2);
    d.stdout_has("TASK [safeguard]").stdout_lacks("TASK [purge]");
}

#[test]
fn guard_must_exist() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("pb.yml", "- hosts: local\n  tasks:\n    - command: 'true'\n      guarded_by: [nothing_like_this]\n"),
    ]);
    Run::new()
        .in_dir(p.path())
        .args(["-i", "inv.ini", "pb.yml", "--list-tasks"])
        .code(4)
        .stderr_has("nothing_like_this");
}

#[test]
fn always_and_never_tags() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "pb.yml",
            r#"
- hosts: local
  tasks:
    - { name: t-always, debug: msg=a, tags: [always] }
    - { name: t-never, debug: msg=n, tags: [never, dbg] }
    - { name: t-plain, debug: msg=p }
    - { name: t-x, debug: msg=x, tags: [x] }
"#,
        ),
    ]);
    let all = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml", "--list-tasks"]).succeeds();
    all.stdout_has("t-always").stdout_has("t-plain").stdout_has("t-x").stdout_lacks("t-never");
    let x = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml", "--list-tasks", "-t", "x"]).succeeds();
    x.stdout_has("t-always").stdout_has("t-x").stdout_lacks("t-plain").stdout_lacks("t-never");
    let dbg = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml", "--list-tasks", "-t", "dbg"]).succeeds();
    dbg.stdout_has("t-never");
    let skip = Run::new()
        .in_dir(p.path())
        .args(["-i", "inv.ini", "pb.yml", "--list-tasks", "--skip-tags", "always"])
        .succeeds();
    skip.stdout_lacks("t-always");
    let untagged =
        Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml", "--list-tasks", "-t", "untagged"]).succeeds();
    untagged.stdout_has("t-plain").stdout_lacks("t-x");
}
