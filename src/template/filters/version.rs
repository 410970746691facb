//! Version comparison for the `version` test and `version_compare` filter: Python's
//! `LooseVersion` by default, `StrictVersion` with `strict=true`, semver with
//! `version_type='semver'`.

use std::cmp::Ordering;

/// How the two version strings are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Loose,
    Strict,
    Semver,
}

impl Scheme {
    pub fn from_name(name: &str) -> Result<Scheme, String> {
        match name {
            "loose" => Ok(Scheme::Loose),
            "strict" => Ok(Scheme::Strict),
            "semver" | "semantic" => Ok(Scheme::Semver),
            other => Err(format!("invalid version type '{other}'; use 'loose', 'strict', 'semver' or 'semantic'")),
        }
    }
}

/// Compare `value` with `other` using an Ansible operator (`<`, `lt`, `>=`, `ne`, ...).
pub fn compare(value: &str, other: &str, operator: &str, scheme: Scheme) -> Result<bool, String> {
    if value.is_empty() {
        return Err("input version value cannot be empty".into());
    }
    if other.is_empty() {
        return Err("version parameter to compare against cannot be empty".into());
    }
    let want: &[Ordering] = match operator {
        "==" | "=" | "eq" => &[Ordering::Equal],
        "<" | "lt" => &[Ordering::Less],
        "<=" | "le" => &[Ordering::Less, Ordering::Equal],
        ">" | "gt" => &[Ordering::Greater],
        ">=" | "ge" => &[Ordering::Greater, Ordering::Equal],
        "!=" | "<>" | "ne" => &[Ordering::Less, Ordering::Greater],
        other => {
            return Err(format!(
                "invalid operator '{other}'; use one of ==, =, eq, <, lt, <=, le, >, gt, >=, ge, !=, <>, ne"
            ))
        }
    };
    let ord = match scheme {
        Scheme::Loose => loose_cmp(value, other)?,
        Scheme::Strict => strict_parse(value)?.cmp(&strict_parse(other)?),
        Scheme::Semver => semver_cmp(&semver_parse(value)?, &semver_parse(other)?),
    };
    Ok(want.contains(&ord))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Num(u128),
    Text(String),
}

/// `LooseVersion.parse`: runs of digits become numbers, runs of `[a-z]` and of anything
/// else become text, dots separate.
fn loose_parts(v: &str) -> Vec<Part> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Digit,
        Lower,
        Other,
    }
    let class = |c: char| {
        if c.is_ascii_digit() {
            Class::Digit
        } else if c.is_ascii_lowercase() {
            Class::Lower
        } else {
            Class::Other
        }
    };
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_class = Class::Other;
    let mut flush = |text: &mut String, cls: Class| {
        if !text.is_empty() {
            match (cls, text.parse::<u128>()) {
                (Class::Digit, Ok(n)) => parts.push(Part::Num(n)),
                _ => parts.push(Part::Text(text.clone())),
            }
            text.clear();
        }
    };
    for c in v.chars() {
        if c == '.' {
            flush(&mut current, current_class);
            continue;
        }
        let cls = class(c);
        if cls != current_class {
            flush(&mut current, current_class);
            current_class = cls;
        }
        current.push(c);
    }
    flush(&mut current, current_class);
    parts
}

fn loose_cmp(a: &str, b: &str) -> Result<Ordering, String> {
    let (pa, pb) = (loose_parts(a), loose_parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let ord = match (x, y) {
            (Part::Num(x), Part::Num(y)) => x.cmp(y),
            (Part::Text(x), Part::Text(y)) => x.cmp(y),
            _ => {
                return Err(format!(
                    "cannot compare '{a}' with '{b}': a number meets text at the same position (Python's LooseVersion fails here too); try version_type='semver' or 'strict'"
                ))
            }
        };
        if ord != Ordering::Equal {
            return Ok(ord);
        }
    }
    Ok(pa.len().cmp(&pb.len()))
}

