//! Issue 11 point 5: the filters, tests, lookups and globals real roles use (`strftime`,
//! `now()`, seeded `random`/`shuffle`, `product`, `relpath`, `to_uuid`, `undef()`, the path
//! tests, `ansible.builtin.` names, the `fileglob`/`config`/`template`/`inventory_hostnames`
//! lookups), compared with ansible-playbook on the same playbook when ansible-core is
//! installed; and `json_query`, `ipaddr`/`ipwrap`/`ipv4`/`ipv6` and `password_hash`, whose
//! Python dependencies (jmespath, netaddr + ansible.utils, passlib) stock ansible-core lacks,
//! against the values those libraries compute.

use crate::support::compare::check;
use crate::support::run::{scratch, Run};

const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  vars:
    who: web1
    n: 2
    maybe: "{{ undef(hint='set maybe') }}"
  tasks:
    - debug: msg="{{ '%Y-%m-%d %H:%M:%S %a %b %j' | strftime(1700000000, utc=true) }}"
    - debug: msg="{{ '%H:%M' | ansible.builtin.strftime(second=86399, utc=True) }}"
    - debug: msg="{{ now(utc=true, fmt='%Y') | length }}"
    - debug: msg="{{ now(utc=true).strftime('%Y') | length }} {{ now().year > 2000 }} {{ now() | string | length }}"
    - debug: msg="{{ 60 | random(seed='web1') }} {{ 100 | random(start=10, step=10, seed=inventory_hostname) }}"
    - debug: msg="{{ ['a', 'b', 'c', 'd'] | random(seed=7) }}"
    - debug: msg="{{ range(10) | shuffle(seed='abc') | to_json }}"
    - debug: msg="{{ [1, 2] | product(['a', 'b']) | list | to_json }}"
    - debug: msg="{{ [0, 1] | ansible.builtin.product(repeat=2) | list | length }}"
    - debug: msg="{{ '/etc/ssl/certs' | relpath('/etc/nginx') }} {{ '/a/b' | relpath('/a/b') }}"
    - debug: msg="{{ 'web1' | to_uuid }} {{ 'x' | ansible.builtin.to_uuid(namespace='6ba7b810-9dad-11d1-80b4-00c04fd430c8') }}"
    - debug: msg="{{ maybe is defined }} {{ undef() is undefined }}"
    - debug: msg="{{ link is link_exists }} {{ link is exists }} {{ link is link }} {{ '/' is mount }} {{ 'files' is mount }}"
    - debug: msg="{{ 'files' is ansible.builtin.directory }} {{ 'files/a.conf' is ansible.builtin.file }} {{ 'files' is same_file('files/../files') }} {{ 'files' is same_file('templates') }}"
    - debug: msg="{{ [1, 2, 3] | ansible.builtin.intersect([2, 3, 4]) }} {{ [1, 1] | ansible.builtin.unique }} {{ 'A' | ansible.builtin.lower }} {{ nope | ansible.builtin.default('d') }}"
    - debug: msg="{{ 'x' is ansible.builtin.string }} {{ 3 is ansible.builtin.odd }} {{ {'a':1} | ansible.builtin.dict2items }}"
    - debug: msg="{{ lookup('fileglob', '*.conf') | split(',') | map('basename') | sort }} {{ query('ansible.builtin.fileglob', 'files/*.txt') | map('basename') | list }}"
    - debug: msg="{{ lookup('config', 'DEFAULT_BECOME_USER') }} {{ lookup('ansible.builtin.config', 'DEFAULT_FORKS') }} {{ lookup('config', 'DEFAULT_ROLES_PATH') | length }} {{ query('config', 'NO_SUCH', on_missing='skip') }}"
    - debug: msg="{{ lookup('template', 't.j2') }}"
    - debug: msg="{{ lookup('template', 't.j2', template_vars={'extra':'yes'}) | trim }}"
    - debug: msg="{{ lookup('ansible.builtin.template', 'list.j2') | type_debug }} {{ lookup('template', 'list.j2', convert_data=false) | trim }}"
    - debug: msg="{{ lookup('template', 'custom.j2', variable_start_string='<<', variable_end_string='>>') | trim }}"
    - debug: msg="{{ query('inventory_hostnames', 'all') | to_json }}"
"#;

