//! `slurp`: read a file on the target; `content` is base64 as in Ansible. The bytes travel raw
//! (`cat`) and are encoded on the controller, so the target needs no `base64` tool.

use async_trait::async_trait;
use base64::Engine;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::failed_with;
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd, Output};
use crate::value::Map;

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[Opt::path("src", "the file on the target to read (returned base64-encoded)").required()]],
    aliases: &[("path", "src")],
    ..ArgSpec::NONE
};

pub struct Slurp;

/// Checks shared with `fetch`, in the order Python's `open()` meets them, with slurp's
/// messages (ansible-core 2.19's): the open's own error decides missing (exit 2), unreadable
/// (4; also a file below a folder the user can't search) or a path through a file (5; dash
/// says "No such file" there too, so the nearest existing parent decides; Ansible's message
/// keeps its unformatted `{source}`); an opened folder is 3; then `body`.
pub fn guarded(src: &str, body: &str) -> String {
    let s = quote(src);
    format!(
        r#"if ! e=$( ( exec 3<{s} ) 2>&1 ); then
  case $e in *'ermission denied'*) echo "File is not readable: "{s} >&2; exit 4;; esac
  d={s}
  while case $d in */*) d=${{d%/*}};; *) false;; esac && [ -n "$d" ]; do
    if [ -e "$d" ]; then [ -d "$d" ] || e='ot a directory'; break; fi
  done
  case $e in *'ot a directory'*) echo 'Unable to slurp file: {{source}}' >&2; exit 5;; esac
  echo "File not found: "{s} >&2; exit 2
fi
if [ -d {s} ]; then echo "Source is a directory and must be a file: "{s} >&2; exit 3; fi
{body}
"#
    )
}

/// Turn a guarded script's exit into a failure with the message it printed.
pub fn check_guard(out: &Output) -> Result<(), ModuleError> {
    match out.rc {
        0 => Ok(()),
        _ => {
            let msg = out.stderr_text().trim().to_string();
            Err(failed_with(if msg.is_empty() { format!("reading the file failed (rc={})", out.rc) } else { msg }, out))
        }
    }
}

#[async_trait]
impl Module for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("slurp", args, &SPEC)?;
        let src = a.req_str("src")?;
        let out = cx.run(Cmd::new(guarded(&src, &format!("cat -- {}", quote(&src))))).await?;
        check_guard(&out)?;
        let content = base64::engine::general_purpose::STANDARD.encode(&out.stdout);
        Ok(Query::ok().with("content", content).with("encoding", "base64").with("source", src))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[tokio::test]
    async fn real_files() {
        let h = Harness::new();
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("it's binary");
        std::fs::write(&f, [0u8, 1, 2, 255, b'\n']).unwrap();
        let (changed, res) = h.run(&Slurp, json!({"src": f})).await.unwrap();
        assert!(!changed);
        assert_eq!(res["content"], "AAEC/wo=");
        assert_eq!(res["encoding"], "base64");
        let err = h.run(&Slurp, json!({"path": tmp.path().join("nope")})).await.unwrap_err();
        assert!(err.to_string().starts_with("File not found: "));
        let err = h.run(&Slurp, json!({"src": tmp.path()})).await.unwrap_err();
        assert!(err.to_string().starts_with("Source is a directory and must be a file: "));
        let err = h.run(&Slurp, json!({"src": f.join("below")})).await.unwrap_err();
        assert_eq!(err.to_string(), "Unable to slurp file: {source}");
    }
}
