//! Plain scalars resolved as YAML 1.1 (PyYAML, hence Ansible) resolves them.

use saphyr_parser::ScalarStyle;

use super::Kind;

/// Resolve a scalar the way YAML 1.1 (PyYAML, hence Ansible) does.
pub fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Kind {
    match tag {
        Some("!!str") | Some("tag:yaml.org,2002:str") => return Kind::Str(text.to_string()),
        Some("!unsafe") => return Kind::Str(unsafe_text(text)),
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Kind::Str(text.to_string());
    }
    resolve_plain(text)
}

/// `!unsafe` text is never templated and is no expression (Ansible 2.19's untrusted data): it
/// is kept as a template that yields it as a string constant, which renders to the text itself
/// and, as a template result, is refused where an expression is wanted (`when`, `debug: var`).
///
/// The template holds no backslash: `escape_backslashes` (applied to templates from YAML) would
/// otherwise keep a Jinja escape as written. A quote is a constant of the other quote, a
/// backslash a raw block.
fn unsafe_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in text.split('\\').enumerate() {
        if i > 0 {
            out.push_str("{% raw %}\\{% endraw %}");
        }
        let mut terms = Vec::new();
        for (j, piece) in part.split('\'').enumerate() {
            if j > 0 {
                terms.push("\"'\"".to_string());
            }
            if !piece.is_empty() {
                terms.push(format!("'{piece}'"));
            }
        }
        if !terms.is_empty() {
            out.push_str(&format!("{{{{ {} }}}}", terms.join(" ~ ")));
        }
    }
    if out.is_empty() {
        out.push_str("{{ '' }}");
    }
    out
}

/// `text` as a Jinja string literal.
pub fn jinja_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '\'' => quoted.push_str("\\'"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c => quoted.push(c),
        }
    }
    format!("'{quoted}'")
}

/// Resolve an unquoted scalar: null, bool, int (decimal, 0o, 0x, 0b, legacy octal), float, string.
pub fn resolve_plain(t: &str) -> Kind {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Kind::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Kind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Kind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Kind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Kind::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(t) {
        return Kind::Int(i);
    }
    if is_float(t) {
        if let Ok(f) = t.replace('_', "").parse::<f64>() {
            return Kind::Float(f);
        }
    }
    Kind::Str(t.to_string())
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if body.is_empty() || !body.chars().next()?.is_ascii_digit() {
        return None;
    }
    let body = body.replace('_', "");
    let value = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = body.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        // YAML 1.1 legacy octal: 0644 is 420.
        i64::from_str_radix(&body[1..], 8).ok()?
    } else if body.chars().all(|c| c.is_ascii_digit()) {
        body.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -value } else { value })
}

fn is_float(t: &str) -> bool {
    let body = t.trim_start_matches(['-', '+']);
    let mut digits = false;
    let mut dot = false;
    let mut exp = false;
    let mut prev = ' ';
    for c in body.chars() {
        match c {
            '0'..='9' => digits = true,
            '_' => {}
            '.' if !dot && !exp => dot = true,
            'e' | 'E' if digits && !exp => exp = true,
            '+' | '-' if prev == 'e' || prev == 'E' => {}
            _ => return false,
        }
        prev = c;
    }
    digits && (dot || exp)
}
