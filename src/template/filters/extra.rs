//! Ansible's remaining everyday filters and globals: `json_query`, `strftime`, `now()`,
//! `undef()`, `product`, `relpath`, `to_uuid` and `password_hash`.

use std::path::{Component, Path, PathBuf};

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error};
use sha1::{Digest, Sha1};

use super::convert::{fail, from_data, items, require_defined, to_data};
use super::text::text_of;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("json_query", json_query);
    env.add_filter("community.general.json_query", json_query);
    env.add_filter("strftime", strftime);
    env.add_filter("product", product);
    env.add_filter("relpath", relpath);
    env.add_filter("to_uuid", to_uuid);
    env.add_filter("password_hash", password_hash);
    env.add_filter("to_datetime", to_datetime);
    env.add_function("now", now);
    env.add_function("undef", undef);
}

/// community.general's `json_query(expr)`: a JMESPath search (objects come back key-sorted).
fn json_query(value: Value, expr: String) -> Result<Value, Error> {
    let data = to_data("json_query", &value)?;
    let compiled = jmespath::compile(&expr).map_err(|e| fail("json_query", format!("bad JMESPath expression: {e}")))?;
    let found = compiled.search(data).map_err(|e| fail("json_query", e))?;
    let out = serde_json::to_value(&*found).map_err(|e| fail("json_query", e))?;
    Ok(from_data(&out))
}

/// `strftime(format, second=None, utc=False)`: Python's `time.strftime` of the local (or UTC)
/// time at `second` (now by default).
fn strftime(format: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let format = text_of("strftime", &format)?;
    let second = match args.first() {
        Some(s) => Some(s.clone()),
        None => kwargs.get::<Option<Value>>("second")?,
    };
    let utc = match args.get(1) {
        Some(u) => u.is_true(),
        None => kwargs.get::<Option<bool>>("utc")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let epoch = match second.filter(|s| !s.is_none()) {
        None => now_epoch(),
        Some(s) => {
            let text = text_of("strftime", &s)?;
            text.trim()
                .parse::<f64>()
                .map_err(|_| fail("strftime", format!("Invalid value for epoch value ({text})")))?
        }
    };
    clock::format(&format, epoch.floor() as i64, utc).map_err(|e| fail("strftime", e))
}

fn now_epoch() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The `now(utc=False, fmt=None)` global: with `fmt`, the formatted time; without, a datetime
/// (`.year`..`.microsecond`, `.strftime(fmt)`, `.isoformat()`, `.timestamp()`) that prints as
/// Python's `str(datetime)`: `2026-12-02 16:07:01.123456`.
fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc = kwargs.get::<Option<bool>>("utc")?.unwrap_or(false);
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let now = DateTime { epoch: now_epoch(), utc };
    match fmt {
        Some(f) => now.format(&f).map(Value::from),
        None => Ok(Value::from_object(now)),
    }
}

/// `datetime.strftime` knows `%f` (microseconds, 6 digits), which `time.strftime` does not:
/// it is filled in here, before the rest is formatted (`%%f` stays a literal `%f`).
fn with_micros(fmt: &str, micros: u32) -> String {
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('%', Some('f')) => {
                chars.next();
                out.push_str(&format!("{micros:06}"));
            }
            ('%', Some(next)) => {
                chars.next();
                out.push('%');
                out.push(next);
            }
            _ => out.push(c),
        }
    }
    out
}

/// `to_datetime(format='%Y-%m-%d %H:%M:%S')`: Python's `datetime.strptime` (a naive time).
fn to_datetime(value: Value, format: Option<String>) -> Result<Value, Error> {
    let text = text_of("to_datetime", &value)?;
    let format = format.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".into());
    let secs = clock::parse(&text, &format).map_err(|e| fail("to_datetime", e))?;
    Ok(Value::from_object(DateTime { epoch: secs as f64, utc: true }))
}

/// A point in time, local or UTC, as Python's `datetime` shows it.
#[derive(Debug)]
struct DateTime {
    epoch: f64,
    utc: bool,
}

