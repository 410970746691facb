//! ansible.builtin's core filters over data and paths that Jinja lacks: `extract`,
//! `subelements`, `commonpath`, `fileglob`, `from_yaml_all`; Ansible's wrappers that let
//! `map`/`select`/`reject`/`selectattr`/`rejectattr` pass an undefined input through; and
//! `ansible._protomatter.finalize` (plain data, as a template's result is).

use std::path::Path;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, State};

use super::convert::{fail, from_data, python_class, require_defined, to_data, type_name};
use crate::value::pyrepr::py_repr;
use crate::value::Value as Data;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("extract", extract);
    env.add_filter("subelements", subelements);
    env.add_filter("commonpath", commonpath);
    env.add_filter("fileglob", fileglob);
    env.add_filter("from_yaml_all", from_yaml_all);
    env.add_filter("ansible._protomatter.finalize", |v: Value| -> Result<Value, Error> {
        Ok(from_data(&to_data("finalize", &v)?))
    });
    // Ansible's wrappers: an undefined input gives an undefined result (troupe's `map`, in
    // `collections`, does the same).
    use minijinja::filters as jf;
    use std::borrow::Cow;
    env.add_filter("select", |s: &State, v: Value, t: Option<String>, a: Rest<Value>| {
        undefined_or(v, |v| jf::select(s, v, t.map(Cow::Owned), a))
    });
    env.add_filter("reject", |s: &State, v: Value, t: Option<String>, a: Rest<Value>| {
        undefined_or(v, |v| jf::reject(s, v, t.map(Cow::Owned), a))
    });
    env.add_filter("selectattr", |s: &State, v: Value, at: String, t: Option<String>, a: Rest<Value>| {
        undefined_or(v, |v| jf::selectattr(s, v, Cow::Owned(at), t.map(Cow::Owned), a))
    });
    env.add_filter("rejectattr", |s: &State, v: Value, at: String, t: Option<String>, a: Rest<Value>| {
        undefined_or(v, |v| jf::rejectattr(s, v, Cow::Owned(at), t.map(Cow::Owned), a))
    });
}

fn undefined_or(value: Value, f: impl FnOnce(Value) -> Result<Vec<Value>, Error>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Ok(Value::UNDEFINED);
    }
    f(value).map(Value::from)
}

/// `extract(container, morekeys=None)`: `container[item]`, then each of `morekeys`; a missing
/// key (or an undefined container) gives an undefined value, so `default` applies.
fn extract(item: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut keys = vec![item];
    match morekeys {
        None => {}
        Some(more) if more.kind() == ValueKind::Seq => keys.extend(more.try_iter()?),
        Some(more) => keys.push(more),
    }
    let mut value = container;
    for key in keys {
        if value.is_undefined() {
            break;
        }
        value = value.get_item(&key).unwrap_or(Value::UNDEFINED);
    }
    Ok(value)
}

