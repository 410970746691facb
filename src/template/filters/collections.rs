//! List and dictionary filters: set operations, `combine`, `flatten`, `zip`, `dict2items`, `min`/`max`.

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};

use super::convert::{fail, from_data, items, require_defined, to_data, type_name};
use crate::value::{Map, Value as Data};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("flatten", flatten);
    env.add_filter("zip", zip);
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("difference", |a: Value, b: Value| set_op("difference", &a, &b, SetOp::Difference));
    env.add_filter("intersect", |a: Value, b: Value| set_op("intersect", &a, &b, SetOp::Intersect));
    env.add_filter("union", |a: Value, b: Value| set_op("union", &a, &b, SetOp::Union));
    env.add_filter("symmetric_difference", |a: Value, b: Value| {
        set_op("symmetric_difference", &a, &b, SetOp::Symmetric)
    });
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("min", |v: Value, k: Kwargs| extreme("min", v, k, Ordering::Less));
    env.add_filter("max", |v: Value, k: Kwargs| extreme("max", v, k, Ordering::Greater));
    env.add_filter("map", map);
}

/// minijinja's `map`, except that `map(attribute=...)` over an item without the attribute (and
/// no `default=`) fails as Jinja's does in Ansible, instead of giving an undefined item.
fn map(state: &minijinja::State, value: Value, args: Rest<Value>) -> Result<Value, Error> {
    // Ansible's wrapper: an undefined input gives an undefined result.
    if value.is_undefined() {
        return Ok(Value::UNDEFINED);
    }
    let (_, kwargs): (&[Value], Kwargs) = minijinja::value::from_args(&args)?;
    if let (Some(attr), false) = (kwargs.get::<Option<Value>>("attribute")?, kwargs.has("default")) {
        if let (Some(path), Ok(iter)) = (attr.as_str(), value.try_iter()) {
            for item in iter {
                if path_value(&item, path).is_undefined() {
                    return Err(Error::new(
                        minijinja::ErrorKind::UndefinedError,
                        format!("object of type '{}' has no attribute '{path}'", type_name(&item)),
                    ));
                }
            }
        }
    }
    minijinja::filters::map(state, value, args).map(Value::from)
}

/// `a.b.0` looked up as minijinja's `map` does; undefined when a step is missing.
fn path_value(item: &Value, path: &str) -> Value {
    let mut v = item.clone();
    for part in path.split('.') {
        let key = part.parse::<i64>().map_or_else(|_| Value::from(part), Value::from);
        v = match v.get_item(&key) {
            Ok(next) if !next.is_undefined() => next,
            _ => return Value::UNDEFINED,
        };
    }
    v
}

fn flatten(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let levels: Option<usize> = kwargs.get("levels")?;
    let skip_nulls: bool = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(&items("flatten", &value)?, levels, skip_nulls, &mut out);
    Ok(Value::from(out))
}

fn flatten_into(list: &[Value], levels: Option<usize>, skip_nulls: bool, out: &mut Vec<Value>) {
    for item in list {
        // Ansible drops None and the strings 'None' and 'null' too.
        if skip_nulls && (item.is_none() || matches!(item.as_str(), Some("None" | "null"))) {
            continue;
        }
        let is_list = matches!(item.kind(), ValueKind::Seq | ValueKind::Iterable);
        match (is_list, levels) {
            (true, None) => {
                flatten_into(&item.try_iter().map(|i| i.collect::<Vec<_>>()).unwrap_or_default(), None, skip_nulls, out)
            }
            (true, Some(n)) if n >= 1 => flatten_into(
                &item.try_iter().map(|i| i.collect::<Vec<_>>()).unwrap_or_default(),
                Some(n - 1),
                skip_nulls,
                out,
            ),
            _ => out.push(item.clone()),
        }
    }
}

fn zip(value: Value, others: Rest<Value>) -> Result<Value, Error> {
    let mut lists = vec![items("zip", &value)?];
    for o in others.iter() {
        lists.push(items("zip", o)?);
    }
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from(
        (0..n).map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>())).collect::<Vec<_>>(),
    ))
}

