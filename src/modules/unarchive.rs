//! `unarchive`: unpack a tar (gz/bz2/xz, by tar's own detection) or zip archive into `dest`.
//!
//! How "changed" is decided (differs from Ansible, which compares every archive member with the
//! files on disk): after a successful extraction troupe writes the archive's SHA-1 to
//! `dest/.troupe-unarchive-<archive name>.sha1`. The next run is `ok` when that marker holds the
//! same SHA-1 (or when `creates` exists), and extracts again when the archive changed. Edits
//! to or removal of extracted files are not detected; remove the marker to force a new
//! extraction. `mode`/`owner`/`group` are applied (recursively, to the archive's top-level
//! entries) when extracting.
//!
//! A controller `src` is streamed on stdin into a temporary file in `dest`; `remote_src: true`
//! uses a file already on the target. Zip files (`PK` magic) go to `unzip`, the rest to `tar`.

use async_trait::async_trait;

use crate::connection::{quote, Cmd};
use crate::value::Value;

use super::args::Args;
use super::remote_file::{run_ok, sha1_hex, Attrs};
use super::{Ctx, Map, Module, ModuleError, Query};

pub struct Unarchive;

const ARGS: &[&str] = &[
    "src",
    "dest",
    "remote_src",
    "creates",
    "extra_opts",
    "list_files",
    "mode",
    "owner",
    "group",
    "keep_newer",
    "exclude",
    "include",
    "decrypt",
    "validate_certs",
    "unsafe_writes",
    "attributes",
];

