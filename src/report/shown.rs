//! What of a result a host line shows, as Ansible's default callback trims it: the status keys
//! the line already says, the warnings printed on their own, and for `debug` all but its output.

use crate::value::{Map, Value};

use super::{HostResult, Status};

/// Keys Ansible drops from every result it prints (the line's word says them).
const STATUS_KEYS: [&str; 2] = ["failed", "skipped"];
/// Keys printed apart from the result (`[WARNING]: ...`), never inside it.
const APART: [&str; 3] = ["warnings", "deprecations", "exception"];
/// A `debug` with `msg` shows only these (Ansible's `_DEBUG_ALLOWED_KEYS`).
const DEBUG_MSG_KEYS: [&str; 4] = ["msg", "exception", "warnings", "deprecations"];
/// A `debug` without `msg` (`var=`, a skip) hides these (Ansible's `_hide_in_debug`).
const DEBUG_HIDDEN: [&str; 8] = [
    "changed",
    "failed",
    "skipped",
    "invocation",
    "skip_reason",
    "ansible_loop_var",
    "ansible_index_var",
    "ansible_loop",
];

/// The result as its line shows it. A failure always has `changed` (Ansible's executor adds it).
/// A module's `diff` shows from -vvv on (below, `--diff` prints it apart), as in Ansible.
pub(super) fn shown_result(r: &HostResult, verbosity: u8) -> Map {
    let mut result = r.result.clone();
    result.retain(|k, _| !STATUS_KEYS.contains(&k.as_str()) && !APART.contains(&k.as_str()));
    if verbosity < 3 {
        result.remove("diff");
    }
    if r.status == Status::Failed {
        result.entry("changed").or_insert(Value::Bool(false));
    }
    result
}

/// The result's `warnings` (a list of texts, or one text).
pub(super) fn warnings(result: &Map) -> Vec<String> {
    match result.get("warnings") {
        Some(Value::Array(items)) => items.iter().map(crate::value::to_text).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Trim a `debug` result to what it was asked to print: `msg` alone, or the variable (with
/// loop and index variables) without the bookkeeping keys. Ansible does this for every debug
/// line: ok, skipped, failed, per item.
pub fn clean_debug(result: &mut Map) {
    if result.contains_key("msg") {
        result.retain(|k, _| DEBUG_MSG_KEYS.contains(&k.as_str()) || k.starts_with('_'));
    } else {
        result.retain(|k, _| !DEBUG_HIDDEN.contains(&k.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn host_result(status: Status, result: Value) -> HostResult {
        HostResult {
            host: "h".into(),
            delegate: None,
            status,
            item: None,
            result: map(result),
            diff: None,
            ignored: false,
            show: false,
            origin: None,
        }
    }

    #[test]
    fn status_keys_and_warnings_are_not_shown() {
        let r = host_result(
            Status::Skipped,
            json!({"changed": false, "skipped": true, "skip_reason": "x", "warnings": ["w"], "failed": false}),
        );
        assert_eq!(Value::Object(shown_result(&r, 1)), json!({"changed": false, "skip_reason": "x"}));
        let r = host_result(Status::Failed, json!({"failed": true, "msg": "m"}));
        assert_eq!(Value::Object(shown_result(&r, 1)), json!({"msg": "m", "changed": false}));
    }

    #[test]
    fn a_modules_diff_shows_from_vvv_on() {
        let r = host_result(Status::Changed, json!({"changed": true, "diff": {"before": "a", "after": "b"}}));
        assert_eq!(Value::Object(shown_result(&r, 2)), json!({"changed": true}));
        assert_eq!(shown_result(&r, 3)["diff"], json!({"before": "a", "after": "b"}));
    }

    #[test]
    fn warnings_are_a_list_or_one_text() {
        assert_eq!(warnings(&map(json!({"warnings": ["a", "b"]}))), ["a", "b"]);
        assert_eq!(warnings(&map(json!({"warnings": "a"}))), ["a"]);
        assert!(warnings(&map(json!({"msg": "a"}))).is_empty());
    }

    #[test]
    fn debug_keeps_only_what_it_prints() {
        let mut m = map(json!({"msg": 1, "item": 1, "ansible_loop_var": "item", "changed": false, "warnings": []}));
        clean_debug(&mut m);
        assert_eq!(Value::Object(m), json!({"msg": 1, "warnings": []}));
        let mut m = map(json!({"x": 1, "i": 0, "ansible_loop_var": "x", "ansible_index_var": "i",
            "ansible_loop": {"index": 1}, "changed": false}));
        clean_debug(&mut m);
        assert_eq!(Value::Object(m), json!({"x": 1, "i": 0}));
        let mut m = map(json!({"changed": false, "skipped": true, "skip_reason": "r", "false_condition": "c"}));
        clean_debug(&mut m);
        assert_eq!(Value::Object(m), json!({"false_condition": "c"}));
    }
}
