//! JSON text the way Python's `json.dumps` writes it (Ansible's `to_json`/`to_nice_json`):
//! `", "`/`": "` separators, ASCII-only output, Python float spelling.

use super::pyrepr::py_float;
use crate::value::Value;

/// Options of `json.dumps` that Ansible users pass.
#[derive(Debug, Clone, Copy)]
pub struct JsonStyle {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
}

pub fn dumps(v: &Value, style: JsonStyle) -> String {
    let mut out = String::new();
    write(v, style, 0, &mut out);
    out
}

fn newline(style: JsonStyle, depth: usize, out: &mut String) {
    if let Some(n) = style.indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * depth));
    }
}

fn write(v: &Value, style: JsonStyle, depth: usize, out: &mut String) {
    let item_sep = if style.indent.is_some() { "," } else { ", " };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&py_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_str(s, style.ensure_ascii, out),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(style, depth + 1, out);
                write(item, style, depth + 1, out);
            }
            newline(style, depth, out);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if style.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(style, depth + 1, out);
                write_str(k, style.ensure_ascii, out);
                out.push_str(": ");
                write(item, style, depth + 1, out);
            }
            newline(style, depth, out);
            out.push('}');
        }
    }
}

fn write_str(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && c as u32 > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMPACT: JsonStyle = JsonStyle { indent: None, sort_keys: false, ensure_ascii: true };

    #[test]
    fn compact_uses_python_separators() {
        let v = json!({"b": 1, "a": [1, 2.0, null], "s": "é\n"});
        assert_eq!(dumps(&v, COMPACT), r#"{"b": 1, "a": [1, 2.0, null], "s": "\u00e9\n"}"#);
    }

    #[test]
    fn indented_sorted() {
        let v = json!({"b": 1, "a": [], "c": {"x": [1]}});
        let style = JsonStyle { indent: Some(4), sort_keys: true, ensure_ascii: true };
        assert_eq!(
            dumps(&v, style),
            "{\n    \"a\": [],\n    \"b\": 1,\n    \"c\": {\n        \"x\": [\n            1\n        ]\n    }\n}"
        );
    }

    #[test]
    fn astral_chars_become_surrogate_pairs() {
        assert_eq!(dumps(&json!("😀"), COMPACT), r#""\ud83d\ude00""#);
    }
}
