//! String filters: regular expressions, base64, hashes, shell quoting, comments, paths.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error};
use regex::{Regex, RegexBuilder};
use sha1::Digest;

use super::convert::{fail, require_defined, to_data};
use crate::value::pyrepr::py_str;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("hash", hash);
    env.add_filter("checksum", |v: Value| hash_text("checksum", &v, "sha1"));
    env.add_filter("sha1", |v: Value| hash_text("sha1", &v, "sha1"));
    env.add_filter("md5", |v: Value| hash_text("md5", &v, "md5"));
    env.add_filter("quote", quote);
    env.add_filter("comment", comment);
    env.add_filter("basename", |v: Value| path_filter("basename", &v, |p| basename(p).to_string()));
    env.add_filter("dirname", |v: Value| path_filter("dirname", &v, dirname));
    env.add_filter("expanduser", |v: Value| path_filter("expanduser", &v, expanduser));
    env.add_filter("realpath", |v: Value| path_filter("realpath", &v, realpath));
    env.add_filter("splitext", splitext);
    env.add_filter("path_join", path_join);
}

/// A filter's input as text, the way Python's `to_text` / `str()` would give it.
pub fn text_of(name: &str, v: &Value) -> Result<String, Error> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_string());
    }
    Ok(py_str(&to_data(name, v)?))
}

/// Compile a Python regular expression with Ansible's `ignorecase`/`multiline` flags.
pub fn compile(name: &str, pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    RegexBuilder::new(pattern).case_insensitive(ignorecase).multi_line(multiline).build().map_err(|e| {
        let hint = if pattern.contains("(?=") || pattern.contains("(?!") || pattern.contains("(?<") {
            " (look-around assertions are not supported)"
        } else {
            ""
        };
        fail(name, format!("invalid regular expression '{pattern}'{hint}: {}", python_regex_error(&e)))
    })
}

/// A `regex` error as Python's `re` words it (the part users and tests match on), then the
/// regex crate's own explanation.
pub fn python_regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let python = [
        ("repetition operator missing expression", "nothing to repeat"),
        ("unclosed group", "missing ), unterminated subpattern"),
        ("unopened group", "unbalanced parenthesis"),
        ("unclosed character class", "unterminated character set"),
    ]
    .iter()
    .find(|(ours, _)| text.contains(ours))
    .map(|(_, py)| *py);
    match python {
        Some(py) => format!("{py}: {text}"),
        None => text,
    }
}

/// A compiled pattern for a yes/no match: the `regex` crate when it can, `fancy-regex` for the
/// look-around and back-references Python has and `regex` lacks.
pub enum Matcher {
    Fast(Regex),
    Fancy(Box<fancy_regex::Regex>),
}

impl Matcher {
    pub fn new(name: &str, pattern: &str, ignorecase: bool, multiline: bool) -> Result<Matcher, Error> {
        match compile(name, pattern, ignorecase, multiline) {
            Ok(re) => Ok(Matcher::Fast(re)),
            Err(first) => {
                let flags = format!("{}{}", if ignorecase { "i" } else { "" }, if multiline { "m" } else { "" });
                let full = if flags.is_empty() { pattern.to_string() } else { format!("(?{flags}){pattern}") };
                fancy_regex::Regex::new(&full).map(|re| Matcher::Fancy(Box::new(re))).map_err(|_| first)
            }
        }
    }

    pub fn is_match(&self, text: &str) -> Result<bool, Error> {
        match self {
            Matcher::Fast(re) => Ok(re.is_match(text)),
            Matcher::Fancy(re) => re.is_match(text).map_err(|e| fail("regex", format!("matching failed: {e}"))),
        }
    }
}

fn flag(name: &str, kwargs: &Kwargs, key: &str) -> Result<bool, Error> {
    let v: Option<Value> = kwargs.get(key)?;
    match v {
        None => Ok(false),
        Some(v) => Ok(crate::value::to_bool(&to_data(name, &v)?).unwrap_or(v.is_true())),
    }
}

