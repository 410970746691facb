//! `set_fact`: set host variables at set_fact precedence.

use async_trait::async_trait;

use crate::value::Value;

use super::args::Args;
use super::{Ctx, Map, Module, ModuleError, Query};

pub struct SetFact;

/// A name usable as a variable: a letter or `_`, then letters, digits, `_`.
pub fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
        a.bool("cacheable", false)?;
        let mut facts = Map::new();
        for (k, v) in args {
            if k == "cacheable" {
                continue;
            }
            if !valid_var_name(k) {
                return Err(a.error(format_args!(
                    "{k:?} is not a valid variable name (letters, digits and _; not starting with a digit)"
                )));
            }
            facts.insert(k.clone(), v.clone());
        }
        if facts.is_empty() {
            return Err(a.error("give at least one `name: value` to set"));
        }
        let mut q = Query::ok().with("ansible_facts", Value::Object(facts.clone()));
        q.facts = Some(facts);
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
        assert!(e.contains("\"a-b\" is not a valid variable name"), "{e}");
        let e = err_text(h.query(&SetFact, json!({"cacheable": "yes"})).await);
        assert!(e.contains("at least one"), "{e}");
        assert!(!valid_var_name("1x"));
        assert!(valid_var_name("_x1"));
    }
}
