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
