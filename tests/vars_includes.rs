//! Variables and includes as ansible-core 2.19 has them (issue 11: the vars_files, include_vars,
//! environment and template lookup targets). troupe's values are asserted, and compared with
//! ansible-playbook's on the same playbook when ansible-core is installed.

use crate::support::compare::{ansible, check, messages};
use crate::support::run::{ansible_playbook, scratch, Run};

const ARGS: [&str; 5] = ["-i", "localhost,", "-c", "local", "pb.yml"];

#[test]
fn vars_files_lists_pick_the_first_file_found_and_look_in_vars() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    which: two
    alternatives: ['vars/{{ which }}.yml', 'vars/one.yml']
  vars_files:
    - common.yml
    - ['vars/{{ missing_var }}.yml', one.yml]
    - ['nowhere.yml', 'vars/{{ which }}.yml', 'vars/one.yml']
    - "{{ lookup('first_found', alternatives) }}"
    - not_there_at_all.yml
    - listed.yml
  tasks:
    - debug: msg="{{ common }} {{ picked }} {{ from_list_a }} {{ from_list_b }}"
"#;
    let files = [
        ("pb.yml", pb),
        ("vars/common.yml", "common: in_vars_dir\npicked: none\n"),
        ("common.yml", "common: beside_the_playbook\n"),
        ("vars/one.yml", "picked: one\n"),
        ("vars/two.yml", "picked: two\n"),
        ("vars/listed.yml", "- from_list_a: a\n- from_list_b: b\n"),
    ];
    check(&files, &ARGS, &[], &[r#""msg": "in_vars_dir two a b""#]);
}

#[test]
fn notify_on_blocks_and_imports_reaches_their_tasks() {
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - import_tasks: changes.yml
      notify: from_import
    - block:
        - debug: msg=in_block
          changed_when: true
        - debug: msg=own_notify
          changed_when: true
          notify: own
        - block:
            - debug: msg=nested
              changed_when: true
      notify: from_block
  handlers:
    - name: from_import
      debug: msg="handler from_import"
    - name: from_block
      debug: msg="handler from_block"
    - name: own
      debug: msg="handler own"
"#;
    let files = [("pb.yml", pb), ("changes.yml", "- debug: msg=imported\n  changed_when: true\n")];
    check(
        &files,
        &ARGS,
        &[],
        &[
            r#""msg": "imported""#,
            r#""msg": "in_block""#,
            r#""msg": "own_notify""#,
            r#""msg": "nested""#,
            r#""msg": "handler from_import""#,
            r#""msg": "handler from_block""#,
            r#""msg": "handler own""#,
        ],
    );
}

#[test]
fn include_vars_dir_options_and_hash_merge() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    cfg: {a: 1, sub: {x: 1}}
  tasks:
    - include_vars: {dir: vars/conf, depth: 1}
      register: r1
    - debug: msg="{{ r1.ansible_included_var_files | map('basename') | join(',') }} {{ level }}"
    - include_vars: {dir: vars/conf, files_matching: '^b', ignore_files: ['c\.yml'], name: picked}
      register: r2
    - debug: msg="{{ r2.ansible_included_var_files | map('basename') | join(',') }} {{ picked.bee }} {{ picked.level }}"
    - include_vars: {dir: vars/odd, extensions: ['', yml], ignore_unknown_extensions: true}
      register: r3
    - debug: msg="{{ r3.ansible_included_var_files | map('basename') | join(',') }}"
    - include_vars: {dir: vars/odd}
      register: r4
      ignore_errors: true
    - debug:
        msg: "{{ r4 is failed }} {{ 'does not have a valid extension: yaml, yml, json' in r4.message }}"
    - include_vars: {file: merge.yml, hash_behaviour: merge}
    - debug: msg="{{ cfg | to_json }}"
    - include_vars: missing.yml
      register: r5
      ignore_errors: true
    - debug: msg="{{ r5 is failed }} {{ 'Could not find' in r5.message }}"
"#;
    let files = [
        ("pb.yml", pb),
        ("vars/conf/a.yml", "level: top\n"),
        ("vars/conf/b.yml", "bee: 1\n"),
        ("vars/conf/c.yml", "cee: 1\n"),
        ("vars/odd/noext", "plain: 1\n"),
        ("vars/odd/notes.txt", "txt: 1\n"),
        ("vars/conf/deep/b2.yml", "level: deep\n"),
        ("vars/merge.yml", "cfg: {b: 2, sub: {y: 2}}\n"),
    ];
    check(
        &files,
        &ARGS,
        &[],
        &[
            r#""msg": "a.yml,b.yml,c.yml top""#,
            r#""msg": "b.yml,b2.yml 1 deep""#,
            r#""msg": "noext""#,
            r#""msg": "True True""#,
            r#""msg": "{\"a\": 1, \"sub\": {\"x\": 1, \"y\": 2}, \"b\": 2}""#,
            r#""msg": "True True""#,
        ],
    );
}

#[test]
fn template_lookup_includes_managed_string_and_empty_result() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    who: world
  tasks:
    - debug: msg="{{ lookup('template', 'hello.j2') | trim }}"
    - debug: msg="{{ lookup('template', 'managed.j2') | trim }}"
    - debug: msg="{{ lookup('template', 'managed.j2') | trim }}"
      vars:
        ansible_managed: '{{ "set " ~ "by the play" }}'
    - debug: msg="{{ lookup('template', 'empty.j2') is none }}"
    - debug: msg="{{ lookup('template', 'sub/path.j2') | trim }}"
