//! `copy` of a controller folder, as Ansible's copy action walks it: `src=conf.d/` puts the
//! folder's content in `dest`, `src=conf.d` the folder itself. Each file is compared by SHA-1
//! and written atomically; folders below the source get `directory_mode`, `owner` and `group`;
//! folders made on the way get them too; with `local_follow: false` links stay links.
//! One command reads every path's facts; apply makes the folders, then writes the files.

use std::path::{Path, PathBuf};

use crate::connection::{quote, Cmd};
use crate::facts::batch::{self, Want};
use crate::facts::{wants_facts, FileFacts, FileKind};

use super::args::Args;
use super::content::{Content, LocalFile};
use super::remote_file::{apply_writes, query_write_with, Attrs, WriteOpts};
use super::{Change, Ctx, Map, ModuleError, Query};

/// What `_walk_dirs` finds under a controller folder: paths relative to `dest`.
#[derive(Debug, Default, PartialEq)]
pub struct LocalTree {
    /// (controller file, relative path); a followed link gives its target file.
    pub files: Vec<(PathBuf, String)>,
    /// Folders below the top one (relative paths), parents first.
    pub dirs: Vec<String>,
    /// (link text, relative path): links kept as links (`local_follow: false`, or a loop).
    pub links: Vec<(String, String)>,
}

/// Walk `top`; without a trailing slash the relative paths start with its name (rsync's rule).
pub fn walk(top: &Path, trailing_slash: bool, local_follow: bool) -> std::io::Result<LocalTree> {
    let mut tree = LocalTree::default();
    let base = if trailing_slash {
        String::new()
    } else {
        top.file_name().map(|n| format!("{}/", n.to_string_lossy())).unwrap_or_default()
    };
    let real = std::fs::canonicalize(top)?;
    walk_into(&real, &base, local_follow, &mut vec![real.clone()], &mut tree)?;
    Ok(tree)
}

fn walk_into(
    dir: &Path,
    rel: &str,
    follow: bool,
    parents: &mut Vec<PathBuf>,
    tree: &mut LocalTree,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = format!("{rel}{}", e.file_name().to_string_lossy());
        let kind = e.file_type()?;
        if kind.is_symlink() {
            let text = std::fs::read_link(&path)?.to_string_lossy().into_owned();
            let target = std::fs::canonicalize(&path).ok();
            match target {
                Some(t) if follow && t.is_file() => tree.files.push((t, name)),
                // A link to a folder being copied already is a loop: it stays a link.
                Some(t) if follow && t.is_dir() && !parents.contains(&t) => {
                    tree.dirs.push(name.clone());
                    parents.push(t.clone());
                    walk_into(&t, &format!("{name}/"), follow, parents, tree)?;
                    parents.pop();
                }
                _ => tree.links.push((text, name)),
            }
        } else if kind.is_dir() {
            tree.dirs.push(name.clone());
            parents.push(path.clone());
            walk_into(&path, &format!("{name}/"), follow, parents, tree)?;
            parents.pop();
        } else {
            tree.files.push((path, name));
        }
    }
    Ok(())
}

/// The folders from `/` down to `path` (not `/` itself), outermost first.
pub(super) fn chain(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, part) in path.split('/').enumerate() {
        if part.is_empty() {
            if i == 0 {
                cur.push('/');
            }
            continue;
        }
        if !cur.is_empty() && !cur.ends_with('/') {
            cur.push('/');
        }
        cur.push_str(part);
        out.push(cur.clone());
    }
    out
}

/// What apply does for a folder copy.
pub struct DirPlan {
    /// mkdir, chown/chmod and ln commands, run before the writes.
    script: String,
    /// One planned write (or attribute change) per file that differs.
    writes: Vec<Query>,
    /// The one file's own result is the task's (Ansible's single-file case).
    single: bool,
}

/// `mode: preserve`: each file keeps the permission bits of its source.
pub fn preserve(a: &Args) -> bool {
    matches!(a.get("mode"), Some(crate::value::Value::String(m)) if m == "preserve")
}

/// The permission bits of a controller file.
pub fn local_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644)
}

fn file_attrs(a: &Args, local: &Path) -> Result<Attrs, ModuleError> {
    let (owner, group) = (a.str("owner")?, a.str("group")?);
    if preserve(a) {
        return Ok(Attrs::new(Some(super::file_mode::Mode::Octal(local_mode(local))), owner, group));
    }
    Ok(Attrs::new(a.mode("mode")?, owner, group))
}

