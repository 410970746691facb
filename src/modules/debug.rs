//! `debug`: print a message or a variable's value.

use async_trait::async_trait;

use crate::value::Value;

use super::args::{ArgSpec, Args, Opt};
use super::{Ctx, Map, Module, ModuleError, Query};

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::raw("msg", "what to print").default("Hello world!"),
        Opt::raw("var", "a variable name or expression to print (instead of `msg`)"),
        Opt::int("verbosity", "print only at this `-v` level or above").default("0"),
    ]],
    ..ArgSpec::NONE
};

pub struct Debug;

/// Ansible's reason for a `debug` task below its `verbosity`.
const VERBOSITY_SKIP: &str = "Verbosity threshold not met.";

#[async_trait]
impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    /// `var` is an expression, evaluated here rather than rendered as text.
    fn raw_args(&self) -> &'static [&'static str] {
        &["var"]
    }

    fn controller_only(&self) -> bool {
        true
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("debug", args, &SPEC)?;
        let threshold = a.number("verbosity")?.unwrap_or(0.0);
        // Ansible's debug action skips itself below the threshold; -v sets `ansible_verbosity`.
        let verbosity = cx.render.eval("ansible_verbosity").ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        if verbosity < threshold {
            return Ok(Query::ok().with("skipped", true).with("skipped_reason", VERBOSITY_SKIP));
        }
        match (a.get("msg"), a.get("var")) {
            (Some(_), Some(_)) => Err(a.error("`msg` and `var` are mutually exclusive")),
            (None, Some(var)) => {
                let expr = match var {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => crate::value::to_text(var),
                    // Ansible's argument spec for `var` is a string without conversion.
                    other => {
                        let shown = crate::value::pyrepr::py_repr(other);
                        return Err(a.error(format!("'{shown}' is not a string and conversion is not allowed")));
                    }
                };
                // A template in `var` must yield a trusted expression (Ansible 2.19).
                let expr = match crate::template::is_template(&expr) {
                    true => cx.render.indirect(&expr).map_err(|e| ModuleError::Template(format!("debug var: {e}")))?,
                    false => expr,
                };
                let value = match cx.render.eval(&expr) {
                    // 2.19 cannot omit a result: a placeholder, and a warning saying so.
                    Ok(Value::String(s)) if s == crate::exec::OMIT => {
                        return Ok(Query::ok().with(&expr, "<<Omit>>").with(
                            "warnings",
                            vec!["The result of the `var` expression could not be omitted; a placeholder was used instead."],
                        ));
                    }
                    Ok(v) => v,
                    Err(e) if e.contains("undefined") || e.contains("has no attribute") => {
                        // 2.19: a placeholder naming the error, and the error as a warning.
                        let error = format!("error 1 - {}", undefined_reason(cx.render, &e));
                        return Ok(Query::ok()
                            .with(&expr, format!("<< {error} >>"))
                            .with("warnings", vec![format!("Encountered 1 template error.\n{error}")]));
                    }
                    Err(e) => return Err(ModuleError::Template(format!("debug var={expr}: {e}"))),
                };
                Ok(Query::ok().with(&expr, value))
            }
            (msg, None) => Ok(Query::ok().with("msg", msg.cloned().unwrap_or_else(|| Value::from("Hello world!")))),
        }
    }
}

