//! Test helpers: a real local connection, a tiny `Render`, and a query→apply driver that
//! mirrors what the engine does.

use std::path::PathBuf;

use crate::connection::local::Local;
use crate::value::{Map, Value};

use super::{Ctx, Module, ModuleError, Query, Render, Step};

/// Variables looked up by name; `{{ name }}` in text is replaced by the value's text.
/// `eval` knows variable names, `true`/`false`, and `a == b` between such terms.
#[derive(Default)]
pub struct TestRender {
    pub vars: Map,
}

impl TestRender {
    pub fn with(vars: Value) -> TestRender {
        match vars {
            Value::Object(vars) => TestRender { vars },
            _ => TestRender::default(),
        }
    }

    fn term(&self, t: &str) -> Result<Value, String> {
        let t = t.trim();
        match t {
            "true" | "True" => return Ok(Value::Bool(true)),
            "false" | "False" => return Ok(Value::Bool(false)),
            _ => {}
        }
        if let Ok(n) = t.parse::<i64>() {
            return Ok(n.into());
        }
        if let Some(s) = t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            return Ok(s.into());
        }
        self.vars.get(t).cloned().ok_or_else(|| format!("'{t}' is undefined"))
    }
}

impl Render for TestRender {
    fn render(&self, text: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").ok_or("unclosed {{")? + start;
            out.push_str(&crate::value::to_text(&self.eval(&rest[start + 2..end])?));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn eval(&self, expr: &str) -> Result<Value, String> {
        match expr.split_once("==") {
            Some((a, b)) => Ok(Value::Bool(self.term(a)? == self.term(b)?)),
            None => self.term(expr),
        }
    }
}

/// Owns what a `Ctx` borrows.
pub struct Harness {
    pub conn: Local,
    pub render: TestRender,
    pub search: Vec<PathBuf>,
    pub check_mode: bool,
    pub diff: bool,
}

impl Harness {
    pub fn new() -> Harness {
        Harness {
            conn: Local::new("localhost"),
            render: TestRender::default(),
            search: Vec::new(),
            check_mode: false,
            diff: true,
        }
    }

    pub fn cx(&self) -> Ctx<'_> {
        Ctx {
            conn: &self.conn,
            host: "localhost",
            check_mode: self.check_mode,
            diff: self.diff,
            no_log: false,
            render: &self.render,
            search: self.search.clone(),
            escalate: None,
            env: Vec::new(),
            read_ahead: None,
            deadline: None,
        }
    }

    /// What the engine does: query, then apply when changed (and not in check mode).
    /// Returns (changed, result).
    pub async fn run(&self, m: &dyn Module, args: Value) -> Result<(bool, Map), ModuleError> {
        let args = to_map(args);
        let cx = self.cx();
        let q: Query = m.query(&cx, &args).await?;
        if q.step(self.check_mode) != Step::Apply {
            return Ok((q.changed, q.result));
        }
        let result = m.apply(&cx, &args, q).await?;
        Ok((true, result))
    }

    pub async fn query(&self, m: &dyn Module, args: Value) -> Result<Query, ModuleError> {
        m.query(&self.cx(), &to_map(args)).await
    }
}

pub fn to_map(v: Value) -> Map {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Permission bits of a local path.
pub fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0)
}

pub fn text(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The message of an error, or "" for Ok.
pub fn err_text<T>(r: Result<T, ModuleError>) -> String {
    r.err().map(|e| e.to_string()).unwrap_or_default()
}

/// Whether the tests run as root (user and group tests change the machine only then).
pub fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
