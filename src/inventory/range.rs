//! Host addresses and ranges: `host:port`, `[v6]:port`, `web[01:03]`, `db[a:c]`, `h[1:10:2]`.
//!
//! Mirrors Ansible's `parse_address` and `expand_hostname_range`.

use std::net::Ipv6Addr;

use crate::limits::MAX_RANGE_HOSTS;

/// Split `host:port` / `[host]:port` when what remains is a valid host name or IP.
/// Returns `None` when the text is not a recognisable address (Ansible keeps it verbatim then).
pub fn parse_address(text: &str, allow_ranges: bool) -> Option<(String, Option<u16>)> {
    let (mut host, mut port) = (text.to_string(), None);
    if let Some((h, p)) = split_bracketed_port(text) {
        host = h;
        port = Some(p);
    } else if let Some((h, p)) = split_host_port(text) {
        host = h;
        port = Some(p);
    }
    if !(is_ipv4(&host) || is_ipv6(&host) || is_hostname(&host)) {
        return None;
    }
    if !allow_ranges && host.contains('[') {
        return None;
    }
    Some((host, port))
}

/// `[anything]:1234`
fn split_bracketed_port(text: &str) -> Option<(String, u16)> {
    let rest = text.strip_prefix('[')?;
    let close = rest.rfind("]:")?;
    let port = &rest[close + 2..];
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || close == 0 {
        return None;
    }
    Some((rest[..close].to_string(), port.parse().ok()?))
}

/// `name:1234` where name has no bare `:` outside `[...]`.
fn split_host_port(text: &str) -> Option<(String, u16)> {
    let colon = text.rfind(':')?;
    let port = &text[colon + 1..];
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let host = &text[..colon];
    let mut depth = 0;
    for c in host.chars() {
        match c {
            '[' if depth == 0 => depth = 1,
            '[' => return None,
            ']' if depth == 1 => depth = 0,
            ']' => return None,
            ':' if depth == 0 => return None,
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    Some((host.to_string(), port.parse().ok()?))
}

/// Replace every well-formed range `[x:y(:s)]` by `0` so the plain validators can run.
fn strip_ranges(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find(']')? + open;
        if !is_range_body(&rest[open + 1..close]) {
            return None;
        }
        out.push('0');
        rest = &rest[close + 1..];
    }
    if rest.contains(']') {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

fn is_range_body(body: &str) -> bool {
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() != 2 && parts.len() != 3 {
        return false;
    }
    if parts.len() == 3 && !is_digits(parts[2]) {
        return false;
    }
    let alpha = |s: &str| s.len() == 1 && s.bytes().all(|b| b.is_ascii_alphabetic());
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    (is_digits(parts[0]) && is_digits(parts[1]))
        || (alpha(parts[0]) && alpha(parts[1]))
        || (hex(parts[0]) && hex(parts[1]))
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_ipv4(text: &str) -> bool {
    match strip_ranges(text) {
        Some(t) => t.split('.').count() == 4 && t.split('.').all(|p| p.parse::<u8>().is_ok() && p.len() <= 3),
        None => false,
    }
}

fn is_ipv6(text: &str) -> bool {
    text.contains(':') && text.parse::<Ipv6Addr>().is_ok()
}

fn is_hostname(text: &str) -> bool {
    let Some(t) = strip_ranges(text) else {
        return false;
    };
    !t.is_empty() && t.split('.').all(is_label)
}

/// `\w[\w-]*` not ending in `_` or `-` (Python `\w` is Unicode-aware).
fn is_label(label: &str) -> bool {
    let mut chars = label.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let word = |c: char| c.is_alphanumeric() || c == '_';
    word(first) && label.chars().all(|c| word(c) || c == '-') && !label.ends_with(['_', '-'])
}

/// Expand the `[a:b(:step)]` ranges in a host pattern (at most `MAX_RANGE_HOSTS` names).
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out)?;
    Ok(out)
}

/// Expand the first range of `pattern`, recursively, onto `out`.
fn expand_into(pattern: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = pattern.find('[') else {
        if out.len() as u64 >= MAX_RANGE_HOSTS {
            return Err(too_many(pattern));
        }
        out.push(pattern.to_string());
        return Ok(());
    };
    let Some(close_rel) = pattern[open..].find(']') else {
        return Err(format!("host range in '{pattern}' has no closing ']'"));
    };
    let close = open + close_rel;
    let (head, body, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let bounds: Vec<&str> = body.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!("host range '[{body}]' must be begin:end or begin:end:step"));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(format!("host range '[{body}]' must specify an end value"));
    }
    let step: usize = match bounds.get(2) {
        Some(s) => s.parse().map_err(|_| format!("host range '[{body}]' has an invalid step '{s}'"))?,
        None => 1,
    };
    if step == 0 {
        return Err(format!("host range '[{body}]' has a step of 0"));
    }
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err(format!("host range '[{body}]' must use equal-length begin and end (zero padding)"));
        }
        beg.len()
    } else {
        0
    };
    let items: Vec<String> = match (letter_index(beg), letter_index(end)) {
        (Some(b), Some(e)) => {
            if b > e {
                return Err(format!("host range '[{body}]' must have begin <= end"));
            }
            LETTERS[b..=e].chars().step_by(step).map(String::from).collect()
        }
        _ => {
            let b: u64 = beg.parse().map_err(|_| format!("host range '[{body}]' has an invalid begin '{beg}'"))?;
            let e: u64 = end.parse().map_err(|_| format!("host range '[{body}]' has an invalid end '{end}'"))?;
            if e.saturating_sub(b) / step as u64 >= MAX_RANGE_HOSTS {
                return Err(too_many(pattern));
            }
            (b..=e).step_by(step).map(|n| format!("{n:0width$}")).collect()
        }
    };
    for item in items {
        expand_into(&format!("{head}{item}{tail}"), out)?;
    }
    Ok(())
}