/// Compare the folder at `top` (found on the controller; `src` as the task gave it) with `dest`.
pub async fn query_dir(cx: &Ctx<'_>, a: &Args, top: &Path, trailing_slash: bool) -> Result<Query, ModuleError> {
    let local_follow = a.bool("local_follow", true)?;
    let force = a.bool("force", true)?;
    let opts = WriteOpts { backup: a.bool("backup", false)?, validate: a.str("validate")? };
    let dir_attrs = Attrs::new(a.mode("directory_mode")?, a.str("owner")?, a.str("group")?);
    let tree = walk(top, trailing_slash, local_follow)
        .map_err(|e| ModuleError::failed(format!("could not read {}: {e}", top.display())))?;
    let mut dest = a.req_str("dest")?;
    if !dest.ends_with('/') {
        dest.push('/');
    }
    let at = |rel: &str| format!("{dest}{rel}");

    // The folders that lead to what is copied: dest and the ones above it, and the top folder.
    let root = dest.trim_end_matches('/');
    let mut lead = chain(root);
    if let Some(name) = top.file_name().filter(|_| !trailing_slash) {
        lead.push(at(&name.to_string_lossy()));
    }
    let mut wants: Vec<Want> = lead.iter().map(|p| Want::new(p.clone(), true, None)).collect();
    wants.extend(tree.dirs.iter().map(|d| Want::new(at(d), false, None)));
    wants.extend(tree.files.iter().map(|(_, f)| Want::new(at(f), false, Some("sha1"))));
    wants.extend(tree.links.iter().map(|(_, l)| Want::new(at(l), false, None)));
    let facts = many_facts(cx, &wants).await?;
    let (lead_facts, rest) = facts.split_at(lead.len());
    let (dir_facts, rest) = rest.split_at(tree.dirs.len());
    let (file_facts, link_facts) = rest.split_at(tree.files.len());

    let mut script = String::new();
    let something = !(tree.files.is_empty() && tree.dirs.is_empty() && tree.links.is_empty());
    let make = |f: &FileFacts, script: &mut String| -> Result<(), ModuleError> {
        match f.kind {
            FileKind::Dir => Ok(()),
            FileKind::Absent => {
                script.push_str(&format!("mkdir -- {}\n", quote(&f.path)));
                script.push_str(&dir_attrs.script(&quote(&f.path), false));
                Ok(())
            }
            _ => Err(ModuleError::failed(format!("{} exists and is not a directory", f.path))),
        }
    };
    if something {
        for f in lead_facts {
            make(f, &mut script)?;
        }
    }
    for f in dir_facts {
        match f.kind {
            FileKind::Dir => script.push_str(&dir_attrs.differing(f).script(&quote(&f.path), false)),
            _ => make(f, &mut script)?,
        }
    }
    // Ansible shows a diff only when the folder holds a single file (its result is the task's).
    let lone = tree.files.len() == 1 && tree.dirs.is_empty() && tree.links.is_empty();
    let mut writes = Vec::new();
    for ((local, _), f) in tree.files.iter().zip(file_facts) {
        if f.kind == FileKind::Dir {
            return Err(ModuleError::failed(format!("{} is a directory; cannot copy a file over it", f.path)));
        }
        if f.exists() && !force {
            continue;
        }
        if crate::vault::file_is_vaulted(local) && a.bool("decrypt", true)? {
            return Err(ModuleError::failed(format!(
                "{} is vault-encrypted: copying a folder that holds vault files is not supported yet; copy it on its own",
                local.display()
            )));
        }
        let content = Content::File(LocalFile::open(local)?);
        let q = query_write_with(cx, f, &content, &file_attrs(a, local)?, &opts, true, lone && cx.diff).await?;
        writes.push(q);
    }
    for ((text, _), f) in tree.links.iter().zip(link_facts) {
        if f.kind == FileKind::Dir {
            return Err(ModuleError::failed(format!("{} is a directory; cannot make a link there", f.path)));
        }
        if f.kind != FileKind::Link || f.link_target.as_deref() != Some(text.as_str()) {
            script.push_str(&format!("ln -sfn -- {} {}\n", quote(text), quote(&f.path)));
        }
    }

    let single = lone && writes.len() == 1;
    let changed = !script.is_empty() || writes.iter().any(|q| q.changed);
    let mut q = Query { changed, ..Query::default() };
    if single {
        q.result = writes[0].result.clone();
        q.diff = writes[0].diff.take();
    } else {
        q.result.insert("dest".into(), dest.clone().into());
        // Ansible reports the absolute path it found (not resolving links).
        let abs = std::path::absolute(top).unwrap_or_else(|_| top.to_path_buf());
        let mut src = abs.to_string_lossy().into_owned();
        if trailing_slash && !src.ends_with('/') {
            src.push('/');
        }
        q.result.insert("src".into(), src.into());
    }
    writes.retain(|w| w.changed);
    q.change = Change::new(DirPlan { script, writes, single });
    Ok(q)
}

/// The facts of many paths: one `stat` and one `sha1sum` for all of them (`facts::batch`),
/// each path the batch could not read read again alone.
async fn many_facts(cx: &Ctx<'_>, wants: &[Want]) -> Result<Vec<FileFacts>, ModuleError> {
    if wants.len() < 4 || !wants.iter().all(|w| batch::batchable(&w.path)) {
        return Ok(wants_facts(cx, wants).await?);
    }
    let mark = format!("@troupe-mark-{:016x}", rand::random::<u64>());
    let out = cx.run(Cmd::new(batch::script(wants, &mark)).read_only()).await?;
    let found = batch::parse_found(&out.stdout, wants, &mark);
    let again: Vec<Want> = wants.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(w, _)| w.clone()).collect();
    let again = if again.is_empty() { Vec::new() } else { wants_facts(cx, &again).await? };
    let mut again = again.into_iter();
    Ok(found.into_iter().map(|f| f.map(|f| f.facts).or_else(|| again.next()).unwrap_or_default()).collect())
}

/// Make the folders and links, then write each file that differs (one command when small).
pub async fn apply_dir(cx: &Ctx<'_>, mut q: Query) -> Result<Map, ModuleError> {
    let plan: DirPlan = q.change.take("copy")?;
    let last = apply_writes(cx, &plan.script, plan.writes).await?.pop();
    match last {
        Some(result) if plan.single => Ok(result),
        _ => Ok(q.result),
    }
}
