//! The playbook language end to end on the local connection: includes, imports, retries,
//! secrets, verbosity, start-at-task, failure policies, environment, facts.

use crate::support::run::{scratch, Run, LOCAL_INV};

const TWO_HOSTS: &str = "[g]\nh1 ansible_connection=local\nh2 ansible_connection=local\n";

#[test]
fn include_tasks_and_include_role_at_run_time() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("inc.yml", "- debug: msg=\"included {{ item | default('once') }} {{ extra }}\"\n"),
        ("roles/r/tasks/main.yml", "- debug: msg=\"role says {{ r_param }} {{ r_default }}\"\n"),
        ("roles/r/defaults/main.yml", "r_default: dflt\n"),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  tasks:
    - include_tasks: inc.yml
      vars: { extra: X }
    - include_tasks: inc.yml
      loop: [a, b]
      vars: { extra: Y }
    - include_role:
        name: r
      vars: { r_param: P }
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds();
    d.stdout_has("included once X")
        .stdout_has("included a Y")
        .stdout_has("included b Y")
        .stdout_has("role says P dflt");
}

#[test]
fn import_playbook_and_import_tasks() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("tasks/t.yml", "- name: imported task\n  debug: msg=\"imported {{ v }}\"\n"),
        (
            "other.yml",
            "- hosts: local\n  gather_facts: false\n  tasks:\n    - import_tasks: tasks/t.yml\n      vars: { v: 7 }\n",
        ),
        ("site.yml", "- import_playbook: other.yml\n"),
    ]);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds().stdout_has("imported 7");
    Run::new()
        .in_dir(p.path())
        .args(["-i", "inv.ini", "site.yml", "--list-tasks"])
        .succeeds()
        .stdout_has("imported task");
}

#[test]
fn until_retries_until_the_condition_holds() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  tasks:
    - shell: "n=$(cat {{ f }} 2>/dev/null || echo 0); echo $((n+1)) > {{ f }}; cat {{ f }}"
      register: r
      until: r.stdout | int >= 3
      retries: 5
      delay: 0
    - assert: { that: [r.attempts == 3] }
"#,
        ),
    ]);
    let f = format!("f={}/counter", p.path().display());
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", &f]).succeeds();
}

#[test]
fn no_log_hides_secrets_even_with_verbose() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  vars: { secret: "s3cr3t-value" }
  tasks:
    - command: echo {{ secret }}
      no_log: true
    - command: echo {{ secret }}
      no_log: true
      failed_when: true
      ignore_errors: true
    - debug: msg="public"
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-vvv"]).succeeds();
    d.stdout_lacks("s3cr3t-value").stdout_has("censored").stdout_has("public");
    assert!(!d.stderr.contains("s3cr3t-value"));
}

#[test]
fn verbose_shows_results() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("site.yml", "- hosts: local\n  gather_facts: false\n  tasks:\n    - command: echo visible-out\n"),
    ]);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds().stdout_lacks("visible-out");
    Run::new()
        .in_dir(p.path())
        .args(["-i", "inv.ini", "site.yml", "-v"])
        .succeeds()
        .stdout_has("\"stdout\": \"visible-out\"");
}

#[test]
fn start_at_task_and_syntax_check() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("site.yml", "- hosts: local\n  gather_facts: false\n  tasks:\n    - { name: one, debug: msg=first }\n    - { name: two, debug: msg=second }\n"),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "--start-at-task", "two"]).succeeds();
    d.stdout_lacks("first").stdout_has("second");
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "--start-at-task", "nope"]).code(1);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "--syntax-check"]).succeeds().stdout_lacks("first");
}

