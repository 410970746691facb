//! Ansible's result dict as the engine writes it. Every key the engine itself sets (`failed`,
//! `msg`, `skipped`, `unreachable`, a loop's summary, `attempts`, `censored`...) is written
//! here, so the shape of a result is decided in one file; a module's own return values come
//! in as a `Map` and only get these keys added.

use crate::report::{masked, NO_LOG_MSG};
use crate::value::{Map, Value};

/// A failure the engine found (a template, an argument, a module error): `failed`, `msg`.
pub fn failed(msg: String) -> Map {
    let mut r = Map::new();
    r.insert("failed".into(), Value::Bool(true));
    r.insert("msg".into(), Value::String(msg));
    r
}

/// A module's failure: its own values, then `failed` and its `msg`.
pub fn module_failed(mut r: Map, msg: String) -> Map {
    r.insert("failed".into(), Value::Bool(true));
    r.insert("msg".into(), Value::String(msg));
    r
}

/// A failure outside any task (vars_files, an include that can't load): only `msg`.
pub fn host_failed(msg: String) -> Map {
    let mut r = Map::new();
    r.insert("msg".into(), Value::String(msg));
    r
}

/// The host could not be reached.
pub fn unreachable(msg: String) -> Map {
    let mut r = Map::new();
    r.insert("msg".into(), Value::String(msg));
    r.insert("unreachable".into(), Value::Bool(true));
    r
}

/// Skipped for `reason` (`skip_reason`).
pub fn skipped(reason: &str) -> Map {
    let mut r = Map::new();
    r.insert("changed".into(), Value::Bool(false));
    r.insert("skipped".into(), Value::Bool(true));
    r.insert("skip_reason".into(), Value::from(reason));
    r
}

/// Skipped by `when`: Ansible names the first condition that was false, a literal
/// `when: false` as the boolean. (The loader keeps conditions as text, so a quoted `"False"`
/// shows as the boolean too.)
pub fn when_skipped(condition: &str) -> Map {
    let mut r = skipped("Conditional result was False");
    let shown = match condition {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        text => Value::from(text),
    };
    r.insert("false_condition".into(), shown);
    r
}

/// A loop with no items (Ansible's own reason, and an empty `results`).
pub fn no_items() -> Map {
    let mut r = Map::new();
    r.insert("changed".into(), Value::Bool(false));
    r.insert("skipped".into(), Value::Bool(true));
    r.insert("skipped_reason".into(), Value::from("No items in the list"));
    r.insert("results".into(), Value::Array(Vec::new()));
    r
}

/// What a loop's own result says about its items.
pub struct LoopSummary {
    pub changed: bool,
    pub failed: bool,
    pub all_skipped: bool,
    /// The items' warnings, moved up to the loop (as Ansible does).
    pub warnings: Vec<Value>,
    pub results: Vec<Value>,
}

impl LoopSummary {
    pub fn into_result(self) -> Map {
        let mut r = Map::new();
        r.insert("changed".into(), Value::Bool(self.changed));
        let msg = match (self.failed, self.all_skipped) {
            (true, _) => "One or more items failed",
            (false, true) => "All items skipped",
            (false, false) => "All items completed",
        };
        r.insert("msg".into(), Value::from(msg));
        if self.failed {
            r.insert("failed".into(), Value::Bool(true));
        }
        r.insert("skipped".into(), Value::Bool(self.all_skipped));
        if !self.warnings.is_empty() {
            r.insert("warnings".into(), Value::Array(self.warnings));
        }
        r.insert("results".into(), Value::Array(self.results));
        r
    }
}

pub fn set_changed(r: &mut Map, changed: bool) {
    r.insert("changed".into(), Value::Bool(changed));
}

/// `failed` as `failed_when` or `until` decided it; a failure keeps the module's `msg` or gets `why`.
pub fn set_failed(r: &mut Map, failed: bool, why: &str) {
    r.insert("failed".into(), Value::Bool(failed));
    if failed {
        r.entry("msg").or_insert(Value::from(why));
    }
}

/// How many times `until` ran the module.
pub fn set_attempts(r: &mut Map, attempts: u32) {
    r.insert("attempts".into(), Value::from(attempts));
}

/// Check mode, and the module can't tell what would happen: its own values, marked skipped.
pub fn check_skipped(r: &mut Map, module: &str) {
    r.insert("skipped".into(), Value::Bool(true));
    r.entry("msg").or_insert_with(|| Value::from(format!("remote module ({module}) does not support check mode")));
}

/// Warnings raised around the module (argument aliases), after the module's own.
pub fn add_warnings(r: &mut Map, more: Vec<String>) {
    if more.is_empty() {
        return;
    }
    let own = match r.remove("warnings") {
        Some(Value::Array(own)) => own,
        _ => Vec::new(),
    };
    r.insert("warnings".into(), own.into_iter().chain(more.into_iter().map(Value::from)).collect());
}

/// `setup` shows the facts it gathered under `ansible_facts`.
pub fn show_facts(r: &mut Map, facts: &Map) {
    r.entry("ansible_facts").or_insert_with(|| Value::Object(facts.clone()));
}

/// The value `register` stores: the result, with `failed` and `changed` always there.
pub fn registered(r: &Map, failed: bool, changed: bool) -> Value {
    let mut value = r.clone();
    value.entry("failed").or_insert(Value::Bool(failed));
    value.entry("changed").or_insert(Value::Bool(changed));
    Value::Object(value)
}

/// What `no_log` leaves of a result: `censored`, `changed`, and the warnings (Ansible prints
/// those on their own); a failure also keeps its reason with `secrets` masked (report::masked).
pub fn censored(r: &Map, changed: bool, failed: bool, secrets: &[String]) -> Map {
    let mut out = Map::new();
    out.insert("censored".into(), Value::from(NO_LOG_MSG));
    out.insert("changed".into(), Value::Bool(changed));
    if let Some(w) = r.get("warnings") {
        out.insert("warnings".into(), w.clone());
    }
    if failed {
        masked::reason_into(r, secrets, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn no_log_success_stays_censored_and_a_failure_keeps_its_masked_reason() {
        let r = |v: Value| if let Value::Object(m) = v { m } else { Map::new() };
        let ok = censored(&r(json!({"stdout": "pw-long-1", "rc": 0})), true, false, &["pw-long-1".into()]);
        assert_eq!(Value::Object(ok), json!({"censored": NO_LOG_MSG, "changed": true}));
        let failed = r(json!({"msg": "bad pw-long-1", "rc": 1, "stdout": "pw-long-1"}));
        let shown = censored(&failed, false, true, &["pw-long-1".into()]);
        assert_eq!(shown["msg"], json!("bad ********"));
        assert!(!shown.contains_key("stdout"));
    }
}
