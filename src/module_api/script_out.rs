//! What scripts on the target give back: command results as Ansible registers them, failures
//! that carry the output, and output split into named sections.

use std::collections::HashMap;

use crate::connection::{Cmd, Output};
use crate::value::{Map, Value};

use super::{Ctx, ModuleError};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split() {
        let s = sections("junk\n@@troupe:a@@\n1\n2\n@@troupe:b@@\n@@troupe:c@@\nx\n");
        assert_eq!(s.get("a").map(String::as_str), Some("1\n2\n"));
        assert_eq!(s.get("b").map(String::as_str), Some(""));
        assert_eq!(s.get("c").map(String::as_str), Some("x\n"));
    }
}