/// `subelements(subelements, skip_missing=False)`: (item, value) pairs for every value of the
/// list each item holds under the dotted key (or list of keys).
fn subelements(obj: Value, path: Value, skip: Option<bool>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "subelements";
    let skip_missing = match skip {
        Some(s) => Some(s),
        None => kwargs.get::<Option<bool>>("skip_missing")?,
    };
    kwargs.assert_all_used()?;
    require_defined(NAME, &obj)?;
    let elements: Vec<Data> = match to_data(NAME, &obj)? {
        Data::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
        Data::Array(l) => l,
        _ => return Err(fail(NAME, "obj must be a list of dicts or a nested dict")),
    };
    let keys: Vec<Data> = match to_data(NAME, &path)? {
        Data::Array(l) => l,
        Data::String(s) => s.split('.').map(|k| Data::String(k.to_string())).collect(),
        _ => return Err(fail(NAME, "subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    for element in elements {
        let mut values = element.clone();
        for key in &keys {
            let next = match (&values, key) {
                (Data::Object(m), Data::String(k)) => m.get(k).cloned(),
                (Data::Object(_), _) => None,
                (Data::Array(l), Data::Number(n)) => n.as_u64().and_then(|i| l.get(i as usize).cloned()),
                _ => {
                    let k = crate::value::to_text(key);
                    let shown = crate::value::pyrepr::py_str(&values);
                    return Err(fail(NAME, format!("the key {k} should point to a dictionary, got '{shown}'")));
                }
            };
            match next {
                Some(v) => values = v,
                None if skip_missing.unwrap_or(false) => {
                    values = Data::Array(Vec::new());
                    break;
                }
                None => {
                    return Err(fail(
                        NAME,
                        format!("could not find {} key in iterated item {}", py_repr(key), py_repr(&values)),
                    ))
                }
            }
        }
        let Data::Array(list) = values else {
            let k = keys.last().map(py_repr).unwrap_or_default();
            return Err(fail(NAME, format!("the key {k} should point to a list, got {}", py_repr(&values))));
        };
        for v in list {
            out.push(Value::from(vec![from_data(&element), from_data(&v)]));
        }
    }
    Ok(Value::from(out))
}

/// `os.path.commonpath` of a list of paths.
fn commonpath(paths: Value) -> Result<String, Error> {
    const NAME: &str = "commonpath";
    require_defined(NAME, &paths)?;
    if !matches!(paths.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Err(fail(NAME, format!("|commonpath expects sequence, got {} instead.", python_class(&paths))));
    }
    let list: Vec<String> = paths
        .try_iter()?
        .map(|p| p.as_str().map(String::from).ok_or_else(|| fail(NAME, format!("expected str, got {}", type_name(&p)))))
        .collect::<Result<_, _>>()?;
    let Some(first) = list.first() else {
        return Err(fail(NAME, "commonpath() arg is an empty sequence"));
    };
    let absolute = first.starts_with('/');
    if list.iter().any(|p| p.starts_with('/') != absolute) {
        return Err(fail(NAME, "Can't mix absolute and relative paths"));
    }
    let split =
        |p: &str| -> Vec<String> { p.split('/').filter(|c| !c.is_empty() && *c != ".").map(String::from).collect() };
    let mut common = split(first);
    for p in &list[1..] {
        let parts = split(p);
        let n = common.iter().zip(&parts).take_while(|(a, b)| a == b).count();
        common.truncate(n);
    }
    let joined = common.join("/");
    Ok(if absolute { format!("/{joined}") } else { joined })
}

/// `glob.glob(pattern)` on the controller, regular files only, sorted. Wildcards are supported
/// in the last path component.
fn fileglob(pattern: Value) -> Result<Value, Error> {
    const NAME: &str = "fileglob";
    let pattern = super::text::text_of(NAME, &pattern)?;
    let (dir, name) = match pattern.rfind('/') {
        Some(i) => (&pattern[..i + 1], &pattern[i + 1..]),
        None => ("", pattern.as_str()),
    };
    if dir.contains(['*', '?', '[']) {
        return Err(fail(NAME, format!("wildcards in folder names ('{pattern}') are not supported yet")));
    }
    let folder = if dir.is_empty() { Path::new(".") } else { Path::new(dir) };
    let Ok(entries) = std::fs::read_dir(folder) else { return Ok(Value::from(Vec::<Value>::new())) };
    let mut found: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| (!n.starts_with('.') || name.starts_with('.')) && crate::glob::matches(name, n))
        .map(|n| format!("{dir}{n}"))
        .collect();
    found.sort();
    Ok(Value::from(found))
}

/// `from_yaml_all`: every document of a YAML stream; None gives `[]`, other non-text input
/// passes through.
fn from_yaml_all(value: Value) -> Result<Value, Error> {
    const NAME: &str = "from_yaml_all";
    require_defined(NAME, &value)?;
    if value.is_none() {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let Some(text) = value.as_str() else { return Ok(value) };
    let docs = crate::yaml::parse_all_str(text, Path::new("<from_yaml_all input>")).map_err(|e| {
        fail(NAME, format!("input is not valid YAML: {} (line {}, column {})", e.message, e.span.line, e.span.col))
    })?;
    Ok(Value::from(docs.iter().map(|d| from_data(&d.to_value())).collect::<Vec<_>>()))
}

#[cfg(test)]
#[path = "structure_tests.rs"]
mod tests;
