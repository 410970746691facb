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

/// A literal value outside the module's declared choices fails at load, with Ansible's text and
/// the task's position; a templated one waits for the run.
#[test]
fn a_bad_literal_choice_is_a_load_error() {
    let pb = "- hosts: local\n  gather_facts: false\n  tasks:\n    - debug: msg=first\n    - file: path=/tmp/x state=bogus\n";
    let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", pb)]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "--syntax-check", "pb.yml"]).code(4);
    d.stderr_has("file: value of state must be one of: absent, directory, file, hard, link, touch, got: bogus");
    d.stderr_has("pb.yml:5:7");
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(4);
    assert!(!d.stdout.contains("first"), "nothing ran: {}", d.stdout);
    let templated = pb.replace("state=bogus", "state={{ s }}");
    let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", &templated)]);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "--syntax-check", "pb.yml"]).succeeds();
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

#[test]
fn task_failure_is_one_json_line_like_ansible() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "pb.yml",
            "- hosts: local\n  gather_facts: false\n  tasks:\n    - debug: msg=first\n    - shell: \"echo out1; echo err1 >&2; echo err2 >&2; exit 3\"\n",
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(2);
    let line = d.stdout.lines().find(|l| l.starts_with("fatal: [localhost]: FAILED! => {")).unwrap_or_default();
    // Sorted keys, JSON-escaped once (as ansible-playbook prints it), all on one line.
    assert!(line.ends_with('}') && line.contains(r#""rc": 3, "#), "{}", d.stdout);
    assert!(line.contains(r#""stderr": "err1\nerr2", "stderr_lines": ["err1", "err2"]"#), "{line}");
    assert!(!line.contains(r#"\\n"#) && !line.contains("\"failed\""), "{line}");
    // debug results are always shown, indented by 4 like Ansible's.
    d.stdout_has("ok: [localhost] => {\n    \"msg\": \"first\"\n}\n");
    no_panic(&d.stderr);
}

#[test]
fn multi_line_template_errors_are_escaped_once() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("pb.yml", "- hosts: local\n  gather_facts: false\n  tasks:\n    - shell: |\n        echo {{ nope }}\n        echo two\n"),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(2);
    d.stdout_has(r#"template \"echo {{ nope }}\necho two\n\""#).stdout_lacks(r#"\\n"#);
}

#[test]
fn own_diagnostics_keep_real_newlines() {
    let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", "- hosts: all\n  tasks: []\n")]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml", "-e", "a: 1\nb: [2"]).code(1);
    d.stderr_has("bad --extra-vars 'a: 1\nb: [2'");
    assert!(!d.stderr.contains(r"\n"), "{}", d.stderr);
    let p = scratch(&[("inv.ini", LOCAL_INV), ("bad.yml", "- hosts: local\n  tasks:\n    - debug: {msg: [1, 2}\n")]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "bad.yml"]).code(4);
    d.stderr_has("error: YAML syntax error").stderr_has("\n  --> bad.yml:3:").stderr_has("\n  = hint: ");
    assert!(!d.stderr.contains(r"\n"), "{}", d.stderr);
}

#[test]
fn corrupt_ansible_cfg_is_an_error_not_ignored() {
    // Ansible: "Error reading config file (...): File contains no section headers."
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("pb.yml", "- hosts: all\n  tasks: []\n"),
        ("ansible.cfg", "[defaults\nforks=\n"),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(1);
    d.stderr_has("error reading config file ansible.cfg: file contains no section headers (line 1");
    no_panic(&d.stderr);
}