#[test]
fn filters_tests_and_lookups_as_ansible() {
    let links = tempfile::tempdir().expect("tempdir");
    let link = links.path().join("dangling");
    std::os::unix::fs::symlink("/nonexistent/target", &link).expect("symlink");
    let link_arg = format!("link={}", link.display());
    let files = [
        ("pb.yml", PLAYBOOK),
        ("files/a.conf", "a\n"),
        ("files/b.conf", "b\n"),
        ("files/c.txt", "c\n"),
        ("templates/t.j2", "name={{ who }}{% if extra is defined %} extra={{ extra }}{% endif %}\n"),
        ("templates/list.j2", "{{ [1, n] }}\n"),
        ("templates/custom.j2", "<< who >> {{ raw }}\n"),
    ];
    let args = ["-i", "localhost,", "-c", "local", "-e", link_arg.as_str(), "pb.yml"];
    // HOME pins DEFAULT_ROLES_PATH's `~`, and no ansible.cfg is read.
    check(
        &files,
        &args,
        &[("HOME", "$DIR")],
        &[
            r#""msg": "2023-11-14 22:13:20 Tue Nov 318""#,
            r#""msg": "23:59""#,
            r#""msg": 4"#,
            r#""msg": "4 True 26""#,
            r#""msg": "52 80""#,
            r#""msg": "c""#,
            r#""msg": "[4, 3, 0, 9, 1, 2, 6, 5, 7, 8]""#,
            r#""msg": "[[1, \"a\"], [1, \"b\"], [2, \"a\"], [2, \"b\"]]""#,
            r#""msg": 4"#,
            r#""msg": "../ssl/certs .""#,
            r#""msg": "4ebc6093-8026-5090-bb95-a592e5a6aec3 05b16a01-46c6-56dd-bd6e-c6dfb4a1427a""#,
            r#""msg": "False True""#,
            r#""msg": "True False True True False""#,
            r#""msg": "True True True False""#,
            r#""msg": "[2, 3] [1] a d""#,
            r#""msg": "True True [{'key': 'a', 'value': 1}]""#,
            r#""msg": "['a.conf', 'b.conf'] ['c.txt']""#,
            r#""msg": "root 5 3 []""#,
            r#""msg": "name=web1\n""#,
            r#""msg": "name=web1 extra=yes""#,
            r#""msg": "list [1, 2]""#,
            r#""msg": "web1 {{ raw }}""#,
            r#""msg": "[\"localhost\"]""#,
        ],
    );
}

const NO_DEPS: &str = r#"- hosts: all
  gather_facts: false
  vars:
    data: {users: [{name: a, uid: 1}, {name: b, uid: 2}, {name: c, uid: 3}]}
    addrs: ['192.168.1.1', 'web', '::1', '10.0.0.0/8', '8.8.8.8']
  tasks:
    - debug: msg="{{ data | json_query('users[?uid > `1`].name') | to_json }}"
    - debug: msg="{{ data | community.general.json_query('length(users)') }}"
    - debug: msg="{{ '192.168.1.5/24' | ansible.utils.ipaddr('network') }} {{ '192.168.1.5/24' | ansible.utils.ipaddr('prefix') }} {{ '192.168.1.5/24' | ipaddr('netmask') }} {{ '192.168.1.5/24' | ipaddr('address') }}"
    - debug: msg="{{ addrs | ansible.utils.ipv4 | to_json }} {{ addrs | ansible.utils.ipv6 | to_json }} {{ addrs | ipaddr('private') | to_json }} {{ addrs | ipaddr('public') | to_json }}"
    - debug: msg="{{ '::1' | ansible.utils.ipwrap }} {{ 'web' | ipwrap }} {{ '192.168.1.0/24' | ipaddr('10') }}"
    - debug: msg="{{ 'secret' | password_hash('sha512', 'mysalt') }}"
    - debug: msg="{{ 'secret' | ansible.builtin.password_hash('sha256', salt='mysalt') }}"
"#;

#[test]
fn json_query_ipaddr_password_hash() {
    let dir = scratch(&[("pb.yml", NO_DEPS)]);
    let done = Run::new().in_dir(dir.path()).args(["-i", "localhost,", "-c", "local", "pb.yml"]).succeeds();
    let msgs = crate::support::compare::messages(&done.stdout);
    assert_eq!(
        msgs,
        [
            r#""msg": "[\"b\", \"c\"]""#,
            r#""msg": 3"#,
            r#""msg": "192.168.1.0 24 255.255.255.0 192.168.1.5""#,
            r#""msg": "[\"192.168.1.1\", \"10.0.0.0/8\", \"8.8.8.8\"] [\"::1\"] [\"192.168.1.1\", \"::1\", \"10.0.0.0/8\"] [\"8.8.8.8\"]""#,
            r#""msg": "[::1] web 192.168.1.10/24""#,
            r#""msg": "$6$mysalt$UX6P1VKOf6dr0s2pg4pLNvIUB6hLXvP6M5f/Yj9hJgMPdAJ4oArvk5YUD9/XWtk1JOpVwt/JTsczMJr8sFVML1""#,
            r#""msg": "$5$mysalt$I2SNajjJ3Gc5gIR/tkrLOGngF8wqv59buJCqxh.o9s8""#,
        ]
    );
}