/// What ansible-core 2.19 says about an undefined value in `debug: var=` (`'x' is undefined`,
/// `object of type 'dict' has no attribute 'y'`), from troupe's longer template error.
fn undefined_reason(render: &dyn super::Render, error: &str) -> String {
    // A variable whose template failed names the variable inside that is undefined.
    let error = match error.split_once(" could not be templated: ") {
        Some((_, inner)) => inner,
        None => error,
    };
    let quoted = error.split_once("variable '").map(|(_, t)| t).or_else(|| error.strip_prefix('\''));
    let Some(name) = quoted.and_then(|t| t.split('\'').next()) else {
        return error.lines().next().unwrap_or(error).to_string();
    };
    // `a.b` undefined while `a` is defined: name the type that lacks the attribute.
    if let Some((parent, attr)) = name.rsplit_once('.') {
        if let Ok(v) = render.eval(parent) {
            let kind = match v {
                Value::Object(_) => "dict",
                Value::Array(_) => "list",
                Value::String(_) => "str",
                Value::Bool(_) => "bool",
                Value::Null => "NoneType",
                Value::Number(n) if n.is_f64() => "float",
                Value::Number(_) => "int",
            };
            return format!("object of type '{kind}' has no attribute '{attr}'");
        }
    }
    format!("'{name}' is undefined")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{err_text, Harness, TestRender};
    use serde_json::json;

    #[tokio::test]
    async fn msg_var_and_default() {
        let mut h = Harness::new();
        h.render = TestRender::with(json!({"port": 2379}));
        let (changed, r) = h.run(&Debug, json!({"msg": ["a", 1]})).await.unwrap();
        assert!(!changed);
        assert_eq!(r.get("msg"), Some(&json!(["a", 1])));
        let (_, r) = h.run(&Debug, json!({"var": "port"})).await.unwrap();
        assert_eq!(r.get("port"), Some(&json!(2379)));
        let e = err_text(h.run(&Debug, json!({"var": "{{ 'port' }}"})).await);
        assert!(e.contains("untrusted template or expression"), "{e}");
        let (_, r) = h.run(&Debug, json!({"var": "nope"})).await.unwrap();
        assert_eq!(r.get("nope"), Some(&json!("<< error 1 - 'nope' is undefined >>")));
        assert_eq!(r.get("warnings"), Some(&json!(["Encountered 1 template error.\nerror 1 - 'nope' is undefined"])));
        let e = err_text(h.run(&Debug, json!({"var": {"a": null}})).await);
        assert!(e.contains("'{'a': None}' is not a string and conversion is not allowed"), "{e}");
        h.render = TestRender::with(json!({"d": {"a": 1}}));
        let (_, r) = h.run(&Debug, json!({"var": "d.b"})).await.unwrap();
        assert_eq!(r.get("d.b"), Some(&json!("<< error 1 - object of type 'dict' has no attribute 'b' >>")));
        let (_, r) = h.run(&Debug, json!({})).await.unwrap();
        assert_eq!(r.get("msg"), Some(&json!("Hello world!")));
    }

    #[tokio::test]
    async fn verbosity_threshold_skips_below_it() {
        let mut h = Harness::new();
        h.render = TestRender::with(json!({"ansible_verbosity": 1}));
        let (_, r) = h.run(&Debug, json!({"msg": "deep", "verbosity": 2})).await.unwrap();
        assert_eq!((r.get("skipped"), r.get("msg")), (Some(&json!(true)), None));
        assert_eq!(r.get("skipped_reason"), Some(&json!(VERBOSITY_SKIP)));
        let (_, r) = h.run(&Debug, json!({"msg": "shown", "verbosity": "1"})).await.unwrap();
        assert_eq!((r.get("skipped"), r.get("msg")), (None, Some(&json!("shown"))));
        h.render = TestRender::default();
        let (_, r) = h.run(&Debug, json!({"msg": "x", "verbosity": 1})).await.unwrap();
        assert_eq!(r.get("skipped"), Some(&json!(true)), "no ansible_verbosity means 0");
    }

    #[tokio::test]
    async fn bad_arguments() {
        let h = Harness::new();
        let e = err_text(h.run(&Debug, json!({"msg": "a", "var": "b"})).await);
        assert!(e.contains("mutually exclusive"), "{e}");
        let e = err_text(h.run(&Debug, json!({"msg": "a", "verbosity": "x"})).await);
        assert_eq!(
            e,
            "argument 'verbosity' is of type str and we were unable to convert to int: \"'x'\" cannot be converted to an int"
        );
    }
}
