//! Ansible's result dict, typed: [`TaskResult`]. Every key the engine itself reads or sets
//! (`changed`, `failed`, `msg`, `skipped`, `unreachable`, a loop's `results`, `attempts`,
//! `censored`...) is a field, built by the constructors and setters here; a module's own
//! return values (`rc`, `stdout`, `stat`...) stay in `extra`. It becomes Ansible's dict in one
//! place, [`TaskResult::to_map`], for `register`, the reporter and `ansible_failed_result`.

use crate::modules::Diff;
use crate::report::{masked, NO_LOG_MSG};
use crate::value::{Map, Value};

/// What 2.19 puts in `exception` when no traceback was captured (its default).
const NO_TRACEBACK: &str = "(traceback unavailable)";

/// What a task (or one loop item) returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskResult {
    pub changed: Option<bool>,
    pub failed: Option<bool>,
    pub skipped: Option<bool>,
    /// Only ever set when true (Ansible's `unreachable: true`).
    pub unreachable: bool,
    /// A module's or the engine's message (debug's `msg` may be any value).
    pub msg: Option<Value>,
    /// Why a task was skipped (`Conditional result was False`).
    pub skip_reason: Option<String>,
    /// Ansible's other spelling, for a loop with no items.
    pub skipped_reason: Option<String>,
    /// The `when` condition that was false.
    pub false_condition: Option<Value>,
    /// How many times `until` ran the module.
    pub attempts: Option<u32>,
    pub warnings: Option<Vec<Value>>,
    /// `no_log`: what is left of the result says so.
    pub censored: Option<String>,
    /// `setup` shows the facts it gathered.
    pub ansible_facts: Option<Map>,
    /// A loop's items' results.
    pub results: Option<Vec<Value>>,
    /// Ansible 2.19's error detail of a failure (see [`TaskResult::normalize_failure`]).
    pub exception: Option<Value>,
    /// Before/after for `--diff`; reported beside the dict, never part of it.
    pub diff: Option<Diff>,
    /// The module's own return values, in the order it gave them.
    pub extra: Map,
}

impl TaskResult {
    /// A module's values; the keys the engine knows become fields (when of their type).
    pub fn from_module(values: Map) -> TaskResult {
        let mut r = TaskResult::default();
        for (k, v) in values {
            r.set(k, v);
        }
        r
    }

    /// Set one key, as a field when the engine knows it and the value has its type.
    pub fn set(&mut self, key: String, value: Value) {
        match (key.as_str(), value) {
            ("changed", Value::Bool(b)) => self.changed = Some(b),
            ("failed", Value::Bool(b)) => self.failed = Some(b),
            ("skipped", Value::Bool(b)) => self.skipped = Some(b),
            ("unreachable", Value::Bool(true)) => self.unreachable = true,
            ("msg", v) => self.msg = Some(v),
            ("skip_reason", Value::String(s)) => self.skip_reason = Some(s),
            ("skipped_reason", Value::String(s)) => self.skipped_reason = Some(s),
            ("false_condition", v) => self.false_condition = Some(v),
            ("attempts", Value::Number(n)) if n.as_u64().is_some_and(|n| n <= u32::MAX as u64) => {
                self.attempts = n.as_u64().map(|n| n as u32)
            }
            ("warnings", Value::Array(w)) => self.warnings = Some(w),
            ("censored", Value::String(s)) => self.censored = Some(s),
            ("ansible_facts", Value::Object(f)) => self.ansible_facts = Some(f),
            ("results", Value::Array(r)) => self.results = Some(r),
            ("exception", v) => self.exception = Some(v),
            (_, v) => {
                self.extra.insert(key, v);
            }
        }
    }

    /// Ansible's dict: the module's values, then the engine's keys that are set.
    pub fn to_map(&self) -> Map {
        let mut m = self.extra.clone();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        if let Some(b) = self.changed {
            put("changed", Value::Bool(b));
        }
        if let Some(b) = self.failed {
            put("failed", Value::Bool(b));
        }
        if let Some(b) = self.skipped {
            put("skipped", Value::Bool(b));
        }
        if self.unreachable {
            put("unreachable", Value::Bool(true));
        }
        if let Some(v) = &self.msg {
            put("msg", v.clone());
        }
        if let Some(s) = &self.skip_reason {
            put("skip_reason", Value::from(s.as_str()));
        }
        if let Some(s) = &self.skipped_reason {
            put("skipped_reason", Value::from(s.as_str()));
        }
        if let Some(v) = &self.false_condition {
            put("false_condition", v.clone());
        }
        if let Some(n) = self.attempts {
            put("attempts", Value::from(n));
        }
        if let Some(w) = &self.warnings {
            put("warnings", Value::Array(w.clone()));
        }
        if let Some(s) = &self.censored {
            put("censored", Value::from(s.as_str()));
        }
        if let Some(f) = &self.ansible_facts {
            put("ansible_facts", Value::Object(f.clone()));
        }
        if let Some(r) = &self.results {
            put("results", Value::Array(r.clone()));
        }
        if let Some(e) = &self.exception {
            put("exception", e.clone());
        }
        m
    }

