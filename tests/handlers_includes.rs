//! Handlers, includes and imports as ansible-core 2.19 runs them (issue 11's ansint targets
//! handlers, include_import, meta_tasks, omit): each run is compared with ansible-playbook's
//! when ansible-core is installed.

use std::path::Path;

use crate::support::compare::{ansible, messages};
use crate::support::run::{ansible_playbook, scratch, Run};

/// ansible-playbook's messages, exit code and output for the same run, when it is installed.
fn ansible_run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<(Vec<String>, i32, String)> {
    let out = ansible(&ansible_playbook()?, dir, args, env);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some((messages(&text), out.status.code().unwrap_or(-1), text + &String::from_utf8_lossy(&out.stderr)))
}

/// Run troupe, then ansible-playbook, and require the same messages and exit code.
fn same_as_ansible(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Vec<String>, i32, String) {
    let mut run = Run::new().in_dir(dir).args(args);
    for (k, v) in env {
        run = run.env(k, v);
    }
    let done = run.run();
    let ours = (messages(&done.stdout), done.out.status.code().unwrap_or(-1), done.stdout.clone() + &done.stderr);
    if let Some(theirs) = ansible_run(dir, args, env) {
        assert_eq!((&ours.0, ours.1), (&theirs.0, theirs.1), "troupe:\n{}\nansible-playbook:\n{}", ours.2, theirs.2);
    }
    ours
}

/// Local hosts; Ansible's modules run with its own Python (no interpreter discovery).
const LOCAL: &str =
    "[g]\nh1 ansible_connection=local\n[all:vars]\nansible_python_interpreter={{ ansible_playbook_python }}\n";

#[test]
fn force_handlers_from_the_command_line_runs_the_handlers_of_a_failed_host() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - debug: msg=changing
      changed_when: true
      notify: report
    - fail: msg=boom
  handlers:
    - name: report
      debug: msg="handler ran"
"#;
    let p = scratch(&[("inv", LOCAL), ("p.yml", play)]);
    let (plain, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    assert_eq!((plain.len(), code), (1, 2), "{plain:?}");
    let (forced, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml", "--force-handlers"], &[]);
    assert_eq!(code, 2);
    assert!(forced.iter().any(|m| m.contains("handler ran")), "{forced:?}");
    let (env, _, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[("ANSIBLE_FORCE_HANDLERS", "1")]);
    assert_eq!(env, forced);
}

#[test]
fn a_name_runs_its_first_handler_and_listeners_run_once_per_name() {
    let play = r#"
- hosts: g
  gather_facts: false
  roles: [r]
  tasks:
    - debug: msg=go
      changed_when: true
      notify: [topic, "r : scoped"]
  handlers:
    - name: topic
      debug: msg="first by name"
    - name: topic
      debug: msg="second by name"
    - name: same
      debug: msg="listener one"
      listen: topic
    - name: same
      debug: msg="listener twin"
      listen: topic
    - name: other
      debug: msg="listener two"
      listen: topic
"#;
    let role_handlers = "- name: in role\n  debug: msg=\"role listener\"\n  listen: scoped\n";
    let p = scratch(&[("inv", LOCAL), ("p.yml", play), ("roles/r/handlers/main.yml", role_handlers)]);
    let (ours, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        ours,
        [
            r#""msg": "go""#,
            r#""msg": "role listener""#,
            r#""msg": "first by name""#,
            r#""msg": "listener one""#,
            r#""msg": "listener two""#
        ],
    );
}

#[test]
fn notifying_a_missing_handler_stops_the_run_unless_told_otherwise() {
    let play = "- hosts: g\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      notify: nobody\n    - debug: msg=after\n";
    let p = scratch(&[("inv", LOCAL), ("p.yml", play)]);
    let (ours, code, out) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    assert_eq!(code, 1);
    assert!(!ours.iter().any(|m| m.contains("after")), "{ours:?}");
    assert!(out.contains("The requested handler 'nobody' was not found in either the main handlers list nor in the listening handlers list"), "{out}");
    let (ours, code, _) =
        same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[("ANSIBLE_ERROR_ON_MISSING_HANDLER", "false")]);
    assert_eq!(code, 0);
    assert!(ours.iter().any(|m| m.contains("after")), "{ours:?}");
}

