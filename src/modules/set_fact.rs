//! `set_fact`: set host variables at set_fact precedence.

use async_trait::async_trait;

use crate::value::pyrepr::{py_repr, py_str};
use crate::value::Value;

use super::args::Args;
use super::{Ctx, Map, Module, ModuleError, Query};

pub struct SetFact;

/// Names Jinja gives a meaning of its own, so no variable can have them (Ansible's
/// `JINJA_KEYWORDS`).
const JINJA_KEYWORDS: &[&str] = &["true", "false", "none", "True", "False", "None", "not"];

/// A name usable as a variable: a letter or `_`, then letters, digits, `_`; not a Jinja keyword.
pub fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !JINJA_KEYWORDS.contains(&name)
}

/// Ansible's `validate_variable_name` message for a name that is not one (a rendered name
/// may be of any type: `"{{ 1 }}"` is an int).
pub fn invalid_name(name: &Value) -> String {
    let mut what = match name {
        Value::Array(_) | Value::Object(_) => "name".to_string(),
        scalar => format!("name {}", py_repr(&Value::String(py_str(scalar)))),
    };
    let native = match name {
        Value::String(_) => None,
        Value::Null => Some("NoneType"),
        Value::Bool(_) => Some("bool"),
        Value::Number(n) if n.is_f64() => Some("float"),
        Value::Number(_) => Some("int"),
        Value::Array(_) => Some("list"),
        Value::Object(_) => Some("dict"),
    };
    if let Some(t) = native {
        what.push_str(&format!(" of type '{t}'"));
    }
    format!("Task failed: Invalid variable {what}.")
}

/// The failure Ansible's action raises: its message, and the result's `exception`.
pub fn raised(msg: String) -> ModuleError {
    let result = Map::from_iter([("exception".to_string(), Value::from("(traceback unavailable)"))]);
    ModuleError::Failed { msg, result }
}

#[async_trait]
impl Module for SetFact {
    fn name(&self) -> &'static str {
        "set_fact"
    }

    fn controller_only(&self) -> bool {
        true
    }

    async fn query(&self, _cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::any_names("set_fact", args);
        let cacheable = a.bool("cacheable", false)?;
        let mut facts = Map::new();
        for (k, v) in args {
            if k == "cacheable" {
                continue;
            }
            if !valid_var_name(k) {
                return Err(raised(invalid_name(&Value::from(k.as_str()))));
            }
            facts.insert(k.clone(), v.clone());
        }
        if facts.is_empty() {
            return Err(raised(
                "No key/value pairs provided, at least one is required for this action to succeed".into(),
            ));
        }
        let mut q = Query::ok().with("ansible_facts", Value::Object(facts.clone()));
        q.facts = Some(facts);
        q.cacheable = cacheable;
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{err_text, Harness};
    use serde_json::json;

    #[tokio::test]
    async fn facts_are_returned_and_stored() {
        let h = Harness::new();
        let q = h.query(&SetFact, json!({"a": 1, "b": {"c": "x"}, "cacheable": true})).await.unwrap();
        assert!(!q.changed);
        let want = json!({"a": 1, "b": {"c": "x"}});
        assert_eq!(q.facts.map(Value::Object), Some(want.clone()));
        assert_eq!(q.result.get("ansible_facts"), Some(&want));
    }

    #[tokio::test]
    async fn bad_names_and_empty() {
        let h = Harness::new();
        let e = err_text(h.query(&SetFact, json!({"a-b": 1})).await);
        assert_eq!(e, "Task failed: Invalid variable name 'a-b'.");
        let e = err_text(h.query(&SetFact, json!({"none": 1})).await);
        assert_eq!(e, "Task failed: Invalid variable name 'none'.");
        let e = err_text(h.query(&SetFact, json!({"cacheable": "yes"})).await);
        assert_eq!(e, "No key/value pairs provided, at least one is required for this action to succeed");
        assert!(!valid_var_name("1x"));
        assert!(!valid_var_name("é"));
        assert!(valid_var_name("_x1"));
    }

    #[test]
    fn rendered_names_say_their_type() {
        assert_eq!(invalid_name(&json!(1)), "Task failed: Invalid variable name '1' of type 'int'.");
        assert_eq!(invalid_name(&json!(1.5)), "Task failed: Invalid variable name '1.5' of type 'float'.");
        assert_eq!(invalid_name(&json!(true)), "Task failed: Invalid variable name 'True' of type 'bool'.");
        assert_eq!(invalid_name(&json!(null)), "Task failed: Invalid variable name 'None' of type 'NoneType'.");
        assert_eq!(invalid_name(&json!([1])), "Task failed: Invalid variable name of type 'list'.");
        assert_eq!(invalid_name(&json!("it's")), "Task failed: Invalid variable name \"it's\".");
    }

    #[tokio::test]
    async fn cacheable_is_passed_on() {
        let h = Harness::new();
        let q = h.query(&SetFact, json!({"a": 1, "cacheable": "yes"})).await.unwrap();
        assert!(q.cacheable);
        let q = h.query(&SetFact, json!({"a": 1})).await.unwrap();
        assert!(!q.cacheable);
    }
}
