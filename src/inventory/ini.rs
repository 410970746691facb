//! INI inventories, as Ansible's `ini` plugin reads them.
//!
//! Lines before the first section belong to `ungrouped`. `[g]` lists hosts (with inline
//! `k=v` vars), `[g:vars]` sets group vars, `[g:children]` lists child groups, which may be
//! declared further down. Every value goes through Python `literal_eval` (see `literal.rs`) —
//! also in `:vars` sections, whatever the docs say: `x=1` is the integer 1 in both.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;

use super::graph::SourceInfo;
use super::literal::parse_value;
use super::range::{expand, parse_address};
use super::{Inventory, InventoryError};
use crate::yaml::Span;

#[derive(PartialEq, Clone, Copy)]
enum State {
    Hosts,
    Vars,
    Children,
}

/// A group referenced before it is declared: `[x:vars]` or a `[p:children]` entry.
struct Pending {
    line: usize,
    state: State,
    parents: Vec<String>,
}

pub fn parse(inv: &mut Inventory, text: &str, path: &Path, source: &SourceInfo) -> Result<(), InventoryError> {
    let file = Arc::new(path.to_path_buf());
    let err =
        |line: usize, msg: String, hint: Option<&str>| InventoryError::parse(Span::new(&file, line, 1), msg, hint);
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some((name, kind)) = section(line) {
            state = match kind {
                None | Some("hosts") => State::Hosts,
                Some("vars") => State::Vars,
                Some("children") => State::Children,
                Some(other) => {
                    return Err(err(
                        lineno,
                        format!("section [{name}:{other}] has unknown type: {other}"),
                        Some("a section is [group], [group:vars] or [group:children]"),
                    ))
                }
            };
            group = name.to_string();
            if !inv.groups.contains_key(&group) {
                if state == State::Vars && !pending.contains_key(&group) {
                    pending.insert(group.clone(), Pending { line: lineno, state, parents: Vec::new() });
                }
                inv.add_group(&group);
            }
            if state != State::Vars {
                match pending.get(&group).map(|p| p.state) {
                    Some(State::Children) => {
                        add_pending_children(inv, &group, &mut pending).map_err(|m| err(lineno, m, Some(CHILD_HINT)))?
                    }
                    Some(_) => {
                        pending.shift_remove(&group);
                    }
                    None => {}
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(err(
                lineno,
                format!("invalid section entry: '{line}'"),
                Some("a section header has no spaces and no ':' other than [group:vars] or [group:children]"),
            ));
        }
        match state {
            State::Hosts => host_line(inv, &group, line, source).map_err(|m| err(lineno, m, Some(HOST_HINT)))?,
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(
                        lineno,
                        format!("expected key=value, got: {line}"),
                        Some("group vars are written `name=value`"),
                    ));
                };
                inv.set_group_var(&group, k.trim(), parse_value(v.trim())).map_err(|m| err(lineno, m, None))?;
            }
            State::Children => {
                let Some(child) = group_name(line) else {
                    return Err(err(
                        lineno,
                        format!("expected group name, got: {line}"),
                        Some("list one child group per line"),
                    ));
                };
                if inv.groups.contains_key(child) {
                    inv.add_child_group(&group, child).map_err(|m| err(lineno, m, Some(CHILD_HINT)))?;
                } else {
                    pending
                        .entry(child.to_string())
                        .or_insert(Pending { line: lineno, state, parents: Vec::new() })
                        .parents
                        .push(group.clone());
                }
            }
        }
    }
    if let Some((name, p)) = pending.first() {
        let msg = match p.state {
            State::Vars => {
                format!("section [{name}:vars] is for group '{name}', which is not defined")
            }
            _ => format!(
                "section [{}:children] includes undefined group '{name}'",
                p.parents.last().map(String::as_str).unwrap_or("")
            ),
        };
        return Err(err(p.line, msg, Some("declare the group with a [group] or [group:children] section")));
    }
    Ok(())
}

const CHILD_HINT: &str = "a group cannot contain itself, directly or through its children";
const HOST_HINT: &str = "a host line is `name [key=value ...]`; quote values with spaces";

