//! `script`: a controller file is sent to the host and run there (`executable` in front when
//! given), then removed. `creates`/`removes` (checked on the host, no globbing, as Ansible's
//! action does) skip it; `chdir` must be absolute. Always `changed` when it runs; in check mode
//! it is skipped unless `creates`/`removes` decide, as in Ansible.

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{failed_with, output_result};
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::internal("_raw_params"),
        Opt::str("cmd", "the script's path on the controller and its arguments"),
        Opt::str("creates", "skip when this path exists on the host"),
        Opt::str("removes", "run only when this path exists on the host"),
        Opt::str("chdir", "the absolute folder to run it in"),
        Opt::str("executable", "the program to run the script with"),
        Opt::bool("decrypt", "accepted; the script is sent as it is (a vault-encrypted script is not decrypted)")
            .default("true"),
    ]],
    ..ArgSpec::NONE
};

pub struct Script;

struct Planned {
    local: std::path::PathBuf,
    /// The command line with the script's name replaced by where it is put on the host.
    command: String,
    chdir: Option<String>,
}

/// The script that stores stdin (`len` bytes) as `name` in a fresh private folder, runs
/// `command` (which names it as `"$__d"/name`), removes the folder and exits with its code.
pub fn run_script(name: &str, len: u64, command: &str, chdir: Option<&str>) -> String {
    let cd = chdir.map(|d| format!("cd {} || exit 1\n", quote(d))).unwrap_or_default();
    format!(
        "__d=$(umask 077; mktemp -d \"${{TMPDIR:-/tmp}}/troupe-script.XXXXXXXX\") || exit 1\n\
         head -c {len} > \"$__d\"/{n} && [ \"$(wc -c < \"$__d\"/{n})\" -eq {len} ] && chmod 0700 \"$__d\"/{n} \
         || {{ rm -rf \"$__d\"; echo 'troupe: the script did not arrive whole' >&2; exit 1; }}\n\
         ( {cd}{command}\n) </dev/null\n__rc=$?\nrm -rf \"$__d\"\nexit $__rc",
        n = quote(name)
    )
}

