//! The list-shaping lookups behind the old `with_*` loops: `nested`, `together`,
//! `subelements`, `indexed_items`, `flattened`, `random_choice`, `sequence`, `lines` and
//! `inventory_hostnames`, as ansible-core 2.19's plugins compute them.

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};
use rand::seq::IndexedRandom;
use serde_json::Value as Data;

use super::super::filters::convert::{fail, from_data, to_data};
use super::{shell_output, term_text};
use crate::inventory::Inventory;

/// Terms as data, each checked defined.
fn data(label: &str, terms: &[Value]) -> Result<Vec<Data>, Error> {
    terms.iter().map(|t| to_data(label, t)).collect()
}

fn out(items: Vec<Data>) -> Vec<Value> {
    items.iter().map(from_data).collect()
}

/// Ansible's `_flatten`: one level of lists spliced in.
fn flatten_one(items: Vec<Data>) -> Vec<Data> {
    let mut flat = Vec::new();
    for item in items {
        match item {
            Data::Array(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    flat
}

fn as_list(label: &str, d: Data) -> Result<Vec<Data>, Error> {
    match d {
        Data::Array(items) => Ok(items),
        other => Err(fail(label, format!("expects lists, got {other}"))),
    }
}

/// Every combination of the lists' elements, the first list varying slowest.
pub fn nested(label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut lists = data(label, terms)?.into_iter();
    let Some(first) = lists.next() else {
        return Err(fail(label, "with_nested requires at least one element in the nested list"));
    };
    let mut result = as_list(label, first)?;
    for next in lists {
        let next = as_list(label, next)?;
        let mut combined = Vec::new();
        for x in &result {
            for y in &next {
                combined.push(Data::Array(flatten_one(vec![x.clone(), y.clone()])));
            }
        }
        result = combined;
    }
    Ok(out(result.into_iter().map(|x| Data::Array(flatten_one(vec![x]))).collect()))
}

/// The lists zipped, shorter ones padded with null.
pub fn together(label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists: Vec<Vec<Data>> = data(label, terms)?.into_iter().map(|l| as_list(label, l)).collect::<Result<_, _>>()?;
    if lists.is_empty() {
        return Err(fail(label, "with_together requires at least one element in each list"));
    }
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    let rows = (0..longest)
        .map(|i| Data::Array(flatten_one(lists.iter().map(|l| l.get(i).cloned().unwrap_or(Data::Null)).collect())))
        .collect();
    Ok(out(rows))
}

/// `[index, item]` pairs over the terms flattened one level.
pub fn indexed_items(label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let items = flatten_one(data(label, terms)?);
    Ok(out(items.into_iter().enumerate().map(|(i, v)| serde_json::json!([i, v])).collect()))
}

/// Every nested list spliced in; a `None`/`null` string ends the list (as Ansible does).
pub fn flattened(label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    fn go(items: Vec<Data>, into: &mut Vec<Data>) {
        for mut item in items {
            // A list of one (list of one...) item is that item.
            while let Data::Array(one) = &item {
                if one.len() != 1 {
                    break;
                }
                item = one[0].clone();
            }
            match item {
                Data::String(s) if s == "None" || s == "null" => break,
                Data::Array(inner) => go(inner, into),
                other => into.push(other),
            }
        }
    }
    let mut flat = Vec::new();
    go(data(label, terms)?, &mut flat);
    Ok(out(flat))
}

/// One of the terms at random (none for no terms).
pub fn random_choice(terms: &[Value]) -> Vec<Value> {
    terms.choose(&mut rand::rng()).cloned().into_iter().collect()
}

/// `(element, subelement)` pairs: for each mapping of a list (or a mapping's values), each
/// entry of the list at the dotted key; `{skip_missing: true}` skips elements without it.
pub fn subelements(label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let terms = data(label, terms)?;
    let usage = "subelements lookup expects a list of two or three items, ";
    if !(2..=3).contains(&terms.len()) {
        return Err(fail(label, usage));
    }
    let skipped = |d: &Data| d.get("skipped").is_some_and(|s| s != &Data::Bool(false));
    let elements: Vec<Data> = match (&terms[0], terms[1].as_str()) {
        (Data::Object(_), Some(_)) if skipped(&terms[0]) => return Ok(Vec::new()),
        (Data::Object(m), Some(_)) => m.values().cloned().collect(),
        (Data::Array(items), Some(_)) => items.clone(),
        _ => return Err(fail(label, format!("{usage}first a dict or a list, second a string pointing to the subkey"))),
    };
    let keys: Vec<&str> = terms[1].as_str().unwrap_or_default().split('.').collect();
    let skip_missing = match terms.get(2) {
        None => false,
        Some(Data::Object(flags)) if flags.keys().all(|k| k == "skip_missing") => {
            flags.get("skip_missing").is_some_and(|v| crate::value::to_bool(v).unwrap_or(false))
        }
        Some(_) => {
            return Err(fail(label, format!("{usage}the optional third item must be a dict with flags skip_missing")))
        }
    };
    let mut rows = Vec::new();
    for element in elements {
        if !element.is_object() {
            return Err(fail(label, format!("subelements lookup expects a dictionary, got '{element}'")));
        }
        if skipped(&element) {
            continue;
        }
        let Some(list) = walk(label, &element, &keys, skip_missing)? else { continue };
        // Ansible pops the list out of the element it pairs with each entry.
        let mut parent = element.clone();
        remove_path(&mut parent, &keys);
        rows.extend(list.into_iter().map(|entry| Data::Array(vec![parent.clone(), entry])));
    }
    Ok(out(rows))
}

fn walk(label: &str, element: &Data, keys: &[&str], skip_missing: bool) -> Result<Option<Vec<Data>>, Error> {
    let mut at = element;
    for (i, key) in keys.iter().enumerate() {
        let Some(next) = at.get(key) else {
            if skip_missing {
                return Ok(None);
            }
            return Err(fail(label, format!("could not find '{key}' key in iterated item '{at}'")));
        };
        if i + 1 == keys.len() {
            return match next {
                Data::Array(list) => Ok(Some(list.clone())),
                other => Err(fail(label, format!("the key {key} should point to a list, got '{other}'"))),
            };
        }
        if !next.is_object() {
            if skip_missing {
                return Ok(None);
            }
            return Err(fail(label, format!("the key {key} should point to a dictionary, got '{next}'")));
        }
        at = next;
    }
    Ok(None)
}

fn remove_path(element: &mut Data, keys: &[&str]) {
    let Some((last, parents)) = keys.split_last() else { return };
    let mut at = element;
    for key in parents {
        match at.get_mut(*key) {
            Some(next) => at = next,
            None => return,
        }
    }
    if let Data::Object(map) = at {
        map.shift_remove(*last);
    }
}

/// The output lines of each term run as a shell command in the playbook's folder.
pub fn lines(state: &State, label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut outv = Vec::new();
    for t in terms {
        let cmd = term_text(label, t)?;
        let output = shell_output(state, label, &cmd)?;
        if !output.status.success() {
            let code = output.status.code().unwrap_or(-1);
            return Err(fail(label, format!("lookup_plugin.lines({cmd}) returned {code}")));
        }
        outv.extend(String::from_utf8_lossy(&output.stdout).lines().map(Value::from));
    }
    Ok(outv)
}

/// The hosts of the `groups` variable a pattern selects, in inventory order; a bad pattern
/// selects none (as Ansible).
pub fn inventory_hostnames(state: &State, label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let groups = state.lookup("groups").map(|g| to_data(label, &g)).transpose()?.unwrap_or(Data::Null);
    let mut inventory = Inventory::new();
    if let Data::Object(groups) = groups {
        for (group, hosts) in groups {
            inventory.add_group(&group);
            for host in hosts.as_array().into_iter().flatten().filter_map(Data::as_str) {
                inventory.add_host(host, Some(&group), None, None);
            }
        }
    }
    let patterns: Vec<String> = terms.iter().map(|t| term_text(label, t)).collect::<Result<_, _>>()?;
    let hosts = inventory.select(&patterns.join(",")).unwrap_or_default();
    Ok(hosts.into_iter().map(Value::from).collect())
}

/// The names of the variables visible here that each regular expression term finds (sorted;
/// Ansible gives its own dict order).
pub fn varnames(state: &State, label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let globals: std::collections::HashSet<&str> = state.env().globals().map(|(name, _)| name).collect();
    let mut names: Vec<String> = state
        .known_variables()
        .into_iter()
        .filter(|n| !globals.contains(n.as_ref()) && !n.starts_with("__troupe"))
        .map(|n| n.into_owned())
        .collect();
    names.sort();
    let mut found = Vec::new();
    for t in terms {
        let Some(term) = t.as_str() else {
            return Err(fail(
                label,
                format!("Invalid setting identifier, \"{t}\" is not a string, it is a {}", t.kind()),
            ));
        };
        let re = regex::Regex::new(term).map_err(|e| {
            let why = crate::template::filters::text::python_regex_error(&e);
            fail(label, format!("Unable to use \"{term}\" as a search parameter: {why}"))
        })?;
        found.extend(names.iter().filter(|n| re.is_match(n)).map(|n| Value::from(n.as_str())));
    }
    Ok(found)
}

/// `sequence`: `[start-]end[/stride][:format]` or `start= end= count= stride= format=`;
/// keyword arguments are defaults for every term (and with no term, one empty term).
pub fn sequence(label: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let mut defaults = Vec::new();
    for key in ["start", "end", "count", "stride", "format"] {
        if let Some(v) = kwargs.get::<Option<Value>>(key)? {
            defaults.push((key, v.to_string()));
        }
    }
    let empty = [Value::from("")];
    let terms = if terms.is_empty() && !defaults.is_empty() { &empty[..] } else { terms };
    let mut outv = Vec::new();
    for t in terms {
        let term = term_text(label, t)?;
        let mut seq = Sequence::new();
        for (key, text) in &defaults {
            seq.set(key, text).map_err(|e| fail(label, e))?;
        }
        seq.parse(&term).map_err(|e| fail(label, e))?;
        outv.extend(seq.generate().map_err(|e| fail(label, e))?.into_iter().map(Value::from));
    }
    Ok(outv)
}

/// `[start-]end[/stride][:format]`, as Ansible's pattern.
static SHORTCUT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$").expect("a valid pattern")
});

struct Sequence {
    start: i64,
    end: Option<i64>,
    count: Option<i64>,
    stride: i64,
    format: String,
}

/// An integer option as ansible-core 2.19 takes it: decimal only (its docs promise hex and
/// octal, but its option check refuses them).
fn integer(key: &str, text: &str) -> Result<i64, String> {
    let t = text.trim().replace('_', "");
    t.strip_prefix('+').unwrap_or(&t).parse().map_err(|_| {
        format!("config '{key}' for 'sequence' has an invalid value: Invalid value provided for 'integer': '{text}'")
    })
}

impl Sequence {
    fn new() -> Sequence {
        Sequence { start: 1, end: None, count: None, stride: 1, format: "%d".into() }
    }

    fn set(&mut self, key: &str, text: &str) -> Result<(), String> {
        match key {
            "start" => self.start = integer(key, text)?,
            "end" => self.end = Some(integer(key, text)?),
            "count" => self.count = Some(integer(key, text)?),
            "stride" => self.stride = integer(key, text)?,
            "format" => self.format = text.to_string(),
            "_raw_params" => return Err(format!("unknown error parsing with_sequence arguments: '{text}'")),
            other => return Err(format!("unrecognized arguments to with_sequence: ['{other}']")),
        }
        Ok(())
    }

    fn parse(&mut self, term: &str) -> Result<(), String> {
        if let Some(c) = SHORTCUT.captures(term) {
            for (key, group) in [("start", 2), ("end", 3), ("stride", 5), ("format", 7)] {
                if let Some(m) = c.get(group) {
                    self.set(key, m.as_str())?;
                }
            }
            return Ok(());
        }
        let args = crate::playbook::freeform::parse_kv(term, false)
            .map_err(|e| format!("unknown error parsing with_sequence arguments: '{term}'. Error was: {e}"))?;
        for (key, value) in args {
            self.set(&key, &crate::value::to_text(&value))?;
        }
        Ok(())
    }

    fn generate(&self) -> Result<Vec<String>, String> {
        // i128: no bound the user gives can overflow the arithmetic.
        let (start, stride) = (i128::from(self.start), i128::from(self.stride));
        let end = match (self.count, self.end) {
            (None, None) => return Err("must specify count or end in with_sequence".into()),
            (Some(_), Some(_)) => return Err("can't specify both count and end in with_sequence".into()),
            (Some(0), None) => return Ok(Vec::new()),
            (Some(count), None) => start + i128::from(count) * stride - 1,
            (None, Some(end)) => i128::from(end),
        };
        if stride > 0 && end < start {
            return Err("to count backwards make stride negative".into());
        }
        if stride < 0 && end > start {
            return Err("to count forward don't make stride negative".into());
        }
        if stride == 0 {
            return Ok(Vec::new());
        }
        if self.format.matches('%').count() != 1 {
            return Err(format!("bad formatting string: {}", self.format));
        }
        if (end - start) / stride >= crate::limits::MAX_ITEMS as i128 {
            return Err(format!("the sequence has more than {} items", crate::limits::MAX_ITEMS));
        }
        let mut items = Vec::new();
        let mut i = start;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            let n = i64::try_from(i).map_err(|_| format!("{i} is out of range"))?;
            items.push(printf(&self.format, n).ok_or_else(|| format!("problem formatting {i} with {}", self.format))?);
            i += stride;
        }
        Ok(items)
    }
}

