//! The `with_*` lookups (`sequence`, `lines`, `nested`, `together`, `subelements`,
//! `indexed_items`, `first_found`, `inventory_hostnames`, `random_choice`, `flattened`), as
//! loops, on `include_tasks`, and as `lookup()`/`query()`: troupe's values are asserted, and
//! compared with ansible-playbook's on the same playbook when ansible-core is installed.

use crate::support::compare::check;
use crate::support::run::{scratch, Run};

const ARGS: [&str; 5] = ["-i", "localhost,", "-c", "local", "pb.yml"];

const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  vars:
    users:
      - name: alice
        keys: [k1, k2]
        sub: {list: [x]}
      - name: bob
        keys: [k3]
        sub: {list: [y, z]}
      - name: carol
  tasks:
    - debug: msg="seq {{ item }}"
      with_sequence: start=1 end=5 stride=2
    - debug: msg="seq2 {{ item }}"
      with_sequence: 4:host%02d
    - debug: msg="seq3 {{ item }}"
      with_sequence: count=3 start=100 format=%04x
    - debug: msg="lines {{ item }}"
      with_lines: cat lines.txt
    - debug: msg="nested {{ item | to_json }}"
      with_nested: [[1, 2], [a, b]]
    - debug: msg="together {{ item | to_json }}"
      with_together: [[1, 2, 3], [a, b]]
    - debug: msg="sub {{ item.0.name }} {{ item.1 }} {{ item.0 | to_json }}"
      with_subelements: [ "{{ users }}", keys, {skip_missing: true} ]
    - debug: msg="sub2 {{ item.0.name }} {{ item.1 }}"
      with_subelements: [ "{{ users | selectattr('sub', 'defined') }}", sub.list ]
    - debug: msg="idx {{ item | to_json }}"
      with_indexed_items: [a, [b, c], d]
    - debug: msg="ff {{ item | basename }}"
      with_first_found: [missing.txt, b.txt]
    - debug: msg="ff2 {{ item | basename }}"
      with_first_found:
        files: [nope.yml, lines.txt]
        paths: ['.']
    - debug: msg="inv {{ item }}"
      with_inventory_hostnames: all
    - debug: msg="rc {{ item }}"
      with_random_choice: [only]
    - include_tasks: inc.yml
      with_items: [a, b]
    - include_tasks: inc.yml
      with_sequence: count=2
    - include_role:
        name: r
      with_list: [x, y]
    - debug:
        msg: "q {{ query('sequence', 'start=1 end=3') | join(',') }} {{ lookup('sequence', '1-3') }} {{ lookup('nested', [1,2], ['a']) | to_json }} {{ query('together', [1], [2, 3]) | to_json }} {{ lookup('indexed_items', ['a','b']) | to_json }} {{ lookup('inventory_hostnames', 'all:!nothere') }} {{ query('random_choice', 'x') | join }} {{ lookup('lines', 'cat lines.txt') }} {{ query('subelements', users, 'keys', {'skip_missing': true}) | length }}"
"#;

#[test]
fn with_lookups_loop_as_ansible() {
    let files = [
        ("pb.yml", PLAYBOOK),
        ("inc.yml", "- debug: msg=\"inc {{ item }}\"\n"),
        ("lines.txt", "l1\nl2\n"),
        ("files/b.txt", "hi\n"),
        ("roles/r/tasks/main.yml", "- debug: msg=\"role {{ item }}\"\n"),
    ];
    check(
        &files,
        &ARGS,
        &[],
        &[
            r#""msg": "seq 1""#,
            r#""msg": "seq 3""#,
            r#""msg": "seq 5""#,
            r#""msg": "seq2 host01""#,
            r#""msg": "seq2 host02""#,
            r#""msg": "seq2 host03""#,
            r#""msg": "seq2 host04""#,
            r#""msg": "seq3 0064""#,
            r#""msg": "seq3 0065""#,
            r#""msg": "seq3 0066""#,
            r#""msg": "lines l1""#,
            r#""msg": "lines l2""#,
            r#""msg": "nested [1, \"a\"]""#,
            r#""msg": "nested [1, \"b\"]""#,
            r#""msg": "nested [2, \"a\"]""#,
            r#""msg": "nested [2, \"b\"]""#,
            r#""msg": "together [1, \"a\"]""#,
            r#""msg": "together [2, \"b\"]""#,
            r#""msg": "together [3, null]""#,
            r#""msg": "sub alice k1 {\"name\": \"alice\", \"sub\": {\"list\": [\"x\"]}}""#,
            r#""msg": "sub alice k2 {\"name\": \"alice\", \"sub\": {\"list\": [\"x\"]}}""#,
            r#""msg": "sub bob k3 {\"name\": \"bob\", \"sub\": {\"list\": [\"y\", \"z\"]}}""#,
            r#""msg": "sub2 alice x""#,
            r#""msg": "sub2 bob y""#,
            r#""msg": "sub2 bob z""#,
            r#""msg": "idx [0, \"a\"]""#,
            r#""msg": "idx [1, \"b\"]""#,
            r#""msg": "idx [2, \"c\"]""#,
            r#""msg": "idx [3, \"d\"]""#,
            r#""msg": "ff b.txt""#,
            r#""msg": "ff2 lines.txt""#,
            r#""msg": "inv localhost""#,
            r#""msg": "rc only""#,
            r#""msg": "inc a""#,
            r#""msg": "inc b""#,
            r#""msg": "inc 1""#,
            r#""msg": "inc 2""#,
            r#""msg": "role x""#,
            r#""msg": "role y""#,
            r#""msg": "q 1,2,3 1,2,3 [[1, \"a\"], [2, \"a\"]] [[1, 2], [null, 3]] [[0, \"a\"], [1, \"b\"]] localhost x l1,l2 3""#,
        ],
    );
}