#[test]
fn any_errors_fatal_stops_every_host() {
    let p = scratch(&[
        ("inv.ini", TWO_HOSTS),
        (
            "site.yml",
            r#"
- hosts: g
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - fail: msg=only-h1
      when: inventory_hostname == 'h1'
    - debug: msg=continued
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).code(2);
    d.stdout_lacks("continued");
}

#[test]
fn meta_end_play_and_environment() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  environment: { PLAY_ENV: from-play }
  tasks:
    - shell: echo "$PLAY_ENV $TASK_ENV"
      environment: { TASK_ENV: from-task }
      register: e
    - assert: { that: ["e.stdout == 'from-play from-task'"] }
    - meta: end_play
    - debug: msg=after-end
"#,
        ),
    ]);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds().stdout_lacks("after-end");
}

#[test]
fn facts_override_host_vars_files() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("host_vars/localhost.yml", "ansible_system: from-host-vars\n"),
        ("site.yml", "- hosts: local\n  tasks:\n    - debug: msg=\"system={{ ansible_system }}\"\n"),
    ]);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds().stdout_has("system=Linux");
}

#[test]
fn play_hosts_are_templated_with_extra_vars() {
    let p = scratch(&[
        ("inv.ini", TWO_HOSTS),
        ("site.yml", "- hosts: \"{{ target | default('g') }}\"\n  gather_facts: false\n  tasks: []\n"),
    ]);
    let d =
        Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "--list-hosts", "-e", "target=h2"]).succeeds();
    d.stdout_has("hosts (1):").stdout_has("      h2");
}

#[test]
fn templates_trim_blocks_like_ansible() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        ("t.j2", "{% for x in [1, 2] %}\nline {{ x }}\n{% endfor %}\nend\n"),
        ("site.yml", "- hosts: local\n  gather_facts: false\n  tasks:\n    - template: src=t.j2 dest={{ out }}\n"),
    ]);
    let out = p.path().join("rendered");
    let arg = format!("out={}", out.display());
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", &arg]).succeeds();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "line 1\nline 2\nend\n");
}

#[test]
fn connection_keyword_on_the_play() {
    let p = scratch(&[
        ("inv.ini", "[g]\nfarhost ansible_host=192.0.2.1\n"),
        ("site.yml", "- hosts: g\n  connection: local\n  gather_facts: false\n  tasks:\n    - command: echo ran-locally\n      register: r\n    - assert: { that: [r.stdout == 'ran-locally'] }\n"),
    ]);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds();
}

const FLAGS_INV: &str = "[g]\nh1 ansible_connection=local hide=true use_become=true\nh2 ansible_connection=local hide=false use_become=false\n";

#[test]
fn boolean_keywords_take_templates_per_host() {
    let p = scratch(&[
        ("inv.ini", FLAGS_INV),
        (
            "site.yml",
            r#"
- hosts: g
  gather_facts: "{{ gf }}"
  vars: { gf: false, ign: "yes", once: "{{ true }}", dry: true, how: su }
  tasks:
    - command: echo secret-{{ inventory_hostname }}
      no_log: "{{ hide }}"
    - fail: msg=boom
      ignore_errors: "{{ ign }}"
    - debug: msg=once-{{ inventory_hostname }}
      run_once: "{{ once }}"
    - command: touch {{ playbook_dir }}/made-{{ inventory_hostname }}
      check_mode: "{{ dry }}"
    - command: id -un
      become: "{{ use_become | bool and am_root | bool }}"
      become_user: nobody
      become_method: "{{ how }}"
      register: who
    - debug: msg=user-{{ inventory_hostname }}-{{ who.stdout }}
"#,
        ),
    ]);
    // Escalating with `su` needs no password only as root; otherwise just check it stays off.
    let root = std::process::Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let am_root = format!("am_root={root}");
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-v", "-e", &am_root]).succeeds();
    d.stdout_lacks("secret-h1").stdout_has("secret-h2").stdout_has("censored");
    d.stdout_lacks("Gathering Facts").stdout_has("...ignoring");
    d.stdout_has("once-h1").stdout_lacks("once-h2");
    assert!(!p.path().join("made-h1").exists(), "check_mode from a template ran the command");
    d.stdout_has("user-h2-root").stdout_has(if root { "user-h1-nobody" } else { "user-h1-root" });
    assert_eq!(d.recap("h1")[6], 1, "ignored: {}", d.stdout);
}

