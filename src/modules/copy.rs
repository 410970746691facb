//! `copy`: put a controller file or inline content on the host. The compare-and-write path
//! ([`query_content`]) is shared with `template`.

use async_trait::async_trait;

use crate::value::{to_text, Value};

use super::args::Args;
use super::content::{Content, LocalFile};
use super::remote_file::{apply_write, file_facts, query_write, Attrs, FileKind, WriteOpts};
use super::{Ctx, Map, Module, ModuleError, Query};

pub struct Copy;

/// Arguments copy and template share with the write itself.
pub const WRITE_ARGS: [&str; 9] =
    ["dest", "mode", "owner", "group", "backup", "force", "validate", "follow", "unsafe_writes"];

/// Compare `data` with `dest` on the host and plan an atomic write of what differs.
/// `src_name` (a file's base name) lets a folder `dest` (or one ending in `/`) take the file
/// under that name; inline content can't go to a folder.
pub async fn query_content(
    cx: &Ctx<'_>,
    a: &Args,
    content: &Content<'_>,
    src_name: Option<&str>,
) -> Result<Query, ModuleError> {
    let dest = a.req_str("dest")?;
    let attrs = Attrs::new(a.mode("mode")?, a.str("owner")?, a.str("group")?);
    let opts = WriteOpts { backup: a.bool("backup", false)?, validate: a.str("validate")? };
    let force = a.bool("force", true)?;
    a.bool("follow", false)?;
    a.bool("unsafe_writes", false)?;
    let into = |dir: &str| format!("{}/{}", dir.trim_end_matches('/'), src_name.unwrap_or(""));
    let facts = match src_name {
        None if dest.ends_with('/') => return Err(ModuleError::failed("can not use content with a dir as dest")),
        Some(_) if dest.ends_with('/') => file_facts(cx, &[&into(&dest)], true, Some("sha1")).await?,
        _ => {
            // One command reads both the dest and the file inside it, in case dest is a folder.
            let inner = into(&dest);
            let mut f = file_facts(cx, &[&dest, &inner], true, Some("sha1")).await?;
            if f.first().is_some_and(|d| d.kind == FileKind::Dir) {
                if src_name.is_none() {
                    return Err(ModuleError::failed("can not use content with a dir as dest"));
                }
                f.split_off(1)
            } else {
                f.truncate(1);
                f
            }
        }
    };
    let facts = facts.into_iter().next().unwrap_or_default();
    query_write(cx, &facts, content, &attrs, &opts, force).await
}

#[async_trait]
impl Module for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let mut known = WRITE_ARGS.to_vec();
        known.extend(["src", "content", "remote_src", "directory_mode", "local_follow", "decrypt", "checksum"]);
        let a = Args::parse("copy", args, &known, &[])?;
        if a.bool("remote_src", false)? {
            return Err(a.error("`remote_src` is not supported yet; use `command: cp ...` with `creates`"));
        }
        match (a.get("src"), a.get("content")) {
            (Some(_), Some(_)) => Err(a.error("`src` and `content` are mutually exclusive")),
            (None, None) => Err(a.error("give `src` (a file on the controller) or `content`")),
            (None, Some(content)) => {
                let text = match content {
                    Value::String(s) => s.clone(),
                    other => to_text(other),
                };
                query_content(cx, &a, &Content::Bytes(text.as_bytes()), None).await
            }
            (Some(_), None) => {
                let src = a.req_str("src")?;
                let path = cx.find_file("files", &src).ok_or_else(|| {
                    ModuleError::failed(format!(
                        "could not find src {src:?} (looked in files/ and beside the tasks and playbook)"
                    ))
                })?;
                if path.is_dir() {
                    return Err(a.error(format_args!(
                        "src {} is a folder; copying folders is not supported yet",
                        path.display()
                    )));
                }
                // Hashed in chunks here, streamed to the host by the write: never read whole.
                let file = LocalFile::open(&path)?;
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let mut q = query_content(cx, &a, &Content::File(file), name.as_deref()).await?;
                q.result.insert("src".into(), path.to_string_lossy().into_owned().into());
                Ok(q)
            }
        }
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        apply_write(cx, q).await
    }
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
