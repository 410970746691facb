//! Host patterns (`hosts:` and `--limit`), evaluated as Ansible's `InventoryManager.get_hosts`:
//! plain unions first (in pattern order), then `&` intersections, then `!` exclusions.

use std::collections::HashSet;

use regex::Regex;

use super::range::parse_address;
use super::{Inventory, InventoryError, LOCALHOST_NAMES};

impl Inventory {
    /// The hosts a pattern selects, in Ansible's order. A part that matches nothing is not an
    /// error (Ansible only warns); the implicit localhost appears when a part names it.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        let mut hosts: Vec<String> = Vec::new();
        for part in order_patterns(split_pattern(pattern)) {
            if self.hosts.contains_key(&part) {
                hosts.push(part);
                continue;
            }
            let matched = self.match_one(&part)?;
            if part.starts_with('!') {
                let set: HashSet<&String> = matched.iter().collect();
                hosts.retain(|h| !set.contains(h));
            } else if part.starts_with('&') {
                let set: HashSet<&String> = matched.iter().collect();
                hosts.retain(|h| set.contains(h));
            } else {
                let existing: HashSet<String> = hosts.iter().cloned().collect();
                hosts.extend(matched.into_iter().filter(|h| !existing.contains(h)));
            }
        }
        let mut seen = HashSet::new();
        hosts.retain(|h| seen.insert(h.clone()));
        Ok(hosts)
    }

    /// The parts of `pattern` that match no group and no host: Ansible warns "Could not match
    /// supplied host pattern, ignoring: PART" for each (an empty group is not one of them).
    pub fn unmatched(&self, pattern: &str) -> Vec<String> {
        let mut out = Vec::new();
        for part in split_pattern(pattern) {
            let bare = part.strip_prefix(['&', '!']).unwrap_or(&part);
            let (expr, _) = split_subscript(bare);
            if expr.is_empty() || self.hosts.contains_key(expr) {
                continue;
            }
            let any_group = Matcher::new(expr).map(|m| self.groups.keys().any(|g| m.matches(g))).unwrap_or(true);
            if !any_group && self.enumerate(expr).is_ok_and(|hosts| hosts.is_empty()) {
                out.push(expr.to_string());
            }
        }
        out
    }

    /// One part without its `&`/`!`: matching hosts (repeats kept), then the subscript.
    fn match_one(&self, part: &str) -> Result<Vec<String>, InventoryError> {
        let part = part.strip_prefix(['&', '!']).unwrap_or(part);
        let (expr, subscript) = split_subscript(part);
        let hosts = self.enumerate(expr)?;
        apply_subscript(hosts, subscript)
            .ok_or_else(|| InventoryError::Pattern(format!("no hosts matched the subscripted pattern '{part}'")))
    }

    /// Groups whose name matches contribute all their hosts; host names match too when no
    /// group did or when the expression is a glob or regex.
    fn enumerate(&self, expr: &str) -> Result<Vec<String>, InventoryError> {
        let matcher = Matcher::new(expr)?;
        let mut results = Vec::new();
        let mut any_group = false;
        for g in self.groups.keys().filter(|g| matcher.matches(g)) {
            any_group = true;
            results.extend(self.group_hosts(g));
        }
        if !any_group || expr.starts_with('~') || expr.contains(['.', '?', '*', '[']) {
            results.extend(self.hosts.keys().filter(|h| matcher.matches(h)).cloned());
        }
        if results.is_empty() && LOCALHOST_NAMES.contains(&expr) {
            results.push(expr.to_string());
        }
        Ok(results)
    }
}

/// `a,b` splits on commas; otherwise on `:` outside brackets, unless the whole text is an
/// address (IPv6, `host:port`, a range like `web[1:3]`).
fn split_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern, true).is_some() {
        vec![pattern.to_string()]
    } else {
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '[' => {
                    // A complete bracket stays in the word; an unclosed one is dropped.
                    let rest: String = chars.clone().collect();
                    match rest.find(']') {
                        Some(end) => {
                            cur.push('[');
                            cur.push_str(&rest[..=end]);
                            for _ in rest[..=end].chars() {
                                chars.next();
                            }
                        }
                        None => parts.push(std::mem::take(&mut cur)),
                    }
                }
                c if c == ':' || c == ']' || c.is_whitespace() => parts.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        parts.push(cur);
        parts
    };
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// Plain parts first, then `&` parts, then `!` parts; only modifiers means `all` plus them.
fn order_patterns(parts: Vec<String>) -> Vec<String> {
    let (mut regular, mut and, mut not) = (Vec::new(), Vec::new(), Vec::new());
    for p in parts {
        if p.starts_with('!') {
            not.push(p);
        } else if p.starts_with('&') {
            and.push(p);
        } else {
            regular.push(p);
        }
    }
    if regular.is_empty() {
        regular.push("all".to_string());
    }
    regular.extend(and);
    regular.extend(not);
    regular
}

/// A subscript: a single index, or a range `start..=end` (`end` None = to the last host).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Subscript {
    Index(i64),
    Range(usize, Option<usize>),
}