#[test]
fn boolean_keyword_template_that_is_not_a_boolean_fails_the_task() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  vars: { word: maybe, secret: hunter2-secret }
  tasks:
    - command: echo {{ secret }}
      no_log: "{{ not_defined_anywhere }}"
      ignore_errors: true
    - command: echo hi
      become: "{{ word }}"
    - debug: msg=never-here
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-vvv"]).code(2);
    // no_log fails safe: the output is hidden, the task fails, a warning names the keyword.
    d.stdout_lacks("hunter2-secret").stdout_has("censored").stderr_has("output will be masked");
    d.stderr_has("'no_log'").stderr_has("not_defined_anywhere");
    d.stdout_has("Error processing keyword 'become'").stdout_has("'maybe'").stdout_has("site.yml:9:7");
    d.stdout_lacks("never-here");
    assert!(!d.stderr.contains("hunter2-secret"));
    assert_eq!(d.recap("localhost")[3..7], [1, 0, 0, 1], "{}", d.stdout);
}

#[test]
fn gather_facts_template_uses_play_vars_and_an_error_stops_the_run() {
    let play = "- hosts: local\n  gather_facts: \"{{ gf }}\"\n  tasks:\n    - debug: msg=ran\n";
    let p = scratch(&[("inv.ini", LOCAL_INV), ("site.yml", play)]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", "gf=no"]).succeeds();
    d.stdout_lacks("Gathering Facts").stdout_has("ran");
    // As ansible-playbook: a play keyword that can't be evaluated ends the run (exit 4, no recap).
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).code(4);
    d.stderr_has("Error processing keyword 'gather_facts'").stderr_has("'gf'").stderr_has("site.yml:1:3");
    d.stdout_lacks("PLAY RECAP").stdout_lacks("ran");
}

#[test]
fn debug_below_its_verbosity_is_skipped() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  tasks:
    - debug: msg=deep-detail verbosity=2
    - debug:
        msg: "item-{{ item }}"
        verbosity: 1
      loop: [a, b]
    - debug: msg=always-shown
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).succeeds();
    d.stdout_lacks("deep-detail").stdout_lacks("item-a").stdout_has("always-shown");
    // As ansible-playbook: one line per skipped item (its label ends with a space), then one for the loop.
    d.stdout_has("skipping: [localhost]\n\nTASK [debug]")
        .stdout_has("skipping: [localhost] => (item=b) \nskipping: [localhost]\n");
    assert_eq!((d.recap("localhost")[0], d.recap("localhost")[4]), (1, 2), "ok, skipped: {}", d.stdout);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-v"]).succeeds();
    d.stdout_lacks("deep-detail").stdout_has("Verbosity threshold not met.").stdout_has("item-a");
    assert_eq!((d.recap("localhost")[0], d.recap("localhost")[4]), (2, 1), "ok, skipped: {}", d.stdout);
    Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-vv"]).succeeds().stdout_has("deep-detail");
}

#[test]
fn pause_runs_once_per_batch_even_in_check_mode() {
    let inv = "[g]\nh1 ansible_connection=local\nh2 ansible_connection=local\nh3 ansible_connection=local\n";
    let p = scratch(&[
        ("inv.ini", inv),
        (
            "site.yml",
            r#"
- hosts: g
  gather_facts: false
  serial: 2
  tasks:
    - pause: seconds=1
      register: waited
    - debug: msg="{{ inventory_hostname }} registered={{ waited is defined }}"
"#,
        ),
    ]);
    let began = std::time::Instant::now();
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "--check"]).succeeds();
    // Check mode still waits, once per batch of two then one host.
    assert!(began.elapsed() >= std::time::Duration::from_secs(2), "{:?}", began.elapsed());
    assert_eq!(d.stdout.matches("Pausing for 1 seconds\nok: [").count(), 2, "{}", d.stdout);
    d.stdout_has("Pausing for 1 seconds\nok: [h1]\n").stdout_has("Pausing for 1 seconds\nok: [h3]\n");
    // Only the host it ran on gets the result, as in Ansible.
    d.stdout_has("h1 registered=True").stdout_has("h2 registered=False").stdout_has("h3 registered=True");
    assert_eq!(d.recap("h1")[0], 2, "{}", d.stdout);
    assert_eq!(d.recap("h2")[0], 1, "{}", d.stdout);
}

