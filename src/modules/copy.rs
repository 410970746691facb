//! `copy`: put a controller file or inline content on the host. The compare-and-write path
//! ([`query_content`]) is shared with `template`.

use async_trait::async_trait;

use crate::value::{to_text, Value};

use super::args::{ArgSpec, Args, Opt};
use super::content::{Content, LocalFile};
use super::file_mode::Mode;
use super::remote_file::{apply_write, query_write, Attrs, WriteOpts};
use super::{copy_dir, copy_remote, Ctx, Map, Module, ModuleError, Query};
use crate::facts::batch::Want;
use crate::facts::{file_facts, FileKind};

pub struct Copy;

/// Arguments copy and template share with the write itself.
pub const WRITE_OPTS: &[Opt] = &[
    Opt::path("dest", "where the file goes on the target (a folder if it ends with `/`)").required(),
    Opt::raw("mode", "permissions: octal (`'0644'`) or symbolic (`u+rw`); copy also takes `preserve` (the source's)"),
    Opt::str("owner", "owner of the file"),
    Opt::str("group", "group of the file"),
    Opt::bool("backup", "keep a timestamped copy of the old file").default("false"),
    Opt::bool("force", "replace a file whose content differs (false: only create)").default("true"),
    Opt::str("validate", "a command that checks the new file (`%s` is its path) before it replaces the old"),
    Opt::bool("follow", "keep a link at `dest` and write its target").default("false"),
    Opt::bool("unsafe_writes", "accepted; writes are always atomic").default("false"),
];

/// copy's arguments, declared once: the write's, then its own.
const SPEC: ArgSpec = ArgSpec {
    options: &[
        WRITE_OPTS,
        &[
            Opt::path("src", "a controller file or folder (a folder ending with `/` copies its content)"),
            Opt::raw("content", "the file's text, instead of `src`"),
            Opt::bool("remote_src", "`src` is on the target (a file, or a folder copied as the module copies it)")
                .default("false"),
            Opt::raw("directory_mode", "mode of the folders a folder copy makes (and of the source's folders)"),
            Opt::bool("local_follow", "follow links in a controller folder (false: copy them as links)"),
            Opt::bool("decrypt", "decrypt a vault-encrypted `src` file before copying").default("true"),
            Opt::str("checksum", "the SHA-1 `src` must have (a file; checked before anything is written)"),
        ],
    ],
    missing: Some("dest is required"),
    ..ArgSpec::NONE
};

/// The paths whose facts [`query_content`] reads (following links, with sha1): dest and the
/// file inside it, in one command, in case dest is a folder. `None`: content can't go to a folder.
pub fn content_paths(dest: &str, src_name: Option<&str>) -> Option<Vec<String>> {
    let into = format!("{}/{}", dest.trim_end_matches('/'), src_name.unwrap_or(""));
    match src_name {
        None if dest.ends_with('/') => None,
        Some(_) if dest.ends_with('/') => Some(vec![into]),
        _ => Some(vec![dest.to_string(), into]),
    }
}

/// The read-ahead wants of a copy or template task whose controller file is `src`.
pub fn content_wants(dest: &str, src: Option<&str>) -> Option<Vec<Want>> {
    let name = match src {
        Some(s) => Some(std::path::Path::new(s).file_name()?.to_string_lossy().into_owned()),
        None => None,
    };
    let paths = content_paths(dest, name.as_deref())?;
    Some(paths.into_iter().map(|p| Want::new(p, true, Some("sha1"))).collect())
}

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
    // `mode: preserve` keeps the source's bits (inline content's temporary file has 0600).
    let mode = match content {
        Content::File(f) if copy_dir::preserve(a) => Some(Mode::Octal(copy_dir::local_mode(&f.path))),
        Content::Bytes(_) if copy_dir::preserve(a) => Some(Mode::Octal(0o600)),
        _ => a.mode("mode")?,
    };
    let attrs = Attrs::new(mode, a.str("owner")?, a.str("group")?);
    let opts = WriteOpts { backup: a.bool("backup", false)?, validate: a.str("validate")? };
    let force = a.bool("force", true)?;
    a.bool("follow", false)?;
    a.bool("unsafe_writes", false)?;
    let Some(paths) = content_paths(&dest, src_name) else {
        return Err(ModuleError::failed("can not use content with a dir as dest"));
    };
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let mut facts = file_facts(cx, &paths, true, Some("sha1")).await?;
    // With two paths (dest and the file inside it), a folder dest takes the file inside.
    if paths.len() == 2 && facts.first().is_some_and(|d| d.kind == FileKind::Dir) {
        if src_name.is_none() {
            return Err(ModuleError::failed("can not use content with a dir as dest"));
        }
        facts.remove(0);
    }
    let facts = facts.into_iter().next().unwrap_or_default();
    query_write(cx, &facts, content, &attrs, &opts, force).await
}

