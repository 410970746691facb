//! Ansible's semantics measured by its integration targets (issue 11): URL filters, regex
//! look-around, `map(attribute=)` over items without it, templated import paths, facts and
//! task arguments given as one template. troupe's values are asserted, and compared with
//! ansible-playbook's on the same playbook when ansible-core is installed.

use crate::support::compare::check;
use crate::support::run::{scratch, Run};

const ARGS: [&str; 5] = ["-i", "localhost,", "-c", "local", "pb.yml"];

const URL: &str = "http://mary:MySecret@www.Acme.com:9000/dir/index.html?query=term#fragment";

#[test]
fn url_filters_as_ansible() {
    let pb = format!(
        r#"- hosts: all
  gather_facts: false
  vars:
    url: "{URL}"
  tasks:
    - debug: msg="{{{{ url | urlsplit | to_json }}}}"
    - debug: msg="{{{{ url | urlsplit('hostname') }}}} {{{{ (url | urlsplit('port')) + 1 }}}} {{{{ '/a' | urlsplit('port') is none }}}}"
    - debug: msg="{{{{ 'a%20b+c%C3%A9' | urldecode }}}} {{{{ {{'foo':'b r','baz':'/'}}|urlencode }}}} [{{{{ ()|urlencode }}}}] {{{{ 'a/b c&'|urlencode }}}}"
    - debug: msg="{{{{ url | urlsplit('bad') }}}}"
      register: bad
      ignore_errors: true
    - debug: msg="bad {{{{ bad is failed }}}} {{{{ 'unknown URL component' in bad.msg }}}}"
"#
    );
    check(
        &[("pb.yml", &pb)],
        &ARGS,
        &[],
        &[
            r#""msg": "{\"fragment\": \"fragment\", \"hostname\": \"www.acme.com\", \"netloc\": \"mary:MySecret@www.Acme.com:9000\", \"password\": \"MySecret\", \"path\": \"/dir/index.html\", \"port\": 9000, \"query\": \"query=term\", \"scheme\": \"http\", \"username\": \"mary\"}""#,
            r#""msg": "www.acme.com 9001 True""#,
            r#""msg": "a b cé foo=b+r&baz=%2F [] a/b%20c%26""#,
            r#""msg": "bad True True""#,
        ],
    );
}