#[test]
fn a_roles_handlers_run_with_the_keywords_of_its_roles_entry() {
    let play = r#"
- hosts: g
  gather_facts: false
  roles:
    - role: r
      ignore_errors: true
  tasks:
    - meta: flush_handlers
    - debug: msg="play goes on"
"#;
    let tasks = "- debug: msg=go\n  changed_when: true\n  notify: breaks\n";
    let handlers = "- name: breaks\n  fail: {msg: handler failed}\n";
    let p = scratch(&[
        ("inv", LOCAL),
        ("p.yml", play),
        ("roles/r/tasks/main.yml", tasks),
        ("roles/r/handlers/main.yml", handlers),
    ]);
    let (ours, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    assert_eq!(code, 0);
    assert!(ours.iter().any(|m| m.contains("play goes on")), "{ours:?}");
}

#[test]
fn keywords_on_an_include_apply_to_the_include_only() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - include_tasks: inc.yml
      ignore_errors: true
    - debug: msg="not reached"
"#;
    let inc = "- command: \"false\"\n- debug: msg=\"not reached either\"\n";
    let p = scratch(&[("inv", LOCAL), ("p.yml", play), ("inc.yml", inc)]);
    let (ours, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    assert_eq!(code, 2);
    assert!(ours.is_empty(), "{ours:?}");
}

#[test]
fn include_role_public_allow_duplicates_and_a_looped_role_s_handlers() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - debug: msg="before {{ r_default | default('hidden') }}"
    - include_role: {name: r, public: true}
    - debug: msg="after {{ r_default }}"
    - include_role: {name: r, allow_duplicates: false}
    - include_role: {name: r}
      loop: [1, 2]
      loop_control: {loop_var: name}
"#;
    let tasks = "- debug: msg=\"in r {{ name | default('-') }}\"\n  changed_when: true\n  notify: once\n";
    let p = scratch(&[
        ("inv", LOCAL),
        ("p.yml", play),
        ("roles/r/tasks/main.yml", tasks),
        ("roles/r/defaults/main.yml", "r_default: shown\n"),
        ("roles/r/handlers/main.yml", "- name: once\n  debug: msg=\"handler once\"\n"),
    ]);
    let (ours, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        ours,
        [
            r#""msg": "before hidden""#,
            r#""msg": "in r -""#,
            r#""msg": "after shown""#,
            r#""msg": "in r 1""#,
            r#""msg": "in r 2""#,
            r#""msg": "handler once""#
        ]
    );
}

