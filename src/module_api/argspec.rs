//! A module's argument spec, declared once: each option's name, type, default, choices,
//! whether it is required, and a one-line doc. [`super::args::Args::parse`] enforces it with
//! Ansible's own error texts, the loader checks literal values against it
//! ([`check_literal`]), and `docs/modules.md` is generated from it ([`doc_table`]).

use crate::value::{to_bool, to_text, Map, Value};

/// The doc of an option troupe accepts, as Ansible does, but does not act on.
pub const IGNORED: &str = "accepted for compatibility; not applied";

/// An option's type, as Ansible's `type=` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Str,
    Bool,
    Int,
    Float,
    Path,
    List,
    Dict,
    /// Anything (Ansible's `raw`); also the type of names declared without a spec.
    Raw,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Str => "str",
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Float => "float",
            Type::Path => "path",
            Type::List => "list",
            Type::Dict => "dict",
            Type::Raw => "raw",
        }
    }
}

/// One option of a module: `Opt::str("state", "what the path should be").choices(&[..])`.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub name: &'static str,
    pub ty: Type,
    /// The default as Ansible documents it (text; `None`: no default). Documentation only:
    /// modules keep reading "not given" as such.
    pub default: Option<&'static str>,
    pub choices: &'static [&'static str],
    pub required: bool,
    pub doc: &'static str,
}

impl Opt {
    pub const fn new(name: &'static str, ty: Type, doc: &'static str) -> Opt {
        Opt { name, ty, default: None, choices: &[], required: false, doc }
    }
    pub const fn str(name: &'static str, doc: &'static str) -> Opt {
        Opt::new(name, Type::Str, doc)
    }
    pub const fn bool(name: &'static str, doc: &'static str) -> Opt {
        Opt::new(name, Type::Bool, doc)
    }
    pub const fn int(name: &'static str, doc: &'static str) -> Opt {
        Opt::new(name, Type::Int, doc)
    }
    pub const fn float(name: &'static str, doc: &'static str) -> Opt {
        Opt::new(name, Type::Float, doc)
    }
    pub const fn path(name: &'static str, doc: &'static str) -> Opt {
        Opt::new(name, Type::Path, doc)
    }
    pub const fn list(name: &'static str, doc: &'static str) -> Opt {
        Opt::new(name, Type::List, doc)
    }
    pub const fn dict(name: &'static str, doc: &'static str) -> Opt {
        Opt::new(name, Type::Dict, doc)
    }
    pub const fn raw(name: &'static str, doc: &'static str) -> Opt {
        Opt::new(name, Type::Raw, doc)
    }
    /// An internal option (`_raw_params`): accepted, never listed.
    pub const fn internal(name: &'static str) -> Opt {
        Opt::new(name, Type::Raw, "")
    }
    pub const fn required(mut self) -> Opt {
        self.required = true;
        self
    }
    pub const fn default(mut self, value: &'static str) -> Opt {
        self.default = Some(value);
        self
    }
    pub const fn choices(mut self, choices: &'static [&'static str]) -> Opt {
        self.choices = choices;
        self
    }
}

/// A module's arguments, declared once: typed `options` (in lists, so modules can share one,
/// such as the file-write options), aliases (alias → canonical name), and `names`, the older
/// untyped form (accepted, listed as `raw`). Names starting with `_` are internal: accepted,
/// never listed. Write `..ArgSpec::NONE` for the fields a spec leaves empty.
#[derive(Debug)]
pub struct ArgSpec {
    pub names: &'static [&'static [&'static str]],
    pub aliases: &'static [(&'static str, &'static str)],
    pub options: &'static [&'static [Opt]],
    /// The message when a required option is missing, for modules that Ansible runs through
    /// an action plugin wording it its own way (`src and dest are required`).
    pub missing: Option<&'static str>,
}

impl ArgSpec {
    /// No arguments; the base for `..ArgSpec::NONE`.
    pub const NONE: ArgSpec = ArgSpec { names: &[], aliases: &[], options: &[], missing: None };

    /// Every canonical name.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.opts().map(|o| o.name).chain(self.names.iter().flat_map(|list| list.iter().copied()))
    }

    /// The typed options.
    pub fn opts(&self) -> impl Iterator<Item = &'static Opt> + '_ {
        self.options.iter().flat_map(|list| list.iter())
    }

    pub fn knows(&self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }

    pub fn opt(&self, name: &str) -> Option<&'static Opt> {
        self.opts().find(|o| o.name == name)
    }

    /// Ansible's checks after aliases are resolved, in its order, first failure wins: required,
    /// types, choices. A boolean given for a choice option that one choice spells (`yes` loads
    /// as true) is turned into that choice, as Ansible does.
    pub fn validate(&self, map: &mut Map) -> Result<(), String> {
        let mut missing: Vec<&str> = self
            .opts()
            .filter(|o| o.required && !matches!(map.get(o.name), Some(v) if !v.is_null()))
            .map(|o| o.name)
            .collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            if let Some(msg) = self.missing {
                return Err(msg.to_string());
            }
            return Err(format!("missing required arguments: {}", missing.join(", ")));
        }
        for o in self.opts() {
            if let Some(v) = map.get(o.name).filter(|v| !v.is_null()) {
                check_type(o, v)?;
            }
        }
        for o in self.opts().filter(|o| !o.choices.is_empty()) {
            if let Some(v) = map.get_mut(o.name).filter(|v| !v.is_null()) {
                check_choice(o, v)?;
            }
        }
        Ok(())
    }
}

