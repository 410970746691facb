//! Input Ansible rejects is rejected (issue 14 points 7 and 12): alias bombs, control
//! characters, a second YAML document, `.nan` vars files, invalid UTF-8. Each is one clear error
//! with a position, never exit 0, a panic or an abort.

use crate::limits::no_panic;
use crate::support::run::{scratch, Done, Run, LOCAL_INV};

const PLAY: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n";

/// A 500-byte file whose aliases expand to a billion nodes.
fn bomb() -> String {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 9].join(", ")));
    }
    text
}

fn run_in(files: &[(&str, &str)], args: &[&str], code: i32) -> Done {
    let p = scratch(files);
    // The old loader grew past 3.9 GB on a bomb before aborting.
    let d = Run::new().in_dir(p.path()).max_memory(2 << 30).args(args).code(code);
    no_panic(&d);
    d
}

#[test]
fn alias_bombs_are_refused_everywhere() {
    let bomb = bomb();
    let msg = "is this an alias bomb";
    let vars_files = "- hosts: all\n  gather_facts: false\n  vars_files: [bomb.yml]\n  tasks:\n    - debug: msg=hi\n";
    let files = [("inv.ini", LOCAL_INV), ("bomb.yml", bomb.as_str()), ("pb.yml", vars_files), ("play.yml", PLAY)];
    run_in(&files, &["-i", "inv.ini", "pb.yml"], 2).stdout_has(msg);
    run_in(&files, &["-i", "inv.ini", "play.yml", "-e", "@bomb.yml"], 1).stderr_has(msg);
    let inv = format!("all:\n  hosts:\n    localhost: {{ansible_connection: local}}\n  vars:\n{}", indent(&bomb));
    run_in(&[("inv.yml", inv.as_str()), ("play.yml", PLAY)], &["-i", "inv.yml", "play.yml"], 4).stderr_has(msg);
    let from_yaml = format!(
        "- hosts: all\n  gather_facts: false\n  vars:\n    text: |\n{}\n  tasks:\n    - debug: msg={{{{ text | from_yaml }}}}\n",
        indent(&bomb)
    );
    run_in(&[("inv.ini", LOCAL_INV), ("pb.yml", from_yaml.as_str())], &["-i", "inv.ini", "pb.yml"], 2).stdout_has(msg);
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("      {l}\n")).collect()
}

#[test]
fn deep_yaml_is_an_error() {
    let deep: String = (0..3_000).map(|i| format!("{}a:\n", "  ".repeat(i))).collect();
    let files = [("inv.ini", LOCAL_INV), ("deep.yml", deep.as_str()), ("play.yml", PLAY)];
    run_in(&files, &["-i", "inv.ini", "play.yml", "-e", "@deep.yml"], 1).stderr_has("deeper than 512 levels");
}

#[test]
fn control_characters_and_second_documents_are_refused() {
    for (text, needle, at) in [
        ("- hosts: all\n  tasks:\n    - debug: msg=\"a\0b\"\n", "#x0000", "pb.yml:3:20"),
        ("- hosts: all\n  tasks:\n    - debug: msg=\"a\x0cb\"\n", "#x000c", "pb.yml:3:20"),
        ("- hosts: all\n  tasks: []\n---\n- hosts: all\n  tasks: []\n", "single document", "pb.yml:3:1"),
    ] {
        run_in(&[("inv.ini", LOCAL_INV), ("pb.yml", text)], &["-i", "inv.ini", "pb.yml"], 4)
            .stderr_has(needle)
            .stderr_has(at);
    }
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let p = scratch(&[("inv.ini", LOCAL_INV)]);
    std::fs::write(p.path().join("pb.yml"), b"- hosts: all\n  tasks:\n    - debug: msg=\"a\xffb\"\n").unwrap();
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(4);
    d.stderr_has("invalid UTF-8").stderr_has("pb.yml:3:20");
}

#[test]
fn nan_vars_files_are_not_empty_ones() {
    let vars_files = "- hosts: all\n  gather_facts: false\n  vars_files: [nan.yml]\n  tasks:\n    - debug: msg=hi\n";
    let files = [("inv.ini", LOCAL_INV), ("nan.yml", ".nan\n"), ("pb.yml", vars_files), ("play.yml", PLAY)];
    run_in(&files, &["-i", "inv.ini", "pb.yml"], 2).stdout_has("must hold a mapping");
    run_in(&files, &["-i", "inv.ini", "play.yml", "-e", "@nan.yml"], 1).stderr_has("must hold a mapping");
}

#[test]
fn empty_role_names_bad_register_names_and_empty_playbooks_are_refused() {
    let head = "- hosts: all\n  gather_facts: false\n";
    for (pb, needle, at) in [
        (format!("{head}  roles:\n    - role: ''\n"), "role definitions must contain a role name", "pb.yml:4:7"),
        (format!("{head}  roles:\n    - ''\n"), "role definitions must contain a role name", "pb.yml:4:7"),
        (
            format!("{head}  tasks:\n    - debug: msg=x\n      register: -1\n"),
            "Invalid 'register' specified: Invalid variable name '-1' of type 'int'.",
            "pb.yml:5:17",
        ),
        (
            format!("{head}  tasks:\n    - debug: msg=x\n      register: a.b\n"),
            "Invalid variable name 'a.b'",
            "pb.yml:5:17",
        ),
        ("# nothing here\n".to_string(), "Empty playbook, nothing to do", "pb.yml"),
        ("[]\n".to_string(), "A playbook must contain at least one play", "pb.yml:1:1"),
    ] {
        run_in(&[("inv.ini", LOCAL_INV), ("pb.yml", pb.as_str())], &["-i", "inv.ini", "pb.yml"], 4)
            .stderr_has(needle)
            .stderr_has(at);
    }
}

const RETRY: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: wait for it\n      command: 'false'\n      register: r\n      until: r.rc == 0\n      retries: 2\n      delay: 0\n";

fn retry_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("FAILED - RETRYING")).collect()
}

#[test]
fn until_retries_print_ansibles_progress_line() {
    let files = [("inv.ini", LOCAL_INV), ("pb.yml", RETRY)];
    let d = run_in(&files, &["-i", "inv.ini", "pb.yml"], 2);
    let ours = retry_lines(&d.stdout);
    assert_eq!(
        ours,
        [
            "FAILED - RETRYING: [localhost]: wait for it (2 retries left).",
            "FAILED - RETRYING: [localhost]: wait for it (1 retries left)."
        ],
        "{}",
        d.stdout
    );
    let vv = run_in(&files, &["-i", "inv.ini", "pb.yml", "-vv"], 2);
    assert!(retry_lines(&vv.stdout).iter().all(|l| l.contains("Result was: {")), "{}", vv.stdout);
    // The same lines as ansible-core's default callback, when it is installed.
    if let Some(ansible) = crate::support::run::ansible_playbook() {
        let p = scratch(&[
            ("inv.ini", "[local]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"),
            ("pb.yml", RETRY),
        ]);
        let out = std::process::Command::new(ansible)
            .current_dir(p.path())
            .args(["-i", "inv.ini", "pb.yml"])
            .env("ANSIBLE_NOCOLOR", "1")
            .output()
            .expect("ansible-playbook runs");
        assert_eq!(retry_lines(&String::from_utf8_lossy(&out.stdout)), ours);
    }
}