/// `checksum:` is the SHA-1 the source must have (the module's check after the transfer).
pub fn expect_checksum(a: &Args, actual: Option<&str>) -> Result<(), ModuleError> {
    match a.str("checksum")? {
        Some(want) if Some(want.as_str()) != actual => {
            let mut result = Map::new();
            result.insert("checksum".into(), actual.map(Value::from).unwrap_or(Value::Null));
            result.insert("expected_checksum".into(), want.into());
            Err(ModuleError::Failed {
                msg: "Copied file does not match the expected checksum. Transfer failed.".into(),
                result,
            })
        }
        _ => Ok(()),
    }
}

/// Ansible's `AnsibleFileNotFound` for a controller `src`, with the paths looked at.
fn not_found(cx: &Ctx<'_>, src: &str) -> ModuleError {
    let searched: Vec<String> = cx
        .search
        .iter()
        .flat_map(|d| [d.join("files").join(src), d.join(src)])
        .map(|p| std::path::absolute(&p).unwrap_or(p).to_string_lossy().into_owned())
        .collect();
    ModuleError::failed(format!(
        "Could not find or access '{src}'\nSearched in:\n\t{} on the Ansible Controller.\n\
         If you are using a module and expect the file to exist on the remote, see the remote_src option",
        searched.join("\n\t")
    ))
}

#[async_trait]
impl Module for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn facts_wants(&self, args: &Map) -> Option<Vec<Want>> {
        let a = Args::parse("copy", args, &SPEC).ok()?;
        // A folder's paths (or a target's source) are known only once the source is read.
        if a.bool("remote_src", false).ok()? || a.str("src").ok()?.is_some_and(|s| s.ends_with('/')) {
            return None;
        }
        content_wants(&a.req_str("dest").ok()?, a.str("src").ok()?.as_deref())
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let args = &*crate::module_api::home::expand_args(cx, args, &["dest"]).await?;
        let a = Args::parse("copy", args, &SPEC)?;
        match (a.get("src"), a.get("content")) {
            (Some(_), Some(_)) => Err(ModuleError::failed("src and content are mutually exclusive")),
            (None, None) => Err(ModuleError::failed("src (or content) is required")),
            (Some(_), None) if a.bool("remote_src", false)? => copy_remote::query_remote(cx, &a).await,
            (None, Some(content)) => {
                let text = match content {
                    Value::String(s) => s.clone(),
                    other => to_text(other),
                };
                query_content(cx, &a, &Content::Bytes(text.as_bytes()), None).await
            }
            (Some(_), None) => {
                let src = a.req_str("src")?;
                let path = cx.find_file("files", &src).ok_or_else(|| not_found(cx, &src))?;
                if path.is_dir() {
                    return copy_dir::query_dir(cx, &a, &path, src.ends_with('/')).await;
                }
                if a.bool("decrypt", true)? && crate::vault::file_is_vaulted(&path) {
                    let plain = crate::vault::read_file(&path).map_err(|e| ModuleError::failed(e.to_string()))?;
                    expect_checksum(&a, Some(&crate::facts::batch::sha1_hex(&plain)))?;
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    let mut q = query_content(cx, &a, &Content::Bytes(&plain), name.as_deref()).await?;
                    q.result.insert("src".into(), path.to_string_lossy().into_owned().into());
                    return Ok(q);
                }
                // Hashed in chunks here, streamed to the host by the write: never read whole.
                let file = LocalFile::open(&path)?;
                expect_checksum(&a, Some(&file.sha1))?;
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let mut q = query_content(cx, &a, &Content::File(file), name.as_deref()).await?;
                q.result.insert("src".into(), path.to_string_lossy().into_owned().into());
                Ok(q)
            }
        }
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        // The query's plan says which of the three copies it is.
        if q.change.is::<copy_remote::RemotePlan>() {
            copy_remote::apply_remote(cx, q).await
        } else if q.change.is::<copy_dir::DirPlan>() {
            copy_dir::apply_dir(cx, q).await
        } else {
            apply_write(cx, q).await
        }
    }
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
