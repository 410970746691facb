//! Boolean keywords (`become`, `no_log`, `ignore_errors`, ...): a literal checked at load time,
//! or a template rendered per host at run time, as in Ansible.

use crate::value::{to_text, Value};

/// The value of a boolean keyword as written (the default is `false`, like an unset bool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    Literal(bool),
    /// A template such as `"{{ use_sudo }}"`, kept raw until a host's variables are known.
    Template(String),
}

impl Flag {
    /// The literal value, if this flag is not a template.
    pub fn literal(&self) -> Option<bool> {
        match self {
            Flag::Literal(b) => Some(*b),
            Flag::Template(_) => None,
        }
    }
}

impl Default for Flag {
    fn default() -> Flag {
        Flag::Literal(false)
    }
}

impl From<bool> for Flag {
    fn from(b: bool) -> Flag {
        Flag::Literal(b)
    }
}

/// Ansible's strict boolean conversion for keywords: booleans, 0/1, and the words
/// yes/no, on/off, true/false, y/n, t/f, 1/0 (any case). Anything else (`''`, `None`, 2,
/// `maybe`) is not a boolean.
pub fn strict_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        // The words of `| bool`, but an empty string is no boolean here.
        Value::String(s) if s.trim().is_empty() => None,
        Value::Bool(_) | Value::String(_) => crate::value::to_bool(v),
        _ => None,
    }
}

/// How a value that is not a boolean is named in errors: strings quoted, others as JSON.
pub fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "None".into(),
        other => to_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_bool_accepts_ansible_words_only() {
        for v in [json!(true), json!("yes"), json!("1"), json!(1), json!("On"), json!("y"), json!("t"), json!(1.0)] {
            assert_eq!(strict_bool(&v), Some(true), "{v}");
        }
        for v in [json!(false), json!("no"), json!("0"), json!(0), json!("off"), json!("False"), json!("n")] {
            assert_eq!(strict_bool(&v), Some(false), "{v}");
        }
        for v in [json!(2), json!(""), json!("None"), json!(null), json!("0.0"), json!("maybe"), json!([])] {
            assert_eq!(strict_bool(&v), None, "{v}");
        }
    }

    #[test]
    fn describe_quotes_strings() {
        assert_eq!(describe(&json!("maybe")), "'maybe'");
        assert_eq!(describe(&json!(2)), "2");
        assert_eq!(describe(&json!(null)), "None");
    }
}
