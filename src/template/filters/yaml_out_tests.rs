use super::*;
use serde_json::json;

// Expected texts were produced by ansible-core 2.19's to_yaml / to_nice_yaml.
#[test]
fn nice_yaml_layout() {
    let v = json!({"k": [{"a": 1}, [], {}], "e": {}, "l": [], "s": "multi\nline", "n": null, "f": 1.5, "t": true});
    assert_eq!(
        dump(&v, YamlStyle::NICE),
        "e: {}\nf: 1.5\nk:\n-   a: 1\n- []\n- {}\nl: []\nn: null\ns: 'multi\n\n    line'\nt: true\n"
    );
    let v = json!([{"a": 1, "b": [1, 2]}, [1, [2]]]);
    assert_eq!(dump(&v, YamlStyle::NICE), "-   a: 1\n    b:\n    - 1\n    - 2\n-   - 1\n    -   - 2\n");
}

#[test]
fn terse_yaml_uses_flow_for_leaves() {
    let v = json!([{"a": 1, "b": [1, 2]}, [1, [2]]]);
    assert_eq!(dump(&v, YamlStyle::TERSE), "- a: 1\n  b: [1, 2]\n- - 1\n  - [2]\n");
    assert_eq!(
        dump(&json!({"b": 1, "a": [1, {"x": 2}], "c": "x y"}), YamlStyle::TERSE),
        "a:\n- 1\n- {x: 2}\nb: 1\nc: x y\n"
    );
    assert_eq!(dump(&json!({}), YamlStyle::TERSE), "{}\n");
    assert_eq!(dump(&json!("x"), YamlStyle::NICE), "x\n");
}

#[test]
fn quoting_matches_pyyaml() {
    let items = json!([
        "a",
        "b:c",
        "b: c",
        "yes",
        "null",
        "~",
        "1",
        "1.5",
        "",
        " lead",
        "#x",
        "a #b",
        "a#b",
        "-x",
        "- x",
        "'q'",
        "x]",
        "?x",
        "2020-01-01",
        "0o17",
        "0x1F",
        "1e3",
        ".inf",
        "é",
        "tab\there",
        "a\u{1}b",
        "10:20",
        "1_000",
        "on",
        "y",
        "x: "
    ]);
    let expected = "- a\n- b:c\n- 'b: c'\n- 'yes'\n- 'null'\n- '~'\n- '1'\n- '1.5'\n- ''\n- ' lead'\n- '#x'\n- 'a #b'\n- a#b\n- -x\n- '- x'\n- '''q'''\n- x]\n- ?x\n- '2020-01-01'\n- 0o17\n- '0x1F'\n- 1e3\n- '.inf'\n- é\n- \"tab\\there\"\n- \"a\\x01b\"\n- '10:20'\n- '1_000'\n- 'on'\n- y\n- 'x: '\n";
    assert_eq!(dump(&items, YamlStyle::NICE), expected);
}

// Folding at 80 columns, as ansible-core 2.19 (libyaml) writes it.
#[test]
fn long_values_fold_like_ansible() {
    let items: Vec<String> = (0..30).map(|i| format!("item{i}")).collect();
    let plain = vec!["word"; 30].join(" ");
    let quoted = vec!["wo'rd"; 30].join(" ");
    let tabbed = vec!["a\tb"; 30].join(" ");
    assert_eq!(dump(&json!(items), YamlStyle::TERSE), "[item0, item1, item2, item3, item4, item5, item6, item7, item8, item9, item10, item11,\n  item12, item13, item14, item15, item16, item17, item18, item19, item20, item21,\n  item22, item23, item24, item25, item26, item27, item28, item29]\n");
    assert_eq!(dump(&json!({"k": plain, "l": [plain]}), YamlStyle::NICE), "k: word word word word word word word word word word word word word word word word\n    word word word word word word word word word word word word word word\nl:\n- word word word word word word word word word word word word word word word word\n    word word word word word word word word word word word word word word\n");
    assert_eq!(dump(&json!({"k": quoted}), YamlStyle::NICE), "k: wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd\n    wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd wo'rd\n    wo'rd wo'rd wo'rd\n");
    assert_eq!(dump(&json!({"k": tabbed}), YamlStyle::NICE), "k: \"a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb\n    a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb a\\tb\"\n");
    assert_eq!(dump(&json!({"k": plain, "m": {"n": items}}), YamlStyle::TERSE), "k: word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word\nm:\n  n: [item0, item1, item2, item3, item4, item5, item6, item7, item8, item9, item10,\n    item11, item12, item13, item14, item15, item16, item17, item18, item19, item20,\n    item21, item22, item23, item24, item25, item26, item27, item28, item29]\n");
}
