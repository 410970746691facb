//! Ansible's filters on top of minijinja's builtins, plus the registration entry point
//! for filters, tests and lookups.

use std::path::Path;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

pub mod collections;
pub mod convert;
pub mod extra;
pub mod ipaddr;
pub mod mathstuff;
pub mod pyrandom;
pub mod structure;
pub mod text;
pub mod urls;
pub mod version;
pub mod yaml_out;

use super::bounds::indent_width;
use crate::value::json::{self as json_out, JsonStyle};
use convert::{fail, from_data, require_defined, to_data, type_name};
use yaml_out::YamlStyle;

/// Add Ansible's filters, tests and lookups, and Python string/dict methods.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("default", default);
    env.add_filter("vault", crate::vault::vault_filter);
    env.add_filter("unvault", crate::vault::unvault_filter);
    env.add_filter("d", default);
    env.add_filter("bool", to_bool);
    env.add_filter("int", to_int);
    env.add_filter("float", to_float);
    env.add_filter("string", to_string);
    env.add_filter("join", join);
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("type_debug", |v: Value| type_name(&v));
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", |v: Value, k: Kwargs| to_yaml("to_yaml", v, k, YamlStyle::TERSE));
    env.add_filter("to_nice_yaml", |v: Value, k: Kwargs| to_yaml("to_nice_yaml", v, k, YamlStyle::NICE));
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("version_compare", version_filter);
    env.add_filter("version", version_filter);
    collections::register(env);
    text::register(env);
    urls::register(env);
    extra::register(env);
    ipaddr::register(env);
    mathstuff::register(env);
    structure::register(env);
    pyrandom::register(env);
    super::tests::register(env);
    super::lookups::register(env);
    super::builtin_names::register(env);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
}

/// Ansible's `default`: replaces undefined values (and falsy ones when `boolean` is true).
fn default(value: Value, default_value: Option<Value>, boolean: Option<Value>) -> Value {
    let boolean = boolean.is_some_and(|b| b.is_true());
    if value.is_undefined() || (boolean && !value.is_true()) {
        default_value.unwrap_or_else(|| Value::from(""))
    } else {
        value
    }
}

/// Ansible's `bool`: 'yes'/'on'/'true'/'1' (any case) and 1 are true; everything else
/// (including 'y' and 't', which ansible-core 2.19 coerces to false with a deprecation) is false.
pub fn bool_of(value: &Value) -> bool {
    match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::Number => f64::try_from(value.clone()).is_ok_and(|f| f == 1.0),
        ValueKind::String => {
            matches!(value.as_str().map(str::to_lowercase).as_deref(), Some("yes" | "on" | "true" | "1"))
        }
        _ => false,
    }
}

fn to_bool(value: Value) -> Result<bool, Error> {
    require_defined("bool", &value)?;
    Ok(bool_of(&value))
}

/// Python's `int(text, base)`: surrounding whitespace, a sign, a matching base prefix and
/// `_` between digits are accepted.
fn parse_int(text: &str, base: u32) -> Option<i128> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let prefixed = |p: &str| lower.strip_prefix(p).map(|_| &t[2..]);
    let (digits, base) = match base {
        16 => (prefixed("0x").unwrap_or(t), 16),
        8 => (prefixed("0o").unwrap_or(t), 8),
        2 => (prefixed("0b").unwrap_or(t), 2),
        0 => match (prefixed("0x"), prefixed("0o"), prefixed("0b")) {
            (Some(d), _, _) => (d, 16),
            (_, Some(d), _) => (d, 8),
            (_, _, Some(d)) => (d, 2),
            _ => (t, 10),
        },
        b => (t, b),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let n = i128::from_str_radix(&digits.replace('_', ""), base).ok()?;
    Some(if neg { -n } else { n })
}

/// Jinja's `int(default=0, base=10)`: strings in the base, else through float, else the default.
fn to_int(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    require_defined("int", &value)?;
    let default = match args.first() {
        Some(d) => d.clone(),
        None => kwargs.get::<Option<Value>>("default")?.unwrap_or(Value::from(0)),
    };
    let base = match args.get(1) {
        Some(b) => u32::try_from(b.clone()).map_err(|_| fail("int", "base must be an integer"))?,
        None => kwargs.get::<Option<u32>>("base")?.unwrap_or(10),
    };
    kwargs.assert_all_used()?;
    if base == 1 || base > 36 {
        return Err(fail("int", format!("base {base} is not between 2 and 36")));
    }
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(value.is_true() as i64),
        ValueKind::Number if value.is_integer() => value,
        ValueKind::Number => f64::try_from(value).map_or(default, |f| Value::from(f.trunc() as i128)),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            match parse_int(s, base) {
                Some(n) => Value::from(n),
                None => parse_float(s).filter(|f| f.is_finite()).map_or(default, |f| Value::from(f.trunc() as i128)),
            }
        }
        _ => default,
    })
}

