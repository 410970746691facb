//! A bridged module's output taken as Ansible takes it (`ActionBase._parse_returned_data`,
//! `_execute_module`, `TaskExecutor`): the JSON object amid noise, internal keys dropped,
//! `failed` from `rc` when the module does not say, `stdout_lines`, warnings and
//! deprecations, `diff`, and `ansible_facts`.

use crate::module_api::Diff;
use crate::value::{Map, Value};

/// The JSON object in a module's stdout: from the first line that starts with `{` to the last
/// line that ends with `}`; what follows it is returned as a warning, as Ansible's
/// `_filter_non_json_lines` does (what precedes it is dropped).
pub fn json_part(stdout: &str) -> Option<(&str, Option<String>)> {
    let mut start = None;
    let mut offset = 0;
    for line in stdout.split_inclusive('\n') {
        if line.trim_start().starts_with('{') {
            start = Some(offset);
            break;
        }
        offset += line.len();
    }
    let start = start?;
    let rest = &stdout[start..];
    let mut end = None;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        offset += line.len();
        if line.trim_end().ends_with('}') {
            end = Some(offset);
        }
    }
    let end = end?;
    let junk = rest[end..].trim();
    let warning = (!junk.is_empty()).then(|| format!("Module invocation had junk after the JSON data: {junk}"));
    Some((&rest[..end], warning))
}

/// What a bridged module returned, ready for the engine.
#[derive(Debug, Default)]
pub struct Taken {
    pub result: Map,
    pub failed: bool,
    pub changed: bool,
    pub facts: Option<Map>,
    pub diff: Option<Diff>,
}

/// The module's stdout (and how it ended) → its result, or the failure Ansible reports when
/// there is no JSON object in it ("Module result deserialization failed").
pub fn take(stdout: &str, stderr: &str, rc: i32) -> Taken {
    let parsed = json_part(stdout).and_then(|(json, junk)| match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => Some((m, junk)),
        _ => None,
    });
    let Some((mut r, junk)) = parsed else {
        let mut r = Map::new();
        r.insert(
            "msg".into(),
            Value::from("Module result deserialization failed. See stdout/stderr for the returned output."),
        );
        r.insert("module_stdout".into(), Value::from(stdout));
        r.insert("module_stderr".into(), Value::from(stderr));
        r.insert("rc".into(), Value::from(rc));
        return Taken { result: r, failed: true, ..Taken::default() };
    };
    // Ansible never registers `invocation` and shows it only at -vvv; under no_log it would
    // carry the module's arguments.
    r.retain(|k, _| !k.starts_with("_ansible_") && k != "invocation");
    for key in ["stdout", "stderr"] {
        let lines = format!("{key}_lines");
        if let (Some(v), false) = (r.get(key), r.contains_key(&lines)) {
            let text = v.as_str().unwrap_or_default();
            r.insert(lines, text.lines().map(Value::from).collect());
        }
    }
    let mut warnings: Vec<Value> = match r.remove("warnings") {
        Some(Value::Array(w)) => w.iter().map(|w| Value::from(event_msg(w))).collect(),
        Some(Value::String(w)) => vec![Value::String(w)],
        _ => Vec::new(),
    };
    // 2.19 sends an uncaught exception as an `ErrorSummary`; its message is the failure's `msg`.
    if let Some(e) = r.get("exception").filter(|e| e.is_object()).cloned() {
        let msg = event_msg(&e);
        let shown = e.pointer("/event/formatted_traceback").and_then(Value::as_str).map(String::from);
        r.insert("exception".into(), Value::from(shown.unwrap_or_else(|| msg.clone())));
        r.entry("msg").or_insert(Value::from(msg));
    }
    if let Some(Value::Array(deps)) = r.get("deprecations") {
        warnings.extend(deps.iter().map(deprecation));
    }
    warnings.extend(junk.map(Value::from));
    if !warnings.is_empty() {
        r.insert("warnings".into(), Value::Array(warnings));
    }
    let failed = match r.get("failed") {
        Some(f) => crate::value::to_bool(f).unwrap_or(true),
        None => r.get("rc").is_some_and(|rc| !matches!(rc, Value::Number(n) if n.as_i64() == Some(0)) && rc != "0"),
    };
    let changed = r.get("changed").and_then(crate::value::to_bool).unwrap_or(false);
    let facts = match r.get("ansible_facts") {
        Some(Value::Object(f)) => Some(f.clone()),
        _ => None,
    };
    let diff = r.get("diff").and_then(diff_of);
    Taken { result: r, failed, changed, facts, diff }
}

