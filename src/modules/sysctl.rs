//! `ansible.posix.sysctl`: a kernel parameter in a sysctl file (default `/etc/sysctl.conf`),
//! optionally set now (`sysctl_set`), the file reloaded with `sysctl -p` after a change
//! (`reload`, default true). One read (current value and file) decides, with ansible.posix's
//! rules (`decide`); the file is rewritten as ansible.posix rewrites it (`fixed_lines`: every
//! `key=value` line normalised, the first occurrence of a key kept), atomically.

use async_trait::async_trait;

use super::args::{ArgSpec, Args};
use super::content::Content;
use super::lineinfile::read_text;
use super::remote_file::{apply_write, query_write, Attrs, WriteOpts};
use super::script_out::failed_with;
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{to_text, Map, Value};

const SPEC: ArgSpec = ArgSpec {
    names: &[&["name", "value", "state", "reload", "sysctl_set", "ignoreerrors", "sysctl_file"]],
    aliases: &[("key", "name"), ("val", "value")],
    ..ArgSpec::NONE
};

pub struct Sysctl;

/// The value as ansible.posix compares it: booleans are `1`/`0`, text is trimmed.
pub fn parse_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(b)) => if *b { "1" } else { "0" }.into(),
        Some(v) => {
            let t = to_text(v);
            match t.to_ascii_lowercase().as_str() {
                "yes" | "on" | "1" | "true" | "y" | "t" => "1".into(),
                "no" | "off" | "0" | "false" | "n" | "f" => "0".into(),
                _ => t.trim().to_string(),
            }
        }
    }
}

/// Same words in the same order.
fn values_equal(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.split_whitespace().eq(b.split_whitespace()))
}

/// The file's `key=value` values (last wins, as ansible.posix reads them).
fn file_value(text: &str, name: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';']) || !line.contains('=') {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or_default();
        if k.trim() == name {
            found = Some(v.trim().to_string());
        }
    }
    found
}

/// The file ansible.posix writes: lines stripped, `key=value` normalised, later duplicates of
/// a key dropped, `name` set (present) or removed (absent).
pub fn fixed_lines(text: &str, name: &str, value: Option<&str>) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';']) || !line.contains('=') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or_default();
        let (k, v) = (k.trim(), v.trim());
        if seen.iter().any(|s| s == k) {
            continue;
        }
        seen.push(k.to_string());
        match (k == name, value) {
            (true, Some(want)) => out.push_str(&format!("{k}={want}\n")),
            (true, None) => {}
            (false, _) => out.push_str(&format!("{k}={v}\n")),
        }
    }
    if let (false, Some(want)) = (seen.iter().any(|s| s == name), value) {
        out.push_str(&format!("{name}={want}\n"));
    }
    out
}

/// What to do: (changed, write the file, set the value now).
pub fn decide(
    file: Option<&str>,
    proc: Option<&str>,
    want: Option<&str>,
    reload: bool,
    set: bool,
) -> (bool, bool, bool) {
    let (mut changed, mut write, mut set_proc) = (false, false, false);
    match (file, want) {
        (None, Some(_)) => (changed, write) = (true, true),
        (None, None) => {}
        (Some(f), None) => (changed, write) = (!f.is_empty(), !f.is_empty()),
        (Some(f), Some(w)) if f != w => (changed, write) = (true, true),
        (Some(_), Some(w)) => changed = reload && !values_equal(proc, w),
    }
    if let (true, Some(w)) = (set, want) {
        if !values_equal(proc, w) {
            changed = true;
            set_proc = proc.is_some();
        }
    }
    (changed, write, set_proc)
}

struct Planned {
    name: String,
    value: Option<String>,
    set_proc: bool,
    write: Option<Query>,
    reload: bool,
    ignoreerrors: bool,
    file: String,
}

/// `sysctl` failed when it said so on stderr even with rc 0.
fn stderr_failed(err: &str) -> bool {
    err.lines().any(|l| {
        l.starts_with("sysctl: setting key \"")
            && (l.ends_with(": Invalid argument") || l.ends_with(": Read-only file system"))
    })
}

