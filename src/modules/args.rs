//! Typed access to a module's arguments, with errors that name the argument and what it takes.

use crate::value::{to_bool, to_text, Map, Value};

use super::ModuleError;

/// A module's arguments, read by name.
pub struct Args<'a> {
    module: &'static str,
    map: &'a Map,
}

impl<'a> Args<'a> {
    pub fn new(module: &'static str, map: &'a Map) -> Args<'a> {
        Args { module, map }
    }

    pub fn map(&self) -> &'a Map {
        self.map
    }

    /// An `Args` error prefixed with the module name.
    pub fn error(&self, msg: impl std::fmt::Display) -> ModuleError {
        ModuleError::Args(format!("{}: {msg}", self.module))
    }

    /// Fail on arguments the module does not know (Ansible: "Unsupported parameters").
    pub fn allow(&self, known: &[&str]) -> Result<(), ModuleError> {
        let unknown: Vec<&str> = self.map.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let mut supported: Vec<&str> = known.iter().copied().filter(|k| !k.starts_with('_')).collect();
        supported.sort_unstable();
        Err(self.error(format_args!(
            "unsupported argument(s) {}; supported: {}",
            unknown.join(", "),
            supported.join(", ")
        )))
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// A scalar argument as text (numbers and booleans are accepted and printed).
    pub fn str(&self, name: &str) -> Result<Option<String>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => Ok(Some(to_text(v))),
            Some(_) => Err(self.error(format_args!("`{name}` must be a string"))),
        }
    }

    /// The first of several aliases that is set (`path`/`dest`/`name`).
    pub fn str_alias(&self, names: &[&str]) -> Result<Option<String>, ModuleError> {
        for name in names {
            if let Some(v) = self.str(name)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    pub fn req_str(&self, names: &[&str]) -> Result<String, ModuleError> {
        match self.str_alias(names)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.error(format_args!("`{}` is required", names.join("`/`")))),
        }
    }

    /// A boolean in any of Ansible's spellings (`yes`, `true`, `1`, ...).
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ModuleError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => to_bool(v).ok_or_else(|| {
                self.error(format_args!("`{name}` must be a boolean (yes/no/true/false), got {}", to_text(v)))
            }),
        }
    }

    /// A string or a list of strings (`that:`, `argv:`).
    pub fn list(&self, name: &str) -> Result<Option<Vec<String>>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Array(_) | Value::Object(_) => {
                        Err(self.error(format_args!("`{name}` must be a list of strings, got an item {v}")))
                    }
                    other => Ok(to_text(other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::Object(_)) => Err(self.error(format_args!("`{name}` must be a string or a list of strings"))),
            Some(v) => Ok(Some(vec![to_text(v)])),
        }
    }

    /// A non-negative number (seconds, minutes), given as a number or numeric text.
    pub fn number(&self, name: &str) -> Result<Option<f64>, ModuleError> {
        let bad = || self.error(format_args!("`{name}` must be a number"));
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
        .and_then(|n| match n {
            Some(n) if !(n >= 0.0 && n.is_finite()) => {
                Err(self.error(format_args!("`{name}` must be a non-negative number")))
            }
            n => Ok(n),
        })
    }

    /// One of a fixed set of words.
    pub fn choice(&self, name: &str, allowed: &[&'static str]) -> Result<Option<&'static str>, ModuleError> {
        match self.str(name)? {
            None => Ok(None),
            Some(s) => {
                allowed.iter().copied().find(|a| *a == s).map(Some).ok_or_else(|| {
                    self.error(format_args!("`{name}` must be one of {}, got {s:?}", allowed.join(", ")))
                })
            }
        }
    }

    /// A file mode: octal text (`'0644'`, `'644'`), an integer (YAML 1.1 `0644` loads as 420),
    /// or a symbolic mode (`u+rwx,g-w`).
    pub fn mode(&self, name: &str) -> Result<Option<Mode>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(bits) if bits <= 0o7777 => Ok(Some(Mode::Octal(bits as u32))),
                _ => Err(self.error(format_args!("`{name}` {n} is not a valid file mode"))),
            },
            Some(Value::String(s)) => Mode::parse(s)
                .map(Some)
                .map_err(|e| self.error(format_args!("`{name}` {s:?} is not a valid file mode: {e}"))),
            Some(_) => Err(self
                .error(format_args!("`{name}` must be an octal string like '0644' or a symbolic mode like 'u+rwx'"))),
        }
    }
}

/// A wanted file mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Octal(u32),
    /// Validated symbolic clauses, applied to the current mode by [`Mode::resolve`].
    Symbolic(String),
}