    /// A failure the engine found (a template, an argument, a module error): `failed`, `msg`.
    pub fn failed(msg: String) -> TaskResult {
        TaskResult { failed: Some(true), msg: Some(Value::String(msg)), ..TaskResult::default() }
    }

    /// A module's failure: its own values, then `failed` and its `msg`.
    pub fn module_failed(values: Map, msg: String) -> TaskResult {
        let mut r = TaskResult::from_module(values);
        r.failed = Some(true);
        r.msg = Some(Value::String(msg));
        r
    }

    /// A failure outside any task (vars_files, an include that can't load): only `msg`.
    pub fn host_failed(msg: String) -> TaskResult {
        TaskResult { msg: Some(Value::String(msg)), ..TaskResult::default() }
    }

    /// The host could not be reached.
    pub fn unreachable(msg: String) -> TaskResult {
        TaskResult { msg: Some(Value::String(msg)), unreachable: true, ..TaskResult::default() }
    }

    /// Skipped for `reason` (`skip_reason`).
    pub fn skipped(reason: &str) -> TaskResult {
        TaskResult {
            changed: Some(false),
            skipped: Some(true),
            skip_reason: Some(reason.to_string()),
            ..TaskResult::default()
        }
    }

    /// Skipped by `when`: Ansible names the first condition that was false, a literal
    /// `when: false` as the boolean. (The loader keeps conditions as text, so a quoted `"False"`
    /// shows as the boolean too.)
    pub fn when_skipped(condition: &str) -> TaskResult {
        let shown = match condition {
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            text => Value::from(text),
        };
        TaskResult { false_condition: Some(shown), ..TaskResult::skipped("Conditional result was False") }
    }

    /// A loop with no items (Ansible's own reason, and an empty `results`).
    pub fn no_items() -> TaskResult {
        TaskResult {
            changed: Some(false),
            skipped: Some(true),
            skipped_reason: Some("No items in the list".into()),
            results: Some(Vec::new()),
            ..TaskResult::default()
        }
    }

    /// `failed` as `failed_when` or `until` decided it; a failure keeps the module's `msg` or gets `why`.
    pub fn set_failed(&mut self, failed: bool, why: &str) {
        self.failed = Some(failed);
        if failed && self.msg.is_none() {
            self.msg = Some(Value::from(why));
        }
    }

    /// A module's failure carries its error detail, as a 2.19 module's does before `failed_when`
    /// sees it (troupe has no traceback, so Ansible's placeholder).
    pub fn module_exception(&mut self) {
        if self.failed == Some(true) && self.exception.is_none() {
            self.exception = Some(Value::from(NO_TRACEBACK));
        }
    }

    /// `failed_when` cleared a failure: its error detail moves aside (Ansible 2.19).
    pub fn suppress_exception(&mut self) {
        if let Some(e) = self.exception.take() {
            self.extra.insert("failed_when_suppressed_exception".into(), e);
        }
    }

    /// 2.19's error normalization after the result conditions: a failed result has `exception`.
    pub fn normalize_failure(&mut self, failed: bool) {
        if failed && self.exception.is_none() {
            self.exception = Some(Value::from(NO_TRACEBACK));
        }
    }

    /// Check mode, and the module can't tell what would happen: its own values, marked skipped.
    pub fn check_skipped(&mut self, module: &str) {
        self.skipped = Some(true);
        if self.msg.is_none() {
            self.msg = Some(Value::from(format!("remote module ({module}) does not support check mode")));
        }
    }

    /// Warnings raised around the module (argument aliases), after the module's own.
    pub fn add_warnings(&mut self, more: Vec<String>) {
        if !more.is_empty() {
            self.warnings.get_or_insert_with(Vec::new).extend(more.into_iter().map(Value::from));
        }
    }

    /// The items' warnings, moved up to the loop (as Ansible does).
    pub fn take_warnings(&mut self) -> Vec<Value> {
        self.warnings.take().unwrap_or_default()
    }

    /// `setup` shows the facts it gathered under `ansible_facts`.
    pub fn show_facts(&mut self, facts: &Map) {
        self.ansible_facts.get_or_insert_with(|| facts.clone());
    }