#[test]
fn default_and_defined_see_through_an_undefined_parent() {
    let p = scratch(&[
        ("inv.ini", LOCAL_INV),
        (
            "site.yml",
            r#"
- hosts: local
  gather_facts: false
  tasks:
    - debug: msg="fallback={{ cfg.port | default('x') }}"
    - debug: msg="nested={{ cfg['a'].b | d(7) }}"
    - debug: msg="never-shown"
      when: cfg.port is defined
    - debug: msg="defined={{ cfg.port is defined }}"
    - debug: msg="{{ cfg.port }}"
"#,
        ),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml"]).code(2);
    d.stdout_has("fallback=x").stdout_has("nested=7").stdout_has("defined=False").stdout_lacks("never-shown");
    // Printing the value itself still fails, naming the undefined variable.
    d.stdout_has("variable 'cfg' is undefined").stdout_has("site.yml:10:7");
    assert_eq!(d.recap("localhost")[..5], [3, 0, 0, 1, 1], "{}", d.stdout);
}

#[test]
fn set_fact_names_may_be_templates() {
    let pb = "- hosts: all\n  gather_facts: false\n  vars:\n    p: web\n  tasks:\n    - set_fact:\n        \"{{ p }}_port\": 80\n        \
              \"x{{ item }}\": \"{{ item }}\"\n      loop: [1, 2]\n    - debug: msg=\"{{ web_port }} {{ x1 }} {{ x2 }}\"\n";
    crate::support::compare::check(
        &[("pb.yml", pb)],
        &["-i", "localhost,", "-c", "local", "pb.yml"],
        &[],
        &[r#""msg": "80 1 2""#],
    );
}

#[test]
fn a_loop_over_an_undefined_variable_is_skipped_when_false() {
    // As Ansible: the loop's error counts only if the task's `when` holds without it.
    let pb = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n      with_items: ['{{ baz }}']\n      when: false\n    \
              - debug: msg=after\n    - debug: msg={{ item }}\n      loop: '{{ nope }}'\n      when: false\n";
    let args = ["-i", "localhost,", "-c", "local", "pb.yml"];
    crate::support::compare::check(&[("pb.yml", pb)], &args, &[], &[r#""msg": "after""#]);
    let dir = scratch(&[("pb.yml", pb)]);
    assert_eq!(Run::new().in_dir(dir.path()).args(args).succeeds().recap("localhost"), [1, 0, 0, 0, 2, 0, 0]);
    let failing = pb.replace("when: false", "when: true");
    let dir = scratch(&[("pb.yml", failing.as_str())]);
    Run::new().in_dir(dir.path()).args(args).code(2).stdout_has("'baz' is undefined");
}

#[test]
fn rescue_sees_the_failed_task_and_its_result() {
    let pb = "- hosts: all\n  gather_facts: false\n  vars:\n    n: 1\n  tasks:\n    - block:\n        - name: \"EXPECTED FAILURE {{ n }}\"\n          \
              debug: msg={{ item }}\n          with_sequence: start=0 junk=3\n      rescue:\n        \
              - debug: msg=\"{{ ansible_failed_task.name }} {{ 'junk' in ansible_failed_result.msg }} {{ ansible_failed_result.failed }}\"\n    \
              - debug: msg=\"after {{ ansible_failed_task.name }}\"\n";
    crate::support::compare::check(
        &[("pb.yml", pb)],
        &["-i", "localhost,", "-c", "local", "pb.yml"],
        &[],
        &[r#""msg": "EXPECTED FAILURE 1 True True""#, r#""msg": "after EXPECTED FAILURE 1""#],
    );
}