/// Python replacement syntax (`\1`, `\g<name>`, `\n`) → the regex crate's (`${1}`, `$$`).
fn replacement(name: &str, repl: &str) -> Result<String, Error> {
    let mut out = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = d.to_string();
                    if let Some(d2) = chars.peek().copied().filter(char::is_ascii_digit) {
                        num.push(d2);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    if chars.next() != Some('<') {
                        return Err(fail(name, "bad group reference in replacement: expected \\g<name>"));
                    }
                    let group: String = chars.by_ref().take_while(|c| *c != '>').collect();
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

fn regex_replace(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "regex_replace";
    let text = text_of(NAME, &value)?;
    let arg = |i: usize, key: &str| -> Result<String, Error> {
        match args.get(i) {
            Some(v) => text_of(NAME, v),
            None => Ok(kwargs.get::<Option<String>>(key)?.unwrap_or_default()),
        }
    };
    let pattern = arg(0, "pattern")?;
    let repl = replacement(NAME, &arg(1, "replacement")?)?;
    let re = compile(NAME, &pattern, flag(NAME, &kwargs, "ignorecase")?, flag(NAME, &kwargs, "multiline")?)?;
    let count: usize = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    let mandatory: usize = kwargs.get::<Option<usize>>("mandatory_count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let found = if count == 0 { re.find_iter(&text).count() } else { re.find_iter(&text).take(count).count() };
    if mandatory != 0 && mandatory != found {
        return Err(fail(NAME, format!("'{pattern}' should match {mandatory} times, but matches {found} times")));
    }
    Ok(re.replacen(&text, count, repl.as_str()).into_owned())
}

fn regex_search(value: Value, regex: String, groups: Rest<String>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "regex_search";
    let text = text_of(NAME, &value)?;
    let re = compile(NAME, &regex, flag(NAME, &kwargs, "ignorecase")?, flag(NAME, &kwargs, "multiline")?)?;
    kwargs.assert_all_used()?;
    let Some(caps) = re.captures(&text) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let m = if let Some(named) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            match named.parse::<usize>() {
                Ok(i) => caps.get(i),
                Err(_) => caps.name(named),
            }
        } else if let Some(Ok(i)) = g.strip_prefix('\\').map(str::parse::<usize>) {
            if i >= caps.len() {
                return Err(fail(NAME, format!("no group {i} in '{regex}'")));
            }
            caps.get(i)
        } else {
            return Err(fail(NAME, format!("unknown argument '{g}'; use '\\1' or '\\g<name>' to pick groups")));
        };
        out.push(m.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

fn regex_findall(value: Value, regex: String, kwargs: Kwargs) -> Result<Value, Error> {
    const NAME: &str = "regex_findall";
    let text = text_of(NAME, &value)?;
    let re = compile(NAME, &regex, flag(NAME, &kwargs, "ignorecase")?, flag(NAME, &kwargs, "multiline")?)?;
    kwargs.assert_all_used()?;
    let groups = re.captures_len() - 1;
    let found = re.captures_iter(&text).map(|caps| {
        let group = |i: usize| Value::from(caps.get(i).map_or("", |m| m.as_str()));
        match groups {
            0 => group(0),
            1 => group(1),
            n => Value::from((1..=n).map(group).collect::<Vec<_>>()),
        }
    });
    Ok(Value::from(found.collect::<Vec<_>>()))
}

fn regex_escape(value: Value, re_type: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "regex_escape";
    let re_type = match re_type {
        Some(t) => Some(t),
        None => kwargs.get::<Option<String>>("re_type")?,
    };
    kwargs.assert_all_used()?;
    let text = text_of(NAME, &value)?;
    let special: &str = match re_type.as_deref().unwrap_or("python") {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\u{0b}\u{0c}",
        "posix_basic" => "].[^$*\\",
        "posix_extended" => return Err(fail(NAME, "Regex type (posix_extended) not yet implemented")),
        other => return Err(fail(NAME, format!("Invalid regex type ({other})"))),
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

fn b64_engine(urlsafe: bool) -> GeneralPurpose {
    let config = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(if urlsafe { &alphabet::URL_SAFE } else { &alphabet::STANDARD }, config)
}

/// The text encodings `b64encode`/`b64decode` take (Python's codec names).
#[derive(Clone, Copy)]
enum Codec {
    Utf8,
    Utf16Le,
    Utf16Be,
    Latin1,
}

fn b64_options(name: &str, kwargs: &Kwargs) -> Result<(bool, Codec), Error> {
    let codec = match kwargs.get::<Option<String>>("encoding")? {
        None => Codec::Utf8,
        Some(enc) => match enc.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Codec::Utf8,
            "utf-16-le" | "utf-16le" => Codec::Utf16Le,
            "utf-16-be" | "utf-16be" => Codec::Utf16Be,
            "latin-1" | "latin1" | "iso-8859-1" => Codec::Latin1,
            _ => {
                return Err(fail(
                    name,
                    format!("encoding '{enc}' is not supported yet (utf-8, utf-16-le, utf-16-be and latin-1 are)"),
                ))
            }
        },
    };
    let urlsafe = kwargs.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    Ok((urlsafe, codec))
}

fn b64encode(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "b64encode";
    let text = text_of(NAME, &value)?;
    let (urlsafe, codec) = b64_options(NAME, &kwargs)?;
    let bytes: Vec<u8> = match codec {
        Codec::Utf8 => text.into_bytes(),
        Codec::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Codec::Utf16Be => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Codec::Latin1 => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).map_err(|_| fail(NAME, format!("'latin-1' codec can't encode {c:?}"))))
            .collect::<Result<_, _>>()?,
    };
    Ok(b64_engine(urlsafe).encode(bytes))
}

fn b64decode(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "b64decode";
    let text = text_of(NAME, &value)?;
    let (urlsafe, codec) = b64_options(NAME, &kwargs)?;
    // Python's b64decode drops characters outside the alphabet (newlines in PEM-like input).
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = b64_engine(urlsafe)
        .decode(cleaned.as_bytes())
        .map_err(|e| fail(NAME, format!("input is not valid base64: {e}")))?;
    let units = |be: bool| -> Vec<u16> {
        bytes
            .chunks(2)
            .map(|c| {
                if be {
                    u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])
                } else {
                    u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)])
                }
            })
            .collect()
    };
    match codec {
        Codec::Utf8 => String::from_utf8(bytes).map_err(|_| fail(NAME, "decoded data is not UTF-8 text")),
        Codec::Utf16Le | Codec::Utf16Be => String::from_utf16(&units(matches!(codec, Codec::Utf16Be)))
            .map_err(|_| fail(NAME, "decoded data is not UTF-16 text")),
        Codec::Latin1 => Ok(bytes.iter().map(|b| char::from(*b)).collect()),
    }
}