#[test]
fn imports_resolve_names_from_import_playbook_and_task_vars() {
    let main = r#"
- import_playbook: "{{ pb }}"
  vars:
    pb: sub.yml
    role_name: r
"#;
    let sub = r#"
- hosts: g
  gather_facts: false
  tasks:
    - import_role:
        name: "{{ role_name }}"
    - import_tasks: "{{ file }}"
      vars:
        file: t.yml
    - action:
        module: "{{ mod }}"
        fact: templated action
      vars:
        mod: set_fact
    - debug: msg="{{ fact }}"
"#;
    let p = scratch(&[
        ("inv", LOCAL),
        ("main.yml", main),
        ("sub.yml", sub),
        ("t.yml", "- debug: msg=\"from t\"\n"),
        ("roles/r/tasks/main.yml", "- debug: msg=\"from r\"\n"),
    ]);
    let (ours, code, _) = same_as_ansible(p.path(), &["-i", "inv", "main.yml"], &[]);
    assert_eq!(code, 0);
    assert_eq!(ours, [r#""msg": "from r""#, r#""msg": "from t""#, r#""msg": "templated action""#]);
}

#[test]
fn a_run_once_include_runs_for_the_first_host_only() {
    let inv = "[g]\nh1 ansible_connection=local\nh2 ansible_connection=local\n[all:vars]\nansible_python_interpreter={{ ansible_playbook_python }}\n";
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - include_tasks: inc.yml
      run_once: true
    - debug: msg="{{ inventory_hostname }} {{ seen | default('unset') }}"
"#;
    let inc = "- set_fact: {seen: \"set on {{ inventory_hostname }}\"}\n";
    let p = scratch(&[("inv", inv), ("p.yml", play), ("inc.yml", inc)]);
    let (ours, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    assert_eq!(code, 0);
    assert_eq!(ours, [r#""msg": "h1 set on h1""#, r#""msg": "h2 unset""#]);
}

#[test]
fn refresh_inventory_reads_the_sources_again_and_keeps_added_hosts() {
    let play = r#"
- hosts: all
  gather_facts: false
  tasks:
    - add_host: {name: added, ansible_connection: local}
      run_once: true
    - copy: {src: new.ini, dest: inv.ini}
      delegate_to: localhost
      run_once: true
    - meta: refresh_inventory
- hosts: all
  gather_facts: false
  tasks:
    - debug: msg="{{ ansible_play_hosts | sort | join(',') }}"
      run_once: true
"#;
    let py = "[all:vars]\nansible_python_interpreter={{ ansible_playbook_python }}\n";
    let old = &format!("old1 ansible_connection=local\n{py}");
    let new = &format!("new1 ansible_connection=local\nnew2 ansible_connection=local\n{py}");
    let p = scratch(&[("inv.ini", old), ("new.ini", new), ("p.yml", play)]);
    let args = ["-i", "inv.ini", "p.yml"];
    let ours = messages(&Run::new().in_dir(p.path()).args(args).succeeds().stdout);
    assert_eq!(ours, [r#""msg": "added,new1,new2""#]);
    // ansible-playbook starts from the old inventory too (the run replaced the file).
    std::fs::write(p.path().join("inv.ini"), old).unwrap();
    if let Some((theirs, code, out)) = ansible_run(p.path(), &args, &[]) {
        assert_eq!((ours, 0), (theirs, code), "{out}");
    }
}

#[test]
fn templated_notify_and_handler_names_and_what_cannot_be_a_handler() {
    let play = r#"
- hosts: g
  gather_facts: false
  vars:
    first: name1
    both: [name2, topic3]
  tasks:
    - debug: msg=go
      changed_when: true
      notify: "{{ first }}"
    - debug: msg=again
      changed_when: true
      notify: "{{ both }}"
    - assert: {that: [true], success_msg: asserted}
  handlers:
    - name: name1
      debug: msg="ran name1"
    - name: "{{ 'name' ~ 2 }}"
      debug: msg="ran templated name2"
    - name: listener
      debug: msg="ran topic3"
      listen: topic3
"#;
    let p = scratch(&[("inv", LOCAL), ("p.yml", play)]);
    let (ours, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        ours,
        [
            r#""msg": "go""#,
            r#""msg": "again""#,
            r#""msg": "asserted""#,
            r#""msg": "ran name1""#,
            r#""msg": "ran templated name2""#,
            r#""msg": "ran topic3""#
        ]
    );
    let block = "- hosts: g\n  gather_facts: false\n  handlers:\n    - block:\n        - debug: msg=x\n        - block:\n            - debug: msg=y\n";
    let p = scratch(&[("inv", LOCAL), ("p.yml", block)]);
    let (_, code, out) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    assert_ne!(code, 0);
    assert!(out.contains("Using a block as a handler is not supported."), "{out}");
}

#[test]
fn what_a_handler_includes_runs_as_handlers_and_may_not_nest_a_block() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - command: "true"
      notify: handler
  handlers:
    - name: handler
      include_tasks: "{{ file }}"
"#;
    // A block at the top of the file is the handler's implicit block; the tasks in it are handlers.
    let good = "- name: top\n  block:\n    - name: inner\n      debug: msg=inner\n- name: plain\n  debug: msg=plain\n";
    let bad = "- name: top\n  block:\n    - debug: msg=inner\n    - name: nested\n      block:\n        - debug: msg=nested\n";
    let p = scratch(&[("inv", LOCAL), ("p.yml", play), ("good.yml", good), ("bad.yml", bad)]);
    let (ours, code, out) = same_as_ansible(p.path(), &["-i", "inv", "p.yml", "-e", "file=good.yml"], &[]);
    assert_eq!((ours, code), (vec![r#""msg": "inner""#.to_string(), r#""msg": "plain""#.to_string()], 0));
    assert!(out.contains("RUNNING HANDLER [inner]") && out.contains("RUNNING HANDLER [plain]"), "{out}");
    // A block inside it ends the run when the handler includes the file, as a parser error.
    let (ours, code, out) = same_as_ansible(p.path(), &["-i", "inv", "p.yml", "-e", "file=bad.yml"], &[]);
    assert_eq!((ours.len(), code), (0, 4), "{out}");
    assert!(out.contains("Using a block as a handler is not supported.") && out.contains("bad.yml:4:"), "{out}");
    assert!(!out.contains("PLAY RECAP"), "{out}");
}

#[test]
fn the_flush_ending_a_section_goes_by_tags_and_says_so_with_ansible_debug() {
    let play = r#"
- hosts: g
  gather_facts: false
  tags: whole_play
  tasks:
    - debug: msg=first
      changed_when: true
      notify: h
    - debug: msg=second
      changed_when: true
      notify: h1
      tags: task_tag
  handlers:
    - name: h
      debug: msg="h ran"
    - name: h1
      debug: msg="h1 ran"
"#;
    let p = scratch(&[("inv", LOCAL), ("p.yml", play)]);
    // It is Ansible's implicit `meta: flush_handlers`, tagged `always` under the play's tags.
    let (ours, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml", "--skip-tags", "always"], &[]);
    assert_eq!((ours, code), (vec![r#""msg": "first""#.to_string(), r#""msg": "second""#.to_string()], 0));
    // ANSIBLE_DEBUG: Ansible's debug lines of that flush (troupe prints no others).
    let count = |out: &str, what: &str| out.lines().filter(|l| l.contains(what)).count();
    let cases: [(&[&str], usize, usize); 2] = [(&["--tags", "task_tag"], 1, 1), (&["--skip-tags", "whole_play"], 0, 0)];
    for (extra, triggered, ran) in cases {
        let args: Vec<&str> = ["-i", "inv", "p.yml"].iter().chain(extra).copied().collect();
        let done = Run::new().in_dir(p.path()).args(&args).env("ANSIBLE_DEBUG", "1").succeeds();
        let theirs = ansible_run(p.path(), &args, &[("ANSIBLE_DEBUG", "1")]);
        for out in std::iter::once(done.stdout.clone()).chain(theirs.map(|t| t.2)) {
            assert_eq!(count(&out, "META: triggered running handlers for h1"), triggered, "{args:?}: {out}");
            assert_eq!(count(&out, "\"msg\": \"h1 ran\""), ran, "{args:?}: {out}");
            assert_eq!(count(&out, "\"msg\": \"h ran\""), 0, "{args:?}: {out}");
        }
        if triggered == 0 {
            assert_eq!(count(&done.stdout, "No handler notifications for"), 0, "{}", done.stdout);
        } else {
            assert!(count(&done.stdout, "No handler notifications for h1, skipping.") > 0, "{}", done.stdout);
        }
    }
}

/// The banner and recap lines of a run's output, without the stars or trailing blanks.
fn outline(out: &str) -> Vec<String> {
    let keep = ["PLAY", "TASK [", "RUNNING HANDLER [", "skipping: no hosts"];
    out.lines()
        .filter(|l| keep.iter().any(|k| l.starts_with(k)) || l.contains(" : ok="))
        .map(|l| l.trim_end_matches([' ', '*']).to_string())
        .collect()
}

/// Run troupe with `args` and, when installed, ansible-playbook; both must exit with `code` and
/// show the same banners and recap. Returns troupe's.
fn same_outline(dir: &Path, args: &[&str], code: i32) -> Vec<String> {
    let done = Run::new().in_dir(dir).args(args).code(code);
    let ours = outline(&done.stdout);
    if let Some((_, their_code, out)) = ansible_run(dir, args, &[]) {
        assert_eq!((&ours, code), (&outline(&out), their_code), "troupe:\n{}\nansible-playbook:\n{out}", done.stdout);
    }
    ours
}

#[test]
fn a_handler_notified_after_its_turn_runs_at_the_next_flush() {
    // Each flush is one pass over the handlers: handler2 notifying handler1 again, or
    // self_notify itself, runs them at the next flush (the end of post_tasks), then no more.
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - command: "true"
      notify: [handler1, self_notify]
  handlers:
    - name: handler1
      debug: msg="handler1 ran"
      changed_when: true
      notify: handler2
    - name: handler2
      debug: msg="handler2 ran"
      changed_when: true
      notify: handler1
    - name: self_notify
      debug: msg="self_notify ran"
      changed_when: true
      notify: self_notify
"#;
    let p = scratch(&[("inv", LOCAL), ("p.yml", play)]);
    let (ours, code, _) = same_as_ansible(p.path(), &["-i", "inv", "p.yml"], &[]);
    let pass = [r#""msg": "handler1 ran""#, r#""msg": "handler2 ran""#, r#""msg": "self_notify ran""#];
    assert_eq!((ours, code), (pass.iter().chain(&pass).map(|s| s.to_string()).collect(), 0));
}

#[test]
fn a_batch_that_all_failed_ends_the_playbook_and_the_recap_lists_hosts_that_did_something() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - fail: msg=boom
- hosts: g
  gather_facts: false
  tasks:
    - debug: msg="not reached"
"#;
    let p = scratch(&[("inv", LOCAL), ("p.yml", play)]);
    let ours = same_outline(p.path(), &["-i", "inv", "p.yml"], 2);
    assert_eq!(ours.iter().filter(|l| l.starts_with("PLAY [")).count(), 1, "{ours:?}");
    // A host all of whose tasks were left out by tags has no recap line.
    let tagged = "- hosts: g\n  gather_facts: false\n  tags: whole\n  tasks:\n    - debug: msg=x\n";
    let p = scratch(&[("inv", LOCAL), ("p.yml", tagged)]);
    let ours = same_outline(p.path(), &["-i", "inv", "p.yml", "--skip-tags", "whole"], 0);
    assert_eq!(ours, ["PLAY [g]", "PLAY RECAP"]);
}

#[test]
fn a_roles_unnamed_task_and_an_unnamed_include_role_show_their_role() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - include_role: {name: r}
    - import_role: {name: r}
"#;
    let tasks = "- debug: msg=in_r\n  changed_when: true\n  notify: h\n";
    let p = scratch(&[
        ("inv", LOCAL),
        ("p.yml", play),
        ("roles/r/tasks/main.yml", tasks),
        ("roles/r/handlers/main.yml", "- debug: msg=handler\n  listen: h\n"),
    ]);
    let ours = same_outline(p.path(), &["-i", "inv", "p.yml"], 0);
    let want = ["TASK [include_role : r]", "TASK [r : debug]", "TASK [r : debug]", "RUNNING HANDLER [r : debug]"];
    assert_eq!(ours[1..5], want, "{ours:?}");
    // `--list-tasks` shows them by their action alone, as Ansible.
    let listed = Run::new().in_dir(p.path()).args(["-i", "inv", "p.yml", "--list-tasks"]).succeeds();
    listed.stdout_has("      include_role\tTAGS: []").stdout_has("      debug\tTAGS: []");
}

#[test]
fn an_include_shows_what_it_included_once_its_files_load() {
    // Every file of a looped include loads (its `included:` line) before any of them runs.
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - include_tasks: inc.yml
    - include_tasks: inc.yml
      loop: [1, 2]
    - include_tasks: inc.yml
      loop: [x]
      loop_control: {loop_var: z, label: "label {{ z }}"}
    - include_role: {name: r}
"#;
    let p = scratch(&[
        ("inv", LOCAL),
        ("p.yml", play),
        ("inc.yml", "- debug: msg=inc\n"),
        ("roles/r/tasks/main.yml", "- debug: msg=r\n"),
    ]);
    let shown = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("included: ") || l.starts_with("ok: ") || l.starts_with("TASK ["))
            .map(|l| l.trim_end_matches([' ', '*']).to_string())
            .collect()
    };
    let done = Run::new().in_dir(p.path()).args(["-i", "inv", "p.yml"]).succeeds();
    let ours = shown(&done.stdout);
    let file = std::fs::canonicalize(p.path()).unwrap().join("inc.yml");
    let f = file.display();
    assert_eq!(
        ours[..6],
        [
            "TASK [include_tasks]".to_string(),
            format!("included: {f} for h1"),
            "TASK [debug]".to_string(),
            "ok: [h1] => {".to_string(),
            "TASK [include_tasks]".to_string(),
            format!("included: {f} for h1 => (item=1)"),
        ]
    );
    assert_eq!(ours[6], format!("included: {f} for h1 => (item=2)"));
    assert!(ours.contains(&format!("included: {f} for h1 => (item=label x)")), "{ours:?}");
    assert!(ours.contains(&"included: r for h1".to_string()), "{ours:?}");
    if let Some((_, code, out)) = ansible_run(p.path(), &["-i", "inv", "p.yml"], &[]) {
        assert_eq!((ours, 0), (shown(&out), code), "{out}");
    }
}

#[test]
fn an_include_that_does_not_load_fails_the_host_as_ansible_s() {
    // A missing file, a file importing a missing file, a missing role: each fails the host with
    // Ansible's result (`include`, `reason`); a rescue runs, and the recap counts the failure only
    // (not the include's ok, nor a rescue). `ignore_errors` does not cover a load failure.
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - block:
        - include_tasks: nope.yml
      rescue:
        - debug: msg=rescued1
    - block:
        - include_tasks: imports_missing.yml
      rescue:
        - debug: msg=rescued2
    - include_tasks: good.yml
    - block:
        - include_role: name=nosuch
      rescue:
        - debug: msg=rescued3
    - include_tasks: imports_missing.yml
      ignore_errors: true
    - debug: msg=not reached
"#;
    let dir = scratch(&[
        ("hosts", LOCAL),
        ("pb.yml", play),
        ("good.yml", "- debug: msg=good\n"),
        ("imports_missing.yml", "- import_tasks: missing.yml\n"),
    ]);
    let args = ["-i", "hosts", "pb.yml"];
    let outline = same_outline(dir.path(), &args, 2);
    assert!(outline.last().is_some_and(|l| l.contains("ok=5 ") && l.contains("failed=4 ")), "{outline:?}");
    let done = Run::new().in_dir(dir.path()).args(args).code(2);
    let fatal = |out: &str| -> Vec<String> {
        out.lines().filter(|l| l.starts_with("fatal: ") && !l.contains("nosuch")).map(String::from).collect()
    };
    let ours = fatal(&done.stdout);
    let base = std::path::absolute(dir.path()).expect("absolute").display().to_string();
    assert_eq!(ours.len(), 3, "{}", done.stdout);
    assert!(ours[0]
        .contains(&format!("\"include\": \"nope.yml\", \"reason\": \"Could not find or access '{base}/nope.yml'")));
    assert!(ours[1].contains(&format!(
        "\"include\": \"imports_missing.yml\", \"reason\": \"Could not find or access '{base}/missing.yml'"
    )));
    done.stdout_has(&format!("\"reason\": \"the role 'nosuch' was not found in {base}/roles:"));
    if let Some((_, _, theirs)) = ansible_run(dir.path(), &args, &[]) {
        assert_eq!(ours, fatal(&theirs), "ansible-playbook:\n{theirs}");
    }
}

#[test]
fn a_looped_include_counts_ok_per_file_it_loads() {
    // Each loop item that loads is its own `included:` line and its own ok, even for the same
    // file and host; a looped item that does not load fails its host without a `fatal:` line.
    let play = r#"
- hosts: all
  gather_facts: false
  tasks:
    - include_tasks: "{{ item }}"
      loop: [good.yml, good.yml, nope.yml]
      when: item != 'nope.yml' or inventory_hostname == 'h2'
    - include_tasks: good.yml
      when: inventory_hostname == 'h1'
    - debug: msg=end
"#;
    let inv = "h1 ansible_connection=local\nh2 ansible_connection=local\n\
               [all:vars]\nansible_python_interpreter={{ ansible_playbook_python }}\n";
    let dir = scratch(&[("hosts", inv), ("pb.yml", play), ("good.yml", "- debug: msg=good\n")]);
    let args = ["-i", "hosts", "pb.yml"];
    same_outline(dir.path(), &args, 2);
    let done = Run::new().in_dir(dir.path()).args(args).code(2);
    assert_eq!(done.stdout.matches("included: ").count(), 3, "{}", done.stdout);
    done.stdout_has("included: ").stdout_lacks("fatal: ");
    let recap: Vec<&str> = done.stdout.lines().filter(|l| l.contains(" : ok=")).collect();
    assert!(recap[0].starts_with("h1") && recap[0].contains("ok=7 ") && recap[0].contains("failed=0"), "{recap:?}");
    assert!(recap[1].starts_with("h2") && recap[1].contains("ok=2 ") && recap[1].contains("failed=1"), "{recap:?}");
    if let Some((_, _, theirs)) = ansible_run(dir.path(), &args, &[]) {
        let included = |out: &str| out.lines().filter(|l| l.starts_with("included: ")).count();
        assert_eq!(included(&theirs), 3, "ansible-playbook:\n{theirs}");
    }
}
