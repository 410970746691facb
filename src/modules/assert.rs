//! `assert`: every expression in `that` must be true.

use async_trait::async_trait;

use crate::value::{to_text, Value};

use super::args::{ArgSpec, Args, Opt};
use super::{Ctx, Map, Module, ModuleError, Query};

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::raw("that", "a condition or a list of conditions (Jinja expressions), all must be true").required(),
        Opt::raw("fail_msg", "the message when a condition is false"),
        Opt::raw("success_msg", "the message when all hold"),
        Opt::bool("quiet", "print less when all hold").default("false"),
    ]],
    aliases: &[("msg", "fail_msg")],
    ..ArgSpec::NONE
};

pub struct Assert;

/// `"{{ x }}"` → `x`: Ansible accepts (and deprecates) braces around a bare expression.
pub fn bare_expression(expr: &str) -> &str {
    let trimmed = expr.trim();
    trimmed.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")).filter(|s| !s.contains("{{")).unwrap_or(trimmed)
}

/// Evaluate one condition; like Ansible 2.19 the result must be a boolean.
pub fn eval_condition(cx: &Ctx<'_>, expr: &str) -> Result<bool, ModuleError> {
    let value = cx
        .render
        .eval(bare_expression(expr))
        .map_err(|e| ModuleError::Template(format!("assert: cannot evaluate `{expr}`: {e}")))?;
    match value {
        Value::Bool(b) => Ok(b),
        // A template that yields text stands for an expression only if the text is trusted.
        Value::String(_) if crate::template::single_expression(expr).is_some() => {
            let inner = cx.render.indirect(expr).map_err(|e| ModuleError::Template(format!("assert: {e}")))?;
            eval_condition(cx, &inner)
        }
        other if crate::template::lookups::allow_broken_conditionals() => Ok(crate::value::truthy(&other)),
        other => Err(ModuleError::Template(format!(
            "assert: `{expr}` gave {} ({}), not a boolean; conditionals must be true or false \
             (for text such as \"yes\" use `| bool`)",
            to_text(&other),
            type_name(&other)
        ))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[async_trait]
impl Module for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn raw_args(&self) -> &'static [&'static str] {
        &["that"]
    }

    fn controller_only(&self) -> bool {
        true
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("assert", args, &SPEC)?;
        a.bool("quiet", false)?;
        let that: Vec<Value> = match a.get("that") {
            None => return Err(a.error("`that` is required (an expression or a list of them)")),
            Some(Value::Array(items)) => items.clone(),
            // `that: "{{ list_of_expressions }}"`: the list's entries are the conditions.
            Some(Value::String(t)) if crate::template::single_expression(t).is_some() => {
                let expr = bare_expression(t);
                match cx.render.raw_list(expr.trim()) {
                    Some(items) => items,
                    None => match cx.render.eval(expr) {
                        Ok(Value::Array(items)) => items,
                        _ => vec![Value::String(t.clone())],
                    },
                }
            }
            Some(v) => vec![v.clone()],
        };
        for item in that {
            let (text, ok) = match &item {
                Value::Bool(b) => (to_text(&item), *b),
                Value::String(s) => (s.clone(), eval_condition(cx, s)?),
                other => return Err(a.error(format_args!("`that` entries must be expressions (strings), got {other}"))),
            };
            if !ok {
                let msg_value = a
                    .get("fail_msg")
                    .or_else(|| a.get("msg"))
                    .cloned()
                    .unwrap_or_else(|| Value::from("Assertion failed"));
                let mut result = Map::new();
                result.insert("assertion".into(), text.into());
                result.insert("evaluated_to".into(), false.into());
                result.insert("msg".into(), msg_value.clone());
                return Err(ModuleError::Failed { msg: to_text(&msg_value), result });
            }
        }
        let msg = a.get("success_msg").cloned().unwrap_or_else(|| Value::from("All assertions passed"));
        Ok(Query::ok().with("msg", msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{err_text, Harness, TestRender};
    use serde_json::json;

    fn harness() -> Harness {
        let mut h = Harness::new();
        h.render = TestRender::with(json!({"a": 1, "yes_text": "yes", "flag": true}));
        h
    }

    #[tokio::test]
    async fn passes_when_all_true() {
        let h = harness();
        let (changed, r) = h.run(&Assert, json!({"that": ["a == 1", "flag", "{{ flag }}"]})).await.unwrap();
        assert!(!changed);
        assert_eq!(r.get("msg"), Some(&json!("All assertions passed")));
        let (_, r) = h.run(&Assert, json!({"that": "a == 1", "success_msg": "fine"})).await.unwrap();
        assert_eq!(r.get("msg"), Some(&json!("fine")));
    }

    #[tokio::test]
    async fn failure_names_the_assertion() {
        let h = harness();
        let r = h.run(&Assert, json!({"that": ["a == 1", "a == 2"], "fail_msg": "boom"})).await;
        match r {
            Err(ModuleError::Failed { msg, result }) => {
                assert_eq!(msg, "boom");
                assert_eq!(result.get("assertion"), Some(&json!("a == 2")));
                assert_eq!(result.get("evaluated_to"), Some(&json!(false)));
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        let e = err_text(h.run(&Assert, json!({"that": "a == 2"})).await);
        assert_eq!(e, "Assertion failed");
    }

    #[tokio::test]
    async fn non_boolean_results_are_errors() {
        let h = harness();
        let e = err_text(h.run(&Assert, json!({"that": "yes_text"})).await);
        assert!(e.contains("not a boolean") && e.contains("| bool"), "{e}");
        let e = err_text(h.run(&Assert, json!({"that": "missing"})).await);
        assert!(e.contains("cannot evaluate `missing`"), "{e}");
        let e = err_text(h.run(&Assert, json!({})).await);
        assert_eq!(e, "missing required arguments: that");
    }
}