fn parse_float(text: &str) -> Option<f64> {
    text.trim().replace('_', "").parse::<f64>().ok()
}

/// Jinja's `float(default=0.0)`.
fn to_float(value: Value, default: Option<Value>) -> Result<Value, Error> {
    require_defined("float", &value)?;
    let default = default.unwrap_or(Value::from(0.0));
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value).map_or(default, Value::from),
        ValueKind::String => parse_float(value.as_str().unwrap_or_default()).map_or(default, Value::from),
        _ => default,
    })
}

/// Python's `str()`: `True`, `None`, `['a', 1]`.
fn to_string(value: Value) -> Result<Value, Error> {
    if value.kind() == ValueKind::String {
        return Ok(value);
    }
    // `groupby`'s items are named tuples: `(grouper, [items])`.
    if value.kind() == ValueKind::Seq && value.as_object().is_some() {
        if let (Ok(g), Ok(l)) = (value.get_attr("grouper"), value.get_attr("list")) {
            if !g.is_undefined() && !l.is_undefined() {
                let l = Value::from(l.try_iter()?.collect::<Vec<_>>());
                let (g, l) = (to_data("string", &g)?, to_data("string", &l)?);
                use crate::value::pyrepr::py_repr;
                return Ok(Value::from(format!("({}, {})", py_repr(&g), py_repr(&l))));
            }
        }
    }
    Ok(Value::from(crate::value::pyrepr::py_str(&to_data("string", &value)?)))
}

/// Jinja's `join(d='', attribute=None)` with items printed as Python prints them.
fn join(value: Value, sep: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let attribute: Option<String> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
    let mut parts = Vec::new();
    for item in convert::items("join", &value)? {
        let item = match &attribute {
            Some(a) => convert::get_path(&item, a),
            None => item,
        };
        parts.push(text::text_of("join", &item)?);
    }
    Ok(parts.join(sep.as_deref().unwrap_or("")))
}

fn ternary(value: Value, true_val: Value, false_val: Value, none_val: Option<Value>) -> Result<Value, Error> {
    require_defined("ternary", &value)?;
    Ok(match none_val {
        Some(n) if value.is_none() && !n.is_none() => n,
        _ if value.is_true() => true_val,
        _ => false_val,
    })
}

/// `mandatory`: fails on undefined input, naming the variable when the template source
/// is at hand.
fn mandatory(state: &State, value: Value, msg: Option<String>) -> Result<Value, Error> {
    if !value.is_undefined() {
        return Ok(value);
    }
    // Not an UndefinedError: the message is the filter's, not troupe's "variable is undefined".
    if let Some(msg) = msg {
        return Err(Error::new(ErrorKind::InvalidOperation, msg));
    }
    let Some(name) = undefined_operand(state).map(|n| format!("Mandatory variable '{n}' not defined.")) else {
        // A bare expression has no source here: the error names the variable, with the hint.
        crate::template::set_undef_hint("Mandatory variable '{var}' not defined.".into());
        return Err(Error::new(ErrorKind::UndefinedError, "Mandatory variable not defined."));
    };
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!("{name} Define it (in vars, inventory, or with -e) or give it a |default(...)."),
    ))
}

/// Finds `name | mandatory` in the current template whose `name` is undefined here.
fn undefined_operand(state: &State) -> Option<String> {
    use std::sync::LazyLock;
    static OPERAND: LazyLock<Option<regex::Regex>> =
        LazyLock::new(|| regex::Regex::new(r"([A-Za-z_][\w.]*(?:\[[^\]|]*\])*)\s*\|\s*mandatory\b").ok());
    let tmpl = state.env().get_template(state.name()).ok()?;
    let re = OPERAND.as_ref()?;
    re.captures_iter(tmpl.source()).map(|c| c[1].to_string()).find(|expr| {
        let root = expr.split(['.', '[']).next().unwrap_or(expr);
        match state.lookup(root) {
            None => true,
            Some(v) => expr.contains('.') && convert::get_path(&v, &expr[root.len() + 1..]).is_undefined(),
        }
    })
}