fn add_pending_children(
    inv: &mut Inventory,
    group: &str,
    pending: &mut IndexMap<String, Pending>,
) -> Result<(), String> {
    let Some(p) = pending.shift_remove(group) else {
        return Ok(());
    };
    for parent in p.parents {
        inv.add_child_group(&parent, group)?;
        if pending.get(&parent).is_some_and(|pp| pp.state == State::Children) {
            add_pending_children(inv, &parent, pending)?;
        }
    }
    Ok(())
}

/// `[name]` or `[name:kind]`, optionally followed by a `#` comment.
fn section(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let after = rest[close + 1..].trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    let inner = &rest[..close];
    let (name, kind) = match inner.split_once(':') {
        Some((n, k)) => (n, Some(k)),
        None => (inner, None),
    };
    let name_ok = !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == ':' || c == ']');
    let kind_ok = kind.map_or(true, |k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'));
    (name_ok && kind_ok).then_some((name, kind))
}

/// A child group line: one name, optionally followed by a `#` comment.
fn group_name(line: &str) -> Option<&str> {
    let end = line.find(|c: char| c.is_whitespace() || c == '#').unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let ok = !name.is_empty() && !name.contains([':', ']']) && (rest.is_empty() || rest.starts_with('#'));
    ok.then_some(name)
}

fn host_line(inv: &mut Inventory, group: &str, line: &str, source: &SourceInfo) -> Result<(), String> {
    let tokens = shell_words(line)?;
    let Some(pattern) = tokens.first() else {
        return Ok(());
    };
    let (hosts, port) = expand_host_pattern(pattern)?;
    let mut vars = Vec::new();
    for t in &tokens[1..] {
        let Some((k, v)) = t.split_once('=') else {
            return Err(format!("expected key=value host variable assignment, got: {t}"));
        };
        vars.push((k.to_string(), parse_value(v)));
    }
    for h in hosts {
        inv.add_host(&h, Some(group), port, Some(source));
        for (k, v) in &vars {
            inv.set_host_var(&h, k, v.clone());
        }
    }
    Ok(())
}

/// A host entry (`name`, `name:port`, `web[01:03]`) → host names and port.
pub fn expand_host_pattern(pattern: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (name, port) = parse_address(pattern, true).unwrap_or_else(|| (pattern.to_string(), None));
    if pattern.trim().ends_with(':') && port.is_none() {
        return Err(format!("invalid host pattern '{pattern}': ending in ':' is not allowed, ':' introduces a port"));
    }
    let hosts = if name.contains('[') { expand(&name)? } else { vec![name] };
    if hosts.iter().any(|h| h.trim() == "---") {
        return Err(format!("invalid host pattern '{pattern}': '---' is normally a sign this is a YAML file"));
    }
    Ok((hosts, port))
}

/// POSIX shell word splitting with `#` comments (Python `shlex.split(line, comments=True)`).
fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("no closing quotation in: {line}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\')) => cur.push(ch),
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err(format!("no closing quotation in: {line}")),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("no closing quotation in: {line}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(ch) => cur.push(ch),
                    None => return Err(format!("no escaped character in: {line}")),
                }
            }
            ch => {
                in_word = true;
                cur.push(ch);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_follow_shlex() {
        assert_eq!(shell_words(r#"h1 a=b#c d="x\"y" e='p q'"#).unwrap(), ["h1", "a=b"]);
        assert_eq!(shell_words(r#"h1 d="x\"y\n" e='p q' f=g\ h"#).unwrap(), ["h1", "d=x\"y\\n", "e=p q", "f=g h"]);
        assert!(shell_words("h1 a='x").is_err());
    }

    #[test]
    fn sections_and_group_lines() {
        assert_eq!(section("[web]"), Some(("web", None)));
        assert_eq!(section("[web:vars] # c"), Some(("web", Some("vars"))));
        assert_eq!(section("[web x]"), None);
        assert_eq!(group_name("child # c"), Some("child"));
        assert_eq!(group_name("a b"), None);
    }
}