fn digest(name: &str, data: &[u8], algo: &str) -> Result<String, Error> {
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    Ok(match algo {
        "md5" => hex(&md5::Md5::digest(data)),
        "sha1" => hex(&sha1::Sha1::digest(data)),
        "sha224" => hex(&sha2::Sha224::digest(data)),
        "sha256" => hex(&sha2::Sha256::digest(data)),
        "sha384" => hex(&sha2::Sha384::digest(data)),
        "sha512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(fail(
                name,
                format!("unsupported hash type {other} (troupe has md5, sha1, sha224, sha256, sha384 and sha512)"),
            ))
        }
    })
}

fn hash_text(name: &str, v: &Value, algo: &str) -> Result<String, Error> {
    digest(name, text_of(name, v)?.as_bytes(), algo)
}

fn hash(value: Value, algo: Option<String>) -> Result<String, Error> {
    hash_text("hash", &value, algo.as_deref().unwrap_or("sha1"))
}

fn quote(value: Value) -> Result<String, Error> {
    require_defined("quote", &value)?;
    if value.is_none() {
        return Ok(crate::connection::quote(""));
    }
    Ok(crate::connection::quote(&text_of("quote", &value)?))
}

/// Ansible's `comment` filter: decorate each line of text as a comment in a given style.
fn comment(value: Value, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    const NAME: &str = "comment";
    let text = text_of(NAME, &value)?;
    let style = match style {
        Some(s) => s,
        None => kwargs.get::<Option<String>>("style")?.unwrap_or_else(|| "plain".into()),
    };
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            let shown = crate::value::pyrepr::py_str_repr(other);
            return Err(fail(NAME, format!("Invalid style {shown}. Available styles: plain, erlang, c, cblock, xml")));
        }
    };
    let get = |key: &str, default: &str| -> Result<String, Error> {
        Ok(kwargs.get::<Option<String>>(key)?.unwrap_or_else(|| default.to_string()))
    };
    let count = |key: &str| -> Result<usize, Error> { Ok(kwargs.get::<Option<usize>>(key)?.unwrap_or(1)) };
    // The prefix/postfix lines default to the trimmed decoration of the chosen style.
    let style_decoration = get("decoration", decoration)?;
    let prefix = get("prefix", style_decoration.trim_end())?;
    let postfix = get("postfix", style_decoration.trim_end())?;
    let newline = get("newline", "\n")?;
    let beginning = get("beginning", beginning)?;
    let end = get("end", end)?;
    let decoration = style_decoration;
    let (prefix_count, postfix_count) = (count("prefix_count")?, count("postfix_count")?);
    kwargs.assert_all_used()?;

    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        let line = if prefix != newline { format!("{prefix}{newline}") } else { newline.clone() };
        out.push_str(&line.repeat(prefix_count));
    }
    let body = format!("{decoration}{}", text.replace(&newline, &format!("{newline}{decoration}")));
    out.push_str(&body.replace(&format!("{decoration}{newline}"), &format!("{}{newline}", decoration.trim_end())));
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(out)
}

