use minijinja::{context, Environment};

use super::register;

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    register(&mut env);
    env
}

fn eval(src: &str) -> String {
    env().render_str(src, ()).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn password_hash_matches_crypt() {
    // python3: crypt.crypt('secret', '$6$mysalt') and friends
    assert_eq!(
        eval("{{ 'secret' | password_hash('sha512', 'mysalt') }}"),
        "$6$mysalt$UX6P1VKOf6dr0s2pg4pLNvIUB6hLXvP6M5f/Yj9hJgMPdAJ4oArvk5YUD9/XWtk1JOpVwt/JTsczMJr8sFVML1"
    );
    assert_eq!(
        eval("{{ 'secret' | password_hash('sha256', salt='mysalt') }}"),
        "$5$mysalt$I2SNajjJ3Gc5gIR/tkrLOGngF8wqv59buJCqxh.o9s8"
    );
    assert_eq!(
        eval("{{ 'secret' | password_hash('sha512', 'mysalt', rounds=10000) }}"),
        "$6$rounds=10000$mysalt$9XTP7570fxVN/uTspSrH6kRPdR4KKGzGz7.TmJjDYGrKSwZuavW/3YaLur8JX6WP75Czcxa.megIO0lKreY0R."
    );
    let random = eval("{{ 'secret' | password_hash }}");
    assert!(random.starts_with("$6$") && random.len() > 100, "{random}");
    assert!(env().render_str("{{ 'x' | password_hash('md4') }}", ()).is_err());
    assert!(env().render_str("{{ 'x' | password_hash('sha512', 'bad salt!') }}", ()).is_err());
}

#[test]
fn uuid_relpath_product() {
    assert_eq!(eval("{{ 'web1' | to_uuid }}"), "4ebc6093-8026-5090-bb95-a592e5a6aec3");
    assert_eq!(eval("{{ '/etc/ssl/certs' | relpath('/etc/nginx') }}"), "../ssl/certs");
    assert_eq!(eval("{{ '/etc' | relpath(start='/etc') }}"), ".");
    let ns = "namespace='6ba7b810-9dad-11d1-80b4-00c04fd430c8'";
    assert_eq!(eval(&format!("{{{{ 'x' | to_uuid({ns}) }}}}")), "05b16a01-46c6-56dd-bd6e-c6dfb4a1427a");
    assert_eq!(eval("{{ [1,2] | product(['a','b']) | list }}"), "[[1, \"a\"], [1, \"b\"], [2, \"a\"], [2, \"b\"]]");
    assert_eq!(eval("{{ [0,1] | product(repeat=2) | length }}"), "4");
    assert_eq!(eval("{{ [1] | product([]) | length }}"), "0");
    assert!(env().render_str("{{ [1] | product(repeat=100000000000) }}", ()).is_err());
    assert!(env().render_str("{{ range(100) | product(range(100), range(100), range(100)) }}", ()).is_err());
}

#[test]
fn strftime_and_now() {
    assert_eq!(
        eval("{{ '%Y-%m-%d %H:%M:%S %a %b %j' | strftime(1700000000, utc=true) }}"),
        "2023-11-14 22:13:20 Tue Nov 318"
    );
    assert_eq!(eval("{{ '%s' | strftime(second='1700000000.7', utc=true) | length }}"), "10");
    assert!(env().render_str("{{ '%Y' | strftime('soon') }}", ()).is_err());
    let year = eval("{{ now(utc=true, fmt='%Y') }}");
    assert!(year.starts_with("20") && year.len() == 4, "{year}");
    assert_eq!(eval("{{ now() | string | length }}"), "26");
    assert_eq!(eval("{{ now(utc=true).strftime('%Y') == now(utc=true, fmt='%Y') }}"), "True");
    assert_eq!(eval("{{ now().year > 2000 }} {{ now().isoformat()[10] }}"), "True T");
    assert!(env().render_str("{{ now().nope() }}", ()).is_err());
    // `datetime.strftime`'s `%f`: six digits of microseconds; `%%f` stays literal.
    let stamp = eval("{{ now(fmt='%s.%f %%f') }}");
    let (secs, rest) = stamp.split_once('.').unwrap_or_default();
    assert!(secs.len() == 10 && rest.len() == 9 && rest.ends_with(" %f"), "{stamp}");
    assert!(rest[..6].bytes().all(|b| b.is_ascii_digit()), "{stamp}");
}

#[test]
fn json_query_and_undef() {
    let c = context! { d => serde_json::json!({"users": [{"name": "a", "uid": 1}, {"name": "b", "uid": 2}]}) };
    let out = env().render_str("{{ d | json_query('users[?uid > `1`].name') }}", c).unwrap_or_default();
    assert_eq!(out, "[\"b\"]");
    assert!(env().render_str("{{ {} | json_query('[[[') }}", ()).is_err());
    assert_eq!(eval("{{ undef() is defined }} {{ undef(hint='set me') is undefined }}"), "False True");
}