#[async_trait]
impl Module for Sysctl {
    fn name(&self) -> &'static str {
        "sysctl"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("sysctl", args, &SPEC)?;
        let name = a.req_str("name")?.trim().to_string();
        let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
        if name.is_empty() {
            return Err(a.error("name cannot be blank"));
        }
        let value = parse_value(a.get("value"));
        if present && a.get("value").map_or(true, Value::is_null) {
            return Err(a.error("state is present but all of the following are missing: value"));
        }
        if present && value.is_empty() {
            return Err(a.error("value cannot be blank"));
        }
        let file = a.str("sysctl_file")?.unwrap_or("/etc/sysctl.conf".into());
        let (reload, set) = (a.bool("reload", true)?, a.bool("sysctl_set", false)?);
        let probe = format!("LANG=C LC_ALL=C sysctl -e -n {} 2>/dev/null", quote(&name));
        let out = cx.run(Cmd::new(probe).read_only()).await?;
        let proc = (out.rc == 0).then(|| out.stdout_text());
        let text = read_text(cx, &file).await?;
        let old = String::from_utf8_lossy(text.content.as_deref().unwrap_or_default()).into_owned();
        let want = present.then_some(value.as_str());
        let (changed, write, set_proc) = decide(file_value(&old, &name).as_deref(), proc.as_deref(), want, reload, set);
        let mut q = Query::ok();
        if !changed {
            return Ok(q);
        }
        q.changed = true;
        let write = match write {
            true => {
                let new = fixed_lines(&old, &name, want);
                let wq = query_write(
                    cx,
                    &text.facts,
                    &Content::Bytes(new.as_bytes()),
                    &Attrs::default(),
                    &WriteOpts::default(),
                    true,
                )
                .await?;
                q.diff = wq.diff.clone();
                Some(wq)
            }
            false => None,
        };
        q.change = Change::new(Planned {
            name,
            value: want.map(String::from),
            set_proc,
            write,
            reload,
            ignoreerrors: a.bool("ignoreerrors", false)?,
            file,
        });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("sysctl")?;
        let e = if p.ignoreerrors { "-e " } else { "" };
        if let (true, Some(v)) = (p.set_proc, &p.value) {
            let cmd = format!("LANG=C LC_ALL=C sysctl {e}-w {}", quote(&format!("{}={v}", p.name)));
            let out = cx.run(Cmd::new(cmd)).await?;
            if out.rc != 0 || stderr_failed(&out.stderr_text()) {
                return Err(failed_with(
                    format!("setting {} failed: {}{}", p.name, out.stdout_text(), out.stderr_text()),
                    &out,
                ));
            }
        }
        if let Some(wq) = p.write {
            apply_write(cx, wq).await?;
        }
        if p.reload {
            let out = cx.run(Cmd::new(format!("LANG=C LC_ALL=C sysctl {e}-p {}", quote(&p.file)))).await?;
            if out.rc != 0 || stderr_failed(&out.stderr_text()) {
                return Err(failed_with(
                    format!("Failed to reload sysctl: {}{}", out.stdout_text(), out.stderr_text()),
                    &out,
                ));
            }
        }
        Ok(Map::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_and_lines_as_ansible_posix() {
        assert_eq!(parse_value(Some(&json!(true))), "1");
        assert_eq!(parse_value(Some(&json!("off"))), "0");
        assert_eq!(parse_value(Some(&json!(" 4096 87380 "))), "4096 87380");
        assert_eq!(parse_value(Some(&json!(65536))), "65536");
        let text = "# comment\nnet.ipv4.ip_forward = 0\n  vm.swappiness=10\nnet.ipv4.ip_forward=1\n\n";
        assert_eq!(file_value(text, "net.ipv4.ip_forward").as_deref(), Some("1"), "the last line wins when read");
        assert_eq!(
            fixed_lines(text, "net.ipv4.ip_forward", Some("1")),
            "# comment\nnet.ipv4.ip_forward=1\nvm.swappiness=10\n\n",
            "the first line is kept and set, later ones dropped"
        );
        assert_eq!(fixed_lines(text, "vm.swappiness", None), "# comment\nnet.ipv4.ip_forward=0\n\n");
        assert_eq!(fixed_lines("", "a.b", Some("2")), "a.b=2\n");
    }

    #[test]
    fn decisions_as_ansible_posix() {
        // (file, proc, want, reload, sysctl_set) → (changed, write, set now)
        assert_eq!(decide(None, Some("0\n"), Some("1"), true, false), (true, true, false));
        assert_eq!(decide(Some("1"), Some("1\n"), Some("1"), true, false), (false, false, false));
        assert_eq!(decide(Some("1"), Some("0\n"), Some("1"), true, false), (true, false, false), "reload fixes it");
        assert_eq!(decide(Some("1"), Some("0\n"), Some("1"), false, false), (false, false, false));
        assert_eq!(decide(Some("1"), Some("0\n"), Some("1"), false, true), (true, false, true));
        assert_eq!(
            decide(Some("4096  87380"), Some("4096\t87380\n"), Some("4096  87380"), true, true),
            (false, false, false)
        );
        assert_eq!(decide(Some("1"), None, None, true, false), (true, true, false));
        assert_eq!(decide(None, None, None, true, false), (false, false, false));
        assert!(stderr_failed("sysctl: setting key \"kernel.x\": Read-only file system\n"));
    }
}