/// ansible-core's `filter_core`/`filter_mathstuff` targets in small: the filters troupe added
/// for them, Ansible's error texts (checked with `in`, as the targets do), string constants
/// inside `{{ }}` keeping their backslashes, and a vars file whose flow mapping closes at
/// column 0.
const CORE: &str = r#"- hosts: all
  gather_facts: false
  vars_files: [flow.yml]
  vars:
    demo: [{name: alice, groups: [wheel]}]
    later: "{{ undef(hint='set later') }}"
    stream: "x: 1\n---\ny: 2"
    e1: "'bool' object is not iterable"
    e6: "Mandatory variable 'nothing' not defined."
  tasks:
    - debug: msg="{{ ['a', 'b', 'A'] | unique }} {{ 100 | log(10) }} {{ 2 | pow(4) }} {{ 9 | root }} {{ 102400000 | human_readable }} {{ '1.1 GB' | human_to_bytes }}"
    - debug: msg="{{ [{'p':'x','n':1}, {'p':'y','n':2}] | rekey_on_member('p') | to_json }}"
    - debug: msg="{{ 2 | extract(['a', 'b', 'c']) }} {{ 'nope' | extract({'a':1}) | default('d') }} {{ ('k' | extract(nothing)).sub | default('e') }}"
    - debug: msg="{{ (demo | subelements('groups'))[0][1] }} {{ ['/a/b/c', '/a/b'] | commonpath }} {{ stream | from_yaml_all | list | to_json }}"
    - debug:
        msg: "{{ 'goodbye' | regex_search('(good)(bye)', '\\2', '\\1') }} {{ 'x\\n' | length }} {{ 'ab' | regex_replace('(a)', '<\\1>') }}"
    - debug: msg="{{ flow.k }} {{ '1993-03-26 01:23:45' | to_datetime < '1994-03-26 01:23:45' | to_datetime }} {{ ([{'a':1}] | groupby('a'))[0] | string }}"
    - debug: msg="{{ nothing | map('upper') is undefined }} {{ nothing | selectattr('a') is undefined }} {{ 22 | shuffle }} {{ 'thing' | to_yaml(default_style='|') | to_json }}"
    - set_fact: {x: "{{ True | unique }}"}
      register: r1
      ignore_errors: true
    - set_fact: {x: "{{ 'yo' | log }}"}
      register: r2
      ignore_errors: true
    - set_fact: {x: "{{ [] | rekey_on_member('a', duplicates='boo') }}"}
      register: r3
      ignore_errors: true
    - set_fact: {x: "{{ [1] | random(start=2) }}"}
      register: r4
      ignore_errors: true
    - set_fact: {x: "{{ later }}"}
      register: r5
      ignore_errors: true
    - set_fact: {x: "{{ nothing | mandatory }}"}
      register: r6
      ignore_errors: true
    - set_fact: {x: "{{ True | items2dict }}"}
      register: r7
      ignore_errors: true
    - debug: msg="{{ [r1, r2, r3, r4, r5, r6, r7] | map(attribute='failed') | list | to_json }}"
    - debug: msg="{{ e1 in r1.msg }} {{ 'log() can only be used on numbers' in r2.msg }} {{ 'has unknown value' in r3.msg }} {{ 'start and step can only be used' in r4.msg }}"
    - debug: msg="{{ 'set later' in r5.msg }} {{ e6 in r6.msg }} {{ 'items2dict requires a list' in r7.msg }}"
"#;

#[test]
fn core_and_math_filters_as_ansible() {
    let files = [("pb.yml", CORE), ("flow.yml", "flow: {\n    \"k\": \"v\"\n}\n")];
    check(
        &files,
        &["-i", "localhost,", "-c", "local", "pb.yml"],
        &[],
        &[
            r#""msg": "['a', 'b'] 2.0 16.0 3.0 97.66 MB 1181116006""#,
            r#""msg": "{\"x\": {\"p\": \"x\", \"n\": 1}, \"y\": {\"p\": \"y\", \"n\": 2}}""#,
            r#""msg": "c d e""#,
            r#""msg": "wheel /a/b [{\"x\": 1}, {\"y\": 2}]""#,
            r#""msg": "['bye', 'good'] 3 <a>b""#,
            r#""msg": "v True (1, [{'a': 1}])""#,
            r#""msg": "True True 22 \"|-\\n  thing\\n\"""#,
            r#""msg": "[true, true, true, true, true, true, true]""#,
            r#""msg": "True True True True""#,
            r#""msg": "True True True""#,
        ],
    );
}
