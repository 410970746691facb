//! ansible.builtin's mathstuff filters that Jinja lacks or that Ansible overrides: `unique`
//! (Jinja's, with Ansible's fallback), `log`, `pow`, `root`, `human_readable`,
//! `human_to_bytes` and `rekey_on_member`, with Ansible's error messages.

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};

use super::convert::{fail, require_defined, to_data, type_name};
use crate::value::pyrepr::{py_repr, py_str};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("unique", unique);
    env.add_filter("log", log);
    env.add_filter("pow", pow);
    env.add_filter("root", root);
    env.add_filter("human_readable", human_readable);
    env.add_filter("human_to_bytes", human_to_bytes);
    env.add_filter("rekey_on_member", rekey_on_member);
}

/// Argument `idx` given by position, else by `name`.
fn arg(args: &[Value], kwargs: &Kwargs, idx: usize, name: &str) -> Result<Option<Value>, Error> {
    match args.get(idx) {
        Some(v) => Ok(Some(v.clone())),
        None => kwargs.get::<Option<Value>>(name),
    }
}

/// Python's `for x in value`: the items, or "'T' object is not iterable".
fn iterate(name: &str, value: &Value) -> Result<Vec<Value>, Error> {
    require_defined(name, value)?;
    match value.kind() {
        ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Iterable => {
            Ok(value.try_iter().map(|it| it.collect()).unwrap_or_default())
        }
        _ => Err(fail(name, format!("'{}' object is not iterable", type_name(value)))),
    }
}

/// Python's `float(x)` for math functions: ints, floats and bools only.
fn real(name: &str, v: &Value) -> Result<f64, Error> {
    require_defined(name, v)?;
    match v.kind() {
        ValueKind::Number => f64::try_from(v.clone()).map_err(|e| fail(name, e)),
        ValueKind::Bool => Ok(if v.is_true() { 1.0 } else { 0.0 }),
        _ => {
            Err(fail(name, format!("{name}() can only be used on numbers: must be real number, not {}", type_name(v))))
        }
    }
}

/// `unique(case_sensitive=None, attribute=None)`: Jinja's `unique` (case-insensitive by
/// default); on unhashable items, Ansible's fallback (equality, no options) unless an option
/// was given.
fn unique(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "unique";
    let case_sensitive = arg(&args, &kwargs, 0, "case_sensitive")?;
    let attribute = arg(&args, &kwargs, 1, "attribute")?.filter(|a| !a.is_none());
    kwargs.assert_all_used()?;
    let list = iterate(NAME, &value)?;
    let sensitive = case_sensitive.as_ref().is_some_and(Value::is_true);
    let key = |item: &Value| -> Value {
        let k = match attribute.as_ref().and_then(Value::as_str) {
            Some(path) => super::convert::get_path(item, path),
            None => match &attribute {
                Some(a) => item.get_item(a).unwrap_or(Value::UNDEFINED),
                None => item.clone(),
            },
        };
        match k.as_str() {
            Some(s) if !sensitive => Value::from(s.to_lowercase()),
            _ => k,
        }
    };
    let keys: Vec<Value> = list.iter().map(key).collect();
    if let Some(bad) = keys.iter().find(|k| matches!(k.kind(), ValueKind::Seq | ValueKind::Map)) {
        let unhashable = format!("unhashable type: '{}'", type_name(bad));
        if case_sensitive.as_ref().is_some_and(|c| !c.is_true()) || attribute.is_some() {
            return Err(fail(
                NAME,
                format!(
                    "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it \
                     does not support the parameters supplied: {unhashable}"
                ),
            ));
        }
        return Ok(Value::from(first_of_each(list.iter(), |x| x.clone())));
    }
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    for (item, k) in list.into_iter().zip(keys) {
        if !seen.contains(&k) {
            seen.push(k);
            out.push(item);
        }
    }
    Ok(Value::from(out))
}

/// The items whose key was not seen before, in order.
fn first_of_each<'a>(items: impl Iterator<Item = &'a Value>, key: impl Fn(&Value) -> Value) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let k = key(item);
        if !seen.contains(&k) {
            seen.push(k);
            out.push(item.clone());
        }
    }
    out
}

