//! The YAML loader: scalars, anchors, positions, and the bounds on hostile input.
use super::*;
use crate::value::Value;

fn parse(s: &str) -> Value {
    parse_str(s, Path::new("t.yml")).unwrap().to_value()
}

#[test]
fn yaml11_scalars() {
    let v = parse("a: yes\nb: no\nc: 0644\nd: '0644'\ne: on\nf: 1.5\ng: ~\nh: 0x1f\ni: 12\nj: hello\n");
    assert_eq!(v["a"], Value::Bool(true));
    assert_eq!(v["b"], Value::Bool(false));
    assert_eq!(v["c"], Value::from(420));
    assert_eq!(v["d"], Value::from("0644"));
    assert_eq!(v["e"], Value::Bool(true));
    assert_eq!(v["f"], serde_json::json!(1.5));
    assert_eq!(v["g"], Value::Null);
    assert_eq!(v["h"], Value::from(31));
    assert_eq!(v["i"], Value::from(12));
    assert_eq!(v["j"], Value::from("hello"));
}

#[test]
fn anchors_and_merge_keys() {
    let v = parse("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n");
    assert_eq!(v["other"], serde_json::json!({"y": 3, "x": 1}));
    assert_eq!(v["list"][0]["x"], Value::from(1));
}

#[test]
fn positions_are_one_based() {
    let n = parse_str("a: 1\nb:\n  c: 2\n", Path::new("p.yml")).unwrap();
    let c = n.get("b").unwrap().get("c").unwrap();
    assert_eq!((c.span.line, c.span.col), (3, 6));
}

#[test]
fn syntax_error_has_position() {
    let e = parse_str("a: [1, 2\nb: 3\n", Path::new("bad.yml")).unwrap_err();
    assert!(e.span.line >= 1, "{e:?}");
    assert!(e.message.contains("YAML syntax error"));
}

#[test]
fn alias_bombs_are_refused_with_a_position() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
    }
    let e = parse_str(&text, Path::new("bomb.yml")).unwrap_err();
    assert!(e.message.contains("alias bomb"), "{e}");
    assert!(e.span.line > 1);
    // Ordinary sharing is fine.
    assert_eq!(parse("a: &x [1, 2]\nb: [*x, *x]\n")["b"][1][1], Value::from(2));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = (0..1_000).map(|i| format!("{}a:\n", "  ".repeat(i))).collect::<String>();
    let e = parse_str(&deep, Path::new("deep.yml")).unwrap_err();
    assert!(e.message.contains("deeper than 512 levels"), "{e}");
    assert_eq!(e.span.line, 513);
    let flow = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_str(&flow, Path::new("flow.yml")).is_err());
}

#[test]
fn duplicate_keys_keep_the_last_value_in_the_first_place() {
    let v = parse("a: 1\nb: 2\na: 3\n");
    assert_eq!(v, serde_json::json!({"a": 3, "b": 2}));
    assert_eq!(v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()), Some(vec!["a".into(), "b".into()]));
}

#[test]
fn many_keys_load_in_linear_time() {
    let text: String = (0..40_000).map(|i| format!("key_{i}: {i}\n")).collect();
    let t = std::time::Instant::now();
    let v = parse(&text);
    assert_eq!(v.as_object().map(|m| m.len()), Some(40_000));
    // Quadratic duplicate checks took 20 s here; linear takes well under one.
    assert!(t.elapsed() < std::time::Duration::from_secs(3), "{:?}", t.elapsed());
}

#[test]
fn a_second_document_is_an_error() {
    let e = parse_str("a: 1\n---\nb: 2\n", Path::new("two.yml")).unwrap_err();
    assert!(e.message.contains("single document"), "{e}");
    assert_eq!((e.span.line, e.span.col), (2, 1));
    // An explicit start and end of the one document are fine.
    assert_eq!(parse("---\na: 1\n...\n")["a"], Value::from(1));
}