fn to_json(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let data = to_data("to_json", &value)?;
    let style = JsonStyle {
        indent: kwargs.get::<Option<usize>>("indent")?.map(|n| indent_width("to_json", n)).transpose()?,
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
    };
    kwargs.assert_all_used().map_err(|e| fail("to_json", e))?;
    Ok(json_out::dumps(&data, style))
}

/// Ansible's `to_nice_json`: indent 4 and sorted keys (as ansible-core does).
fn to_nice_json(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let data = to_data("to_nice_json", &value)?;
    let style = JsonStyle {
        indent: Some(indent_width("to_nice_json", kwargs.get::<Option<usize>>("indent")?.unwrap_or(4))?),
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
    };
    kwargs.assert_all_used().map_err(|e| fail("to_nice_json", e))?;
    Ok(json_out::dumps(&data, style))
}

fn from_json(value: Value) -> Result<Value, Error> {
    require_defined("from_json", &value)?;
    let text =
        value.as_str().ok_or_else(|| fail("from_json", format!("expected a string, got {}", type_name(&value))))?;
    let data: crate::value::Value =
        serde_json::from_str(text).map_err(|e| fail("from_json", format!("input is not valid JSON: {e}")))?;
    Ok(from_data(&data))
}

fn to_yaml(name: &str, value: Value, kwargs: Kwargs, defaults: YamlStyle) -> Result<String, Error> {
    let data = to_data(name, &value)?;
    let flow = match kwargs.get::<Option<Value>>("default_flow_style")? {
        None => defaults.flow,
        Some(v) if v.is_none() => None,
        Some(v) => Some(v.is_true()),
    };
    let style = YamlStyle {
        indent: indent_width(name, kwargs.get::<Option<usize>>("indent")?.unwrap_or(defaults.indent))?,
        width: kwargs.get::<Option<usize>>("width")?.unwrap_or(defaults.width),
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(defaults.sort_keys),
        flow,
    };
    // Always on in Ansible's dumper; accepted for compatibility.
    let _: Option<Value> = kwargs.get("allow_unicode")?;
    let default_style: Option<String> = kwargs.get("default_style")?;
    let canonical = kwargs.get::<Option<bool>>("canonical")?.unwrap_or(false);
    kwargs.assert_all_used().map_err(|e| fail(name, e))?;
    if default_style.is_some() || canonical {
        let styled = match &data {
            crate::value::Value::String(s) => {
                yaml_out::dump_styled_string(s, default_style.as_deref(), canonical, style)
            }
            _ => None,
        };
        return styled.ok_or_else(|| {
            fail(
                name,
                "default_style and canonical are supported on a single-line string only; this is not supported yet",
            )
        });
    }
    Ok(yaml_out::dump(&data, style))
}

fn from_yaml(value: Value) -> Result<Value, Error> {
    require_defined("from_yaml", &value)?;
    let Some(text) = value.as_str() else {
        // Ansible passes non-string input through unchanged.
        return Ok(value);
    };
    let node = crate::yaml::parse_str(text, Path::new("<from_yaml input>")).map_err(|e| {
        fail(
            "from_yaml",
            format!("input is not valid YAML: {} (line {}, column {})", e.message, e.span.line, e.span.col),
        )
    })?;
    Ok(from_data(&node.to_value()))
}

/// `version_compare` as a filter: `'1.2' | version_compare('1.10', '<')`.
pub fn version_filter(value: Value, other: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<bool, Error> {
    version_check("version_compare", &value, &other, &args, &kwargs)
}

/// Shared by the `version` test and the `version_compare` filter.
pub fn version_check(name: &str, value: &Value, other: &Value, args: &[Value], kwargs: &Kwargs) -> Result<bool, Error> {
    require_defined(name, value)?;
    let operator = match args.first() {
        Some(op) => text::text_of(name, op)?,
        None => kwargs.get::<Option<String>>("operator")?.unwrap_or_else(|| "eq".into()),
    };
    let strict = match args.get(1) {
        Some(s) => Some(s.is_true()),
        None => kwargs.get::<Option<bool>>("strict")?,
    };
    let version_type: Option<String> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    let scheme = match (strict, version_type) {
        (Some(_), Some(_)) => return Err(fail(name, "cannot specify both 'strict' and 'version_type'")),
        (Some(true), None) => version::Scheme::Strict,
        (_, Some(t)) => version::Scheme::from_name(&t).map_err(|e| fail(name, e))?,
        _ => version::Scheme::Loose,
    };
    let (a, b) = (text::text_of(name, value)?, text::text_of(name, other)?);
    version::compare(&a, &b, &operator, scheme).map_err(|e| fail(name, e))
}

#[cfg(test)]
#[path = "filters_tests.rs"]
mod tests;
