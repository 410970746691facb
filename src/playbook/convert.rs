//! Turning YAML nodes into keyword values, with an error at the node when the shape is wrong.

use super::error::LoadError;
use super::flag::{describe, strict_bool, Flag};
use super::model::Conditions;
use crate::value::{to_bool, to_text, Map, Value};
use crate::yaml::{Kind, Node};

/// A scalar as text (`name: 42` is the string "42").
pub fn string(node: &Node, key: &str) -> Result<String, LoadError> {
    match &node.kind {
        Kind::Str(s) => Ok(s.clone()),
        Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) => Ok(to_text(&node.to_value())),
        _ => Err(LoadError::invalid(&node.span, format!("`{key}` must be a string, not {}", node.type_name()))),
    }
}

/// A scalar as text; null means unset.
pub fn opt_string(node: &Node, key: &str) -> Result<Option<String>, LoadError> {
    if node.is_null() {
        return Ok(None);
    }
    string(node, key).map(Some)
}

/// A boolean keyword: YAML booleans and Ansible's boolean strings (`yes`, `"false"`, 1/0).
pub fn boolean(node: &Node, key: &str) -> Result<Option<bool>, LoadError> {
    if node.is_null() {
        return Ok(None);
    }
    let value = node.to_value();
    let text = to_text(&value);
    if matches!(value, Value::String(_)) && text.contains("{{") {
        return Err(LoadError::unsupported(
            &node.span,
            format!("`{key}` must be a literal boolean in troupe, not a template"),
        )
        .with_hint("compute the value in `when:` instead, or use two tasks"));
    }
    match (&node.kind, to_bool(&value)) {
        (Kind::Bool(_) | Kind::Str(_) | Kind::Int(_), Some(b)) => Ok(Some(b)),
        _ => Err(LoadError::invalid(
            &node.span,
            format!("`{key}` must be a boolean (true/false), not {}", node.type_name()),
        )),
    }
}

/// A boolean keyword that may be a template (`become: "{{ use_sudo }}"`), rendered per host at
/// run time; a literal must be a boolean now, so `become: maybe` fails at load time.
pub fn flag(node: &Node, key: &str) -> Result<Option<Flag>, LoadError> {
    match &node.kind {
        Kind::Null => Ok(None),
        Kind::Str(s) if crate::template::is_template(s) => Ok(Some(Flag::Template(s.clone()))),
        Kind::Bool(_) | Kind::Str(_) | Kind::Int(_) | Kind::Float(_) => match strict_bool(&node.to_value()) {
            Some(b) => Ok(Some(Flag::Literal(b))),
            None => Err(LoadError::invalid(
                &node.span,
                format!("`{key}` must be a boolean (true/false), not {}", describe(&node.to_value())),
            )
            .with_hint(format!(
                "write `{key}: true` or `{key}: false`, or a template such as `{key}: \"{{{{ flag }}}}\"`"
            ))),
        },
        _ => Err(LoadError::invalid(
            &node.span,
            format!("`{key}` must be a boolean (true/false), not {}", node.type_name()),
        )),
    }
}

/// A string or a list of strings (ints become strings).
pub fn string_list(node: &Node, key: &str) -> Result<Vec<String>, LoadError> {
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Seq(items) => items.iter().map(|n| string(n, key)).collect(),
        _ => Ok(vec![string(node, key)?]),
    }
}

/// `vars_files`: a string or a list whose items are file names or lists of alternatives.
pub fn vars_files(node: &Node) -> Result<Vec<Vec<String>>, LoadError> {
    match &node.kind {
        Kind::Seq(items) => items
            .iter()
            .map(|n| match &n.kind {
                Kind::Seq(_) => string_list(n, "vars_files"),
                _ => Ok(vec![string(n, "vars_files")?]),
            })
            .collect(),
        _ => Ok(string_list(node, "vars_files")?.into_iter().map(|f| vec![f]).collect()),
    }
}