#[test]
fn control_characters_are_refused_with_a_position() {
    for (text, code) in [("a: \"x\0y\"\n", "#x0000"), ("a: 1\nb: x\x0cy\n", "#x000c")] {
        let e = parse_str(text, Path::new("c.yml")).unwrap_err();
        assert!(e.message.contains(code), "{e}");
    }
    let e = parse_str("a: 1\nb: x\x0cy\n", Path::new("c.yml")).unwrap_err();
    assert_eq!((e.span.line, e.span.col), (2, 5));
    let v = parse_str("\u{feff}a: \"tab\there\"\n", Path::new("c.yml")).map(|n| n.to_value());
    assert_eq!(v.unwrap()["a"], Value::from("tab\there"));
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let e = utf8(b"a: 1\nb: \xc3\xa9\xff\n", Path::new("u.yml")).unwrap_err();
    assert_eq!((e.span.line, e.span.col), (2, 5));
    assert!(e.message.contains("0xff"), "{e}");
}

#[test]
fn a_nan_document_is_not_an_empty_vars_file() {
    let node = |t: &str| parse_str(t, Path::new("v.yml")).unwrap();
    assert!(node(".nan\n").vars().is_none());
    assert!(node("[1]\n").vars().is_none());
    assert_eq!(node("").vars(), Some(crate::value::Map::new()));
    assert_eq!(node("a: 1\n").vars().map(|m| m.len()), Some(1));
}

#[test]
fn nested_anchors_around_a_large_node_are_bounded() {
    // Found by tests/fuzz.rs: every anchored level copied the whole node below it, outside
    // the alias budget (minutes of copying for one small file).
    let mut text = String::from("big: &b [");
    text.push_str(&vec!["x"; 500].join(", "));
    text.push_str("]\nwide: &w [");
    text.push_str(&vec!["*b"; 500].join(", "));
    text.push_str("]\nnest: &a0\n");
    for i in 1..400 {
        text.push_str(&format!("{}- &a{i}\n", "  ".repeat(i)));
    }
    text.push_str(&format!("{}- *w\n", "  ".repeat(400)));
    let t = std::time::Instant::now();
    let e = parse_str(&text, Path::new("n.yml")).unwrap_err();
    assert!(e.message.contains("alias bomb"), "{e}");
    assert!(t.elapsed() < std::time::Duration::from_secs(10), "{:?}", t.elapsed());
}

/// As libyaml (PyYAML, Ansible): inside a flow collection, indentation does not count.
#[test]
fn flow_collections_close_at_any_column() {
    let v = parse("a: {\n    \"k\": \"x\",\n    \"l\": [\n        \"y\"\n    ]\n}\nb: 1\n");
    assert_eq!(v["a"], serde_json::json!({"k": "x", "l": ["y"]}));
    assert_eq!(v["b"], Value::from(1));
    // Block indentation is still checked.
    assert!(parse_str("a:\n  b: 1\n c: 2\n", Path::new("t.yml")).is_err());
}

#[test]
fn every_document_of_a_stream() {
    let docs = parse_all_str("a: 1\n---\nb: 2\n", Path::new("t.yml")).unwrap();
    let values: Vec<Value> = docs.iter().map(Node::to_value).collect();
    assert_eq!(values, [serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]);
}

/// A `!vault` value that cannot be opened (here: no secrets in unit tests) loads as a template
/// that fails with the reason and the position when used, as Ansible's stays encrypted.
#[test]
fn an_unopened_vault_value_fails_where_used() {
    let inline = include_str!("../../tests/fixtures/vault/inline.yml");
    let v = parse(inline);
    let text = v["inline_secret"].as_str().unwrap();
    assert!(text.starts_with(&format!("{{{{ {}(", crate::vault::FAILED_FN)), "{text}");
    assert!(text.contains("no vault secrets found") && text.contains("t.yml:2:"), "{text}");
    let engine = crate::template::Engine::new();
    let err = engine.env.render_str(text, ()).unwrap_err();
    assert!(err.to_string().contains("Attempting to decrypt but no vault secrets found"), "{err}");
}
