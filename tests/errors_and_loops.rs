//! Ansible 2.19's error normalization (`exception`, `failed_when_suppressed_exception`) and
//! loop details its integration targets check (failed_when, loops, loop_control): `break_when`,
//! `extended_allitems`, a loop label rendered after its item, templated `loop_var`, `with_dict`
//! of a list, `list.index()`, `now(fmt='%f')`, `ansible_search_path`. troupe's values are
//! asserted, and compared with ansible-playbook's when ansible-core is installed.

use crate::support::compare::check;

const ARGS: [&str; 5] = ["-i", "localhost,", "-c", "local", "pb.yml"];

#[test]
fn a_failed_result_carries_exception_and_failed_when_moves_it_aside() {
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - command: 'true'
      register: ok
    - command: 'false'
      register: bad
      ignore_errors: true
    - command: 'false'
      register: cleared
      failed_when: false
    - command: 'true'
      register: forced
      failed_when: true
      ignore_errors: true
    - fail: msg=boom
      register: action
      failed_when: false
    - debug:
        msg: "{{ ok.exception is defined }} {{ bad.exception is defined }} {{ bad.failed_when_suppressed_exception is defined }}"
    - debug:
        msg: "{{ cleared.exception is defined }} {{ cleared.failed_when_suppressed_exception is defined }} {{ cleared is failed }}"
    - debug:
        msg: "{{ forced.exception is defined }} {{ action.failed_when_suppressed_exception is defined }} {{ action is failed }}"
"#;
    check(
        &[("pb.yml", pb)],
        &ARGS,
        &[],
        &[r#""msg": "False True False""#, r#""msg": "False True False""#, r#""msg": "True False False""#],
    );
}

#[test]
fn loop_control_break_when_allitems_and_a_label_of_the_items_result() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    name_of_var: picked
  tasks:
    - debug: var=item
      loop: [1, 2, 3, 4]
      loop_control:
        break_when: item >= 2
      register: stopped
    - debug: msg="{{ stopped.results | length }}"
    - debug: msg="{{ ansible_loop.allitems is defined }} {{ ansible_loop.length }}"
      loop: [a, b]
      loop_control:
        extended: true
        extended_allitems: false
    - command: echo {{ item }}
      register: r
      loop: [ran, skipped]
      loop_control:
        label: "{{ r.stdout }}"
      when: item == 'ran'
      ignore_errors: true
    - debug: msg="{{ r.results[1].msg }}"
    - debug: msg="{{ picked }}"
      loop: [templated]
      loop_control:
        loop_var: "{{ name_of_var }}"
"#;
    check(
        &[("pb.yml", pb)],
        &ARGS,
        &[],
        &[
            r#""msg": 2"#,
            r#""msg": "False 2""#,
            r#""msg": "False 2""#,
            r#""msg": "Failed to template loop_control.label: object of type 'dict' has no attribute 'stdout'""#,
            r#""msg": "templated""#,
        ],
    );
}

#[test]
fn loops_target_details() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    letters: [a, b, c]
  tasks:
    - debug: msg="{{ item }}"
      with_dict: [1, 2]
      register: not_a_dict
      ignore_errors: true
    - debug: msg="{{ not_a_dict.msg is contains('lookup plugin expects a dictionary') }}"
    - debug: msg="{{ letters.index('b') }} {{ now(fmt='%s.%f') | regex_search('^[0-9]+[.][0-9]{6}$') is not none }}"
    - debug: msg="{{ ansible_search_path | length > 0 }} {{ ansible_search_path is sequence }}"
"#;
    check(&[("pb.yml", pb)], &ARGS, &[], &[r#""msg": true"#, r#""msg": "1 True""#, r#""msg": "True True""#]);
}

#[test]
fn unsafe_text_and_debug_var_follow_the_trust_model() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    y: why
    raw: !unsafe "{{ y }} it's {% raw %} \\1 end\\"
    pick: y
    indirect_omit: '{{ omit }}'
  tasks:
    - debug: msg="{{ raw }}"
    - debug:
        var: !unsafe y
      register: unsafe_var
      ignore_errors: true
    - debug:
        var: '{{ "y" }}'
      register: constant_var
      ignore_errors: true
    - debug:
        var: '{{ pick }}'
      register: picked
    - debug:
        var: nope
      register: undefined_var
    - debug:
        var: indirect_omit
      register: omitted
    - debug:
        msg: "{{ unsafe_var.msg is contains('untrusted template or expression') }} {{ constant_var.msg is contains('untrusted template or expression') }} {{ picked.y }}"
    - debug:
        msg: "{{ undefined_var.nope }} {{ undefined_var.warnings | length }} {{ omitted.indirect_omit }} {{ omitted.warnings | length }}"
"#;
    check(
        &[("pb.yml", pb)],
        &ARGS,
        &[],
        &[
            r#""msg": "{{ y }} it's {% raw %} \\1 end\\""#,
            r#""msg": "True True why""#,
            r#""msg": "<< error 1 - 'nope' is undefined >> 1 <<Omit>> 1""#,
        ],
    );
}

#[test]
fn conditionals_evaluate_only_trusted_expressions() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    checks:
      - 1 == 1
      - '{{ 1 == 1 }}'
    tainted:
      - true
      - !unsafe 1 == 0
  tasks:
    - assert:
        that: "{{ '1 == 1' }}"
      register: constant
      ignore_errors: true
    - assert:
        that: '{{ item }}'
      loop: [1 == 1, 2 == 2]
      no_log: true  # Ansible shows these results (deprecations); only the last line is compared
    - assert:
        that: '{{ checks }}'
      no_log: true
    - assert:
        that: '{{ tainted }}'
      register: tainted_list
      ignore_errors: true
    - debug:
        msg: ok
      when: !unsafe 1 == 1
      register: unsafe_when
      ignore_errors: true
    - no_log: true
      assert:
        that:
          - |
            "dude" == "du{{'de'}}"
    - debug:
        msg: "{{ constant.msg is contains('untrusted template or expression') }} {{ tainted_list.msg is contains('untrusted template or expression') }} {{ unsafe_when.msg is contains('untrusted template or expression') }}"
"#;
    check(&[("pb.yml", pb)], &ARGS, &[], &[r#""msg": "True True True""#]);
}

#[test]
fn retries_without_until_retry_until_the_task_succeeds() {
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - fail: msg=always
      retries: 2
      delay: 0
      register: r
      ignore_errors: true
    - debug: msg="{{ r.attempts }} {{ r is failed }}"
    - shell: 'test -f {{ playbook_dir }}/flag || { touch {{ playbook_dir }}/flag; exit 1; }'
      retries: 3
      delay: 0
      register: s
    - debug: msg="{{ s.attempts }} {{ s is failed }}"
    - file: path="{{ playbook_dir }}/flag" state=absent
    - debug: msg=once
      retries: 0
      until: false
      register: z
    - debug: msg="{{ z.attempts | default('no attempts') }}"
"#;
    check(
        &[("pb.yml", pb)],
        &ARGS,
        &[],
        &[r#""msg": "2 True""#, r#""msg": "2 False""#, r#""msg": "once""#, r#""msg": "no attempts""#],
    );
}