/// `log(base=e)`: `math.log10` for base 10, else `math.log(x, base)`.
fn log(x: Value, base: Option<Value>) -> Result<Value, Error> {
    let x = real("log", &x)?;
    let base = base.map(|b| real("log", &b)).transpose()?;
    let out = match base {
        Some(10.0) => x.log10(),
        Some(b) => x.ln() / b.ln(),
        None => x.ln(),
    };
    domain("log", out)
}

/// `pow(y)`: `math.pow`, always a float.
fn pow(x: Value, y: Value) -> Result<Value, Error> {
    domain("pow", real("pow", &x)?.powf(real("pow", &y)?))
}

/// `root(base=2)`: the square root, or `x ** (1 / base)`; a math error is Ansible's message too.
fn root(x: Value, base: Option<Value>) -> Result<Value, Error> {
    let x = real("root", &x)?;
    let base = base.map(|b| real("root", &b)).transpose()?.unwrap_or(2.0);
    let out = if base == 2.0 { x.sqrt() } else { x.powf(1.0 / base) };
    if !out.is_finite() {
        return Err(fail("root", "root() can only be used on numbers: math domain error"));
    }
    Ok(Value::from(out))
}

/// Python's `math` raises "math domain error" where Rust gives NaN or infinity.
fn domain(name: &str, out: f64) -> Result<Value, Error> {
    if out.is_finite() {
        Ok(Value::from(out))
    } else {
        Err(fail(name, "math domain error"))
    }
}

/// Binary prefixes, largest first (`formatters.SIZE_RANGES`).
const SIZES: [(char, f64); 9] = [
    ('Y', 1208925819614629174706176.0),
    ('Z', 1180591620717411303424.0),
    ('E', 1152921504606846976.0),
    ('P', 1125899906842624.0),
    ('T', 1099511627776.0),
    ('G', 1073741824.0),
    ('M', 1048576.0),
    ('K', 1024.0),
    ('B', 1.0),
];

/// `human_readable(isbits=False, unit=None)`: `'%.2f %s'` of the size in the largest unit it
/// reaches (or in `unit`).
fn human_readable(size: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "human_readable";
    let isbits = arg(&args, &kwargs, 0, "isbits")?.is_some_and(|b| b.is_true());
    let unit = arg(&args, &kwargs, 1, "unit")?.filter(|u| !u.is_none());
    kwargs.assert_all_used()?;
    require_defined(NAME, &size)?;
    let size = match size.kind() {
        ValueKind::Number | ValueKind::Bool => real(NAME, &size)?,
        _ => {
            let op = if unit.is_some() { "/" } else { ">=" };
            return Err(fail(
                NAME,
                format!(
                    "human_readable() failed on bad input: '{op}' not supported between instances of '{}' and 'int'",
                    type_name(&size)
                ),
            ));
        }
    };
    let unit = unit.map(|u| u.as_str().map(str::to_uppercase).unwrap_or_default());
    let (suffix, limit) = SIZES
        .iter()
        .find(|(s, limit)| match &unit {
            None => size >= *limit,
            Some(u) => *u == s.to_string(),
        })
        .copied()
        .unwrap_or(('B', 1.0));
    let base = if isbits { "bits" } else { "Bytes" };
    let suffix = if limit != 1.0 { format!("{suffix}{}", &base[..1]) } else { base.to_string() };
    Ok(format!("{:.2} {suffix}", size / limit))
}

/// `human_to_bytes(default_unit=None, isbits=False)`: `'1.1 GB'` → 1181116006.
fn human_to_bytes(size: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "human_to_bytes";
    let default_unit = arg(&args, &kwargs, 0, "default_unit")?.filter(|u| !u.is_none());
    let isbits = arg(&args, &kwargs, 1, "isbits")?.is_some_and(|b| b.is_true());
    kwargs.assert_all_used()?;
    let text = match size.as_str() {
        Some(s) => s.to_string(),
        None => py_str(&to_data(NAME, &size)?),
    };
    let default_unit = default_unit.map(|u| u.as_str().map(String::from).unwrap_or_else(|| u.to_string()));
    parse_human(&text, default_unit.as_deref(), isbits)
        .map(Value::from)
        .map_err(|e| fail(NAME, format!("human_to_bytes() can't interpret the input: {e}")))
}

