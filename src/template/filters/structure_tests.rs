use minijinja::{context, Environment, UndefinedBehavior};

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    crate::template::filters::register(&mut env);
    env
}

fn render(src: &str) -> String {
    env()
        .render_str(src, context! { c => context! { key => context! { sub => "v" } } })
        .unwrap_or_else(|e| panic!("{src}: {e:#}"))
}

fn error(src: &str) -> String {
    format!("{:#}", env().render_str(src, ()).expect_err(src))
}

#[test]
fn extract_follows_keys_and_is_undefined_when_missing() {
    assert_eq!(render("{{ 2 | extract(['a', 'b', 'c']) }} {{ ['x'] | map('extract', {'x': 42}) | list }}"), "c [42]");
    assert_eq!(render("{{ 'key' | extract(c, 'sub') }} {{ 'key' | extract(c, ['sub']) }}"), "v v");
    assert_eq!(
        render("{{ 'bad' | extract(c) | default('a') }} {{ 'key' | extract(nope, 'x') | default('a') }}"),
        "a a"
    );
}

#[test]
fn subelements_pairs_and_errors() {
    let demo = r#"[{"name": "alice", "groups": ["wheel"]}]"#;
    assert_eq!(render(&format!("{{{{ ({demo} | subelements('groups'))[0][1] }}}}")), "wheel");
    assert_eq!(render(&format!("{{{{ {demo} | subelements('nope', skip_missing=True) }}}}")), "[]");
    assert!(error("{{ True | subelements('foo') }}").contains("obj must be a list of dicts or a nested dict"));
    assert!(error("{{ {} | subelements(17) }}").contains("subelements must be a list or a string"));
    assert!(error(&format!("{{{{ {demo} | subelements('nope') }}}}"))
        .contains("could not find 'nope' key in iterated item"));
    assert!(error(&format!("{{{{ {demo} | subelements('name') }}}}")).contains("the key 'name' should point to a list"));
    assert!(error(&format!("{{{{ {demo} | subelements(['groups', 'x']) }}}}")).contains("should point to a dictionary"));
}

#[test]
fn commonpath_from_yaml_all_and_undefined_passthrough() {
    assert_eq!(
        render("{{ ['/foo/bar/foobar', '/foo/bar'] | commonpath }} {{ ['a/b', 'a/c'] | commonpath }}"),
        "/foo/bar a"
    );
    assert!(error("{{ '/foo' | commonpath }}").contains("|commonpath expects sequence, got <class 'str'> instead."));
    assert_eq!(
        render("{{ 'a: 1\n---\nb: 2' | from_yaml_all | list }} {{ None | from_yaml_all }} {{ 2 | from_yaml_all }}"),
        r#"[{"a": 1}, {"b": 2}] [] 2"#
    );
    assert_eq!(render("{{ nope | map('upper') is undefined }} {{ nope | selectattr('a') is undefined }} {{ [1, 2] | select('odd') | list }}"), "True True [1]");
}