/// `StrictVersion`: `N.N[.N][(a|b)N]`; a pre-release sorts before its release.
fn strict_parse(v: &str) -> Result<(u64, u64, u64, (u8, u64)), String> {
    let bad = || format!("invalid version number '{v}' (strict versions look like 1.2, 1.2.3 or 1.2b3)");
    let (nums, pre) = match v.find(['a', 'b']) {
        Some(i) => {
            let kind = if v.as_bytes()[i] == b'a' { 0 } else { 1 };
            let n: u64 = v[i + 1..].parse().map_err(|_| bad())?;
            (&v[..i], (kind, n))
        }
        None => (v, (2, 0)),
    };
    let fields: Vec<u64> = nums.split('.').map(|p| p.parse::<u64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    match fields.as_slice() {
        [a, b] => Ok((*a, *b, 0, pre)),
        [a, b, c] => Ok((*a, *b, *c, pre)),
        _ => Err(bad()),
    }
}

struct Semver {
    core: (u64, u64, u64),
    pre: Vec<String>,
}

fn semver_parse(v: &str) -> Result<Semver, String> {
    let bad = || format!("invalid semantic version '{v}' (expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD])");
    let v = v.split('+').next().unwrap_or(v);
    let (core, pre) = match v.split_once('-') {
        Some((c, p)) => (c, p.split('.').map(str::to_string).collect()),
        None => (v, Vec::new()),
    };
    let nums: Vec<u64> = core.split('.').map(|p| p.parse::<u64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    match nums.as_slice() {
        [a, b, c] => Ok(Semver { core: (*a, *b, *c), pre }),
        _ => Err(bad()),
    }
}

fn semver_cmp(a: &Semver, b: &Semver) -> Ordering {
    a.core.cmp(&b.core).then_with(|| match (a.pre.is_empty(), b.pre.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            for (x, y) in a.pre.iter().zip(b.pre.iter()) {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.pre.len().cmp(&b.pre.len())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loose(a: &str, op: &str, b: &str) -> bool {
        compare(a, b, op, Scheme::Loose).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn loose_versions_compare_numerically() {
        assert!(loose("1.10", ">", "1.9"));
        assert!(loose("3.4.0", ">=", "3.4.0"));
        assert!(loose("3.5", "ge", "3.4.0"));
        assert!(!loose("1.0", "==", "1.0.0"));
        assert!(loose("1.0", "<", "1.0.0"));
        assert!(!loose("2.0rc1", "<", "2.0"));
        assert!(loose("2.0a", "<", "2.0b"));
        assert!(loose("v3.5.1", "!=", "v3.5.2"));
        assert!(loose("1.2", "<>", "1.3"));
    }

    #[test]
    fn loose_mixed_parts_and_bad_operator_error() {
        assert!(compare("1.a", "1.1", "<", Scheme::Loose).unwrap_err().contains("number meets text"));
        assert!(compare("1", "2", "~=", Scheme::Loose).unwrap_err().contains("invalid operator"));
        assert!(compare("", "2", "<", Scheme::Loose).is_err());
    }

    #[test]
    fn strict_and_semver() {
        assert!(compare("1.2b3", "1.2", "<", Scheme::Strict).unwrap());
        assert!(compare("1.2.0", "1.2", "==", Scheme::Strict).unwrap());
        assert!(compare("1.2.x", "1.2", "==", Scheme::Strict).is_err());
        assert!(compare("1.0.0-alpha", "1.0.0", "<", Scheme::Semver).unwrap());
        assert!(compare("1.0.0-alpha.2", "1.0.0-alpha.10", "<", Scheme::Semver).unwrap());
        assert!(compare("1.0.0+build", "1.0.0", "==", Scheme::Semver).unwrap());
        assert!(compare("1.0", "1.0.0", "==", Scheme::Semver).is_err());
    }
}