impl DateTime {
    fn secs(&self) -> i64 {
        self.epoch.floor() as i64
    }
    fn micros(&self) -> u32 {
        ((self.epoch - self.epoch.floor()) * 1e6) as u32
    }
    fn format(&self, fmt: &str) -> Result<String, Error> {
        clock::format(&with_micros(fmt, self.micros()), self.secs(), self.utc).map_err(|e| fail("now", e))
    }
    fn field(&self, code: &str) -> Option<i64> {
        self.format(code).ok()?.trim().parse().ok()
    }
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let base = self.format("%Y-%m-%d %H:%M:%S").map_err(|_| std::fmt::Error)?;
        match self.micros() {
            0 => write!(f, "{base}"),
            us => write!(f, "{base}.{us:06}"),
        }
    }
}

impl minijinja::value::Object for DateTime {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        let code = match key.as_str()? {
            "year" => "%Y",
            "month" => "%m",
            "day" => "%d",
            "hour" => "%H",
            "minute" => "%M",
            "second" => "%S",
            "microsecond" => return Some(Value::from(self.micros())),
            _ => return None,
        };
        self.field(code).map(Value::from)
    }

    fn call_method(
        self: &std::sync::Arc<Self>,
        _state: &minijinja::State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (method, args) {
            ("strftime", [fmt]) => Ok(Value::from(self.format(&text_of("strftime", fmt)?)?)),
            ("isoformat", []) => Ok(Value::from(self.to_string().replacen(' ', "T", 1))),
            ("timestamp", []) => Ok(Value::from(self.epoch)),
            ("strftime" | "isoformat" | "timestamp", _) => Err(fail(method, "wrong number of arguments")),
            _ => Err(Error::new(minijinja::ErrorKind::UnknownMethod, format!("datetime has no method {method}"))),
        }
    }

    fn render(self: &std::sync::Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&**self, f)
    }

    fn custom_cmp(self: &std::sync::Arc<Self>, other: &minijinja::value::DynObject) -> Option<std::cmp::Ordering> {
        let other = other.downcast_ref::<Self>()?;
        self.epoch.partial_cmp(&other.epoch)
    }
}

/// The `undef(hint=None)` global: an undefined value (`is defined` is false; an error once
/// used, which gives the hint, or Ansible's "Mandatory variable has not been overridden").
fn undef(hint: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let hint = match hint {
        Some(h) => Some(h),
        None => kwargs.get::<Option<Value>>("hint")?,
    };
    kwargs.assert_all_used()?;
    let text = match hint.filter(|h| !h.is_none()) {
        Some(h) => text_of("undef", &h)?,
        None => "Mandatory variable has not been overridden".into(),
    };
    crate::template::set_undef_hint(text);
    Ok(Value::UNDEFINED)
}

/// `product(*lists, repeat=1)`: the cartesian product, as a list of lists.
fn product(first: Value, rest: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let repeat = kwargs.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let mut pools = vec![items("product", &first)?];
    for v in rest.iter() {
        pools.push(items("product", v)?);
    }
    if pools.iter().any(Vec::is_empty) {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    if repeat.saturating_mul(pools.len()) > 10_000 {
        return Err(fail("product", format!("repeat={repeat} makes more than 10000 lists to combine")));
    }
    let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| pools.iter().cloned()).collect();
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in &pools {
        let size = out.len().saturating_mul(pool.len());
        if size > 1_000_000 {
            return Err(fail("product", "the product has more than 1000000 items"));
        }
        out = out
            .iter()
            .flat_map(|prefix| pool.iter().map(move |x| [prefix.clone(), vec![x.clone()]].concat()))
            .collect();
    }
    Ok(Value::from(out.into_iter().map(Value::from).collect::<Vec<_>>()))
}

