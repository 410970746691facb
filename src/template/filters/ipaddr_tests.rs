use minijinja::Environment;

use super::register;

fn eval(src: &str) -> String {
    let mut env = Environment::new();
    register(&mut env);
    env.render_str(src, ()).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn queries_on_an_address_in_a_network() {
    let q = |q: &str| eval(&format!("{{{{ '192.168.1.5/24' | ansible.utils.ipaddr('{q}') }}}}"));
    assert_eq!(q("address"), "192.168.1.5");
    assert_eq!(q("network"), "192.168.1.0");
    assert_eq!(q("prefix"), "24");
    assert_eq!(q("netmask"), "255.255.255.0");
    assert_eq!(q("broadcast"), "192.168.1.255");
    assert_eq!(q("host"), "192.168.1.5/24");
    assert_eq!(q("subnet"), "192.168.1.0/24");
    assert_eq!(q("size"), "256");
    assert_eq!(q("type"), "address");
    assert_eq!(eval("{{ '192.168.1.0/24' | ipaddr('address') }}"), "None");
    assert_eq!(eval("{{ '192.168.1.0/24' | ipaddr('10') }}"), "192.168.1.10/24");
    assert_eq!(eval("{{ '192.168.1.0/255.255.255.0' | ipaddr('prefix') }}"), "24");
    assert_eq!(eval("{{ '192.168.1.0/24' | ipaddr('range_usable') }}"), "192.168.1.1-192.168.1.254");
}

#[test]
fn public_private_and_lists() {
    assert_eq!(eval("{{ '10.0.0.1' | ipaddr('private') }}"), "10.0.0.1");
    assert_eq!(eval("{{ '8.8.8.8' | ipaddr('public') }}"), "8.8.8.8");
    assert_eq!(eval("{{ '8.8.8.8' | ipaddr('private') }}"), "None");
    assert_eq!(eval("{{ 'foo' | ipaddr }}"), "False");
    assert_eq!(eval("{{ '192.168.1.5' | ipaddr('192.168.0.0/16') }}"), "192.168.1.5");
    let list = "['192.168.1.1', 'foo', '::1', '10.0.0.0/8']";
    assert_eq!(eval(&format!("{{{{ {list} | ipv4 }}}}")), r#"["192.168.1.1", "10.0.0.0/8"]"#);
    assert_eq!(eval(&format!("{{{{ {list} | ansible.utils.ipv6 }}}}")), r#"["::1"]"#);
    assert_eq!(eval(&format!("{{{{ {list} | ipaddr('address') }}}}")), r#"["192.168.1.1", "::1"]"#);
}

#[test]
fn ipwrap_brackets_ipv6_only() {
    assert_eq!(eval("{{ '::1' | ansible.utils.ipwrap }}"), "[::1]");
    assert_eq!(eval("{{ 'fe80::1/64' | ipwrap }}"), "[fe80::1]/64");
    assert_eq!(eval("{{ '10.1.1.1' | ipwrap }}"), "10.1.1.1");
    assert_eq!(eval("{{ 'db.example.com' | ipwrap }}"), "db.example.com");
    assert_eq!(eval("{{ ['::1', 'host', '', '10.0.0.0/8'] | ipwrap }}"), r#"["[::1]", "host", "", "10.0.0.0/8"]"#);
    assert_eq!(eval("{{ ['fe80::1/64', '::1'] | ipwrap('address') }}"), r#"["[fe80::1]/64", "[::1]"]"#);
}
