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