/// Python's `os.path.abspath` (no symlinks resolved).
fn abspath(path: &str) -> PathBuf {
    let p = Path::new(path);
    let joined = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// `relpath(start=cwd)`: Python's `os.path.relpath`.
fn relpath(path: Value, start: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let path = text_of("relpath", &path)?;
    let start = start.or(kwargs.get("start")?);
    kwargs.assert_all_used()?;
    if path.is_empty() {
        return Err(fail("relpath", "no path specified"));
    }
    let (p, s) = (abspath(&path), abspath(start.as_deref().unwrap_or(".")));
    let (pc, sc): (Vec<_>, Vec<_>) = (p.components().collect(), s.components().collect());
    let common = pc.iter().zip(&sc).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); sc.len() - common];
    parts.extend(pc[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    Ok(if parts.is_empty() { ".".into() } else { parts.join("/") })
}

/// Ansible's namespace for `to_uuid`.
const UUID_NAMESPACE_ANSIBLE: &str = "361E6D51-FAEC-444A-9079-341386DA8E2E";

/// `to_uuid(namespace=...)`: a version-5 UUID of the text.
fn to_uuid(value: Value, namespace: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    require_defined("to_uuid", &value)?;
    let namespace = namespace.or(kwargs.get("namespace")?);
    kwargs.assert_all_used()?;
    let name = text_of("to_uuid", &value)?;
    let ns = match namespace {
        None => UUID_NAMESPACE_ANSIBLE.to_string(),
        Some(v) => match v.as_str() {
            Some(s) => s.to_string(),
            None => {
                let why = format!("'{}' object has no attribute 'replace'", super::convert::type_name(&v));
                return Err(fail("to_uuid", format!("Invalid value '{v}' for 'namespace': {why}")));
            }
        },
    };
    let hex: String = ns.trim_start_matches("urn:uuid:").chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(fail(
            "to_uuid",
            format!("Invalid value '{ns}' for 'namespace': badly formed hexadecimal UUID string"),
        ));
    }
    let ns_bytes: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
    let mut h = Sha1::new();
    h.update(&ns_bytes);
    h.update(name.as_bytes());
    let mut b = h.finalize()[..16].to_vec();
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x: String = b.iter().map(|v| format!("{v:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..]))
}

const SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `password_hash(hashtype='sha512', salt=None, rounds=None)`: sha512/sha256 crypt, as
/// passlib computes it (5000 rounds unless given; a salt longer than 16 is cut).
fn password_hash(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    require_defined("password_hash", &value)?;
    let password = text_of("password_hash", &value)?;
    let arg = |i: usize, key: &str| -> Result<Option<Value>, Error> {
        Ok(args.get(i).cloned().or(kwargs.get::<Option<Value>>(key)?).filter(|v| !v.is_none()))
    };
    let hashtype = arg(0, "hashtype")?.map(|v| text_of("password_hash", &v)).transpose()?.unwrap_or("sha512".into());
    let salt = arg(1, "salt")?.map(|v| text_of("password_hash", &v)).transpose()?;
    let int = |v: Value, what: &str| {
        usize::try_from(v).map_err(|_| fail("password_hash", format!("{what} must be an integer")))
    };
    let salt_size = arg(2, "salt_size")?.map(|v| int(v, "salt_size")).transpose()?.unwrap_or(16);
    let rounds = arg(3, "rounds")?.map(|v| int(v, "rounds")).transpose()?;
    let _ident: Option<String> = kwargs.get("ident")?;
    kwargs.assert_all_used()?;
    let salt = match salt {
        Some(s) => s,
        None => {
            use rand::Rng;
            let mut rng = rand::rng();
            (0..salt_size.clamp(1, 16)).map(|_| SALT_CHARS[rng.random_range(0..SALT_CHARS.len())] as char).collect()
        }
    };
    if let Some(bad) = salt.chars().find(|c| !SALT_CHARS.contains(&(*c as u8)) || !c.is_ascii()) {
        return Err(fail("password_hash", format!("invalid character {bad:?} in salt (allowed: ./0-9A-Za-z)")));
    }
    let salt: String = salt.chars().take(16).collect();
    let n = rounds.unwrap_or(5000);
    let bad_rounds = |e| {
        fail("password_hash", format!("Could not hash the secret. (rounds {n} is out of range 1000..999999999: {e:?})"))
    };
    let (ident, hash) = match hashtype.as_str() {
        "sha512" | "sha512_crypt" => {
            let params = sha_crypt::Sha512Params::new(n).map_err(bad_rounds)?;
            ("6", sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &params))
        }
        "sha256" | "sha256_crypt" => {
            let params = sha_crypt::Sha256Params::new(n).map_err(bad_rounds)?;
            ("5", sha_crypt::sha256_crypt_b64(password.as_bytes(), salt.as_bytes(), &params))
        }
        "md5" | "md5_crypt" | "blowfish" | "bcrypt" => {
            return Err(fail(
                "password_hash",
                format!("hash type '{hashtype}' is not supported yet (sha512 and sha256 are)"),
            ))
        }
        other => {
            return Err(fail(
                "password_hash",
                format!("{other} is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512"),
            ))
        }
    };
    let hash = hash.map_err(|e| fail("password_hash", format!("{e:?}")))?;
    Ok(match rounds {
        Some(r) if r != 5000 => format!("${ident}$rounds={r}${salt}${hash}"),
        _ => format!("${ident}${salt}${hash}"),
    })
}

/// C's `strftime` of the broken-down local or UTC time, as Python's `time.strftime` calls it.
mod clock {
    /// C's `strptime` of the whole text, read as UTC: seconds since the epoch.
    pub fn parse(text: &str, fmt: &str) -> Result<i64, String> {
        let mismatch = || format!("time data '{text}' does not match format '{fmt}'");
        let ctext = std::ffi::CString::new(text).map_err(|_| mismatch())?;
        let cfmt = std::ffi::CString::new(fmt).map_err(|_| mismatch())?;
        // SAFETY: `tm` is plain data that strptime fills in.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        tm.tm_mday = 1;
        // SAFETY: both strings are NUL-terminated and live; tm is a valid target.
        let end = unsafe { libc::strptime(ctext.as_ptr(), cfmt.as_ptr(), &mut tm) };
        if end.is_null() {
            return Err(mismatch());
        }
        // SAFETY: `end` points into `ctext`, at or before its NUL.
        let consumed = unsafe { end.offset_from(ctext.as_ptr()) } as usize;
        if consumed < text.len() {
            return Err(format!("unconverted data remains: {}", &text[consumed..]));
        }
        // SAFETY: tm was filled in by strptime.
        Ok(unsafe { libc::timegm(&mut tm) })
    }

    pub fn format(fmt: &str, secs: i64, utc: bool) -> Result<String, String> {
        if fmt.contains('\0') {
            return Err("the format contains a NUL byte".into());
        }
        let cfmt = std::ffi::CString::new(fmt).map_err(|e| e.to_string())?;
        let t: libc::time_t = secs;
        // SAFETY: `tm` is plain data that localtime_r/gmtime_r fill in; both only read `t`.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to a live time_t and a tm to fill in.
        let ok = unsafe {
            if utc {
                !libc::gmtime_r(&t, &mut tm).is_null()
            } else {
                !libc::localtime_r(&t, &mut tm).is_null()
            }
        };
        if !ok {
            return Err(format!("time {secs} is out of range"));
        }
        let mut size = 256usize.max(fmt.len() * 8);
        loop {
            let mut buf = vec![0u8; size];
            // SAFETY: buf has `size` bytes, cfmt is NUL-terminated, tm is initialised.
            let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), size, cfmt.as_ptr(), &tm) };
            if n > 0 || fmt.is_empty() {
                buf.truncate(n);
                return Ok(String::from_utf8_lossy(&buf).into_owned());
            }
            if size > 1 << 16 {
                // An empty result (e.g. "%p" in some locales) is legitimate.
                return Ok(String::new());
            }
            size *= 4;
        }
    }
}

#[cfg(test)]
#[path = "extra_tests.rs"]
mod tests;
