//! Small helpers shared by the system modules: argument access with Ansible's names and
//! aliases, command results, sectioned script output, and atomic controller-side writes.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::connection::{Cmd, Output};
use crate::value::{to_bool, Map, Value};

use super::{Ctx, ModuleError};

/// A module's arguments after aliases are resolved and unknown names rejected.
pub struct Args {
    module: &'static str,
    map: Map,
}

impl Args {
    /// `known` lists canonical names; `aliases` maps alias → canonical name.
    pub fn new(module: &'static str, raw: &Map, known: &[&str], aliases: &[(&str, &str)]) -> Result<Args, ModuleError> {
        let mut map = Map::new();
        let mut unknown = Vec::new();
        for (k, v) in raw {
            let canonical = aliases.iter().find(|(a, _)| a == k).map(|(_, c)| *c).unwrap_or(k.as_str());
            if known.contains(&canonical) {
                map.insert(canonical.to_string(), v.clone());
            } else {
                unknown.push(k.as_str());
            }
        }
        if !unknown.is_empty() {
            return Err(ModuleError::Args(format!(
                "Unsupported parameters for ({module}) module: {}. Supported parameters include: {}.",
                unknown.join(", "),
                known.join(", ")
            )));
        }
        Ok(Args { module, map })
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn bad(&self, name: &str, want: &str, got: &Value) -> ModuleError {
        ModuleError::Args(format!("{}: argument '{name}' must be {want}, got {got}", self.module))
    }

    /// A string argument; numbers and booleans are accepted as their text.
    pub fn str(&self, name: &str) -> Result<Option<String>, ModuleError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(self.bad(name, "a string", other)),
        }
    }

    pub fn req_str(&self, name: &str) -> Result<String, ModuleError> {
        match self.str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ModuleError::Args(format!("{}: missing required argument '{name}'", self.module))),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ModuleError> {
        match self.raw(name) {
            None => Ok(None),
            Some(v) => to_bool(v).map(Some).ok_or_else(|| self.bad(name, "a boolean (true/false, yes/no)", v)),
        }
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ModuleError> {
        Ok(self.bool(name)?.unwrap_or(default))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ModuleError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                n.as_i64().map(Some).ok_or_else(|| self.bad(name, "an integer", &Value::Number(n.clone())))
            }
            Some(Value::String(s)) => {
                s.trim().parse().map(Some).map_err(|_| self.bad(name, "an integer", &Value::String(s.clone())))
            }
            Some(other) => Err(self.bad(name, "an integer", other)),
        }
    }

    /// A list argument: a YAML list, or a comma-separated string (Ansible's `type: list`).
    pub fn list(&self, name: &str) -> Result<Vec<String>, ModuleError> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => {
                Ok(s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect())
            }
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.trim().to_string()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(self.bad(name, "a list of strings", other)),
                })
                .collect(),
            Some(Value::Number(n)) => Ok(vec![n.to_string()]),
            Some(other) => Err(self.bad(name, "a list or a comma-separated string", other)),
        }
    }

    /// One of a fixed set of values.
    pub fn choice(&self, name: &str, allowed: &[&str], default: Option<&str>) -> Result<Option<String>, ModuleError> {
        match self.str(name)? {
            None => Ok(default.map(String::from)),
            Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
            Some(s) => Err(ModuleError::Args(format!(
                "{}: argument '{name}' must be one of: {}, got '{s}'",
                self.module,
                allowed.join(", ")
            ))),
        }
    }
}

/// `rc`, `stdout`, `stderr` and their `_lines`, as Ansible registers them.
pub fn output_result(out: &Output) -> Map {
    let mut m = Map::new();
    let stdout = out.stdout_text();
    let stderr = out.stderr_text();
    m.insert("rc".into(), out.rc.into());
    m.insert("stdout_lines".into(), lines(&stdout));
    m.insert("stderr_lines".into(), lines(&stderr));
    m.insert("stdout".into(), stdout.trim_end_matches('\n').into());
    m.insert("stderr".into(), stderr.trim_end_matches('\n').into());
    m
}

fn lines(text: &str) -> Value {
    Value::Array(text.lines().map(|l| Value::String(l.to_string())).collect())
}

/// A failure carrying the command's output.
pub fn failed_with(msg: impl Into<String>, out: &Output) -> ModuleError {
    ModuleError::Failed { msg: msg.into(), result: output_result(out) }
}

/// Run a script; a non-zero exit becomes a failure whose message is `what` plus stderr.
pub async fn run_ok(cx: &Ctx<'_>, cmd: Cmd, what: &str) -> Result<Output, ModuleError> {
    let out = cx.run(cmd).await?;
    if out.rc != 0 {
        let detail =
            first_nonempty(&out.stderr_text()).or_else(|| first_nonempty(&out.stdout_text())).unwrap_or_default();
        return Err(failed_with(format!("{what} (rc={}): {detail}", out.rc), &out));
    }
    Ok(out)
}