/// `formatters.human_to_bytes`, with its `ValueError` messages.
pub fn parse_human(text: &str, default_unit: Option<&str>, isbits: bool) -> Result<i128, String> {
    let re = regex::Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").expect("valid regex");
    let caps = re.captures(text).ok_or_else(|| format!("human_to_bytes() can't interpret following string: {text}"))?;
    let num: f64 = caps[1].parse().map_err(|_| {
        format!("human_to_bytes() can't interpret following number: {} (original input string: {text})", &caps[1])
    })?;
    let unit = caps.get(2).map(|m| m.as_str()).or(default_unit);
    let Some(unit) = unit else {
        return Ok(num.round_ties_even() as i128);
    };
    let range_key = unit.chars().next().map(|c| c.to_ascii_uppercase()).unwrap_or('B');
    let Some(&(_, limit)) = SIZES.iter().find(|(s, _)| *s == range_key) else {
        return Err(format!(
            "human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        ));
    };
    let (class, class_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
    if unit.chars().count() > 1 {
        let expect = if range_key == 'B' {
            format!("expect {class} or {class_name}")
        } else {
            format!("expect {range_key}{class} or {range_key}")
        };
        let long = long_unit(range_key, isbits);
        let short = format!("{range_key}{class}");
        if unit.to_lowercase() != long && unit != short {
            return Err(format!("human_to_bytes() failed to convert {text}. Value is not a valid string ({expect})"));
        }
    }
    Ok((num * limit).round_ties_even() as i128)
}

/// `VALID_UNITS`' long names ("kilobyte", "megabit"; Ansible spells "zetabyte").
fn long_unit(range_key: char, isbits: bool) -> String {
    let prefix = match range_key {
        'B' => "",
        'K' => "kilo",
        'M' => "mega",
        'G' => "giga",
        'T' => "tera",
        'P' => "peta",
        'E' => "exa",
        'Z' => "zeta",
        _ => "yotta",
    };
    format!("{prefix}{}", if isbits { "bit" } else { "byte" })
}

/// `rekey_on_member(key, duplicates='error')`: a dict of the items (a list's, or a dict's
/// values) keyed by their `key` member.
fn rekey_on_member(data: Value, key: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "rekey_on_member";
    let duplicates = arg(&args, &kwargs, 0, "duplicates")?;
    kwargs.assert_all_used()?;
    require_defined(NAME, &key)?;
    let duplicates = match duplicates {
        None => "error".to_string(),
        Some(d) => match d.as_str() {
            Some(s @ ("error" | "overwrite")) => s.to_string(),
            _ => {
                let shown = py_repr(&to_data(NAME, &d)?);
                return Err(fail(NAME, format!("duplicates parameter to rekey_on_member has unknown value {shown}")));
            }
        },
    };
    require_defined(NAME, &data)?;
    let items: Vec<Value> = match data.kind() {
        ValueKind::Map => {
            data.try_iter().map_err(|e| fail(NAME, e))?.map(|k| data.get_item(&k).unwrap_or_default()).collect()
        }
        ValueKind::Seq | ValueKind::Iterable => data.try_iter().map_err(|e| fail(NAME, e))?.collect(),
        _ => return Err(fail(NAME, "Type is not a valid list, set, or dict")),
    };
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in items {
        if item.kind() != ValueKind::Map {
            return Err(fail(NAME, "List item is not a valid dict"));
        }
        let elem = item.get_item(&key).ok().filter(|v| !v.is_undefined()).ok_or_else(|| {
            let shown = to_data(NAME, &key).map(|k| py_repr(&k)).unwrap_or_else(|_| key.to_string());
            fail(NAME, format!("Key {shown} was not found."))
        })?;
        match out.iter_mut().find(|(k, _)| *k == elem) {
            Some(_) if duplicates == "error" => {
                let shown = to_data(NAME, &elem).map(|k| py_repr(&k)).unwrap_or_else(|_| elem.to_string());
                return Err(fail(NAME, format!("Key {shown} is not unique, cannot convert to dict.")));
            }
            Some(slot) => slot.1 = item,
            None => out.push((elem, item)),
        }
    }
    Ok(Value::from_iter(out))
}

#[cfg(test)]
#[path = "mathstuff_tests.rs"]
mod tests;