/// `tags`: "a, b" splits on commas; a list is taken as is (ints become strings).
pub fn tags(node: &Node) -> Result<Vec<String>, LoadError> {
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Str(s) => Ok(s.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()),
        Kind::Int(_) => Ok(vec![to_text(&node.to_value())]),
        Kind::Seq(items) => items
            .iter()
            .map(|n| match &n.kind {
                Kind::Str(_) | Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) => string(n, "tags"),
                _ => Err(LoadError::invalid(&n.span, format!("a tag must be a string, not {}", n.type_name()))),
            })
            .collect(),
        _ => Err(LoadError::invalid(&node.span, "`tags` must be a string or a list of strings")),
    }
}

/// `when`: a string, a bool, or a list of those (AND); booleans become "True"/"False".
pub fn when(node: &Node) -> Result<Vec<String>, LoadError> {
    let one = |n: &Node| match &n.kind {
        Kind::Str(s) => Ok(s.trim().to_string()),
        // Python's repr, which Ansible then evaluates: `inf` is an undefined variable there too.
        Kind::Float(f) if f.is_nan() => Ok("nan".to_string()),
        Kind::Float(f) if f.is_infinite() => Ok(if *f > 0.0 { "inf" } else { "-inf" }.to_string()),
        Kind::Bool(_) | Kind::Int(_) | Kind::Float(_) => Ok(to_text(&n.to_value())),
        _ => Err(LoadError::invalid(
            &n.span,
            format!("a condition must be a string or a boolean, not {}", n.type_name()),
        )),
    };
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Seq(items) => items.iter().map(one).collect(),
        _ => Ok(vec![one(node)?]),
    }
}

/// `changed_when` / `failed_when` / `until`: a bool literal, or expressions (a list is AND).
pub fn conditions(node: &Node, _key: &str) -> Result<Option<Conditions>, LoadError> {
    match &node.kind {
        Kind::Null => Ok(None),
        Kind::Bool(b) => Ok(Some(Conditions::Literal(*b))),
        _ => Ok(Some(Conditions::Exprs(when(node)?))),
    }
}

/// `vars`: a mapping (or, for plays, a list of mappings merged in order). Names must be identifiers.
pub fn vars(node: &Node, allow_list: bool) -> Result<Map, LoadError> {
    let mut out = Map::new();
    match &node.kind {
        Kind::Null => {}
        Kind::Map(entries) => {
            for (k, v) in entries {
                let name = k.key_string();
                if !is_identifier(&name) {
                    return Err(LoadError::invalid(&k.span, format!("invalid variable name '{name}'"))
                        .with_hint("variable names are letters, digits and `_`, not starting with a digit"));
                }
                out.insert(name, v.to_value());
            }
        }
        Kind::Seq(items) if allow_list => {
            for item in items {
                if item.as_map().is_none() {
                    return Err(LoadError::invalid(&item.span, "each entry of a `vars` list must be a mapping"));
                }
                out.extend(vars(item, false)?);
            }
        }
        _ => {
            return Err(LoadError::invalid(&node.span, format!("`vars` must be a mapping, not {}", node.type_name())));
        }
    }
    Ok(out)
}

pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A number or a template string, kept raw (`retries`, `throttle`, `serial` items, ...).
pub fn number_or_template(node: &Node, key: &str) -> Result<Option<Value>, LoadError> {
    match &node.kind {
        Kind::Null => Ok(None),
        Kind::Int(_) | Kind::Float(_) => Ok(Some(node.to_value())),
        Kind::Str(s) if s.contains("{{") => Ok(Some(node.to_value())),
        Kind::Str(s) if s.trim().parse::<f64>().is_ok() => Ok(Some(node.to_value())),
        _ => Err(LoadError::invalid(&node.span, format!("`{key}` must be a number, not {}", node.type_name()))),
    }
}

/// A float (`loop_control.pause`, `max_fail_percentage`), also from a numeric string.
pub fn float(node: &Node, key: &str) -> Result<Option<f64>, LoadError> {
    match &node.kind {
        Kind::Null => Ok(None),
        Kind::Int(i) => Ok(Some(*i as f64)),
        Kind::Float(f) => Ok(Some(*f)),
        Kind::Str(s) => match s.trim().trim_end_matches('%').parse::<f64>() {
            Ok(f) => Ok(Some(f)),
            Err(_) => Err(LoadError::invalid(&node.span, format!("`{key}` must be a number, not '{s}'"))),
        },
        _ => Err(LoadError::invalid(&node.span, format!("`{key}` must be a number, not {}", node.type_name()))),
    }
}