"#;
    let files = [
        ("pb.yml", pb),
        ("templates/hello.j2", "Hello {% include 'part.j2' %}!\n"),
        ("templates/part.j2", "{{ who }}\n"),
        ("templates/managed.j2", "# {{ ansible_managed }}\n"),
        ("templates/empty.j2", "{# nothing #}\n"),
        ("templates/sub/path.j2", "{{ template_path }}\n"),
    ];
    check(
        &files,
        &ARGS,
        &[],
        &[
            r#""msg": "Hello world!""#,
            r##""msg": "# Ansible managed""##,
            r##""msg": "# set by the play""##,
            r#""msg": true"#,
            r#""msg": "sub/path.j2""#,
        ],
    );
}

#[test]
fn environment_lists_omit_and_command_variable_expansion() {
    let pb = r#"- hosts: all
  gather_facts: false
  environment:
    FROM_PLAY: play
    NEEDS_FACTS: '{{ ansible_env.PATH }}:/x'
  tasks:
    - shell: echo "A=$A B=$B C=$C P=$FROM_PLAY F=${NEEDS_FACTS-unset}"
      environment:
        - A: one
          B: '{{ omit }}'
        - '{{ omit }}'
        - C: three
      register: r
    - debug: msg="{{ r.stdout }}"
    - command: echo $FROM_PLAY ${FROM_PLAY}x $TROUPE_SURELY_UNSET '$(true)'
      register: c
    - debug: msg="{{ c.stdout }}"
    - command: echo $FROM_PLAY
      args:
        expand_argument_vars: false
      register: n
    - debug: msg="{{ n.stdout }}"
"#;
    check(
        &[("pb.yml", pb)],
        &ARGS,
        &[],
        &[
            r#""msg": "A=one B= C=three P=play F=unset""#,
            r#""msg": "play playx $TROUPE_SURELY_UNSET $(true)""#,
            r#""msg": "$FROM_PLAY""#,
        ],
    );
}

#[test]
fn role_params_reach_dependencies_and_include_params_win() {
    let pb = r#"- hosts: all
  gather_facts: false
  roles:
    - {role: parent, p: from_parent}
  tasks:
    - debug: msg="play sees {{ d }}"
    - set_fact: {findme: set_fact}
    - include_tasks: inc.yml
      vars: {findme: include_params}
"#;
    let files = [
        ("pb.yml", pb),
        ("roles/parent/meta/main.yml", "dependencies:\n  - dep\n  - {role: dep2, q: own}\n"),
        ("roles/parent/defaults/main.yml", "d: parent_default\n"),
        ("roles/parent/tasks/main.yml", "- debug: msg=\"parent {{ p }}\"\n"),
        ("roles/dep/defaults/main.yml", "d: dep_default\n"),
        ("roles/dep/tasks/main.yml", "- debug: msg=\"dep {{ p }}\"\n"),
        ("roles/dep2/tasks/main.yml", "- debug: msg=\"dep2 {{ p }} {{ q }}\"\n"),
        ("inc.yml", "- debug: msg=\"{{ findme }}\"\n"),
    ];
    check(
        &files,
        &ARGS,
        &[],
        &[
            r#""msg": "dep from_parent""#,
            r#""msg": "dep2 from_parent own""#,
            r#""msg": "parent from_parent""#,
            r#""msg": "play sees parent_default""#,
            r#""msg": "include_params""#,
        ],
    );
}

#[test]
fn debug_var_of_undefined_values_prints_as_2_19() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    d: {a: 1}
  tasks:
    - debug: var=undefined_variable
      register: r1
    - debug: var=d.nope
      register: r2
    - debug: var=nope.x
      register: r3
    - debug:
        msg: "{{ r1.undefined_variable }} | {{ r2['d.nope'] }} | {{ r3['nope.x'] }}"
"#;
    check(
        &[("pb.yml", pb)],
        &ARGS,
        &[],
        &[
            r#""msg": "<< error 1 - 'undefined_variable' is undefined >> | << error 1 - object of type 'dict' has no attribute 'nope' >> | << error 1 - 'nope' is undefined >>""#,
        ],
    );
}

#[test]
fn play_hosts_leave_out_failed_hosts_until_errors_are_cleared() {
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - command: /bin/false
      when: inventory_hostname == 'b'
    - debug: msg="{{ ansible_play_hosts }} {{ ansible_play_batch }} {{ ansible_play_hosts_all }}"
      run_once: true
- hosts: all
  gather_facts: false
  tasks:
    - debug: msg="{{ ansible_play_hosts }} {{ ansible_play_hosts_all | length }}"
      run_once: true
    - meta: clear_host_errors
- hosts: all
  gather_facts: false
  tasks:
    - debug: msg="after clear {{ ansible_play_hosts }}"
      run_once: true
"#;
    let args = ["-i", "a,b,", "-c", "local", "pb.yml"];
    let dir = scratch(&[("pb.yml", pb)]);
    // As ansible-core: exit 0 once clear_host_errors ran, and the cleared host is back.
    let ours = messages(&Run::new().in_dir(dir.path()).args(args).code(0).stdout);
    let want = [r#""msg": "['a'] ['a'] ['a', 'b']""#, r#""msg": "['a'] 2""#, r#""msg": "after clear ['a', 'b']""#];
    assert_eq!(ours, want);
    if let Some(ap) = ansible_playbook() {
        let out = ansible(&ap, dir.path(), &args, &[]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(ours, messages(&String::from_utf8_lossy(&out.stdout)), "differs from ansible-playbook");
    }
}