fn too_many(pattern: &str) -> String {
    format!("host range '{pattern}' expands to more than {MAX_RANGE_HOSTS} hosts")
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn letter_index(s: &str) -> Option<usize> {
    if s.len() == 1 {
        LETTERS.find(s)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ranges_keep_padding_and_step() {
        assert_eq!(expand("web[01:03]").unwrap(), ["web01", "web02", "web03"]);
        assert_eq!(expand("h[1:10:3]").unwrap(), ["h1", "h4", "h7", "h10"]);
        assert_eq!(expand("h[:2].x").unwrap(), ["h0.x", "h1.x", "h2.x"]);
    }

    #[test]
    fn letter_and_nested_ranges() {
        assert_eq!(expand("db[a:c]").unwrap(), ["dba", "dbb", "dbc"]);
        assert_eq!(expand("r[1:2]n[a:b]").unwrap(), ["r1na", "r1nb", "r2na", "r2nb"]);
    }

    #[test]
    fn bad_ranges_are_errors() {
        assert!(expand("h[01:3]").is_err());
        assert!(expand("h[1]").is_err());
        assert!(expand("h[1:]").is_err());
        assert!(expand("h[c:a]").is_err());
    }

    #[test]
    fn huge_ranges_are_errors_not_aborts() {
        let e = expand("h[0:18446744073709551615]").unwrap_err();
        assert!(e.contains("more than 1000000 hosts"), "{e}");
        // Nested ranges multiply: 1,001 x 1,000 names is over the limit too.
        assert!(expand("a[0:1000]b[0:999]").unwrap_err().contains("more than"));
        assert_eq!(expand("h[0:999999]").map(|v| v.len()), Ok(1_000_000));
    }

    #[test]
    fn addresses_with_ports() {
        assert_eq!(parse_address("h1:2222", false), Some(("h1".into(), Some(2222))));
        assert_eq!(parse_address("10.0.0.1:22", false), Some(("10.0.0.1".into(), Some(22))));
        assert_eq!(parse_address("[::1]:22", false), Some(("::1".into(), Some(22))));
        assert_eq!(parse_address("fe80::1", false), Some(("fe80::1".into(), None)));
        assert_eq!(parse_address("web[01:03]:8080", true), Some(("web[01:03]".into(), Some(8080))));
        assert_eq!(parse_address("web[01:03]", false), None);
        assert_eq!(parse_address("db?x", true), None);
        assert_eq!(parse_address("bad_:22", true), None);
    }
}