#[async_trait]
impl Module for Script {
    fn name(&self) -> &'static str {
        "script"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("script", args, &SPEC)?;
        let raw = match (a.str("_raw_params")?.filter(|s| !s.trim().is_empty()), a.str("cmd")?) {
            (Some(_), Some(_)) => return Err(a.error("parameters are mutually exclusive: _raw_params|cmd")),
            (None, None) => return Err(a.error("one of the following is required: _raw_params, cmd")),
            (Some(r), None) | (None, Some(r)) => r,
        };
        a.bool("decrypt", true)?;
        let chdir = a.str("chdir")?;
        if let Some(d) = chdir.as_deref().filter(|d| !d.starts_with('/')) {
            return Err(ModuleError::failed(format!(
                "chdir {d} must be an absolute path for a Unix-aware remote node"
            )));
        }
        let parts = shlex::split(raw.trim()).ok_or_else(|| a.error(format_args!("unbalanced quotes in {raw:?}")))?;
        let source = parts.first().cloned().ok_or_else(|| a.error("no script given"))?;
        let local = cx.find_file("files", &source).filter(|p| p.is_file()).ok_or_else(|| {
            ModuleError::failed(format!("Could not find or access '{source}' on the Ansible Controller."))
        })?;
        for (path, skip_if_exists) in [(a.str("creates")?, true), (a.str("removes")?, false)] {
            let Some(path) = path else { continue };
            let exists = cx.run(Cmd::new(format!("[ -e {} ]", quote(&path))).read_only()).await?.rc == 0;
            if exists == skip_if_exists {
                let msg = if exists {
                    format!("{path} exists, matching creates option")
                } else {
                    format!("{path} does not exist, matching removes option")
                };
                return Ok(Query::ok().with("skipped", true).with("msg", msg).with("changed", false));
            }
        }
        let decided = a.has("creates") || a.has("removes");
        let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "script".into());
        let at = format!("\"$__d\"/{}", quote(&name));
        let trimmed = raw.trim();
        let command = match trimmed.find(&source) {
            Some(i) => format!("{}{at}{}", &trimmed[..i], &trimmed[i + source.len()..]),
            None => format!("{at} {}", parts[1..].iter().map(|p| quote(p)).collect::<Vec<_>>().join(" ")),
        };
        let command = match a.str("executable")? {
            Some(exe) => format!("{exe} {command}"),
            None => command,
        };
        let mut q = Query::ok();
        if !decided {
            q = q.with("msg", "Check mode is not supported for this task.");
        }
        q.changed = true;
        q.check_skip = !decided;
        q.change = Change::new(Planned { local, command, chdir });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("script")?;
        let len = std::fs::metadata(&p.local)
            .map_err(|e| ModuleError::failed(format!("Could not find or access '{}': {e}", p.local.display())))?
            .len();
        let name = p.local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "script".into());
        let cmd = Cmd::new(run_script(&name, len, &p.command, p.chdir.as_deref())).stdin_file(&p.local);
        let out = cx.run(cmd).await?;
        let mut r = output_result(&out);
        // Ansible keeps the output as it came (no trailing newline dropped).
        r.insert("stdout".into(), out.stdout_text().into());
        r.insert("stderr".into(), out.stderr_text().into());
        r.insert("changed".into(), Value::Bool(true));
        if out.rc != 0 {
            let mut e = failed_with("non-zero return code", &out);
            if let ModuleError::Failed { result, .. } = &mut e {
                *result = r;
                result.insert("msg".into(), "non-zero return code".into());
            }
            return Err(e);
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use crate::modules::Step;
    use serde_json::json;

    #[test]
    fn the_script_stores_runs_and_removes() {
        let s = run_script("it's.sh", 12, "\"$__d\"/'it'\\''s.sh' a b", Some("/srv x"));
        assert!(s.contains("head -c 12 > \"$__d\"/'it'\\''s.sh'"), "{s}");
        assert!(s.contains("( cd '/srv x' || exit 1\n\"$__d\"/'it'\\''s.sh' a b\n) </dev/null"), "{s}");
        assert!(s.ends_with("rm -rf \"$__d\"\nexit $__rc"), "{s}");
    }

    #[tokio::test]
    async fn runs_a_controller_script_with_arguments() {
        let mut h = Harness::new();
        let files = tempfile::tempdir().unwrap();
        std::fs::create_dir(files.path().join("files")).unwrap();
        std::fs::write(
            files.path().join("files/hi.sh"),
            "#!/bin/sh\necho \"hi $1 $2 $(pwd)\"\necho err >&2\nexit ${3:-0}\n",
        )
        .unwrap();
        h.search = vec![files.path().to_path_buf()];
        let (changed, r) = h.run(&Script, json!({"_raw_params": "hi.sh 'a b' c", "chdir": "/"})).await.unwrap();
        assert!(changed);
        assert_eq!(
            (r["stdout"].clone(), r["stderr"].clone(), r["rc"].clone()),
            (json!("hi a b c /\n"), json!("err\n"), json!(0))
        );
        let (_, r) = h.run(&Script, json!({"cmd": "hi.sh x", "executable": "/bin/bash"})).await.unwrap();
        assert!(r["stdout"].as_str().unwrap().starts_with("hi x "));
        let err = h.run(&Script, json!({"cmd": "hi.sh x y 3"})).await.unwrap_err();
        let ModuleError::Failed { msg, result } = err else { panic!() };
        assert_eq!((msg.as_str(), &result["rc"]), ("non-zero return code", &json!(3)));
        let flag = files.path().join("flag");
        let (changed, r) = h.run(&Script, json!({"cmd": "hi.sh", "removes": flag})).await.unwrap();
        assert!(!changed);
        assert_eq!(r["skipped"], true);
        assert_eq!(r["msg"], format!("{} does not exist, matching removes option", flag.display()));
        h.check_mode = true;
        let q = h.query(&Script, json!({"cmd": "hi.sh"})).await.unwrap();
        assert_eq!(q.step(true), Step::CheckSkipped);
        let q = h.query(&Script, json!({"cmd": "hi.sh", "creates": flag})).await.unwrap();
        assert_eq!(q.step(true), Step::WouldChange);
        let err = h.run(&Script, json!({"cmd": "nope.sh"})).await.unwrap_err();
        assert_eq!(err.to_string(), "Could not find or access 'nope.sh' on the Ansible Controller.");
        let err = h.run(&Script, json!({"cmd": "hi.sh", "chdir": "rel"})).await.unwrap_err();
        assert_eq!(err.to_string(), "chdir rel must be an absolute path for a Unix-aware remote node");
    }
}