/// A warning's text: a string, or (ansible-core 2.19) a `WarningSummary` `{event: {msg}}`.
fn event_msg(w: &Value) -> String {
    match w {
        Value::String(s) => s.clone(),
        other => other
            .pointer("/event/msg")
            .or_else(|| other.get("msg"))
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| other.to_string()),
    }
}

/// One of `deprecations` (`{msg, version|date}`, or 2.19's `DeprecationSummary`
/// `{event: {msg}, version|date}`) as a warning line.
fn deprecation(d: &Value) -> Value {
    let field = |k: &str| match k {
        "msg" => event_msg(d),
        _ => d.get(k).and_then(Value::as_str).unwrap_or_default().to_string(),
    };
    let when = match (field("version"), field("date")) {
        (v, _) if !v.is_empty() => format!(" This feature will be removed in version {v}."),
        (_, d) if !d.is_empty() => format!(" This feature will be removed in a release after {d}."),
        _ => String::new(),
    };
    Value::from(format!("Deprecated: {}.{when}", field("msg").trim_end_matches('.')))
}

/// A module's `diff` (one `{before, after, before_header, after_header, prepared}` or a list
/// of them) as one before/after pair; mappings are shown as sorted JSON, as Ansible does.
fn diff_of(v: &Value) -> Option<Diff> {
    let parts: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return None,
    };
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => serde_json::to_string_pretty(&sorted(other)).unwrap_or_default(),
    };
    let mut diff = Diff::default();
    for p in parts {
        if let Some(prepared) = p.get("prepared") {
            diff.after.push_str(&text(Some(prepared)));
            continue;
        }
        if p.get("before").is_none() && p.get("after").is_none() {
            continue;
        }
        if diff.path.is_empty() {
            diff.path = text(p.get("after_header").or(p.get("before_header")));
        }
        diff.before.push_str(&text(p.get("before")));
        diff.after.push_str(&text(p.get("after")));
    }
    (diff.before != diff.after || !diff.after.is_empty()).then_some(diff)
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_json_object_is_found_amid_noise() {
        let (json, junk) = json_part("motd\n{\"a\": 1}\n").unwrap();
        assert_eq!((json, junk), ("{\"a\": 1}\n", None));
        let (json, junk) = json_part("\n{\"a\":\n 1}\nbye\n").unwrap();
        assert_eq!(json, "{\"a\":\n 1}\n");
        assert_eq!(junk.as_deref(), Some("Module invocation had junk after the JSON data: bye"));
        assert!(json_part("no json here\n").is_none());
    }

    #[test]
    fn a_result_is_taken_as_ansible_takes_it() {
        let out = r#"{"changed": true, "stdout": "a\nb", "_ansible_parsed": true, "invocation": {"module_args": {}},
            "warnings": ["w", {"event": {"msg": "w2"}, "__ansible_type": "WarningSummary"}],
            "deprecations": [{"event": {"msg": "old"}, "version": "12.0.0", "__ansible_type": "DeprecationSummary"}],
            "ansible_facts": {"x": 1}, "diff": {"before": "1\n", "after": "2\n", "after_header": "/f"}}"#;
        let t = take(out, "", 0);
        assert!(t.changed && !t.failed);
        assert_eq!(t.result["stdout_lines"], json!(["a", "b"]));
        assert!(!t.result.contains_key("_ansible_parsed") && !t.result.contains_key("invocation"));
        assert_eq!(
            t.result["warnings"],
            json!(["w", "w2", "Deprecated: old. This feature will be removed in version 12.0.0."])
        );
        assert_eq!(t.facts, Some(json!({"x": 1}).as_object().unwrap().clone()));
        let d = t.diff.unwrap();
        assert_eq!((d.path.as_str(), d.before.as_str(), d.after.as_str()), ("/f", "1\n", "2\n"));
    }

    #[test]
    fn failed_comes_from_the_module_or_its_rc() {
        assert!(take(r#"{"failed": true, "msg": "no"}"#, "", 1).failed);
        assert!(take(r#"{"rc": 2}"#, "", 0).failed);
        assert!(!take(r#"{"rc": 0}"#, "", 0).failed);
        let e =
            r#"{"failed": true, "exception": {"event": {"msg": "[Errno 2] gone"}, "__ansible_type": "ErrorSummary"}}"#;
        assert_eq!(take(e, "", 1).result["msg"], json!("[Errno 2] gone"));
        let t = take("Traceback (most recent call last):\n  boom\n", "err", 1);
        assert!(t.failed);
        assert_eq!(t.result["module_stdout"], json!("Traceback (most recent call last):\n  boom\n"));
        assert_eq!(t.result["rc"], json!(1));
    }
}
