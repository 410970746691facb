//! URL filters: `urlsplit` (Python's `urllib.parse.urlsplit`), `urldecode` (`unquote_plus`) and
//! `urlencode` as Ansible defines it (strings keep `/`; mappings and pairs become a query string).

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error};

use super::convert::{fail, require_defined};
use super::text::text_of;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("urlsplit", urlsplit);
    env.add_filter("urldecode", urldecode);
    env.add_filter("urlencode", urlencode);
}

/// The parts of a URL, as Python's `SplitResult` gives them.
#[derive(Debug, PartialEq)]
pub struct UrlParts {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

const COMPONENTS: &[&str] =
    &["fragment", "hostname", "netloc", "password", "path", "port", "query", "scheme", "username"];

/// `urllib.parse.urlsplit`: scheme, `//netloc`, path, `?query`, `#fragment`.
pub fn split(url: &str) -> UrlParts {
    let mut rest = url;
    let mut scheme = String::new();
    if let Some(i) = rest.find(':') {
        let candidate = &rest[..i];
        let valid = candidate.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && candidate.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if valid {
            scheme = candidate.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    let mut netloc = String::new();
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = after[..end].to_string();
        rest = &after[end..];
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    UrlParts { scheme, netloc, path: path.into(), query: query.into(), fragment: fragment.into() }
}

impl UrlParts {
    fn userinfo(&self) -> Option<&str> {
        self.netloc.rsplit_once('@').map(|(u, _)| u)
    }

    fn hostinfo(&self) -> &str {
        self.netloc.rsplit_once('@').map_or(self.netloc.as_str(), |(_, h)| h)
    }

    /// `(hostname, port text)`; an IPv6 literal keeps its colons.
    fn host_port(&self) -> (&str, Option<&str>) {
        let h = self.hostinfo();
        if let Some(inner) = h.strip_prefix('[') {
            let (host, after) = inner.split_once(']').unwrap_or((inner, ""));
            return (host, after.strip_prefix(':'));
        }
        match h.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (h, None),
        }
    }

    /// One component by name (`port` is a number, absent ones are None); None for an unknown name.
    pub fn component(&self, name: &str) -> Option<Result<Value, String>> {
        let text = |s: &str| if s.is_empty() { Value::from(()) } else { Value::from(s) };
        Some(Ok(match name {
            "scheme" => Value::from(self.scheme.as_str()),
            "netloc" => Value::from(self.netloc.as_str()),
            "path" => Value::from(self.path.as_str()),
            "query" => Value::from(self.query.as_str()),
            "fragment" => Value::from(self.fragment.as_str()),
            "username" => self.userinfo().map_or(Value::from(()), |u| Value::from(u.split(':').next().unwrap_or(""))),
            "password" => {
                self.userinfo().and_then(|u| u.split_once(':')).map_or(Value::from(()), |(_, p)| Value::from(p))
            }
            "hostname" => text(&self.host_port().0.to_ascii_lowercase()),
            "port" => match self.host_port().1.filter(|p| !p.is_empty()) {
                None => Value::from(()),
                Some(p) => match p.parse::<u16>() {
                    Ok(n) => Value::from(n),
                    Err(_) => return Some(Err(format!("Port could not be cast to integer value as '{p}'"))),
                },
            },
            _ => return None,
        }))
    }
}

fn urlsplit(value: Value, query: Option<String>) -> Result<Value, Error> {
    const NAME: &str = "urlsplit";
    require_defined(NAME, &value)?;
    let parts = split(&text_of(NAME, &value)?);
    let get = |name: &str| match parts.component(name) {
        Some(r) => r.map_err(|e| fail(NAME, e)),
        None => Err(fail(NAME, format!("unknown URL component: {name}"))),
    };
    match query.as_deref() {
        Some(q) if !q.is_empty() => get(q),
        _ => COMPONENTS.iter().map(|c| Ok((*c, get(c)?))).collect::<Result<Vec<_>, Error>>().map(Value::from_iter),
    }
}

/// `unquote_plus`: `+` is a space, `%XX` a byte; invalid UTF-8 becomes U+FFFD.
pub fn unquote_plus(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && hex(bytes[i + 1]).is_some() && hex(bytes[i + 2]).is_some() => {
                out.push(hex(bytes[i + 1]).unwrap_or(0) * 16 + hex(bytes[i + 2]).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// `quote`: every byte but letters, digits, `_.-~` and those in `safe` as `%XX`.
pub fn quote(text: &str, safe: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.as_bytes().contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn urldecode(value: Value) -> Result<String, Error> {
    require_defined("urldecode", &value)?;
    Ok(unquote_plus(&text_of("urldecode", &value)?))
}

fn urlencode(value: Value) -> Result<String, Error> {
    const NAME: &str = "urlencode";
    require_defined(NAME, &value)?;
    let pair = |k: &Value, v: &Value| -> Result<String, Error> {
        // Query strings use `quote_plus`: a space is `+`.
        let plus = |t: String| quote(&t, " ").replace(' ', "+");
        Ok(format!("{}={}", plus(text_of(NAME, k)?), plus(text_of(NAME, v)?)))
    };
    match value.kind() {
        ValueKind::Map => {
            let mut parts = Vec::new();
            for k in value.try_iter()? {
                parts.push(pair(&k, &value.get_item(&k)?)?);
            }
            Ok(parts.join("&"))
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let mut parts = Vec::new();
            for item in value.try_iter()? {
                let (k, v) = (item.get_item(&Value::from(0))?, item.get_item(&Value::from(1))?);
                parts.push(pair(&k, &v)?);
            }
            Ok(parts.join("&"))
        }
        _ => Ok(quote(&text_of(NAME, &value)?, "/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_python() {
        let p = split("http://mary:MySecret@www.Acme.com:9000/dir/index.html?query=term#fragment");
        assert_eq!(p.scheme, "http");
        assert_eq!(p.netloc, "mary:MySecret@www.Acme.com:9000");
        assert_eq!(p.path, "/dir/index.html");
        assert_eq!(p.query, "query=term");
        assert_eq!(p.fragment, "fragment");
        let get = |n: &str| p.component(n).unwrap().unwrap();
        assert_eq!(get("hostname"), Value::from("www.acme.com"));
        assert_eq!(get("port"), Value::from(9000));
        assert_eq!(get("username"), Value::from("mary"));
        assert_eq!(get("password"), Value::from("MySecret"));
        assert!(p.component("bad").is_none());
        let bare = split("/just/a/path");
        assert_eq!((bare.scheme.as_str(), bare.path.as_str()), ("", "/just/a/path"));
        assert_eq!(bare.component("port").unwrap().unwrap(), Value::from(()));
        assert_eq!(split("http://[::1]:80/").component("hostname").unwrap().unwrap(), Value::from("::1"));
    }

    #[test]
    fn quoting_round_trips() {
        let text = "key=\"@{}é&%£ foo bar '(;\\<>\"\"°)";
        let encoded = quote(text, "/");
        assert_eq!(encoded, "key%3D%22%40%7B%7D%C3%A9%26%25%C2%A3%20foo%20bar%20%27%28%3B%5C%3C%3E%22%22%C2%B0%29");
        assert_eq!(unquote_plus(&encoded), text);
        assert_eq!(unquote_plus("a+b%2"), "a b%2");
    }
}
