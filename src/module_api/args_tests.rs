use super::*;
use crate::modules::testutil::to_map;
use serde_json::json;

const KNOWN: &[&str] = &["path", "state", "force", "n", "l", "mode", "_raw_params"];
const ALIASES: &[(&str, &str)] = &[("dest", "path"), ("name", "path"), ("_free", "path")];
const SPEC: ArgSpec = ArgSpec { names: &[KNOWN], aliases: ALIASES, ..ArgSpec::NONE };

fn parse(v: Value) -> Result<Args, String> {
    Args::parse("file", &to_map(v), &SPEC).map_err(|e| e.to_string())
}

/// The error of a getter, or "" when it succeeded.
fn err<T>(r: Result<T, ModuleError>) -> String {
    r.err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn aliases_resolve_to_the_canonical_name() {
    let a = parse(json!({"dest": "/d"})).map(|a| a.str("path").ok().flatten());
    assert_eq!(a, Ok(Some("/d".to_string())));
    let a = parse(json!({"name": "/n", "state": "touch"})).map(|a| (a.has("name"), a.req_str("path").ok()));
    assert_eq!(a, Ok((false, Some("/n".to_string()))), "only the canonical name is readable");
    // Ansible: an alias given beside its canonical name wins.
    let a = parse(json!({"path": "/p", "dest": "/d"})).map(|a| a.str("path").ok().flatten());
    assert_eq!(a, Ok(Some("/d".to_string())));
}

#[tokio::test]
async fn an_option_beside_its_alias_warns_like_ansible() {
    async fn warnings(v: serde_json::Value) -> Vec<String> {
        gather_warnings(async { parse(v).is_ok() }).await.1
    }
    assert_eq!(warnings(json!({"path": "/p", "dest": "/d"})).await, ["Both option path and its alias dest are set."]);
    assert!(warnings(json!({"dest": "/d", "state": "touch"})).await.is_empty(), "an alias alone is fine");
    assert!(warnings(json!({"path": "/p", "dest": null})).await.is_empty(), "a null alias is not given");
    assert!(warnings(json!({"path": "/p", "_free": "/f"})).await.is_empty(), "internal aliases never warn");
    // Ansible's order: the second alias finds the option set by the first.
    assert_eq!(warnings(json!({"name": "/n", "dest": "/d"})).await, ["Both option path and its alias name are set."]);
}

#[tokio::test]
async fn warnings_reach_the_module_call_once() {
    let raw = to_map(json!({"path": "/p", "dest": "/d"}));
    let call = async {
        let first = Args::parse("file", &raw, &SPEC).is_ok();
        let again = Args::parse("file", &raw, &SPEC).is_ok();
        first && again
    };
    let (parsed, warnings) = gather_warnings(call).await;
    assert!(parsed);
    assert_eq!(warnings, ["Both option path and its alias dest are set."]);
    // Outside a module call there is no sink, and parsing still works.
    assert!(parse(json!({"path": "/p", "dest": "/d"})).is_ok());
    let (_, none) = gather_warnings(async { parse(json!({"dest": "/d"})).is_ok() }).await;
    assert!(none.is_empty());
}

#[test]
fn unknown_arguments_name_them_and_list_the_supported_ones() {
    let e = parse(json!({"path": "/x", "zz": 1, "mdoe": "0644"})).err();
    assert_eq!(
        e.as_deref(),
        Some(
            "Unsupported parameters for (file) module: mdoe, zz. \
             Supported parameters include: force, l, mode, n, path, state (dest, name)."
        )
    );
    let e = Args::parse(
        "fail",
        &to_map(json!({"mgs": "x"})),
        &ArgSpec { names: &[&["msg"]], aliases: &[], ..ArgSpec::NONE },
    )
    .err()
    .map(|e| e.to_string());
    assert_eq!(e.as_deref(), Some("Unsupported parameters for (fail) module: mgs. Supported parameters include: msg."));
    assert!(parse(json!({"_raw_params": "x"})).is_ok(), "internal names are accepted");
}

#[test]
fn any_names_takes_everything() {
    let a = Args::any_names("set_fact", &to_map(json!({"whatever": 1, "cacheable": "no"})));
    assert!(a.has("whatever"));
    assert_eq!(a.bool("cacheable", true).ok(), Some(false));
}

#[test]
fn strings_and_required() {
    let a = Args::any_names("m", &to_map(json!({"s": "x", "n": 3, "b": true, "l": [1], "e": "", "z": null})));
    assert_eq!(a.str("s").ok().flatten().as_deref(), Some("x"));
    assert_eq!(a.str("n").ok().flatten().as_deref(), Some("3"));
    assert_eq!(a.str("b").ok().flatten().as_deref(), Some("True"));
    assert_eq!(a.str("z").ok().flatten(), None, "null is unset");
    assert!(!a.has("z"));
    assert_eq!(err(a.str("l")), "m: argument 'l' must be a string, got [1]");
    assert_eq!(err(a.req_str("e")), "m: missing required arguments: e");
    assert_eq!(err(a.req_str("nope")), "m: missing required arguments: nope");
}

#[test]
fn booleans_take_ansible_spellings() {
    let a = Args::any_names("m", &to_map(json!({"y": "yes", "on": "on", "t": "True", "o": 0, "bad": "maybe"})));
    assert_eq!(a.bool("y", false).ok(), Some(true));
    assert_eq!(a.bool("on", false).ok(), Some(true));
    assert_eq!(a.bool("t", false).ok(), Some(true));
    assert_eq!(a.bool("o", true).ok(), Some(false));
    assert_eq!(a.bool("unset", true).ok(), Some(true));
    assert_eq!(a.opt_bool("unset").ok(), Some(None));
    assert_eq!(err(a.bool("bad", false)), "m: argument 'bad' must be a boolean (yes/no, true/false), got 'maybe'");
    assert!(err(a.opt_bool("bad")).contains("'bad'"));
}

#[test]
fn integers_and_numbers() {
    let a = Args::any_names("m", &to_map(json!({"i": 42, "s": " 7 ", "f": 3.0, "h": 1.5, "w": "abc", "neg": -2})));
    assert_eq!(a.int("i").ok().flatten(), Some(42));
    assert_eq!(a.int("s").ok().flatten(), Some(7));
    assert_eq!(a.int("f").ok().flatten(), Some(3));
    assert_eq!(a.int("neg").ok().flatten(), Some(-2));
    assert_eq!(err(a.int("h")), "m: argument 'h' must be an integer, got 1.5");
    assert_eq!(err(a.int("w")), "m: argument 'w' must be an integer, got 'abc'");
    assert_eq!(a.number("h").ok().flatten(), Some(1.5));
    assert_eq!(a.number("s").ok().flatten(), Some(7.0));
    assert_eq!(err(a.number("w")), "m: argument 'w' must be a number, got 'abc'");
    assert_eq!(err(a.number("neg")), "m: argument 'neg' must be a non-negative number, got -2");
}

#[test]
fn lists_accept_comma_separated_text() {
    let a =
        Args::any_names("m", &to_map(json!({"c": "a, b,,c", "y": ["x ", 1, true], "n": 5, "d": {"k": 1}, "e": [[1]]})));
    let list = |n: &str| a.list(n).ok().flatten();
    assert_eq!(list("c"), Some(vec!["a".into(), "b".into(), "c".into()]));
    assert_eq!(list("y"), Some(vec!["x ".into(), "1".into(), "True".into()]), "list items are kept as given");
    assert_eq!(list("n"), Some(vec!["5".to_string()]));
    assert_eq!(list("unset"), None);
    assert_eq!(err(a.list("d")), "m: argument 'd' must be a list or a comma-separated string, got {\"k\":1}");
    assert_eq!(err(a.list("e")), "m: argument 'e' must be a list of strings, got [1]");
}

#[test]
fn choices_are_worded_like_ansible() {
    let a = Args::any_names("file", &to_map(json!({"state": "bogus", "ok": "touch", "yes": true, "num": 1})));
    let states = ["absent", "directory", "file", "touch"];
    assert_eq!(a.choice("ok", &states).ok().flatten(), Some("touch"));
    assert_eq!(a.choice("unset", &states).ok().flatten(), None);
    assert_eq!(
        err(a.choice("state", &states)),
        "file: value of state must be one of: absent, directory, file, touch, got: bogus"
    );
    // YAML `yes` loads as true: it picks the choice spelled `yes`, else it is "True".
    assert_eq!(a.choice("yes", &["all", "safe", "yes", "no"]).ok().flatten(), Some("yes"));
    assert!(err(a.choice("yes", &states)).ends_with("got: True"));
    assert!(err(a.choice("num", &states)).ends_with("got: 1"));
}

#[test]
fn modes_in_every_spelling() {
    let a =
        Args::any_names("file", &to_map(json!({"a": "0644", "b": 420, "c": "755", "d": "u+x", "e": "0999", "f": [1]})));
    assert_eq!(a.mode("a").ok().flatten(), Some(Mode::Octal(0o644)));
    assert_eq!(a.mode("b").ok().flatten(), Some(Mode::Octal(0o644)));
    assert_eq!(a.mode("c").ok().flatten(), Some(Mode::Octal(0o755)));
    assert_eq!(a.mode("d").ok().flatten(), Some(Mode::Symbolic("u+x".into())));
    assert!(err(a.mode("e")).starts_with("file: argument 'e': '0999' is not a valid file mode"));
    assert!(err(a.mode("f")).starts_with("file: argument 'f' must be an octal string"));
}