fn zip_longest(value: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let fill: Value = kwargs.get::<Option<Value>>("fillvalue")?.unwrap_or(Value::from(()));
    kwargs.assert_all_used()?;
    let mut lists = vec![items("zip_longest", &value)?];
    for o in others.iter() {
        lists.push(items("zip_longest", o)?);
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    let row =
        |i: usize| Value::from(lists.iter().map(|l| l.get(i).cloned().unwrap_or(fill.clone())).collect::<Vec<_>>());
    Ok(Value::from((0..n).map(row).collect::<Vec<_>>()))
}

#[derive(Clone, Copy)]
enum SetOp {
    Difference,
    Intersect,
    Union,
    Symmetric,
}

/// Set operations keep the first list's order (Python's set order is arbitrary; a stable
/// order keeps templated files from changing between runs).
fn set_op(name: &str, a: &Value, b: &Value, op: SetOp) -> Result<Value, Error> {
    let (a, b) = (items(name, a)?, items(name, b)?);
    let candidates: Vec<&Value> = match op {
        SetOp::Difference => a.iter().filter(|x| !b.contains(x)).collect(),
        SetOp::Intersect => a.iter().filter(|x| b.contains(x)).collect(),
        SetOp::Union => a.iter().chain(b.iter()).collect(),
        SetOp::Symmetric => a.iter().filter(|x| !b.contains(x)).chain(b.iter().filter(|x| !a.contains(x))).collect(),
    };
    let mut out: Vec<Value> = Vec::new();
    for c in candidates {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Ok(Value::from(out))
}

/// How `combine` merges two lists found under the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

impl ListMerge {
    pub fn from_name(name: &str) -> Option<ListMerge> {
        Some(match name {
            "replace" => ListMerge::Replace,
            "keep" => ListMerge::Keep,
            "append" => ListMerge::Append,
            "prepend" => ListMerge::Prepend,
            "append_rp" => ListMerge::AppendRp,
            "prepend_rp" => ListMerge::PrependRp,
            _ => return None,
        })
    }
}

/// Ansible's `merge_hash`: keys of `y` win over keys of `x`.
pub fn merge_hash(x: &Map, y: &Map, recursive: bool, list_merge: ListMerge) -> Map {
    let mut out = x.clone();
    for (key, yv) in y {
        let Some(xv) = out.get(key) else {
            out.insert(key.clone(), yv.clone());
            continue;
        };
        let merged = match (xv, yv) {
            (Data::Object(xm), Data::Object(ym)) if recursive => {
                Data::Object(merge_hash(xm, ym, recursive, list_merge))
            }
            (Data::Array(xl), Data::Array(yl)) => match list_merge {
                ListMerge::Replace => yv.clone(),
                ListMerge::Keep => xv.clone(),
                ListMerge::Append => Data::Array(xl.iter().chain(yl).cloned().collect()),
                ListMerge::Prepend => Data::Array(yl.iter().chain(xl).cloned().collect()),
                ListMerge::AppendRp => Data::Array(xl.iter().filter(|z| !yl.contains(z)).chain(yl).cloned().collect()),
                ListMerge::PrependRp => {
                    Data::Array(yl.iter().chain(xl.iter().filter(|z| !yl.contains(z))).cloned().collect())
                }
            },
            _ => yv.clone(),
        };
        out.insert(key.clone(), merged);
    }
    out
}

fn combine(value: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "combine";
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge_name = kwargs.get::<Option<String>>("list_merge")?.unwrap_or_else(|| "replace".into());
    if let Err(e) = kwargs.assert_all_used() {
        return Err(fail(NAME, format!("'recursive' and 'list_merge' are the only valid keyword arguments ({e})")));
    }
    let list_merge = ListMerge::from_name(&list_merge_name).ok_or_else(|| {
        fail(
            NAME,
            format!(
                "list_merge '{list_merge_name}' is not one of replace, keep, append, prepend, append_rp, prepend_rp"
            ),
        )
    })?;
    for term in std::iter::once(&value).chain(others.iter()) {
        super::convert::require_defined_deep(NAME, term)?;
    }
    // `[d1, d2] | combine` is allowed: flatten the terms one level (Ansible's `flatten`, which
    // drops None, 'None' and 'null').
    let mut dicts = Vec::new();
    for term in std::iter::once(&value).chain(others.iter()) {
        match to_data(NAME, term)? {
            Data::Array(list) => dicts.extend(list.into_iter().filter(|d| !is_null_like(d))),
            other if is_null_like(&other) => {}
            other => dicts.push(other),
        }
    }
    if dicts.len() == 1 {
        return Ok(from_data(&dicts[0]));
    }
    let mut result = Map::new();
    for (i, d) in dicts.iter().enumerate() {
        let Data::Object(m) = d else {
            let (a, b) = if i == 0 { (d, &dicts[1]) } else { (&dicts[i - 1], d) };
            return Err(fail(
                NAME,
                format!(
                    "failed to combine variables, expected dicts but got a '{}' and a '{}'.",
                    data_type(a),
                    data_type(b)
                ),
            ));
        };
        result = merge_hash(&result, m, recursive, list_merge);
    }
    Ok(from_data(&Data::Object(result)))
}

/// Python's type name of plain data.
fn data_type(d: &Data) -> &'static str {
    match d {
        Data::Null => "NoneType",
        Data::Bool(_) => "bool",
        Data::Number(n) if n.is_f64() => "float",
        Data::Number(_) => "int",
        Data::String(_) => "str",
        Data::Array(_) => "list",
        Data::Object(_) => "dict",
    }
}

fn is_null_like(d: &Data) -> bool {
    matches!(d, Data::Null) || matches!(d, Data::String(s) if s == "None" || s == "null")
}

fn names(kwargs: &Kwargs) -> Result<(String, String), Error> {
    let key = kwargs.get::<Option<String>>("key_name")?.unwrap_or_else(|| "key".into());
    let value = kwargs.get::<Option<String>>("value_name")?.unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    Ok((key, value))
}

fn dict2items(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (key_name, value_name) = names(&kwargs)?;
    let Data::Object(m) = to_data("dict2items", &value)? else {
        let class = super::convert::python_class(&value);
        return Err(fail("dict2items", format!("dict2items requires a dictionary, got {class} instead.")));
    };
    let out: Vec<Data> = m
        .into_iter()
        .map(|(k, v)| {
            let mut entry = Map::new();
            entry.insert(key_name.clone(), Data::String(k));
            entry.insert(value_name.clone(), v);
            Data::Object(entry)
        })
        .collect();
    Ok(from_data(&Data::Array(out)))
}

fn items2dict(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "items2dict";
    let (key_name, value_name) = names(&kwargs)?;
    let Data::Array(list) = to_data(NAME, &value)? else {
        let class = super::convert::python_class(&value);
        return Err(fail(NAME, format!("items2dict requires a list, got {class} instead.")));
    };
    let shown = crate::value::pyrepr::py_repr(&Data::Array(list.clone()));
    let mut out = Map::new();
    for item in &list {
        if !item.is_object() {
            return Err(fail(NAME, format!("items2dict requires a list of dictionaries, got {shown} instead.")));
        }
        let (Some(k), Some(v)) = (item.get(&key_name), item.get(&value_name)) else {
            return Err(fail(
                NAME,
                format!(
                    "items2dict requires each dictionary in the list to contain the keys '{key_name}' and '{value_name}', got {shown} instead."
                ),
            ));
        };
        out.insert(crate::value::to_text(k), v.clone());
    }
    Ok(from_data(&Data::Object(out)))
}

/// `min`/`max` with Jinja's `attribute=` and case-insensitive string comparison.
fn extreme(name: &str, value: Value, kwargs: Kwargs, want: Ordering) -> Result<Value, Error> {
    let attribute: Option<String> = kwargs.get("attribute")?;
    let case_sensitive = kwargs.get::<Option<bool>>("case_sensitive")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    require_defined(name, &value)?;
    let key = |v: &Value| -> Value {
        let v = match &attribute {
            Some(a) => super::convert::get_path(v, a),
            None => v.clone(),
        };
        match v.as_str() {
            Some(s) if !case_sensitive => Value::from(s.to_lowercase()),
            _ => v,
        }
    };
    let mut best: Option<(Value, Value)> = None;
    for item in items(name, &value)? {
        let k = key(&item);
        match &best {
            Some((bk, _)) if k.cmp(bk) != want => {}
            _ => best = Some((k, item)),
        }
    }
    Ok(best.map_or(Value::UNDEFINED, |(_, item)| item))
}
