//! Moving between minijinja values and plain data (`crate::value::Value`), and shared error helpers.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use crate::value::Value as Data;

/// An error raised by a filter, test or lookup: `name: what went wrong`.
pub fn fail(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{name}: {msg}"))
}

/// Fails with a clear message when a filter is given an undefined value.
pub fn require_defined(name: &str, v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(Error::new(
            ErrorKind::UndefinedError,
            format!("{name}: the input is undefined (define the variable or add |default(...) before |{name})"),
        ))
    } else {
        Ok(())
    }
}

/// Fails with an undefined error when the value, or anything inside it, is undefined (so the
/// message names the variable, as Ansible's does).
pub fn require_defined_deep(name: &str, v: &Value) -> Result<(), Error> {
    require_defined(name, v)?;
    match v.kind() {
        ValueKind::Seq | ValueKind::Map => {
            let map = v.kind() == ValueKind::Map;
            for item in v.try_iter()? {
                let inner = if map { v.get_item(&item)? } else { item };
                require_defined_deep(name, &inner)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Plain data from a template value; undefined values inside containers become null.
pub fn to_data(name: &str, v: &Value) -> Result<Data, Error> {
    require_defined(name, v)?;
    super::super::bounds::check_items(v).map_err(|e| fail(name, e.detail().unwrap_or_default()))?;
    serde_json::to_value(v).map_err(|e| fail(name, format!("cannot convert {} to data: {e}", v.kind())))
}

/// A template value from plain data (key order kept).
pub fn from_data(d: &Data) -> Value {
    Value::from_serialize(d)
}

/// The items of a list-like value (list, or mapping keys, or string characters).
pub fn items(name: &str, v: &Value) -> Result<Vec<Value>, Error> {
    require_defined(name, v)?;
    if v.kind() == ValueKind::None {
        return Err(fail(name, "expected a list, got None"));
    }
    v.try_iter().map(|it| it.collect()).map_err(|_| fail(name, format!("expected a list, got {}", type_name(v))))
}

/// Python's name for a value's type, as `type_debug` prints it.
pub fn type_name(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number => {
            if v.is_integer() {
                "int"
            } else {
                "float"
            }
        }
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        ValueKind::Plain => "object",
        ValueKind::Invalid => "invalid",
        _ => "object",
    }
}

/// Python's `type(value)` as `%s` prints it: `<class 'bool'>`.
pub fn python_class(v: &Value) -> String {
    format!("<class '{}'>", type_name(v))
}

/// Jinja's dotted attribute path (`attribute='a.b.0'`); undefined when any step is missing.
pub fn get_path(v: &Value, path: &str) -> Value {
    let mut cur = v.clone();
    for part in path.split('.') {
        let key = match part.parse::<i64>() {
            Ok(i) if cur.kind() == ValueKind::Seq => Value::from(i),
            _ => Value::from(part),
        };
        cur = match cur.get_item(&key) {
            Ok(next) if !next.is_undefined() => next,
            _ => return Value::UNDEFINED,
        };
    }
    cur
}
