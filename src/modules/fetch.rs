//! `fetch`: copy a file from the target to the controller, only when its SHA-1 differs.
//! Layout: `dest/<inventory_hostname>/<src path>`, or `dest` itself with `flat`. Unlike
//! Ansible (which skips fetch in check mode) the query is read-only, so check mode reports
//! whether the file would change.

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::content::sha1_hex;
use super::local_write::{create_dir, write_atomic};
use super::slurp::{check_guard, guarded};
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

pub struct Fetch;

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("src", "the file on the target").required(),
        Opt::str("dest", "the controller folder (or file, with `flat`)").required(),
        Opt::bool("flat", "write to `dest` itself, not `dest/host/src`").default("false"),
        Opt::bool("fail_on_missing", "fail when `src` is missing").default("true"),
        Opt::bool("validate_checksum", "compare checksums after the copy").default("true"),
    ]],
    missing: Some("src and dest are required"),
    ..ArgSpec::NONE
};

/// Lexical normalisation; `None` when `..` climbs above the start.
fn normalise(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() || out.as_os_str().is_empty() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// Where the file lands on the controller.
/// What apply fetches, as query found it.
struct Planned {
    src: String,
    dest: PathBuf,
    remote: String,
    validate: bool,
}

pub fn dest_path(dest: &str, src: &str, host: &str, flat: bool, base: &Path) -> Result<PathBuf, ModuleError> {
    let root = if Path::new(dest).is_absolute() { PathBuf::from(dest) } else { base.join(dest) };
    let full = if flat {
        if dest.ends_with('/') {
            root.join(Path::new(src).file_name().unwrap_or_default())
        } else {
            if root.is_dir() {
                return Err(ModuleError::failed(
                    "dest is an existing directory, use a trailing slash if you want to fetch src into that directory",
                ));
            }
            root.clone()
        }
    } else {
        root.join(host).join(src.trim_start_matches('/'))
    };
    match normalise(&full) {
        Some(p) if p.starts_with(normalise(&root).unwrap_or_default()) => Ok(p),
        _ => Err(ModuleError::failed(format!(
            "Detected directory traversal, expected to be contained in '{dest}' but got '{}'",
            full.display()
        ))),
    }
}

const SUM: &str =
    "(sha1sum -- \"$f\" 2>/dev/null || shasum -a 1 \"$f\" 2>/dev/null || openssl sha1 -r \"$f\") | cut -d' ' -f1";

#[async_trait]
impl Module for Fetch {
    fn name(&self) -> &'static str {
        "fetch"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let args = &*crate::module_api::home::expand_args(cx, args, &["src"]).await?;
        let a = Args::parse("fetch", args, &SPEC)?;
        let src = a.req_str("src")?;
        let dest_arg = a.req_str("dest")?;
        let fail_on_missing = a.bool("fail_on_missing", true)?;
        let base = cx.search.last().cloned().unwrap_or_else(|| PathBuf::from("."));
        let dest = dest_path(&dest_arg, &src, cx.host, a.bool("flat", false)?, &base)?;
        let script = guarded(&src, &format!("f={}\n{SUM}", quote(&src)));
        let out = cx.run(Cmd::new(script)).await?;
        if out.rc == 2 && !fail_on_missing {
            return Ok(Query::ok()
                .with("file", src)
                .with("msg", "the remote file does not exist, not transferring, ignored"));
        }
        if out.rc == 2 {
            let mut result = Map::new();
            result.insert("file".into(), src.into());
            return Err(ModuleError::Failed {
                msg: "the remote file does not exist, not transferring, ignored".into(),
                result,
            });
        }
        if out.rc == 3 {
            return Err(ModuleError::failed("remote file is a directory, fetch cannot work on directories"));
        }
        check_guard(&out)?;
        let remote = out.stdout_text().trim().to_string();
        let local = std::fs::read(&dest).ok().map(|d| sha1_hex(&d));
        let mut q = Query::ok()
            .with("dest", dest.display().to_string())
            .with("file", src.clone())
            .with("remote_checksum", remote.clone())
            .with("remote_md5sum", Value::Null)
            .with("checksum", local.clone().map(Value::String).unwrap_or(Value::Null));
        q.changed = local.as_deref() != Some(remote.as_str());
        q.change = Change::new(Planned { src, dest, remote, validate: a.bool("validate_checksum", true)? });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let Planned { src, dest, remote, validate } = q.change.take("fetch")?;
        let out = cx.run(Cmd::new(guarded(&src, &format!("cat -- {}", quote(&src))))).await?;
        check_guard(&out)?;
        let new = sha1_hex(&out.stdout);
        let mut result = q.result;
        result.insert("checksum".into(), new.clone().into());
        if validate && new != remote {
            return Err(ModuleError::Failed { msg: "checksum mismatch".into(), result });
        }
        let fail =
            |e: std::io::Error| ModuleError::failed(format!("Failed to fetch the file to {}: {e}", dest.display()));
        if let Some(dir) = dest.parent() {
            create_dir(dir, 0o755).map_err(fail)?;
        }
        write_atomic(&dest, &out.stdout, 0o644).map_err(fail)?;
        result.insert("md5sum".into(), Value::Null);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[test]
    fn dest_layouts() {
        let b = Path::new("/play");
        assert_eq!(dest_path("out", "/etc/hosts", "h1", false, b).unwrap(), PathBuf::from("/play/out/h1/etc/hosts"));
        assert_eq!(dest_path("/o/", "/etc/hosts", "h1", true, b).unwrap(), PathBuf::from("/o/hosts"));
        assert_eq!(dest_path("/o/x.txt", "/etc/hosts", "h1", true, b).unwrap(), PathBuf::from("/o/x.txt"));
        assert!(dest_path("/o", "../../etc/passwd", "h1", false, b).is_err());
    }

    #[tokio::test]
    async fn real_fetch_is_idempotent() {
        let mut h = Harness::new();
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("remote.txt");
        std::fs::write(&src, "hello\n").unwrap();
        let dest = tmp.path().join("out");
        let args = json!({"src": src, "dest": dest});
        let (changed, res) = h.run(&Fetch, args.clone()).await.unwrap();
        assert!(changed);
        let landed = PathBuf::from(res["dest"].as_str().unwrap());
        assert!(landed.starts_with(dest.join("localhost")));
        assert_eq!(std::fs::read_to_string(&landed).unwrap(), "hello\n");
        assert_eq!(res["checksum"], res["remote_checksum"]);
        assert!(!h.run(&Fetch, args.clone()).await.unwrap().0, "second run is ok");
        std::fs::write(&src, "changed\n").unwrap();
        h.check_mode = true;
        assert!(h.run(&Fetch, args.clone()).await.unwrap().0);
        assert_eq!(std::fs::read_to_string(&landed).unwrap(), "hello\n", "check mode writes nothing");
        h.check_mode = false;
        let missing = json!({"src": tmp.path().join("nope"), "dest": dest, "fail_on_missing": false});
        let (changed, res) = h.run(&Fetch, missing.clone()).await.unwrap();
        assert!(!changed && res["msg"].as_str().unwrap().contains("does not exist"));
        let missing = json!({"src": tmp.path().join("nope"), "dest": dest});
        assert!(h.run(&Fetch, missing.clone()).await.is_err());
    }
}
