//! Host result lines and warnings as ansible-playbook 2.19 prints them: an option given with its
//! alias, skipped results under -v, debug in a loop. Each test asserts troupe's exact text (the
//! text ansible-core printed), then, when ansible-core is installed, runs it on the same
//! playbook and compares.

use std::path::Path;
use std::process::Command;

use crate::support::run::{ansible_playbook, scratch, Run};

/// What a run printed: host result lines (with debug's indented bodies), and warnings.
#[derive(Debug, PartialEq)]
struct Printed {
    results: Vec<String>,
    warnings: Vec<String>,
}

impl Printed {
    fn of(stdout: &str, stderr: &str) -> Printed {
        let banner = |l: &str| ["PLAY ", "TASK ", "PLAY RECAP"].iter().any(|b| l.starts_with(b));
        let results = stdout
            .lines()
            .filter(|l| !l.is_empty() && !banner(l) && !l.contains(" : ok=") && !l.starts_with("No config file"))
            .map(String::from)
            .collect();
        let warnings = stderr.lines().filter(|l| l.starts_with("[WARNING]: ")).map(String::from).collect();
        Printed { results, warnings }
    }
}

const ARGS: [&str; 4] = ["-i", "localhost,", "-c", "local"];

/// Run `playbook` with troupe (and ansible-core, when installed) in fresh folders; troupe must
/// print `results` and `warnings` exactly, and the same as ansible-playbook.
fn check(playbook: &str, extra: &[&str], results: &[&str], warnings: &[&str]) {
    let mut args: Vec<&str> = ARGS.to_vec();
    args.push("pb.yml");
    args.extend_from_slice(extra);
    let dir = scratch(&[("pb.yml", playbook)]);
    let d = Run::new().in_dir(dir.path()).args(&args).succeeds();
    let ours = Printed::of(&d.stdout, &d.stderr);
    let want = Printed {
        results: results.iter().map(|s| s.to_string()).collect(),
        warnings: warnings.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(ours, want, "troupe {args:?}\n--- stdout\n{}\n--- stderr\n{}", d.stdout, d.stderr);
    match ansible(playbook, &args) {
        Some(theirs) => assert_eq!(ours, theirs, "troupe {args:?} differs from ansible-playbook"),
        None => eprintln!("ansible-core not installed: compared with the recorded text only"),
    }
}

fn ansible(playbook: &str, args: &[&str]) -> Option<Printed> {
    let ap = ansible_playbook()?;
    let dir = scratch(&[("pb.yml", playbook)]);
    let out = run_ansible(&ap, dir.path(), args);
    assert!(out.status.success(), "ansible-playbook {args:?}: {}", String::from_utf8_lossy(&out.stdout));
    Some(Printed::of(&String::from_utf8_lossy(&out.stdout), &String::from_utf8_lossy(&out.stderr)))
}

fn run_ansible(ap: &Path, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(ap);
    cmd.args(args).current_dir(dir).env("ANSIBLE_NOCOLOR", "1").env("ANSIBLE_FORCE_COLOR", "0");
    // Modules run with the venv's own Python (no interpreter discovery, nor its warning).
    if let Some(python) = ap.parent().map(|bin| bin.join("python")).filter(|p| p.exists()) {
        cmd.env("ANSIBLE_PYTHON_INTERPRETER", python);
    }
    cmd.env_remove("ANSIBLE_CONFIG").output().expect("ansible-playbook runs")
}

const ALIAS_PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - lineinfile: path={{ playbook_dir }}/p dest={{ playbook_dir }}/d line=one create=true
      register: r
    - lineinfile:
        path: "{{ playbook_dir }}/p"
        dest: "{{ playbook_dir }}/d"
        line: two
    - debug: msg="{{ r.warnings }}"
    - stat: path={{ playbook_dir }}/p
      register: p
    - debug: msg="{{ p.stat.exists }}"
"#;

/// The alias wins, the result carries `warnings`, and the warning is printed once per run.
#[test]
fn an_option_with_its_alias_warns_once() {
    check(
        ALIAS_PLAYBOOK,
        &[],
        &[
            "changed: [localhost]",
            "changed: [localhost]",
            "ok: [localhost] => {",
            "    \"msg\": [",
            "        \"Both option path and its alias dest are set.\"",
            "    ]",
            "}",
            "ok: [localhost]",
            "ok: [localhost] => {",
            "    \"msg\": false",
            "}",
        ],
        &["[WARNING]: Both option path and its alias dest are set."],
    );
}

const SKIP_PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    flag: false
  tasks:
    - name: literal
      command: echo hi
      when: false
    - name: second condition
      command: echo hi
      when:
        - true
        - flag
    - name: loop
      command: echo {{ item }}
      loop: [1, 2]
      when: item > 5
    - name: check mode
      command: echo hi
    - name: check mode loop
      shell: echo {{ item }}
      loop: [a]
    - name: debug
      debug: msg=hi
      when: false
    - name: no items
      command: echo {{ item }}
      loop: []
    - name: no check mode (a module)
      wait_for: path=/etc/hostname timeout=2
    - name: no check mode (an action)
      uri: url=http://127.0.0.1:1/
"#;

#[test]
fn skipped_results_under_v_show_ansibles_keys() {
    let lines = [
        r#"skipping: [localhost] => {"changed": false, "false_condition": false, "skip_reason": "Conditional result was False"}"#,
        r#"skipping: [localhost] => {"changed": false, "false_condition": "flag", "skip_reason": "Conditional result was False"}"#,
        r#"skipping: [localhost] => (item=1)  => {"ansible_loop_var": "item", "changed": false, "false_condition": "item > 5", "item": 1, "skip_reason": "Conditional result was False"}"#,
        r#"skipping: [localhost] => (item=2)  => {"ansible_loop_var": "item", "changed": false, "false_condition": "item > 5", "item": 2, "skip_reason": "Conditional result was False"}"#,
        r#"skipping: [localhost] => {"changed": false, "msg": "All items skipped"}"#,
        r#"skipping: [localhost] => {"changed": false, "cmd": ["echo", "hi"], "delta": null, "end": null, "msg": "Command would have run if not in check mode", "rc": 0, "start": null, "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}"#,
        r#"skipping: [localhost] => (item=a)  => {"ansible_loop_var": "item", "changed": false, "cmd": "echo a", "delta": null, "end": null, "item": "a", "msg": "Command would have run if not in check mode", "rc": 0, "start": null, "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}"#,
        r#"skipping: [localhost] => {"changed": false, "msg": "All items skipped"}"#,
        r#"skipping: [localhost] => {"false_condition": false}"#,
        r#"skipping: [localhost] => {"changed": false, "skipped_reason": "No items in the list"}"#,
        r#"skipping: [localhost] => {"changed": false, "msg": "remote module (wait_for) does not support check mode"}"#,
        r#"skipping: [localhost] => {"changed": false, "msg": "This action (uri) does not support check mode."}"#,
    ];
    check(SKIP_PLAYBOOK, &["-C", "-v"], &lines, &[]);
    // Without -v a skipped item's label still ends with a space.
    let plain = [
        "skipping: [localhost]",
        "skipping: [localhost]",
        "skipping: [localhost] => (item=1) ",
        "skipping: [localhost] => (item=2) ",
        "skipping: [localhost]",
        "skipping: [localhost]",
        "skipping: [localhost] => (item=a) ",
        "skipping: [localhost]",
        "skipping: [localhost]",
        "skipping: [localhost]",
        "skipping: [localhost]",
        "skipping: [localhost]",
    ];
    check(SKIP_PLAYBOOK, &["-C"], &plain, &[]);
}

const DEBUG_LOOP_PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - debug: msg="{{ item }}"
      loop: [1, 2]
    - debug: var=item
      loop: [1, "two"]
    - debug: var=x
      loop: [1]
      loop_control: { loop_var: x, index_var: i, extended: true, label: "L{{ x }}" }
    - debug: var=item
      loop: [1, 2]
      when: item > 1
"#;

#[test]
fn debug_in_a_loop_prints_only_its_output() {
    let body = |label: &str, key: &str, value: &str| {
        vec![format!("ok: [localhost] => (item={label}) => {{"), format!("    \"{key}\": {value}"), "}".into()]
    };
    let mut lines = Vec::new();
    lines.extend(body("1", "msg", "1"));
    lines.extend(body("2", "msg", "2"));
    lines.extend(body("1", "item", "1"));
    lines.extend(body("two", "item", "\"two\""));
    lines.extend(["ok: [localhost] => (item=L1) => {", "    \"i\": 0,", "    \"x\": 1", "}"].map(String::from));
    let skipped_first = |v: bool| {
        let mut l = vec![if v {
            r#"skipping: [localhost] => (item=1)  => {"false_condition": "item > 1", "item": 1}"#.to_string()
        } else {
            "skipping: [localhost] => (item=1) ".to_string()
        }];
        l.extend(body("2", "item", "2"));
        l
    };
    let plain: Vec<String> = lines.iter().cloned().chain(skipped_first(false)).collect();
    check(DEBUG_LOOP_PLAYBOOK, &[], &plain.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let verbose: Vec<String> = lines.into_iter().chain(skipped_first(true)).collect();
    check(DEBUG_LOOP_PLAYBOOK, &["-v"], &verbose.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
}

/// wait_for's `elapsed` is whole seconds of a finer clock, as Ansible's: a 2 s timeout on a
/// closed port reads 2 whatever the second boundary the wait began at.
#[test]
fn wait_for_elapsed_counts_whole_seconds_of_the_wait() {
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - wait_for: port=1 host=127.0.0.1 timeout=2
      register: waited
      ignore_errors: true
    - debug: msg="{{ waited.elapsed }} {{ waited.msg }}"
    - wait_for: timeout=1
      register: slept
    - debug: msg="{{ slept.elapsed }}"
"#;
    crate::support::compare::check(
        &[("pb.yml", pb)],
        &["-i", "localhost,", "-c", "local", "pb.yml"],
        &[],
        &[r#""msg": "2 Timeout when waiting for 127.0.0.1:1""#, r#""msg": 1"#],
    );
}
