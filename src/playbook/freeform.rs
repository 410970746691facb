//! Free-form module arguments (`copy: src=a dest="b c"`), split the way Ansible's
//! `split_args`/`parse_kv` do: on spaces, but never inside quotes or `{{ }}`/`{% %}`/`{# #}`.

use crate::value::{Map, Value};

/// Modules whose free-form text is a command: only these keys are pulled out of it.
pub const COMMAND_MODULES: &[&str] = &["command", "shell", "raw", "script"];
const COMMAND_KEYS: &[&str] =
    &["creates", "removes", "chdir", "executable", "warn", "stdin", "stdin_add_newline", "strip_empty_ends"];

/// Split an argument string into words, keeping quoted and templated parts together.
pub fn split_args(args: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    let mut quote: Option<char> = None;
    let (mut print, mut block, mut comment) = (0usize, 0usize, 0usize);
    let lines: Vec<&str> = args.split('\n').collect();
    for (line_idx, line) in lines.iter().enumerate() {
        let mut continuation = false;
        for (idx, token) in line.split(' ').enumerate() {
            if token.is_empty() && idx != 0 {
                match params.last_mut() {
                    Some(last) => last.push(' '),
                    None => params.push(" ".into()),
                }
                continue;
            }
            let was_quoted = quote.is_some();
            if token == "\\" && !was_quoted {
                continuation = true;
                continue;
            }
            quote = quote_state(token, quote);
            let quoted = quote.is_some();
            let nested = print > 0 || block > 0 || comment > 0;
            let mut appended = false;
            if quoted && !was_quoted && !nested {
                params.push(token.to_string());
                appended = true;
            } else if nested || quoted || was_quoted {
                if let Some(last) = params.last_mut() {
                    if idx > 0 {
                        last.push(' ');
                    }
                    last.push_str(token);
                } else {
                    params.push(token.to_string());
                }
                appended = true;
            }
            for (depth, open, close) in [(&mut print, "{{", "}}"), (&mut block, "{%", "%}"), (&mut comment, "{#", "#}")]
            {
                let before = *depth;
                let opened = token.matches(open).count();
                let closed = token.matches(close).count();
                if opened != closed {
                    *depth = (before + opened).saturating_sub(closed);
                }
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            if print == 0 && block == 0 && comment == 0 && quote.is_none() && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && line_idx != lines.len() - 1 && !continuation {
            match params.last_mut() {
                Some(last) => last.push('\n'),
                None => params.push("\n".into()),
            }
        }
    }
    if print > 0 || block > 0 || comment > 0 || quote.is_some() {
        return Err(format!("unbalanced quotes or template braces in arguments: {args}"));
    }
    Ok(params)
}

/// The open quote after scanning `token`, starting from `quote`.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() > 1 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 2] != b'\\' {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Python-style single-character escapes, as Ansible decodes them in `k=v` words.
fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.peek() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('\\') => '\\',
            Some('\'') => '\'',
            Some('"') => '"',
            _ => {
                out.push('\\');
                continue;
            }
        };
        chars.next();
        out.push(decoded);
    }
    out
}

/// Parse `k=v` words into a mapping; the other words join into `_raw_params`.
/// For command modules only their own options are taken out of the text.
pub fn parse_kv(args: &str, command: bool) -> Result<Map, String> {
    let mut options = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for word in split_args(args)? {
        let decoded = decode_escapes(&word);
        // The first `=` not preceded by a backslash (and not at position 0) splits key and value.
        let split = decoded.char_indices().skip(1).find(|&(i, c)| c == '=' && decoded.as_bytes()[i - 1] != b'\\');
        let Some((pos, _)) = split else {
            raw.push(if decoded.contains('=') { decoded.replace("\\=", "=") } else { word });
            continue;
        };
        let key = &decoded[..pos];
        if command && !COMMAND_KEYS.contains(&key) {
            raw.push(word);
        } else {
            options.insert(key.trim().to_string(), Value::String(unquote(decoded[pos + 1..].trim()).to_string()));
        }
    }
    if !raw.is_empty() {
        let mut joined = String::new();
        for part in raw {
            if !joined.is_empty() && !joined.ends_with('\n') {
                joined.push(' ');
            }
            joined.push_str(&part);
        }
        options.insert("_raw_params".into(), Value::String(joined));
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_spaces_but_not_inside_quotes_or_templates() {
        assert_eq!(split_args("a=b c=\"foo bar\"").unwrap(), vec!["a=b", "c=\"foo bar\""]);
        assert_eq!(split_args("msg={{ a | default('x y') }} z").unwrap(), vec!["msg={{ a | default('x y') }}", "z"]);
        assert!(split_args("a=\"open").is_err());
    }

    #[test]
    fn command_keeps_unknown_kv_in_the_command() {
        let m = parse_kv("echo hi a=b chdir=/tmp creates=/x", true).unwrap();
        assert_eq!(m["_raw_params"], "echo hi a=b");
        assert_eq!(m["chdir"], "/tmp");
        assert_eq!(m["creates"], "/x");
    }

    #[test]
    fn other_modules_take_every_kv_as_strings() {
        let m = parse_kv("path=/a mode=0644 owner=\"x y\"", false).unwrap();
        assert_eq!(m["path"], "/a");
        assert_eq!(m["mode"], "0644");
        assert_eq!(m["owner"], "x y");
        assert!(m.get("_raw_params").is_none());
    }

    #[test]
    fn bare_words_become_raw_params() {
        let m = parse_kv("tasks/setup.yml", false).unwrap();
        assert_eq!(m["_raw_params"], "tasks/setup.yml");
        let m = parse_kv("msg=\"a=b\" x\\=y", false).unwrap();
        assert_eq!(m["msg"], "a=b");
        assert_eq!(m["_raw_params"], "x=y");
    }
}