/// Python's name for a value's type, as Ansible's messages print it.
fn py_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "str",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
        Value::Null => "NoneType",
    }
}

/// Python's `repr` of a scalar, near enough for messages.
fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => to_text(other),
    }
}

const VALID_BOOLEANS: &str = "'y', 'yes', 'on', '1', 'true', 't', 1, 'n', 'no', 'off', '0', 'false', 'f', 0";

/// Ansible's strict boolean: its spellings, `1`/`0`, or a boolean.
fn strict_bool(v: &Value) -> bool {
    match v {
        Value::Bool(_) => true,
        Value::Number(n) => n.as_f64().is_some_and(|f| f == 0.0 || f == 1.0),
        Value::String(s) => !s.trim().is_empty() && to_bool(v).is_some(),
        _ => false,
    }
}

fn check_type(o: &Opt, v: &Value) -> Result<(), String> {
    let why = match (o.ty, v) {
        (Type::Bool, v) if !strict_bool(v) => {
            format!("The value {} is not a valid boolean. Valid booleans include: {VALID_BOOLEANS}", py_repr(v))
        }
        (Type::Int, Value::Number(n)) if n.as_i64().is_none() && n.as_f64().is_some_and(|f| f.fract() != 0.0) => {
            format!("\"{n}\" cannot be converted to an int")
        }
        (Type::Int, Value::String(s)) if s.trim().parse::<i64>().is_err() => {
            format!("\"{}\" cannot be converted to an int", py_repr(v))
        }
        (Type::Int, Value::Bool(_) | Value::Array(_) | Value::Object(_)) => {
            format!("\"{}\" cannot be converted to an int", py_repr(v))
        }
        (Type::Float, Value::String(s)) if s.trim().parse::<f64>().is_err() => {
            format!("\"{}\" cannot be converted to a float", py_repr(v))
        }
        (Type::Float, Value::Bool(_) | Value::Array(_) | Value::Object(_)) => {
            format!("\"{}\" cannot be converted to a float", py_repr(v))
        }
        (Type::List, Value::Bool(_) | Value::Object(_)) => format!("\"{}\" cannot be converted to a list", py_repr(v)),
        (Type::Dict, Value::Bool(_) | Value::Number(_) | Value::Array(_)) => {
            "dictionary requested, could not parse JSON or key=value".to_string()
        }
        _ => return Ok(()),
    };
    Err(format!(
        "argument '{}' is of type {} and we were unable to convert to {}: {why}",
        o.name,
        py_type(v),
        o.ty.name()
    ))
}

fn check_choice(o: &Opt, v: &mut Value) -> Result<(), String> {
    if let Value::Bool(b) = v {
        let spelled: Vec<&str> =
            o.choices.iter().copied().filter(|c| !c.is_empty() && to_bool(&Value::from(*c)) == Some(*b)).collect();
        if let [one] = spelled[..] {
            *v = Value::from(one);
        }
    }
    let choices = o.choices.join(", ");
    match v {
        Value::Array(items) if o.ty == Type::List => {
            let bad: Vec<String> = items.iter().map(to_text).filter(|t| !o.choices.contains(&t.as_str())).collect();
            if bad.is_empty() {
                return Ok(());
            }
            Err(format!("value of {} must be one or more of: {choices}. Got no match for: {}", o.name, bad.join(", ")))
        }
        other if o.choices.contains(&to_text(other).as_str()) => Ok(()),
        other => Err(format!("value of {} must be one of: {choices}, got: {}", o.name, to_text(other))),
    }
}

/// A value with no template in it, known at load time.
fn literal(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.contains("{{") && !s.contains("{%"),
        Value::Array(items) => items.iter().all(literal),
        Value::Object(m) => m.values().all(literal),
        _ => true,
    }
}

/// Check a task's arguments at load time, for the values written without templates: types
/// and choices (required and unknown names wait for the run, where templates are rendered).
pub fn check_literal(spec: &ArgSpec, args: &Map) -> Result<(), String> {
    if args.contains_key("_variable_params") {
        return Ok(());
    }
    let mut map = Map::new();
    for (k, v) in args {
        let name = spec.aliases.iter().find(|(a, _)| a == k).map_or(k.as_str(), |(_, c)| c);
        if let Some(o) = spec.opt(name).filter(|_| literal(v) && !v.is_null()) {
            let mut v = v.clone();
            check_type(o, &v)?;
            if !o.choices.is_empty() {
                check_choice(o, &mut v)?;
            }
            map.insert(name.to_string(), v);
        }
    }
    Ok(())
}