#[test]
fn with_flattened_and_random_choice() {
    // `flattened` moved to community.general; ansible-core alone refuses it, so only troupe's
    // values are checked here.
    let pb = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=\"flat {{ item }}\"\n      \
              with_flattened: [1, [2, [3, [4]]], [[5]], null_is_kept, 'None', 6]\n    \
              - debug: msg=\"pick {{ item }}\"\n      with_random_choice: [a, b, c]\n";
    let dir = scratch(&[("pb.yml", pb)]);
    let d = Run::new().in_dir(dir.path()).args(ARGS).succeeds();
    let msgs = crate::support::compare::messages(&d.stdout);
    let flat: Vec<&str> = msgs.iter().filter(|m| m.contains("flat")).map(String::as_str).collect();
    assert_eq!(
        flat,
        [
            r#""msg": "flat 1""#,
            r#""msg": "flat 2""#,
            r#""msg": "flat 3""#,
            r#""msg": "flat 4""#,
            r#""msg": "flat 5""#,
            r#""msg": "flat null_is_kept""#
        ],
        "a 'None' term ends the list, as Ansible's flattened does"
    );
    let picks: Vec<&String> = msgs.iter().filter(|m| m.contains("pick")).collect();
    assert_eq!(picks.len(), 1, "{picks:?}");
    assert!(["a", "b", "c"].iter().any(|x| picks[0] == &format!(r#""msg": "pick {x}""#)), "{picks:?}");
}

#[test]
fn bad_with_lookups_fail_clearly() {
    let pb = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg={{ item }}\n      with_sequence: start=5 end=1\n";
    let dir = scratch(&[("pb.yml", pb)]);
    Run::new()
        .in_dir(dir.path())
        .args(ARGS)
        .code(2)
        .stdout_has("with_sequence")
        .stdout_has("to count backwards make stride negative");
    let pb = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg={{ item }}\n      with_cartesian: [[1], [2]]\n";
    let dir = scratch(&[("pb.yml", pb)]);
    Run::new()
        .in_dir(dir.path())
        .args(ARGS)
        .code(4)
        .stderr_has("pb.yml:5:7")
        .stderr_has("`with_cartesian` is not supported");
}

#[test]
fn varnames_finds_variables_by_pattern() {
    let pb = "- hosts: all\n  gather_facts: false\n  vars:\n    qz_1: a\n    qz_2: b\n    qa_1: c\n  tasks:\n    \
              - set_fact:\n        qz_3: d\n    - debug:\n        msg: \"{{ lookup('varnames', '^qz_.+', wantlist=True) | sort | join(',') }} \
              {{ query('varnames', '^qa', '^qz_1$') | sort | join(',') }} {{ query('varnames', 'nomatch_x') | length }}\"\n    \
              - debug: msg=\"{{ item }}\"\n      with_varnames: '^qa_'\n";
    check(&[("pb.yml", pb)], &ARGS, &[], &[r#""msg": "qz_1,qz_2,qz_3 qa_1,qz_1 0""#, r#""msg": "qa_1""#]);
}

#[test]
fn sequence_keywords_are_defaults_for_every_term() {
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - debug:
        msg: >-
          {{ query("ansible.builtin.sequence", count=5, start=10) | join(',') }}
          {{ query("sequence", "count=5 start=1", "count=3 start=10 stride=2") | join(',') }}
          {{ query("sequence", "count=5 start=0", "count=5 start=20", stride=2) | join(',') }}
          {{ query("sequence", "count=5 start=0", stride=0) | length }}
          {{ query("sequence", "count=5 start=0", stride=-1) | join(',') }}
          {{ query("sequence", "count=5 start=0", "count=5", start=20) | join(',') }}
          {{ query("sequence") | length }}
"#;
    check(
        &[("pb.yml", pb)],
        &ARGS,
        &[],
        &[
            r#""msg": "10,11,12,13,14 1,2,3,4,5,10,12,14 0,2,4,6,8,20,22,24,26,28 0 0,-1,-2,-3,-4,-5,-6 0,1,2,3,4,20,21,22,23,24 0""#,
        ],
    );
}

/// `with_first_found` looks in `templates/` for a template task, `vars/` for include_vars,
/// `files/` for the rest, as Ansible's task executor tells the lookup.
#[test]
fn with_first_found_looks_in_the_folder_of_the_action() {
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - template: src={{ item }} dest={{ playbook_dir }}/out.txt
      with_first_found: [pick.j2]
    - debug: msg="{{ lookup('file', playbook_dir + '/out.txt') }}"
    - include_vars: "{{ item }}"
      with_first_found: [pick.yml]
    - debug: msg="{{ picked }}"
    - debug: msg="{{ item | basename }} {{ item | dirname | basename }}"
      with_first_found: [pick.j2]
"#;
    let files = [
        ("pb.yml", pb),
        ("templates/pick.j2", "from templates\n"),
        ("files/pick.j2", "from files\n"),
        ("vars/pick.yml", "picked: from vars\n"),
        ("files/pick.yml", "picked: from files\n"),
    ];
    check(
        &files,
        &["-i", "localhost,", "-c", "local", "pb.yml"],
        &[],
        &[r#""msg": "from templates""#, r#""msg": "from vars""#, r#""msg": "pick.j2 files""#],
    );
}

/// Ansible's first_found: undefined terms are dropped under `with_` (one undefined item of a
/// list variable alone), a mapping's options hold for the terms after it, texts split on their
/// separators, `errors='ignore'` gives none; and the messages of a failed loop or argument.
#[test]
fn first_found_drops_undefined_terms_and_failures_read_as_ansibles() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    candidates:
      - "{{ missing_var }}a.yml"
      - b.yml
  tasks:
    - debug: msg="{{ item | basename }}"
      with_first_found:
        - "{{ missing_var }}a.yml"
        - files: "{{ candidates }}"
    - debug:
        msg: "{{ q('first_found', {'files': 'x.yml;b.yml', 'paths': 'nowhere:' ~ playbook_dir ~ '/files'}) | map('basename') | join }}"
    - debug:
        msg: "{{ q('first_found', 'nope.yml', errors='ignore') }} {{ lookup('first_found', 'nope.yml', errors='ignore') is none }}"
    - debug: msg="{{ lookup('first_found', files=resolve_to_undefined) }}"
      vars:
        resolve_to_undefined: "{{ sorry_not_defined }}"
      ignore_errors: true
      register: undefined_arg
    - debug:
        msg: "{{ undefined_arg.msg is search(\"Error while resolving value for 'msg'. 'sorry_not_defined' is undefined\") }}"
    - debug:
      with_first_found: ["{{ 1 / 0 }}"]
      ignore_errors: true
      register: bad_loop
    - debug: msg="{{ bad_loop.msg is search('Error rendering template. division by zero') }}"
    - debug: msg=x
      loop: "{{ nope }}"
      ignore_errors: true
      register: undefined_loop
    - debug:
        msg: "{{ undefined_loop.msg is search(\"^Task failed. 'nope' is undefined\") }}"
"#;
    check(
        &[("pb.yml", pb), ("files/b.yml", "b: 1\n")],
        &ARGS,
        &[],
        &[
            r#""msg": "b.yml""#,
            r#""msg": "b.yml""#,
            r#""msg": "[] True""#,
            r#""msg": true"#,
            r#""msg": true"#,
            r#""msg": true"#,
        ],
    );
}
