//! Variables and includes as ansible-core 2.19 has them (issue 11: the vars_files, include_vars,
//! environment and template lookup targets). troupe's values are asserted, and compared with
//! ansible-playbook's on the same playbook when ansible-core is installed.

use crate::support::compare::check;

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