#[test]
fn regex_tests_accept_look_around() {
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - debug: msg="{{ 'qa_1 qz_1 qz_2' is search('(?=.*qa_1)(?=.*qz_1)(?=.*qz_2)') }} {{ 'qa_1' is search('(?=.*qz_9)') }} {{ 'foo.conf' is match('(?!bar).*\.conf') }} {{ 'ABC' is search('(?<=a)b', ignorecase=true) }}"
"#;
    check(&[("pb.yml", pb)], &ARGS, &[], &[r#""msg": "True False True True""#]);
}

#[test]
fn map_attribute_over_an_item_without_it_fails() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    things: [{name: one}, {notname: three}]
  tasks:
    - set_fact:
        names: '{{ things | map(attribute="name") }}'
      register: r
      ignore_errors: true
    - debug: msg="{{ r is failed }} {{ r.msg is contains("has no attribute 'name'") }} {{ names is defined }}"
    - debug: msg="{{ things | map(attribute='name', default='-') | join(',') }}"
"#;
    check(&[("pb.yml", pb)], &ARGS, &[], &[r#""msg": "True True False""#, r#""msg": "one,-""#]);
}

#[test]
fn templated_import_paths_resolve_at_load() {
    let files = [
        (
            "pb.yml",
            "- hosts: all\n  gather_facts: false\n  vars:\n    where: extra\n  roles: [r1]\n\
             - import_playbook: \"{{ other }}\"\n",
        ),
        (
            "roles/r1/tasks/main.yml",
            "- import_tasks: \"{{ role_path }}/tests/main.yml\"\n- import_tasks: \"{{ where }}.yml\"\n",
        ),
        ("roles/r1/tests/main.yml", "- import_tasks: rel.yml\n"),
        ("roles/r1/tests/rel.yml", "- debug: msg=\"tests {{ role_path | basename }}\"\n"),
        ("roles/r1/tasks/extra.yml", "- debug: msg=\"from {{ where }}\"\n"),
        ("other.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=other\n"),
    ];
    let args = ["-i", "localhost,", "-c", "local", "pb.yml", "-e", "other=other.yml"];
    check(&files, &args, &[], &[r#""msg": "tests r1""#, r#""msg": "from extra""#, r#""msg": "other""#]);
}

#[test]
fn an_import_path_from_host_variables_is_refused_with_its_location() {
    let files = [(
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - set_fact: {late: x}\n    - import_tasks: \"{{ late }}.yml\"\n",
    )];
    let dir = scratch(&files);
    Run::new()
        .in_dir(dir.path())
        .args(ARGS)
        .code(4)
        .stderr_has("pb.yml:5:7")
        .stderr_has("cannot be resolved while loading")
        .stderr_has("include_tasks");
}

#[test]
fn task_arguments_from_one_template() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    a_var: one
    opts: {msg: from opts}
  tasks:
    - assert: '{{ item }}'
      args:
        quiet: true
      loop:
        - that: 1 == 1
        - that: ['1 == 1', 'a_var == "one"']
    - debug: '{{ opts }}'
    - debug:
      args: '{{ opts }}'
    - debug: '{{ 42 }}'
      ignore_errors: true
      register: e
    - debug: msg="{{ e is failed }}"
"#;
    check(&[("pb.yml", pb)], &ARGS, &[], &[r#""msg": "from opts""#, r#""msg": "from opts""#, r#""msg": true"#]);
}

#[test]
fn loops_until_and_failed_when_as_ansible() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    l: ['a', '!b']
    d: {k: [true, null]}
    n: null
  tasks:
    - set_fact:
        names: "{{ [item] + names | default([]) }}"
      loop: [1, 2, 3]
    - debug: msg="{{ names }}"
    - command: 'true'
      register: r
      until: false
      retries: 2
      delay: 0
      failed_when: r.attempts > 6
    - debug: msg="{{ r.attempts }} {{ r.failed_when_result }} {{ r is failed }}"
    - command: 'false'
      register: f
      failed_when: false
    - debug: msg="{{ f.failed_when_result }} {{ f is failed }}"
    - debug: msg="{{ l }} {{ d }} [{{ n }}]"
"#;
    check(
        &[("pb.yml", pb)],
        &ARGS,
        &[],
        &[
            r#""msg": ["#,
            r#""msg": "2 False True""#,
            r#""msg": "False False""#,
            r#""msg": "['a', '!b'] {'k': [True, None]} []""#,
        ],
    );
}

#[test]
fn lookups_search_the_roles_task_folder() {
    let files = [
        ("pb.yml", "- hosts: all\n  gather_facts: false\n  roles: [r]\n"),
        (
            "roles/r/tasks/main.yml",
            "- include_tasks: \"{{ lookup('first_found', ['nope.yml', 'default.yml']) }}\"\n\
             - debug: msg=\"{{ lookup('file', 'f.txt') }}\"\n",
        ),
        ("roles/r/tasks/default.yml", "- debug: msg=\"default included\"\n"),
        ("roles/r/files/f.txt", "from role files\n"),
    ];
    check(&files, &ARGS, &[], &[r#""msg": "default included""#, r#""msg": "from role files""#]);
}

#[test]
fn results_are_data_not_templates() {
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    y: why
  tasks:
    - set_fact:
        x: "{{ '{{ y }}' }}"
        z: "{{ y }}"
    - debug: msg="{{ x }} {{ z }}"
    - block:
        - debug:
            var: '{{ lookup("vars", 42) }}'
      rescue:
        - debug: msg="{{ ansible_failed_result.msg is contains("Variable name must be 'str' not 'int'") }}"
    - block:
        - debug: msg="{{ lookup('vars', 'doesnotexist') }}"
      rescue:
        - debug: msg="{{ ansible_failed_result.msg is contains("No variable named 'doesnotexist' was found") }}"
"#;
    check(&[("pb.yml", pb)], &ARGS, &[], &[r#""msg": "{{ y }} why""#, r#""msg": true"#, r#""msg": true"#]);
}
