use minijinja::{Environment, UndefinedBehavior};

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    crate::template::filters::register(&mut env);
    env
}

fn render(src: &str) -> String {
    env().render_str(src, ()).unwrap_or_else(|e| panic!("{src}: {e:#}"))
}

fn error(src: &str) -> String {
    format!("{:#}", env().render_str(src, ()).expect_err(src))
}

#[test]
fn unique_is_case_insensitive_with_fallback_for_unhashable_items() {
    assert_eq!(render(r#"{{ ["a", "b", "A", "B"] | unique }}"#), r#"["a", "b"]"#);
    assert_eq!(render(r#"{{ ["a", "b", "A", "B"] | unique(case_sensitive=True) }}"#), r#"["a", "b", "A", "B"]"#);
    assert_eq!(render(r#"{{ "foo" | unique | join }}"#), "fo");
    assert_eq!(render(r#"{{ [{"a": 1}, {"a": 1}, {"a": 2}] | unique | length }}"#), "2");
    assert_eq!(render(r#"{{ [{"f": "x", "m": 1}, {"f": "x", "m": 2}] | unique(attribute="f") | length }}"#), "1");
    assert!(error("{{ True | unique }}").contains("'bool' object is not iterable"));
    let e = error(r#"{{ [{"a": 1}] | unique(case_sensitive=False) }}"#);
    assert!(e.contains("cannot fall back to Ansible's version") && e.contains("unhashable type: 'dict'"), "{e}");
}

#[test]
fn log_pow_root_need_numbers() {
    assert_eq!(
        render("{{ 1 | log }} {{ 100 | log(10) }} {{ 2 | pow(4) }} {{ 4 | root }} {{ 9 | root(1) }}"),
        "0.0 2.0 16.0 2.0 9.0"
    );
    assert!(render("{{ 2.3 | log(42) }}").starts_with("0.222841"));
    for f in ["log", "pow(4)", "root"] {
        let name = f.split('(').next().unwrap_or(f);
        let e = error(&format!("{{{{ 'yo' | {f} }}}}"));
        assert!(e.contains(&format!("{name}() can only be used on numbers")), "{e}");
    }
}

#[test]
fn human_readable_and_back() {
    assert_eq!(render("{{ 1 | human_readable }}|{{ 1 | human_readable(isbits=True) }}"), "1.00 Bytes|1.00 bits");
    assert_eq!(render("{{ 10240 | human_readable }}|{{ 102400000 | human_readable }}"), "10.00 KB|97.66 MB");
    assert_eq!(render("{{ 102400000 | human_readable(isbits=True, unit='G') }}"), "0.10 Gb");
    assert!(error("{{ 'monkeys' | human_readable }}").contains("human_readable() failed on bad input"));
    assert_eq!(
        render("{{ '0.1' | human_to_bytes }} {{ '0.9' | human_to_bytes }} {{ '1.1 GB' | human_to_bytes }} {{ '10.00 Kb' | human_to_bytes(isbits=True) }} {{ 2 | human_to_bytes('K') }}"),
        "0 1 1181116006 10240 2048"
    );
    let e = error("{{ '10.00 foo' | human_to_bytes }}");
    assert!(e.contains("The suffix must be one of Y, Z, E, P, T, G, M, K, B"), "{e}");
    assert!(error("{{ '1 Kb' | human_to_bytes }}").contains("Value is not a valid string (expect KB or K)"));
}

#[test]
fn rekey_on_member_and_its_errors() {
    let rows = r#"[{"p": "a", "s": 1}, {"p": "b", "s": 2}]"#;
    assert_eq!(render(&format!("{{{{ {rows} | rekey_on_member('p') | list }}}}")), r#"["a", "b"]"#);
    assert_eq!(render(r#"{{ {"x": {"p": "a"}} | rekey_on_member("p") }}"#), r#"{"a": {"p": "a"}}"#);
    let dup = r#"[{"p": "a", "s": 1}, {"p": "a", "s": 2}]"#;
    assert_eq!(render(&format!("{{{{ ({dup} | rekey_on_member('p', duplicates='overwrite')).a.s }}}}")), "2");
    assert!(error(&format!("{{{{ {dup} | rekey_on_member('p') }}}}"))
        .contains("Key 'a' is not unique, cannot convert to dict."));
    assert!(error("{{ [] | rekey_on_member('p', duplicates='boo') }}").contains("has unknown value 'boo'"));
    assert!(error("{{ 'x' | rekey_on_member('p') }}").contains("Type is not a valid list, set, or dict"));
    assert!(error("{{ [True] | rekey_on_member('p') }}").contains("List item is not a valid dict"));
    assert!(error("{{ [{'q': 1}] | rekey_on_member('p') }}").contains("Key 'p' was not found."));
}