/// A module's options as a Markdown table (option, type, default, choices, aliases, doc).
pub fn doc_table(spec: &ArgSpec) -> String {
    let mut out =
        String::from("| option | type | default | choices | aliases | what it does |\n|---|---|---|---|---|---|\n");
    let untyped = spec.names.iter().flat_map(|l| l.iter()).map(|n| Opt::raw(n, ""));
    let mut rows: Vec<Opt> = spec.opts().copied().chain(untyped).filter(|o| !o.name.starts_with('_')).collect();
    rows.sort_by_key(|o| o.name);
    for o in rows {
        let aliases: Vec<&str> =
            spec.aliases.iter().filter(|(a, c)| *c == o.name && !a.starts_with('_')).map(|(a, _)| *a).collect();
        let name = if o.required { format!("`{}` (required)", o.name) } else { format!("`{}`", o.name) };
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            o.ty.name(),
            o.default.map(|d| if d.is_empty() { "`''`".to_string() } else { format!("`{d}`") }).unwrap_or_default(),
            o.choices.join(", "),
            aliases.join(", "),
            o.doc.replace('|', "\\|"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STATES: &[&str] = &["absent", "file", "touch"];
    const SPEC: ArgSpec = ArgSpec {
        options: &[&[
            Opt::path("path", "the path").required(),
            Opt::str("state", "what it should be").choices(STATES),
            Opt::bool("recurse", "into folders").default("false"),
            Opt::int("depth", "how deep"),
            Opt::float("wait", "seconds"),
            Opt::list("flags", "some flags").choices(&["a", "b"]),
            Opt::str("enabled", "a yes/no choice").choices(&["yes", "no", "auto"]),
            Opt::internal("_raw_params"),
        ]],
        aliases: &[("dest", "path")],
        names: &[&["extra"]],
        missing: None,
    };

    fn check(v: serde_json::Value) -> Result<Map, String> {
        let serde_json::Value::Object(mut map) = v else { unreachable!("a mapping") };
        SPEC.validate(&mut map).map(|()| map)
    }

    #[test]
    fn validation_follows_ansibles_order_and_texts() {
        assert_eq!(
            check(json!({"state": "bogus", "recurse": "maybe"})),
            Err("missing required arguments: path".into())
        );
        assert_eq!(
            check(json!({"path": "/x", "state": "bogus", "recurse": "maybe"})),
            Err("argument 'recurse' is of type str and we were unable to convert to bool: The value 'maybe' is not a valid boolean. Valid booleans include: 'y', 'yes', 'on', '1', 'true', 't', 1, 'n', 'no', 'off', '0', 'false', 'f', 0".into())
        );
        assert_eq!(
            check(json!({"path": "/x", "state": "bogus"})),
            Err("value of state must be one of: absent, file, touch, got: bogus".into())
        );
        assert_eq!(
            check(json!({"path": "/x", "depth": "1.5"})),
            Err("argument 'depth' is of type str and we were unable to convert to int: \"'1.5'\" cannot be converted to an int".into())
        );
        assert!(check(json!({"path": "/x", "depth": "3", "wait": "0.5", "recurse": "yes", "extra": [1]})).is_ok());
        assert!(check(json!({"path": null})).is_err(), "null is not given");
        assert!(check(json!({"path": "/x", "state": null})).is_ok(), "null skips the checks");
    }

    #[test]
    fn a_boolean_becomes_the_one_choice_spelling_it() {
        let map = check(json!({"path": "/x", "enabled": true})).map(|m| m["enabled"].clone());
        assert_eq!(map, Ok(json!("yes")));
        assert_eq!(
            check(json!({"path": "/x", "state": false})),
            Err("value of state must be one of: absent, file, touch, got: False".into())
        );
    }

    #[test]
    fn list_choices_name_the_items_that_match_none() {
        assert!(check(json!({"path": "/x", "flags": ["a", "b"]})).is_ok());
        assert_eq!(
            check(json!({"path": "/x", "flags": ["a", "c", "d"]})),
            Err("value of flags must be one or more of: a, b. Got no match for: c, d".into())
        );
    }

    #[test]
    fn load_time_checks_only_literal_values() {
        let args = |v: serde_json::Value| match v {
            serde_json::Value::Object(m) => m,
            _ => Map::new(),
        };
        assert!(check_literal(&SPEC, &args(json!({"state": "bogus"}))).is_err(), "required waits, choices don't");
        assert!(check_literal(&SPEC, &args(json!({"state": "{{ s }}", "recurse": "{{ r }}"}))).is_ok());
        assert!(check_literal(&SPEC, &args(json!({"nope": 1}))).is_ok(), "unknown names wait for the run");
        assert!(check_literal(&SPEC, &args(json!({"dest": "/x", "state": "touch"}))).is_ok());
        assert!(check_literal(&SPEC, &args(json!({"_variable_params": "{{ a }}", "state": "bogus"}))).is_ok());
    }

    #[test]
    fn the_doc_table_lists_every_public_option() {
        let table = doc_table(&SPEC);
        assert!(table.contains("| `path` (required) | path |  |  | dest | the path |"), "{table}");
        assert!(table.contains("| `recurse` | bool | `false` |"), "{table}");
        assert!(table.contains("| `extra` | raw |"), "{table}");
        assert!(!table.contains("_raw_params"));
    }
}