/// The entries of a mapping node, or an error naming what it should be.
pub fn mapping<'a>(node: &'a Node, what: &str) -> Result<&'a [(Node, Node)], LoadError> {
    node.as_map()
        .ok_or_else(|| LoadError::invalid(&node.span, format!("{what} must be a mapping, not {}", node.type_name())))
}

/// The items of a list node (null is empty), or an error naming what it should be.
pub fn list<'a>(node: &'a Node, what: &str) -> Result<&'a [Node], LoadError> {
    match &node.kind {
        Kind::Null => Ok(&[]),
        Kind::Seq(items) => Ok(items),
        _ => Err(LoadError::invalid(&node.span, format!("{what} must be a list, not {}", node.type_name()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn node(s: &str) -> Node {
        crate::yaml::parse_str(s, Path::new("t.yml")).unwrap()
    }

    #[test]
    fn tags_split_on_commas_and_stringify_ints() {
        assert_eq!(tags(&node("a, b ,c")).unwrap(), vec!["a", "b", "c"]);
        assert_eq!(tags(&node("[x, 42]")).unwrap(), vec!["x", "42"]);
        assert_eq!(tags(&node("7")).unwrap(), vec!["7"]);
        assert!(tags(&node("{a: 1}")).is_err());
    }

    #[test]
    fn booleans_accept_ansible_words() {
        assert_eq!(boolean(&node("no"), "k").unwrap(), Some(false));
        assert_eq!(boolean(&node("'yes'"), "k").unwrap(), Some(true));
        assert_eq!(boolean(&node("1"), "k").unwrap(), Some(true));
        assert!(boolean(&node("maybe"), "k").is_err());
        let e = boolean(&node("'{{ x }}'"), "become").unwrap_err();
        assert!(e.message.contains("literal boolean"), "{}", e.message);
    }

    #[test]
    fn flags_keep_templates_and_check_literals() {
        assert_eq!(flag(&node("yes"), "become").unwrap(), Some(Flag::Literal(true)));
        assert_eq!(flag(&node("0"), "become").unwrap(), Some(Flag::Literal(false)));
        assert_eq!(flag(&node("~"), "become").unwrap(), None);
        assert_eq!(flag(&node("'{{ use_sudo }}'"), "become").unwrap(), Some(Flag::Template("{{ use_sudo }}".into())));
        let e = flag(&node("maybe"), "become").unwrap_err();
        assert!(e.message.contains("`become` must be a boolean") && e.message.contains("'maybe'"), "{}", e.message);
        assert_eq!((e.span.line, e.span.col), (1, 1));
        assert!(flag(&node("[true]"), "no_log").is_err());
        assert!(flag(&node("2"), "no_log").is_err());
    }

    #[test]
    fn when_and_conditions() {
        assert_eq!(when(&node("[a, true]")).unwrap(), vec!["a", "True"]);
        assert_eq!(when(&node("[1e400, -.inf, .nan]")).unwrap(), vec!["inf", "-inf", "nan"]);
        assert!(matches!(conditions(&node("false"), "k").unwrap(), Some(Conditions::Literal(false))));
        match conditions(&node("['rc != 0', 'x']"), "k").unwrap() {
            Some(Conditions::Exprs(v)) => assert_eq!(v, vec!["rc != 0", "x"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn vars_lists_merge_and_names_are_checked() {
        let v = vars(&node("[{a: 1}, {a: 2, b: 3}]"), true).unwrap();
        assert_eq!(v["a"], Value::from(2));
        assert!(vars(&node("[{a: 1}]"), false).is_err());
        let e = vars(&node("{'bad-name': 1}"), false).unwrap_err();
        assert!(e.message.contains("bad-name"));
    }
}
