//! `tempfile`: a new file (mode 0600) or folder (0700) with a random name, in `path` or the
//! host's temporary folder (`$TMPDIR`, `$TEMP`, `$TMP`, else `/tmp`, as Python's `tempfile`).
//! Always `changed`; Ansible's module does not support check mode, so check mode skips it.
//! The name is drawn on the controller and created exclusively on the host (`set -C`,
//! `mkdir`), trying a few names before giving up, as `mkstemp` does.

use async_trait::async_trait;
use rand::Rng;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::failed_with;
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("state", "make a file or a directory").choices(&["directory", "file"]).default("file"),
        Opt::path("path", "the folder to make it in (unset: the host's temporary folder)"),
        Opt::str("prefix", "the start of the name").default("ansible."),
        Opt::str("suffix", "the end of the name").default(""),
    ]],
    ..ArgSpec::NONE
};

/// Python's `tempfile` draws names from these.
const NAME_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
const TRIES: usize = 10;

pub struct TempFile;

struct Planned {
    dir: Option<String>,
    state: &'static str,
    names: Vec<String>,
}

fn random_names(prefix: &str, suffix: &str) -> Vec<String> {
    let mut rng = rand::rng();
    (0..TRIES)
        .map(|_| {
            let mid: String = (0..8).map(|_| NAME_CHARS[rng.random_range(0..NAME_CHARS.len())] as char).collect();
            format!("{prefix}{mid}{suffix}")
        })
        .collect()
}

/// The script: find the folder, create the first free name, print `uid gid owner group mode
/// size` and the path. Errors are Python's (`[Errno 2] No such file or directory: '...'`).
pub fn script(dir: Option<&str>, state: &str, names: &[String]) -> String {
    let dir = match dir {
        Some(d) => quote(d),
        None => "\"${TMPDIR:-${TEMP:-${TMP:-/tmp}}}\"".into(),
    };
    let make = if state == "directory" {
        "mkdir -m 0700 \"$p\" 2>/dev/null"
    } else {
        "( umask 077; set -C; : > \"$p\" ) 2>/dev/null"
    };
    let names: Vec<String> = names.iter().map(|n| quote(n)).collect();
    format!(
        "d={dir}\ncase $d in /*) ;; *) d=$(pwd)/$d;; esac\n\
         for n in {names}; do\n\
         p=${{d%/}}/$n\n\
         if [ -e \"$p\" ] || [ -L \"$p\" ]; then continue; fi\n\
         if [ ! -d \"$d\" ]; then printf \"[Errno 2] No such file or directory: '%s'\\n\" \"$p\" >&2; exit 1; fi\n\
         if {make}; then stat -c '%u %g %U %G %a %s' \"$p\"; printf '%s\\n' \"$p\"; exit 0; fi\n\
         if [ -e \"$p\" ]; then continue; fi\n\
         printf \"[Errno 13] Permission denied: '%s'\\n\" \"$p\" >&2; exit 1\n\
         done\n\
         echo 'No usable temporary file name found' >&2; exit 1",
        names = names.join(" ")
    )
}

/// The `stat` line and path the script printed, as Ansible's result (`add_path_info`).
fn parse(out: &str, state: &str) -> Option<Map> {
    let mut lines = out.lines();
    let f: Vec<&str> = lines.next()?.split(' ').collect();
    let path = lines.next()?;
    let [uid, gid, owner, group, mode, size] = f[..] else { return None };
    let mut r = Map::new();
    r.insert("changed".into(), true.into());
    r.insert("gid".into(), gid.parse::<u64>().ok()?.into());
    r.insert("group".into(), group.into());
    r.insert("mode".into(), format!("0{:03o}", u32::from_str_radix(mode, 8).ok()? & 0o7777).into());
    r.insert("owner".into(), owner.into());
    r.insert("path".into(), path.into());
    r.insert("size".into(), size.parse::<u64>().ok()?.into());
    r.insert("state".into(), state.into());
    r.insert("uid".into(), uid.parse::<u64>().ok()?.into());
    Some(r)
}

#[async_trait]
impl Module for TempFile {
    fn name(&self) -> &'static str {
        "tempfile"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, _cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("tempfile", args, &SPEC)?;
        let state = a.choice("state", &["file", "directory"])?.unwrap_or("file");
        let prefix = a.str("prefix")?.unwrap_or_else(|| "ansible.".into());
        let suffix = a.str("suffix")?.unwrap_or_default();
        for (name, v) in [("prefix", &prefix), ("suffix", &suffix)] {
            if v.contains('/') {
                return Err(ModuleError::failed(format!("{name} must be a valid file name component, got '{v}'")));
            }
        }
        let mut q = Query::ok();
        q.changed = true;
        q.check_skip = true;
        q.change = Change::new(Planned { dir: a.str("path")?, state, names: random_names(&prefix, &suffix) });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("tempfile")?;
        let out = cx.run(Cmd::new(script(p.dir.as_deref(), p.state, &p.names))).await?;
        if out.rc != 0 {
            let msg = out.stderr_text().trim().to_string();
            return Err(failed_with(msg, &out));
        }
        parse(&out.stdout_text(), p.state)
            .map(|mut r| {
                r.insert("failed".into(), Value::Bool(false));
                r
            })
            .ok_or_else(|| failed_with("tempfile: unexpected output from the host", &out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[test]
    fn names_and_script() {
        let names = random_names("ansible.", ".x");
        assert_eq!(names.len(), TRIES);
        assert!(names.iter().all(|n| n.len() == 8 + 10 && n.starts_with("ansible.") && n.ends_with(".x")));
        let s = script(None, "file", &["a b".into()]);
        assert!(s.starts_with("d=\"${TMPDIR:-${TEMP:-${TMP:-/tmp}}}\"\n"), "{s}");
        assert!(s.contains("for n in 'a b'; do") && s.contains("set -C"), "{s}");
        assert!(script(Some("/x y"), "directory", &["n".into()]).contains("d='/x y'\n"));
        assert!(script(Some("/x"), "directory", &["n".into()]).contains("mkdir -m 0700"));
    }

    #[tokio::test]
    async fn creates_files_and_folders() {
        let h = Harness::new();
        let tmp = tempfile::tempdir().unwrap();
        let (changed, r) = h.run(&TempFile, json!({"path": tmp.path(), "suffix": "s"})).await.unwrap();
        assert!(changed);
        let path = r["path"].as_str().unwrap();
        assert!(path.starts_with(&format!("{}/ansible.", tmp.path().display())) && path.ends_with('s'), "{path}");
        assert_eq!(
            (r["mode"].clone(), r["state"].clone(), r["size"].clone()),
            (json!("0600"), json!("file"), json!(0))
        );
        assert!(std::path::Path::new(path).is_file());
        let (_, r) = h.run(&TempFile, json!({"path": tmp.path(), "state": "directory", "prefix": "p"})).await.unwrap();
        assert_eq!((r["mode"].clone(), r["state"].clone()), (json!("0700"), json!("directory")));
        assert!(std::path::Path::new(r["path"].as_str().unwrap()).is_dir());
        let err = h.run(&TempFile, json!({"path": tmp.path().join("nope")})).await.unwrap_err();
        assert!(err.to_string().starts_with("[Errno 2] No such file or directory: '"), "{err}");
        let err = h.run(&TempFile, json!({"prefix": "a/b"})).await.unwrap_err();
        assert_eq!(err.to_string(), "prefix must be a valid file name component, got 'a/b'");
        let err = h.run(&TempFile, json!({"state": "link"})).await.unwrap_err();
        assert!(err.to_string().contains("value of state must be one of: directory, file, got: link"), "{err}");
    }
}