fn first_nonempty(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Marker line that starts section `name` in a query script's output.
pub fn section(name: &str) -> String {
    format!("echo '@@troupe:{name}@@'")
}

/// Split output produced with [`section`] markers into named parts.
pub fn sections(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut current: Option<String> = None;
    let mut buf = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("@@troupe:").and_then(|r| r.strip_suffix("@@")) {
            if let Some(prev) = current.take() {
                out.insert(prev, std::mem::take(&mut buf));
            }
            current = Some(name.to_string());
            buf.clear();
        } else if current.is_some() {
            buf.push_str(line);
            buf.push('\n');
        }
    }
    if let Some(prev) = current {
        out.insert(prev, buf);
    }
    out
}

/// `KEY=VALUE` lines into a map (first `=` splits; later duplicates win).
pub fn key_values(text: &str) -> HashMap<String, String> {
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_string(), v.to_string())).collect()
}

/// Write a controller-side file atomically: a temp file in the same folder created with
/// `mode` (so secrets are never briefly world-readable), synced, then renamed over `path`.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.troupe-{}", rand::random::<u64>()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        // create_new honours the umask; set the exact mode asked for.
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Create a folder (and parents) with `mode` for the folders this call creates.
pub fn create_dir(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.as_os_str().is_empty() || path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(mode).create(path)
}

/// Glob (`*`, `?`) to an anchored extended regex, for matching names on the target.
pub fn glob_to_ere(glob: &str) -> String {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':' => re.push(c),
            c => {
                re.push('\\');
                re.push(c);
            }
        }
    }
    re.push('$');
    re
}

/// Whether `text` matches a shell-style glob (`*`, `?`).
pub fn glob_match(glob: &str, text: &str) -> bool {
    regex::Regex::new(&glob_to_ere(glob)).is_ok_and(|re| re.is_match(text))
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
    fn aliases_resolve_and_unknown_names_fail() {
        let a = Args::new("m", &map(json!({"pkg": "x", "state": "present"})), &["name", "state"], &[("pkg", "name")]);
        let a = a.ok().filter(|a| a.str("name").ok().flatten().as_deref() == Some("x"));
        assert!(a.is_some());
        let err = Args::new("m", &map(json!({"nme": "x"})), &["name"], &[]).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("nme") && e.contains("Supported parameters include: name")));
    }

    #[test]
    fn typed_accessors() {
        let a = Args::new(
            "m",
            &map(json!({"l": "a, b,", "n": "42", "b": "yes", "c": "bogus"})),
            &["l", "n", "b", "c"],
            &[],
        )
        .map_err(|e| e.to_string());
        let a = match a {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(a.list("l").ok(), Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(a.int("n").ok().flatten(), Some(42));
        assert_eq!(a.bool("b").ok().flatten(), Some(true));
        assert!(a.choice("c", &["x", "y"], None).is_err_and(|e| e.to_string().contains("one of: x, y")));
        assert!(a.bool("c").is_err());
    }

    #[test]
    fn sections_split() {
        let s = sections("junk\n@@troupe:a@@\n1\n2\n@@troupe:b@@\n@@troupe:c@@\nx\n");
        assert_eq!(s.get("a").map(String::as_str), Some("1\n2\n"));
        assert_eq!(s.get("b").map(String::as_str), Some(""));
        assert_eq!(s.get("c").map(String::as_str), Some("x\n"));
    }

    #[test]
    fn globs() {
        assert!(glob_match("lib*-dev", "libssl-dev"));
        assert!(!glob_match("lib*-dev", "libssl-dev2"));
        assert!(glob_match("a.b?", "a.bc"));
        assert!(!glob_match("a.b", "aXb"));
    }

    #[test]
    fn atomic_write_sets_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("tempdir") };
        let p = dir.path().join("k");
        assert!(write_atomic(&p, b"secret", 0o600).is_ok());
        let mode = std::fs::metadata(&p).map(|m| m.permissions().mode() & 0o777).ok();
        assert_eq!(mode, Some(0o600));
        assert_eq!(std::fs::read(&p).ok().as_deref(), Some(&b"secret"[..]));
    }
}

/// Test helpers: a context on a real connection and a query-then-apply driver like the engine's.
#[cfg(test)]
pub mod tests_support {
    use super::super::{Ctx, Module, ModuleError, Render};
    use crate::connection::Connection;
    use crate::value::{Map, Value};

    pub struct NoRender;
    impl Render for NoRender {
        fn render(&self, text: &str) -> Result<String, String> {
            Ok(text.to_string())
        }
        fn eval(&self, expr: &str) -> Result<Value, String> {
            Err(format!("'{expr}' is undefined"))
        }
    }
    pub static NO_RENDER: NoRender = NoRender;

    pub fn ctx_for(conn: &dyn Connection) -> Ctx<'_> {
        Ctx {
            conn,
            host: "localhost",
            check_mode: false,
            diff: false,
            render: &NO_RENDER,
            search: Vec::new(),
            escalate: None,
            env: Vec::new(),
        }
    }

    /// Query, then apply when something differs (unless in check mode): (changed, result).
    pub async fn run_module(m: &dyn Module, cx: &Ctx<'_>, args: &Value) -> Result<(bool, Map), ModuleError> {
        let args = args.as_object().cloned().unwrap_or_default();
        let q = m.query(cx, &args).await?;
        if !q.changed || cx.check_mode {
            return Ok((q.changed, q.result));
        }
        Ok((true, m.apply(cx, &args, q).await?))
    }

    pub fn is_root() -> bool {
        std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    }
}
