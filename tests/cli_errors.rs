//! Bad input: one clear error with file:line:col, the right exit code, no panic.

use crate::support::run::{scratch, Run, LOCAL_INV};

fn no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "panic: {stderr}");
}

#[test]
fn malformed_yaml_names_file_line_col() {
    let p = scratch(&[("inv.ini", LOCAL_INV), ("bad.yml", "- hosts: local\n  tasks:\n    - debug: {msg: [1, 2}\n")]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "bad.yml"]).code(4);
    d.stderr_has("error:").stderr_has("bad.yml:3:");
    assert_eq!(d.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{}", d.stderr);
    no_panic(&d.stderr);
}

#[test]
fn unknown_module_is_a_load_error() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("pb.yml", "- hosts: local\n  tasks:\n    - name: x\n      no_such_module: a=1\n"),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(4);
    d.stderr_has("no_such_module").stderr_has("pb.yml:4:7");
    no_panic(&d.stderr);
}

#[test]
fn unknown_keyword_is_a_load_error() {
    let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", "- hosts: local\n  taskz: []\n")]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(4);
    d.stderr_has("taskz").stderr_has("pb.yml:2:");
}

#[test]
fn undefined_variable_fails_the_task_with_its_name() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "pb.yml",
            "- hosts: local\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ nope_not_defined }}\"\n",
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(2);
    d.stdout_has("nope_not_defined").stdout_has("pb.yml:4:");
    no_panic(&d.stderr);
}

#[test]
fn missing_role_is_a_load_error() {
    let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", "- hosts: local\n  roles: [ghost]\n")]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(4);
    d.stderr_has("ghost").stderr_has("pb.yml:2:");
}

#[test]
fn limit_matching_nothing_is_an_error() {
    let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", "- hosts: all\n  tasks: []\n")]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml", "-l", "nomatch"]).code(1);
    d.stderr_has("nomatch");
}

#[test]
fn bad_extra_vars_is_a_usage_error() {
    let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", "- hosts: all\n  tasks: []\n")]);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml", "-e", "novalue"]).code(1).stderr_has("extra-vars");
}

#[test]
fn shebang_playbook_runs_directly() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            "#!/usr/bin/env troupe\n- hosts: local\n  gather_facts: false\n  tasks:\n    - debug: msg=\"x={{ x }}\"\n",
        ),
    ]);
    use std::os::unix::fs::PermissionsExt;
    let pb = p.path().join("site.yml");
    std::fs::set_permissions(&pb, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin_dir = crate::support::run::troupe_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new(&pb)
        .current_dir(p.path())
        .env("PATH", path)
        .args(["-i", "inv.ini", "-l", "localhost", "-e", "x=1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("x=1"), "{stdout}");
}

#[test]
fn boolean_keyword_nonsense_is_a_load_error() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("pb.yml", "- hosts: local\n  tasks:\n    - command: id\n      become: maybe\n"),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(4);
    d.stderr_has("`become` must be a boolean").stderr_has("'maybe'").stderr_has("pb.yml:4:15");
    no_panic(&d.stderr);
}