/// `group[0]`, `group[-1]`, `group[1:]`, `group[0:2]` (inclusive), legacy `group[0-2]`.
fn split_subscript(part: &str) -> (&str, Option<Subscript>) {
    if part.starts_with('~') || !part.ends_with(']') {
        return (part, None);
    }
    let Some(open) = part.rfind('[') else {
        return (part, None);
    };
    let (expr, body) = (&part[..open], &part[open + 1..part.len() - 1]);
    if expr.is_empty() {
        return (part, None);
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(body.strip_prefix('-').unwrap_or(body)) {
        return match body.parse() {
            Ok(i) => (expr, Some(Subscript::Index(i))),
            Err(_) => (part, None),
        };
    }
    let Some(sep) = body.find([':', '-']) else {
        return (part, None);
    };
    let (start, end) = (&body[..sep], &body[sep + 1..]);
    if !digits(start) || !(end.is_empty() || digits(end)) {
        return (part, None);
    }
    let (Ok(start), end) = (start.parse(), end.parse::<usize>().ok()) else {
        return (part, None);
    };
    match end {
        // `[x:0]` is falsy in Ansible, hence a single index.
        Some(0) => (expr, Some(Subscript::Index(start as i64))),
        _ => (expr, Some(Subscript::Range(start, end))),
    }
}

/// `None` when a single index is out of range (Ansible's "No hosts matched the subscripted pattern").
fn apply_subscript(hosts: Vec<String>, subscript: Option<Subscript>) -> Option<Vec<String>> {
    let Some(sub) = subscript else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len();
    match sub {
        Subscript::Index(i) => {
            let idx = if i < 0 { len as i64 + i } else { i };
            usize::try_from(idx).ok().and_then(|i| hosts.get(i)).map(|h| vec![h.clone()])
        }
        Subscript::Range(start, end) => {
            let end = end.unwrap_or(len - 1).saturating_add(1).min(len);
            Some(if start >= end { Vec::new() } else { hosts[start..end].to_vec() })
        }
    }
}

/// A glob (`fnmatch`, whole name) or, with `~`, a regex matched at the start of the name.
struct Matcher(Regex);

impl Matcher {
    fn new(expr: &str) -> Result<Matcher, InventoryError> {
        let source = match expr.strip_prefix('~') {
            Some(re) => format!("^(?:{re})"),
            None => format!("^(?s:{})$", crate::glob::to_regex(expr)),
        };
        Regex::new(&source)
            .map(Matcher)
            .map_err(|e| InventoryError::Pattern(format!("invalid host pattern '{expr}': {e}")))
    }

    fn matches(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_follows_ansible() {
        assert_eq!(split_pattern("a,b[1], c[2:3] , d"), ["a", "b[1]", "c[2:3]", "d"]);
        assert_eq!(split_pattern("web:&prod:!web02:dba"), ["web", "&prod", "!web02", "dba"]);
        assert_eq!(split_pattern("web[1:]:db"), ["web[1:]", "db"]);
        assert_eq!(split_pattern("web[1:3]"), ["web[1:3]"]);
        assert_eq!(split_pattern("::1"), ["::1"]);
        assert_eq!(split_pattern("10.0.0.1"), ["10.0.0.1"]);
        assert_eq!(split_pattern("~["), ["~"]);
    }

    #[test]
    fn ordering_puts_modifiers_last() {
        let parts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(order_patterns(parts(&["!a", "b", "&c", "d"])), ["b", "d", "&c", "!a"]);
        assert_eq!(order_patterns(parts(&["!a"])), ["all", "!a"]);
    }

    #[test]
    fn subscripts() {
        assert_eq!(split_subscript("db[0]"), ("db", Some(Subscript::Index(0))));
        assert_eq!(split_subscript("db[-1]"), ("db", Some(Subscript::Index(-1))));
        assert_eq!(split_subscript("db[1:]"), ("db", Some(Subscript::Range(1, None))));
        assert_eq!(split_subscript("db[0:2]"), ("db", Some(Subscript::Range(0, Some(2)))));
        assert_eq!(split_subscript("db[1-2]"), ("db", Some(Subscript::Range(1, Some(2)))));
        assert_eq!(split_subscript("db[:2]"), ("db[:2]", None));
        assert_eq!(split_subscript("~db[0]"), ("~db[0]", None));
        let hosts: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(apply_subscript(hosts.clone(), Some(Subscript::Range(1, Some(9)))).unwrap(), ["b", "c"]);
        assert_eq!(apply_subscript(hosts.clone(), Some(Subscript::Index(-3))).unwrap(), ["a"]);
        assert!(apply_subscript(hosts, Some(Subscript::Index(3))).is_none());
    }

    #[test]
    fn globs_match_whole_names() {
        let m = |g: &str, n: &str| Matcher::new(g).unwrap().matches(n);
        assert!(m("web*", "web01"));
        assert!(!m("web", "web01"));
        assert!(m("*.example.com", "a.example.com"));
        assert!(!m("*.example.com", "aexample.com"));
        assert!(m("db?", "db1"));
        assert!(m("h[!2]", "h1"));
        assert!(!m("h[!2]", "h2"));
        assert!(m("h[1-3]", "h2"));
        assert!(m("db[:2]", "db:"));
        assert!(m("~web0[12]", "web01x"), "regexes match at the start only");
        assert!(Matcher::new("~(").is_err());
    }
}
