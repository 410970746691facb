//! Version comparison for the `version` test and `version_compare` filter: Python's
//! `LooseVersion` by default, `StrictVersion` with `strict=true`, semver with
//! `version_type='semver'`, PEP 440 with `version_type='pep440'`.

use std::cmp::Ordering;

/// How the two version strings are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Loose,
    Strict,
    Semver,
    Pep440,
}

impl Scheme {
    pub fn from_name(name: &str) -> Result<Scheme, String> {
        match name {
            "loose" => Ok(Scheme::Loose),
            "strict" => Ok(Scheme::Strict),
            "semver" | "semantic" => Ok(Scheme::Semver),
            "pep440" => Ok(Scheme::Pep440),
            other => {
                Err(format!("invalid version type '{other}'; use 'loose', 'strict', 'semver', 'semantic' or 'pep440'"))
            }
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
        Scheme::Pep440 => pep440_key(value)?.cmp(&pep440_key(other)?),
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

/// packaging's `Version` sort key: epoch, release without trailing zeros, pre-release (a
/// dev-only release sorts before its pre-releases), post, dev, local segments.
type Pep440Key = (u64, Vec<u64>, (u8, u8, u64), (u8, u64), (u8, u64), (u8, Vec<(u8, u64, String)>));

fn pep440_key(v: &str) -> Result<Pep440Key, String> {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = PATTERN.get_or_init(|| {
        regex::Regex::new(
            r"(?i)^\s*v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)(?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?(?P<post>-(?P<post_n1>[0-9]+)|[-_.]?(?:post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?)?(?P<dev>[-_.]?dev[-_.]?(?P<dev_n>[0-9]+)?)?(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$",
        )
        .expect("the PEP 440 pattern is valid")
    });
    let caps = re.captures(v).ok_or_else(|| format!("Invalid version: '{v}'"))?;
    let num = |name: &str| caps.name(name).map_or(0, |m| m.as_str().parse::<u64>().unwrap_or(u64::MAX));
    let mut release: Vec<u64> = caps["release"].split('.').map(|p| p.parse::<u64>().unwrap_or(u64::MAX)).collect();
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let (has_post, has_dev) = (caps.name("post").is_some(), caps.name("dev").is_some());
    let pre = match caps.name("pre_l").map(|m| m.as_str().to_ascii_lowercase()) {
        Some(l) => (
            1,
            if l.starts_with('a') {
                0
            } else if l.starts_with('b') {
                1
            } else {
                2
            },
            num("pre_n"),
        ),
        None if !has_post && has_dev => (0, 0, 0),
        None => (2, 0, 0),
    };
    let post = if has_post { (1, num("post_n1").max(num("post_n2"))) } else { (0, 0) };
    let dev = if has_dev { (0, num("dev_n")) } else { (1, 0) };
    let local = match caps.name("local") {
        None => (0, Vec::new()),
        Some(m) => (
            1,
            m.as_str()
                .to_ascii_lowercase()
                .split(['-', '_', '.'])
                .map(|p| match p.parse::<u64>() {
                    Ok(n) => (1, n, String::new()),
                    Err(_) => (0, 0, p.to_string()),
                })
                .collect(),
        ),
    };
    Ok((num("epoch"), release, pre, post, dev, local))
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
    fn pep440_orders_pre_post_and_dev_releases() {
        let lt = |a: &str, b: &str| compare(a, b, "lt", Scheme::Pep440).unwrap();
        assert!(lt("2.14.0rc1", "2.14.0"));
        assert!(lt("1.0.dev1", "1.0a1"));
        assert!(lt("1.0a1", "1.0b2"));
        assert!(lt("1.0", "1.0.post1"));
        assert!(lt("1.0", "1.0+local"));
        assert!(lt("1!0.1", "2!0.0") && !lt("1.0.0", "1"));
        assert!(compare("nope", "1.0", "lt", Scheme::Pep440).is_err());
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