impl Mode {
    pub fn parse(text: &str) -> Result<Mode, String> {
        let t = text.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            let bits = u32::from_str_radix(t, 8).map_err(|_| "octal digits are 0-7".to_string())?;
            if bits > 0o7777 {
                return Err("an octal mode is at most 07777".into());
            }
            return Ok(Mode::Octal(bits));
        }
        // Validate now so a typo fails before anything runs.
        apply_symbolic(t, 0, false)?;
        Ok(Mode::Symbolic(t.to_string()))
    }

    /// The permission bits this mode gives a file whose current bits are `current`.
    pub fn resolve(&self, current: u32, is_dir: bool) -> u32 {
        match self {
            Mode::Octal(bits) => *bits,
            Mode::Symbolic(s) => apply_symbolic(s, current, is_dir).unwrap_or(current),
        }
    }
}

/// Apply `chmod`-style symbolic clauses (`u+rwx,g-w,o=`, `a+X`) to `mode`.
fn apply_symbolic(spec: &str, mut mode: u32, is_dir: bool) -> Result<u32, String> {
    for clause in spec.split(',') {
        let ops_at = clause.find(['+', '-', '=']).ok_or_else(|| format!("clause {clause:?} has no +, - or ="))?;
        let (who_text, mut rest) = clause.split_at(ops_at);
        let mut who = 0u32;
        for c in who_text.chars() {
            who |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return Err(format!("unknown user class {c:?} (use u, g, o, a)")),
            };
        }
        if who == 0 {
            who = 0o7777;
        }
        while let Some(op) = rest.chars().next() {
            rest = &rest[1..];
            let perms_end = rest.find(['+', '-', '=']).unwrap_or(rest.len());
            let (perms, tail) = rest.split_at(perms_end);
            rest = tail;
            let mut bits = 0u32;
            for p in perms.chars() {
                bits |= match p {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if is_dir || mode & 0o111 != 0 => 0o111,
                    'X' => 0,
                    's' => 0o6000,
                    't' => 0o1000,
                    _ => return Err(format!("unknown permission {p:?} (use r, w, x, X, s, t)")),
                };
            }
            let bits = bits & who;
            match op {
                '+' => mode |= bits,
                '-' => mode &= !bits,
                _ => mode = (mode & !(who & 0o777)) | bits,
            }
        }
    }
    Ok(mode & 0o7777)
}

/// A mode as Ansible prints it: `'0644'`.
pub fn mode_text(bits: u32) -> String {
    format!("{:04o}", bits & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn modes_in_every_spelling() {
        let m = map(json!({"a": "0644", "b": 420, "c": "755", "d": "u+x", "e": "0999", "f": [1]}));
        let a = Args::new("file", &m);
        assert_eq!(a.mode("a").ok().flatten(), Some(Mode::Octal(0o644)));
        assert_eq!(a.mode("b").ok().flatten(), Some(Mode::Octal(0o644)));
        assert_eq!(a.mode("c").ok().flatten(), Some(Mode::Octal(0o755)));
        assert_eq!(a.mode("d").ok().flatten(), Some(Mode::Symbolic("u+x".into())));
        assert!(a.mode("e").is_err());
        let err = a.mode("f").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("file: `f`"), "{err}");
    }

    #[test]
    fn symbolic_modes_follow_chmod() {
        let r = |s: &str, cur: u32, dir: bool| Mode::parse(s).map(|m| m.resolve(cur, dir));
        assert_eq!(r("u+x", 0o644, false), Ok(0o744));
        assert_eq!(r("go-r", 0o644, false), Ok(0o600));
        assert_eq!(r("u=rwx,g=rx,o=", 0o666, false), Ok(0o750));
        assert_eq!(r("a+X", 0o644, true), Ok(0o755));
        assert_eq!(r("a+X", 0o644, false), Ok(0o644));
        assert_eq!(r("+x", 0o600, false), Ok(0o711));
        assert_eq!(r("u+s", 0o755, false), Ok(0o4755));
        assert!(Mode::parse("z+x").is_err());
        assert!(Mode::parse("u+q").is_err());
        assert!(Mode::parse("rwx").is_err());
    }

    #[test]
    fn unknown_arguments_are_named() {
        let m = map(json!({"path": "/x", "mdoe": "0644"}));
        let err = Args::new("file", &m).allow(&["path", "mode"]).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("file: unsupported argument(s) mdoe; supported: mode, path"));
    }

    #[test]
    fn booleans_and_lists() {
        let m = map(json!({"a": "yes", "b": "maybe", "c": "x", "d": ["x", 1]}));
        let a = Args::new("m", &m);
        assert!(a.bool("a", false).unwrap_or(false));
        assert!(a.bool("b", false).is_err());
        assert!(!a.bool("zz", false).unwrap_or(true));
        assert_eq!(a.list("c").ok().flatten(), Some(vec!["x".to_string()]));
        assert_eq!(a.list("d").ok().flatten(), Some(vec!["x".to_string(), "1".to_string()]));
    }
}
