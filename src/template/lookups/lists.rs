//! The list-shaping lookups behind the old `with_*` loops: `nested`, `together`,
//! `subelements`, `indexed_items`, `flattened`, `random_choice`, `sequence`, `lines` and
//! `inventory_hostnames`, as ansible-core 2.19's plugins compute them.

use std::process::{Command, Stdio};

use minijinja::value::Value;
use minijinja::{Error, State};
use rand::seq::IndexedRandom;
use serde_json::Value as Data;

use super::super::filters::convert::{fail, from_data, to_data};
use super::{base_dir, term_text};
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
    let (Some(path), true) = (terms[1].as_str(), terms[0].is_array() || terms[0].is_object()) else {
        return Err(fail(label, format!("{usage}first a dict or a list, second a string pointing to the subkey")));
    };
    let keys: Vec<&str> = path.split('.').collect();
    let skipped = |d: &Data| d.get("skipped").is_some_and(|s| s != &Data::Bool(false));
    let elements: Vec<Data> = match &terms[0] {
        Data::Object(_) if skipped(&terms[0]) => return Ok(Vec::new()),
        Data::Object(m) => m.values().cloned().collect(),
        Data::Array(items) => items.clone(),
        _ => unreachable!("checked above"),
    };
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
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(&cmd).stdin(Stdio::null()).stderr(Stdio::inherit());
        if let Some(dir) = base_dir(state) {
            command.current_dir(dir);
        }
        let output = command.output().map_err(|e| fail(label, format!("cannot run '{cmd}': {e}")))?;
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

/// `sequence`: `[start-]end[/stride][:format]` or `start= end= count= stride= format=`.
pub fn sequence(label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut outv = Vec::new();
    for t in terms {
        let term = term_text(label, t)?;
        let seq = Sequence::parse(&term).map_err(|e| fail(label, e))?;
        outv.extend(seq.generate().map_err(|e| fail(label, e))?.into_iter().map(Value::from));
    }
    Ok(outv)
}

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
    fn parse(term: &str) -> Result<Sequence, String> {
        let mut seq = Sequence { start: 1, end: None, count: None, stride: 1, format: "%d".into() };
        let shortcut =
            regex::Regex::new(r"(?i)^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$").expect("regex");
        if let Some(c) = shortcut.captures(term) {
            if let Some(s) = c.get(2) {
                seq.start = integer("start", s.as_str())?;
            }
            seq.end = Some(integer("end", &c[3])?);
            if let Some(s) = c.get(5) {
                seq.stride = integer("stride", s.as_str())?;
            }
            if let Some(f) = c.get(7) {
                seq.format = f.as_str().to_string();
            }
            return Ok(seq);
        }
        let args = crate::playbook::freeform::parse_kv(term, false)
            .map_err(|e| format!("unknown error parsing with_sequence arguments: '{term}'. Error was: {e}"))?;
        for (key, value) in args {
            let text = crate::value::to_text(&value);
            match key.as_str() {
                "start" => seq.start = integer("start", &text)?,
                "end" => seq.end = Some(integer("end", &text)?),
                "count" => seq.count = Some(integer("count", &text)?),
                "stride" => seq.stride = integer("stride", &text)?,
                "format" => seq.format = text,
                "_raw_params" => return Err(format!("unknown error parsing with_sequence arguments: '{term}'")),
                other => return Err(format!("unrecognized arguments to with_sequence: ['{other}']")),
            }
        }
        Ok(seq)
    }

    fn generate(&self) -> Result<Vec<String>, String> {
        let end = match (self.count, self.end) {
            (None, None) => return Err("must specify count or end in with_sequence".into()),
            (Some(_), Some(_)) => return Err("can't specify both count and end in with_sequence".into()),
            (Some(0), None) => return Ok(Vec::new()),
            (Some(count), None) => self.start + count * self.stride - 1,
            (None, Some(end)) => end,
        };
        if self.stride > 0 && end < self.start {
            return Err("to count backwards make stride negative".into());
        }
        if self.stride < 0 && end > self.start {
            return Err("to count forward don't make stride negative".into());
        }
        if self.stride == 0 {
            return Ok(Vec::new());
        }
        if self.format.matches('%').count() != 1 {
            return Err(format!("bad formatting string: {}", self.format));
        }
        if (end - self.start) / self.stride > crate::limits::MAX_ITEMS as i64 {
            return Err(format!("the sequence has more than {} items", crate::limits::MAX_ITEMS));
        }
        let mut items = Vec::new();
        let mut i = self.start;
        while (self.stride > 0 && i <= end) || (self.stride < 0 && i >= end) {
            items.push(printf(&self.format, i).ok_or_else(|| format!("problem formatting {i} with {}", self.format))?);
            i += self.stride;
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

    #[test]
    fn printf_formats_as_python() {
        assert_eq!(printf("%d", 5).as_deref(), Some("5"));
        assert_eq!(printf("host%02d", 4).as_deref(), Some("host04"));
        assert_eq!(printf("0x%02x", 10).as_deref(), Some("0x0a"));
        assert_eq!(printf("%04x", 0x0f00).as_deref(), Some("0f00"));
        assert_eq!(printf("%3d|", -2).as_deref(), Some(" -2|"));
        assert_eq!(printf("%q", 1), None);
    }
}
