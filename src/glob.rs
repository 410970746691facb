//! Shell-style globs as Python's `fnmatch` reads them: `*`, `?`, `[seq]`, `[!seq]` (an unclosed
//! `[` is literal). One reader, two outputs: a Rust regex for matching on the controller (host
//! patterns, package and fact names, `with_fileglob`), a POSIX extended regex for `grep -E` on
//! the target.

/// One piece of a glob.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// `*`
    Any,
    /// `?`
    One,
    /// `[...]`: the characters (with `a-z` ranges kept as written) and whether negated.
    Class {
        negate: bool,
        body: Vec<char>,
    },
    Literal(char),
}

fn parts(glob: &str) -> Vec<Part> {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push(Part::Any),
            '?' => out.push(Part::One),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push(Part::Literal('['));
                    continue;
                }
                let (negate, body) = match chars[i..j].split_first() {
                    Some(('!', rest)) => (true, rest.to_vec()),
                    _ => (false, chars[i..j].to_vec()),
                };
                i = j + 1;
                out.push(Part::Class { negate, body });
            }
            c => out.push(Part::Literal(c)),
        }
    }
    out
}

/// The class body as (lo, hi) ranges; a single character is a range of one.
fn ranges(body: &[char]) -> Vec<(char, char)> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < body.len() {
        if k + 2 < body.len() && body[k + 1] == '-' {
            if body[k] <= body[k + 2] {
                out.push((body[k], body[k + 2]));
            }
            k += 3;
        } else {
            out.push((body[k], body[k]));
            k += 1;
        }
    }
    out
}

/// The glob as an unanchored Rust regex (Python's `fnmatch.translate` without the anchors).
pub fn to_regex(glob: &str) -> String {
    let hex = |c: char| if c.is_alphanumeric() { c.to_string() } else { format!("\\x{{{:x}}}", c as u32) };
    let mut out = String::new();
    for part in parts(glob) {
        match part {
            Part::Any => out.push_str(".*"),
            Part::One => out.push('.'),
            Part::Literal(c) => out.push_str(&regex::escape(&c.to_string())),
            Part::Class { negate, body } => {
                let ranges = ranges(&body);
                if ranges.is_empty() {
                    // An empty class matches nothing in Python.
                    out.push_str(if negate { "(?s:.)" } else { "[^\\s\\S]" });
                    continue;
                }
                out.push_str(if negate { "[^" } else { "[" });
                for (lo, hi) in ranges {
                    out.push_str(&hex(lo));
                    if lo != hi {
                        out.push('-');
                        out.push_str(&hex(hi));
                    }
                }
                out.push(']');
            }
        }
    }
    out
}

/// Whether all of `text` matches `glob`.
pub fn matches(glob: &str, text: &str) -> bool {
    regex::Regex::new(&format!("^(?s:{})$", to_regex(glob))).is_ok_and(|re| re.is_match(text))
}

/// The glob as an anchored POSIX extended regex, for `grep -E` on the target. Literal
/// punctuation goes in brackets (`[.]`), which every ERE reads the same way.
pub fn to_ere(glob: &str) -> String {
    let mut out = String::from("^");
    for part in parts(glob) {
        match part {
            Part::Any => out.push_str(".*"),
            Part::One => out.push('.'),
            Part::Literal(c) if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':') => out.push(c),
            Part::Literal('\\') => out.push_str("\\\\"),
            Part::Literal('^') => out.push_str("\\^"),
            Part::Literal(c) => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            Part::Class { negate, body } => {
                out.push_str(if negate { "[^" } else { "[" });
                // `]` first and `-` last are literal in a bracket expression.
                let mut body: Vec<char> = body;
                if let Some(p) = body.iter().position(|c| *c == ']') {
                    body.remove(p);
                    body.insert(0, ']');
                }
                out.extend(body);
                out.push(']');
            }
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_names_match() {
        assert!(matches("lib*-dev", "libssl-dev"));
        assert!(!matches("lib*-dev", "libssl-dev2"));
        assert!(matches("a.b?", "a.bc"));
        assert!(!matches("a.b", "aXb"));
        assert!(matches("h[!2]", "h1") && !matches("h[!2]", "h2"));
        assert!(matches("h[1-3]", "h2") && !matches("h[1-3]", "h4"));
        assert!(matches("db[:2]", "db:"));
        assert!(matches("a[", "a["), "an unclosed bracket is literal");
        assert!(matches("*.conf", "x\ny.conf"), "`*` crosses newlines, as in Python");
    }

    #[test]
    fn ere_for_the_target() {
        assert_eq!(to_ere("lib*-dev"), "^lib.*-dev$");
        assert_eq!(to_ere("a.b?"), "^a[.]b.$");
        assert_eq!(to_ere("g++"), "^g[+][+]$");
        assert_eq!(to_ere("h[!12]"), "^h[^12]$");
        let grep = |re: &str, name: &str| regex::Regex::new(re).unwrap().is_match(name);
        assert!(grep(&to_ere("g++-1?"), "g++-12") && !grep(&to_ere("g++-1?"), "gxx-12"));
    }
}