/// Python's `format % n` for one `%[flags][width]conv` with conv in `d i u x X o s`.
fn printf(format: &str, n: i64) -> Option<String> {
    let at = format.find('%')?;
    let (head, rest) = (&format[..at], &format[at + 1..]);
    let spec_len = rest.find(|c: char| c.is_ascii_alphabetic())?;
    let (spec, conv) = (&rest[..spec_len], rest[spec_len..].chars().next()?);
    let tail = &rest[spec_len + conv.len_utf8()..];
    let left = spec.contains('-');
    let zero = spec.trim_start_matches(['-', '+', ' ']).starts_with('0') && !left;
    let width: usize = spec.trim_start_matches(['-', '+', ' ', '0']).parse().unwrap_or(0);
    let digits = match conv {
        'd' | 'i' | 'u' | 's' => n.unsigned_abs().to_string(),
        'x' => format!("{:x}", n.unsigned_abs()),
        'X' => format!("{:X}", n.unsigned_abs()),
        'o' => format!("{:o}", n.unsigned_abs()),
        _ => return None,
    };
    let sign = if n < 0 {
        "-"
    } else if spec.contains('+') {
        "+"
    } else {
        ""
    };
    let body = if zero && width > sign.len() + digits.len() {
        format!("{sign}{}{digits}", "0".repeat(width - sign.len() - digits.len()))
    } else {
        format!("{sign}{digits}")
    };
    let body = match (left, width > body.len()) {
        (true, true) => format!("{body:<width$}"),
        (false, true) => format!("{body:>width$}"),
        _ => body,
    };
    Some(format!("{head}{body}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::printf;
    use minijinja::value::{Kwargs, Value};

    #[test]
    fn printf_formats_as_python() {
        assert_eq!(printf("%d", 5).as_deref(), Some("5"));
        assert_eq!(printf("host%02d", 4).as_deref(), Some("host04"));
        assert_eq!(printf("0x%02x", 10).as_deref(), Some("0x0a"));
        assert_eq!(printf("%04x", 0x0f00).as_deref(), Some("0f00"));
        assert_eq!(printf("%3d|", -2).as_deref(), Some(" -2|"));
        assert_eq!(printf("%q", 1), None);
    }

    #[test]
    fn huge_sequences_are_refused_not_overflowed() {
        let terms = [Value::from("start=-9223372036854775808 end=9223372036854775807")];
        let e = super::sequence("lookup('sequence')", &terms, &Kwargs::from_iter(Vec::<(&str, Value)>::new()));
        assert!(e.unwrap_err().to_string().contains("more than"));
        let terms = [Value::from("start=9223372036854775807 count=3 stride=9223372036854775807")];
        let e = super::sequence("lookup('sequence')", &terms, &Kwargs::from_iter(Vec::<(&str, Value)>::new()));
        assert!(e.is_err());
    }
}