fn path_filter(name: &str, v: &Value, f: impl Fn(&str) -> String) -> Result<String, Error> {
    Ok(f(&text_of(name, v)?))
}

/// `os.path.realpath` on the controller: symbolic links resolved; a path that does not
/// exist is made absolute and normalized.
pub fn realpath(p: &str) -> String {
    if let Ok(real) = std::fs::canonicalize(p) {
        return real.display().to_string();
    }
    let base =
        if p.starts_with('/') { std::path::PathBuf::from("/") } else { std::env::current_dir().unwrap_or_default() };
    let mut parts: Vec<String> =
        base.components().filter_map(|c| c.as_os_str().to_str().filter(|s| *s != "/").map(String::from)).collect();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s.to_string()),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `os.path.basename`: everything after the last slash.
pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `os.path.dirname`: everything before the last slash, trailing slashes dropped.
pub fn dirname(p: &str) -> String {
    let head = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

/// `os.path.expanduser`: `~` and `~/x` from `$HOME`, `~user` from /etc/passwd.
pub fn expanduser(p: &str) -> String {
    let Some(rest) = p.strip_prefix('~') else {
        return p.to_string();
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var("HOME").ok()
    } else {
        std::fs::read_to_string("/etc/passwd").ok().and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.len() > 5 && fields[0] == user).then(|| fields[5].to_string())
            })
        })
    };
    match home {
        Some(h) if h == "/" && !tail.is_empty() => tail.to_string(),
        Some(h) => format!("{}{tail}", h.trim_end_matches('/')),
        None => p.to_string(),
    }
}

/// `os.path.splitext`: `[root, ext]`; leading dots of the file name are not an extension.
fn splitext(value: Value) -> Result<Value, Error> {
    let p = text_of("splitext", &value)?;
    let name_start = p.rfind('/').map_or(0, |i| i + 1);
    let name = &p[name_start..];
    let split = match name.rfind('.') {
        Some(i) if name[..i].chars().any(|c| c != '.') => name_start + i,
        _ => p.len(),
    };
    Ok(Value::from(vec![Value::from(&p[..split]), Value::from(&p[split..])]))
}

/// `os.path.join`: an absolute part restarts the path.
fn path_join(value: Value) -> Result<String, Error> {
    const NAME: &str = "path_join";
    require_defined(NAME, &value)?;
    let parts: Vec<String> = if let Some(s) = value.as_str() {
        vec![s.to_string()]
    } else if !matches!(value.kind(), minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Iterable) {
        let class = super::convert::python_class(&value);
        return Err(fail(NAME, format!("|path_join expects string or sequence, got {class} instead.")));
    } else {
        super::convert::items(NAME, &value)?.iter().map(|p| text_of(NAME, p)).collect::<Result<_, _>>()?
    };
    let mut out = String::new();
    for part in parts {
        if part.starts_with('/') {
            out = part;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&part);
        } else {
            out.push('/');
            out.push_str(&part);
        }
    }
    Ok(out)
}