    /// The value `register` stores: the result, with `failed` and `changed` always there.
    pub fn registered(&self, failed: bool, changed: bool) -> Value {
        let mut r = self.clone();
        if r.failed.is_none() && !r.extra.contains_key("failed") {
            r.failed = Some(failed);
        }
        if r.changed.is_none() && !r.extra.contains_key("changed") {
            r.changed = Some(changed);
        }
        Value::Object(r.to_map())
    }

    /// What `no_log` leaves of a result: `censored`, `changed`, and the warnings (Ansible prints
    /// those on their own); a failure also keeps its reason with `secrets` masked (report::masked).
    pub fn censored(&self, changed: bool, failed: bool, secrets: &[String]) -> Map {
        let mut out = Map::new();
        out.insert("censored".into(), Value::from(NO_LOG_MSG));
        out.insert("changed".into(), Value::Bool(changed));
        if let Some(w) = &self.warnings {
            out.insert("warnings".into(), Value::Array(w.clone()));
        }
        if failed {
            masked::reason_into(&self.to_map(), secrets, &mut out);
        }
        out
    }
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
    pub fn into_result(self) -> TaskResult {
        let msg = match (self.failed, self.all_skipped) {
            (true, _) => "One or more items failed",
            (false, true) => "All items skipped",
            (false, false) => "All items completed",
        };
        TaskResult {
            changed: Some(self.changed),
            msg: Some(Value::from(msg)),
            failed: self.failed.then_some(true),
            skipped: Some(self.all_skipped),
            warnings: (!self.warnings.is_empty()).then_some(self.warnings),
            results: Some(self.results),
            ..TaskResult::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map {
        if let Value::Object(m) = v {
            m
        } else {
            Map::new()
        }
    }

    #[test]
    fn no_log_success_stays_censored_and_a_failure_keeps_its_masked_reason() {
        let r = |v: Value| TaskResult::from_module(map(v));
        let ok = r(json!({"stdout": "pw-long-1", "rc": 0})).censored(true, false, &["pw-long-1".into()]);
        assert_eq!(Value::Object(ok), json!({"censored": NO_LOG_MSG, "changed": true}));
        let failed = r(json!({"msg": "bad pw-long-1", "rc": 1, "stdout": "pw-long-1"}));
        let shown = failed.censored(false, true, &["pw-long-1".into()]);
        assert_eq!(shown["msg"], json!("bad ********"));
        assert!(!shown.contains_key("stdout"));
    }

    #[test]
    fn a_module_result_round_trips_and_known_keys_are_typed() {
        let values = json!({"rc": 0, "msg": ["a", 1], "changed": true, "warnings": ["w"], "attempts": 2,
            "skipped": "not a bool", "ansible_facts": {"x": 1}, "results": ["r"]});
        let r = TaskResult::from_module(map(values.clone()));
        assert_eq!((r.changed, r.attempts, r.msg.clone()), (Some(true), Some(2), Some(json!(["a", 1]))));
        assert_eq!(r.extra.get("skipped"), Some(&json!("not a bool")), "a wrongly typed key stays the module's");
        assert_eq!(Value::Object(r.to_map()), values);
    }

    #[test]
    fn engine_results_have_ansibles_keys() {
        let v = |r: TaskResult| Value::Object(r.to_map());
        assert_eq!(v(TaskResult::failed("x".into())), json!({"failed": true, "msg": "x"}));
        assert_eq!(v(TaskResult::unreachable("down".into())), json!({"msg": "down", "unreachable": true}));
        assert_eq!(
            v(TaskResult::when_skipped("False")),
            json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False", "false_condition": false})
        );
        assert_eq!(
            v(TaskResult::no_items()),
            json!({"changed": false, "skipped": true, "skipped_reason": "No items in the list", "results": []})
        );
        let mut r = TaskResult::from_module(map(json!({"rc": 1, "msg": "own"})));
        r.set_failed(true, "failed_when condition was true");
        assert_eq!(r.msg, Some(json!("own")), "a failure keeps the module's msg");
        assert_eq!(
            TaskResult::host_failed("m".into()).registered(true, false),
            json!({"msg": "m", "failed": true, "changed": false})
        );
        let summary =
            LoopSummary { changed: true, failed: false, all_skipped: false, warnings: vec![], results: vec![] };
        assert_eq!(
            v(summary.into_result()),
            json!({"changed": true, "msg": "All items completed", "skipped": false, "results": []})
        );
    }

    #[test]
    fn warnings_from_around_the_module_follow_its_own() {
        let mut r = TaskResult::from_module(map(json!({"warnings": ["own"]})));
        r.add_warnings(vec!["alias".into()]);
        assert_eq!(r.to_map()["warnings"], json!(["own", "alias"]));
        assert_eq!(r.take_warnings().len(), 2);
        assert!(!r.to_map().contains_key("warnings"));
    }
}