/// The marker file that records which archive was last extracted into `dest`.
pub fn marker_path(dest: &str, src: &str) -> String {
    let name = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
    format!("{}/.troupe-unarchive-{name}.sha1", dest.trim_end_matches('/'))
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Plan {
    dest: String,
    /// The archive on the target (`remote_src`), or none when it is sent on stdin.
    remote: Option<String>,
    /// The controller file to send.
    local: Option<String>,
    sha1: String,
    marker: String,
    extra_opts: Vec<String>,
    attrs: Attrs,
    list_files: bool,
}

fn extract_script(p: &Plan) -> String {
    let extra: String = p.extra_opts.iter().map(|o| format!(" {}", quote(o))).collect();
    let mut s = format!("set -e\nd={}\n", quote(&p.dest));
    match &p.remote {
        Some(src) => s.push_str(&format!("a={}\n", quote(src))),
        None => s.push_str(concat!(
            "a=$(mktemp \"$d/.troupe-unarchive.XXXXXXXX\")\n",
            "trap 'rm -f -- \"$a\"' EXIT\n",
            "cat > \"$a\"\n",
        )),
    }
    s.push_str(&format!(
        "if [ \"$(head -c 2 \"$a\")\" = PK ]; then\n\
         echo @troupe-handler ZipArchive\nlist() {{ unzip -Z1 \"$a\"; }}\nunzip -q -o{extra} \"$a\" -d \"$d\" >&2\n\
         else\n\
         echo @troupe-handler TarArchive\nlist() {{ tar -tf \"$a\"; }}\ntar{extra} -xf \"$a\" -C \"$d\" >&2\n\
         fi\n"
    ));
    if !p.attrs.is_empty() {
        s.push_str("list | sed 's|^\\./||; s|/.*||' | sort -u | while IFS= read -r n; do\n[ -n \"$n\" ] || continue\n");
        s.push_str(&p.attrs.script("\"$d/$n\"", true));
        s.push_str("done\n");
    }
    if p.list_files {
        s.push_str("echo @troupe-files\nlist\n");
    }
    s.push_str(&format!("printf '%s\\n' {} > {}\n", quote(&p.sha1), quote(&p.marker)));
    s
}

#[async_trait]
impl Module for Unarchive {
    fn name(&self) -> &'static str {
        "unarchive"
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::new("unarchive", args);
        a.allow(ARGS)?;
        for unsupported in ["keep_newer", "exclude", "include"] {
            if a.has(unsupported) {
                return Err(a.error(format_args!("`{unsupported}` is not supported yet; use `extra_opts`")));
            }
        }
        let src = a.req_str(&["src"])?;
        let dest = a.req_str(&["dest"])?;
        let remote_src = a.bool("remote_src", false)?;
        if src.contains("://") {
            return Err(a.error("downloading `src` from a URL is not supported; use get_url first"));
        }
        let attrs = Attrs::new(a.mode("mode")?, a.str("owner")?, a.str("group")?);
        let extra_opts = a.list("extra_opts")?.unwrap_or_default();
        let list_files = a.bool("list_files", false)?;
        let creates = a.str("creates")?;
        let local = if remote_src {
            None
        } else {
            let path = cx.find_file("files", &src).ok_or_else(|| {
                ModuleError::failed(format!(
                    "Could not find or access '{src}' (looked in files/ and beside the tasks and playbook)"
                ))
            })?;
            Some(path)
        };
        let marker = marker_path(&dest, &src);

        // One command reads everything the decision needs.
        let d = quote(&dest);
        let mut script = format!(
            "[ -d {d} ] || echo @troupe-nodest\n\
             [ -f {m} ] && printf '@troupe-marker %s\\n' \"$(cat {m})\"\n",
            m = quote(&marker)
        );
        if let Some(c) = &creates {
            script.push_str(&format!("[ -e {} ] && echo @troupe-creates\n", quote(c)));
        }
        if remote_src {
            let s = quote(&src);
            script.push_str(&format!(
                "if [ -f {s} ]; then echo \"@troupe-src $(sha1sum < {s} | cut -d' ' -f1)\"; else echo @troupe-nosrc; fi\n"
            ));
        }
        script.push_str("true\n");
        let out = run_ok(cx, Cmd::new(script), "reading the unarchive destination").await?;
        let has = |m: &str| out.lines().any(|l| l == m);
        let field = |m: &str| out.lines().find_map(|l| l.strip_prefix(m)).map(|v| v.trim().to_string());

        let mut q = Query::ok().with("dest", dest.clone()).with("src", src.clone());
        if let Some(c) = creates.filter(|_| has("@troupe-creates")) {
            return Ok(q.with("skipped", true).with("msg", format!("skipped, since {c} exists")));
        }
        if has("@troupe-nodest") {
            return Err(ModuleError::failed(format!("dest '{dest}' must be an existing dir")));
        }
        let sha1 = match &local {
            Some(path) => {
                let data = std::fs::read(path)
                    .map_err(|e| ModuleError::failed(format!("cannot read {}: {e}", path.display())))?;
                sha1_hex(&data)
            }
            None if has("@troupe-nosrc") => {
                return Err(ModuleError::failed(format!("Source '{src}' does not exist")));
            }
            None => field("@troupe-src ").unwrap_or_default(),
        };
        if field("@troupe-marker ").as_deref() == Some(sha1.as_str()) {
            return Ok(q);
        }
        q.changed = true;
        let plan = Plan {
            dest,
            remote: remote_src.then(|| src.clone()),
            local: local.map(|p| p.to_string_lossy().into_owned()),
            sha1,
            marker,
            extra_opts,
            attrs,
            list_files,
        };
        q.plan = serde_json::to_value(plan).map_err(|e| ModuleError::failed(e.to_string()))?;
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        let plan: Plan =
            serde_json::from_value(q.plan).map_err(|e| ModuleError::failed(format!("internal: bad plan: {e}")))?;
        let mut cmd = Cmd::new(extract_script(&plan));
        if let Some(path) = &plan.local {
            let data = std::fs::read(path).map_err(|e| ModuleError::failed(format!("cannot read {path}: {e}")))?;
            if sha1_hex(&data) != plan.sha1 {
                return Err(ModuleError::failed(format!("{path} changed while the task ran")));
            }
            cmd = cmd.stdin(data);
        }
        let out = run_ok(cx, cmd, &format!("extracting into {}", plan.dest)).await?;
        let mut result = q.result;
        if let Some(h) = out.lines().find_map(|l| l.strip_prefix("@troupe-handler ")) {
            result.insert("handler".into(), h.trim().into());
        }
        if plan.list_files {
            let files: Vec<Value> =
                out.lines().skip_while(|l| *l != "@troupe-files").skip(1).map(Value::from).collect();
            result.insert("files".into(), Value::Array(files));
        }
        Ok(result)
    }
}

#[cfg(test)]
#[path = "unarchive_tests.rs"]
mod tests;
