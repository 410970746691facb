//! `copy` with `remote_src: true`: `src` is on the target, as Ansible's copy module copies it.
//! A file is compared by SHA-1 and copied through a temporary file beside `dest` (its times
//! kept, its mode too when `dest` existed). A folder is compared entry by entry
//! (see [`super::copy_tree`]); a folder `dest` that is missing is copied whole, atomically.
//! One command reads the facts of both and, for a folder, lists both trees.

use crate::connection::{quote, Cmd};
use crate::facts::batch::Want;
use crate::facts::file::want_script;
use crate::facts::{facts_script, parse_facts, FileFacts, FileKind};
use crate::value::Value;

use super::args::Args;
use super::copy_tree::{self, Tree};
use super::file_mode::Mode;
use super::remote_file::Attrs;
use super::script_out::run_ok;
use super::{Change, Ctx, Map, ModuleError, Query};

/// Python's `os.path.join(a, b)` for two parts.
pub fn join(a: &str, b: &str) -> String {
    if a.ends_with('/') || a.is_empty() {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// Python's `os.path.basename` and `os.path.dirname`.
pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

pub fn dirname(p: &str) -> String {
    match p.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &p[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

/// Shell that makes each missing folder from `/` down to `path`, giving new ones `attrs`
/// (the module's `split_pre_existing_dir` + `adjust_recursive_directory_permissions`).
pub fn mkdirs_script(path: &str, attrs: &Attrs) -> String {
    let mut s = String::new();
    for cur in super::copy_dir::chain(path) {
        let q = quote(&cur);
        s.push_str(&format!("if [ ! -d {q} ]; then mkdir -- {q}\n{}fi\n", attrs.script(&q, false)));
    }
    s
}

/// What apply runs: one script, then the facts of `dest` to report.
pub struct RemotePlan {
    script: String,
    dest: String,
}

fn result_of(src: &str, dest: &str, md5: Option<String>, sum: Option<String>) -> Map {
    let mut r = Map::new();
    r.insert("dest".into(), dest.into());
    r.insert("src".into(), src.into());
    r.insert("md5sum".into(), md5.map(Value::from).unwrap_or(Value::Null));
    r.insert("checksum".into(), sum.map(Value::from).unwrap_or(Value::Null));
    r
}

/// Compare `src` (on the target) with `dest` and plan the copy.
pub async fn query_remote(cx: &Ctx<'_>, a: &Args) -> Result<Query, ModuleError> {
    let src = a.req_str("src")?;
    let mut dest = a.req_str("dest")?;
    if !dest.contains('/') {
        dest = format!("./{dest}");
    }
    let base = basename(&src).to_string();
    let into = join(&dest, &base);
    let parent = dirname(&dest);
    let wants = [
        Want::new(src.clone(), true, Some("sha1")),
        Want::new(src.clone(), true, Some("md5")),
        Want::new(dest.clone(), false, Some("sha1")),
        Want::new(dest.clone(), true, Some("sha1")),
        Want::new(into.clone(), false, Some("sha1")),
        Want::new(into.clone(), true, Some("sha1")),
        Want::new(if parent.is_empty() { ".".into() } else { parent.clone() }, true, None),
    ];
    let params_dest = a.req_str("dest")?;
    let root = if src.ends_with('/') { params_dest } else { join(&params_dest, basename(&src)) };
    let (f, lists) = read(cx, &wants, &src, &root).await?;
    let (s, dest_l, dest_f, into_l, into_f, parent_f) = (&f[0], &f[2], &f[3], &f[4], &f[5], &f[6]);
    if !s.exists() {
        return Err(ModuleError::failed(format!("Source {src} not found")));
    }
    if !s.readable {
        return Err(ModuleError::failed(format!("Source {src} not readable")));
    }
    if !matches!(s.kind, FileKind::File | FileKind::Dir) {
        return Err(ModuleError::failed(format!("Cannot copy invalid source '{src}': not a file")));
    }
    let (owner, group) = (a.str("owner")?, a.str("group")?);
    let mode = if super::copy_dir::preserve(a) { Some(Mode::Octal(s.mode)) } else { a.mode("mode")? };
    let attrs = Attrs::new(mode, owner.clone(), group.clone());
    let dir_attrs = Attrs::new(a.mode("directory_mode")?, owner, group);

    // dest ending in `/` whose folder is missing: made first, with directory_mode.
    let mut script = String::new();
    let mut made = false;
    if dest.ends_with('/') && !parent_f.exists() {
        if cx.check_mode {
            let mut q = Query { changed: true, ..Query::default() };
            q.result.insert("msg".into(), format!("dest directory {parent} would be created").into());
            q.result.insert("src".into(), src.into());
            return Ok(q);
        }
        script.push_str(&mkdirs_script(&parent, &dir_attrs));
        made = true;
    }
    let into_dir = dest.ends_with('/') || dest_f.kind == FileKind::Dir;
    if s.kind == FileKind::Dir {
        if !into_dir && dest_l.exists() {
            return Err(ModuleError::failed(format!("Failed to copy '{src}' to '{dest}'.")));
        }
        if !into_dir && !parent_f.exists() {
            return Err(ModuleError::failed(format!("Destination directory {parent} does not exist")));
        }
        // The facts' path is what the result calls dest.
        let target_facts = if into_dir { into_l } else { dest_l };
        let lists = lists.ok_or_else(|| ModuleError::failed(format!("{src} changed while the task ran")))?;
        return query_tree(a, &src, &root, lists, target_facts, &attrs, script);
    }
    super::copy::expect_checksum(a, s.checksum.as_deref())?;
    let md5 = f[1].checksum.clone();
    let sum = s.checksum.clone();

    let (mut target, mut tl, mut tf) = if into_dir { (into, into_l, into_f) } else { (dest.clone(), dest_l, dest_f) };
    let follow = a.bool("follow", false)?;
    if tl.exists() {
        if tl.kind == FileKind::Link && follow {
            target = tl.link_source.clone().unwrap_or(target);
            tl = tf;
        }
        if !a.bool("force", true)? {
            let mut q = Query::ok();
            q.result.insert("msg".into(), "file already exists".into());
            q.result.insert("src".into(), src.into());
            q.result.insert("dest".into(), target.into());
            return Ok(q);
        }
    } else if !made && !into_dir && !parent_f.exists() {
        return Err(ModuleError::failed(format!("Destination directory {parent} does not exist")));
    }
    if !tf.exists() {
        tf = tl;
    }
    if tf.kind == FileKind::Dir {
        return Err(ModuleError::failed(format!("Failed to copy '{src}' to '{target}'.")));
    }
    let dest_sum = (tf.kind == FileKind::File && tf.readable).then(|| tf.checksum.clone()).flatten();
    let copy = dest_sum != sum || tl.kind == FileKind::Link;
    let differing = attrs.differing(tf);
    let mut q = Query { changed: made || copy || !differing.is_empty(), ..Query::default() };
    q.result = result_of(&src, &target, md5, sum);
    if !q.changed {
        tl.insert_into(&mut q.result);
        return Ok(q);
    }
    if copy {
        script.push_str(&copy_file_script(&src, &target, tl.exists(), a)?);
        script.push_str(&attrs.script(&quote(&target), false));
    } else {
        script.push_str(&differing.script(&quote(&target), false));
    }
    q.change = Change::new(RemotePlan { script, dest: target });
    Ok(q)
}

/// Copy a target file to `dest` through a temporary file in its folder (shutil.copyfile and
/// copystat, then an atomic move): times kept; the mode kept too unless `dest` is new.
fn copy_file_script(src: &str, dest: &str, existing: bool, a: &Args) -> Result<String, ModuleError> {
    let mut s = format!(
        "s={}\nd={}\nt={}\nset -C; : > \"$t\"; set +C\ntrap 'rm -f -- \"$t\"' EXIT\n\
         cat < \"$s\" > \"$t\"\ntouch -r \"$s\" \"$t\"\n",
        quote(src),
        quote(dest),
        quote(&join(&dirname(dest), &format!(".troupe-tmp.{:016x}", rand::random::<u64>()))),
    );
    if existing {
        s.push_str("chmod --reference=\"$s\" \"$t\"\n");
    }
    if let Some(v) = a.str("validate")? {
        if !v.contains("%s") {
            return Err(ModuleError::failed(format!("validate must contain %s: {v}")));
        }
        let cmd = v.replace("%s", "\"$t\"");
        s.push_str(&format!("{cmd} || {{ echo \"failed to validate\" >&2; exit 3; }}\n"));
    }
    if a.bool("backup", false)? && existing {
        s.push_str("b=\"$d.$$.$(date +%Y-%m-%d@%H:%M:%S)~\"\ncp -p -- \"$d\" \"$b\"\necho \"@troupe-backup $b\"\n");
    }
    s.push_str("mv -f -- \"$t\" \"$d\"\ntrap - EXIT\n");
    Ok(s)
}

/// The facts of `wants` and, when `src` is a folder, the listings of it and of `root` (the
/// folder it is copied to), in one command.
async fn read(
    cx: &Ctx<'_>,
    wants: &[Want],
    src: &str,
    root: &str,
) -> Result<(Vec<FileFacts>, Option<(Tree, Option<Tree>)>), ModuleError> {
    let mut script: String = wants.iter().map(want_script).collect();
    script.push_str(&format!(
        "if [ -d {} ]; then
echo {TREE_MARK}
{}fi
",
        quote(src),
        copy_tree::list_script(src, root)
    ));
    let out = run_ok(cx, Cmd::new(script).read_only(), "reading the source and dest failed").await?;
    let mark = format!("{TREE_MARK}\n");
    let (text, tree) = match out.stdout.windows(mark.len()).position(|w| w == mark.as_bytes()) {
        Some(i) => (&out.stdout[..i], Some(&out.stdout[i + mark.len()..])),
        None => (&out.stdout[..], None),
    };
    let paths: Vec<&str> = wants.iter().map(|w| w.path.as_str()).collect();
    let facts = parse_facts(&String::from_utf8_lossy(text), &paths).map_err(ModuleError::failed)?;
    let lists = tree.map(copy_tree::parse_lists).transpose().map_err(ModuleError::failed)?;
    Ok((facts, lists))
}

const TREE_MARK: &str = "@troupe-tree";

/// A folder `src`: compare the two trees (`to` is `None` when `root` is missing), then plan
/// the copy of what differs.
fn query_tree(
    a: &Args,
    src: &str,
    root: &str,
    (from, mut to): (Tree, Option<Tree>),
    target_facts: &FileFacts,
    attrs: &Attrs,
    mut script: String,
) -> Result<Query, ModuleError> {
    let target = target_facts.path.as_str();
    if !script.is_empty() && src.ends_with('/') {
        // dest's folder is made first (empty, with directory_mode): the content goes into it.
        let made = copy_tree::Entry {
            kind: 'd',
            target_kind: 'd',
            owner: attrs.owner.clone().unwrap_or_default(),
            group: attrs.group.clone().unwrap_or_default(),
            ..Default::default()
        };
        to = Some(Tree { entries: [(String::new(), made)].into_iter().collect() });
    }
    let owner = (attrs.owner.clone(), attrs.group.clone());
    let local_follow = a.opt_bool("local_follow")?;
    let changed_tree = match &to {
        None => {
            script.push_str(&copy_tree::fresh_script(src, root, local_follow == Some(true), &owner));
            true
        }
        Some(to) => {
            let plan = copy_tree::plan(src, root, &from, to, local_follow, &owner);
            script.push_str(&plan);
            !plan.is_empty()
        }
    };
    // `mode` is set on dest itself, as the module's last step does.
    let mode_attrs = Attrs { mode: attrs.mode.clone(), owner: None, group: None };
    let mode_change = match &to {
        Some(Tree { entries }) if target_facts.exists() => {
            let root_facts = entries.get("").map(|e| e.facts(target)).unwrap_or_else(|| target_facts.clone());
            mode_attrs.differing(&root_facts)
        }
        _ => mode_attrs,
    };
    script.push_str(&mode_change.script(&quote(target), false));
    let mut q = Query { changed: !script.is_empty() || changed_tree, ..Query::default() };
    q.result = result_of(src, target, None, None);
    if q.changed {
        q.change = Change::new(RemotePlan { script, dest: target.to_string() });
    } else {
        target_facts.insert_into(&mut q.result);
    }
    Ok(q)
}

/// Run the planned script; the result gets `dest`'s new facts (and `backup_file`).
pub async fn apply_remote(cx: &Ctx<'_>, mut q: Query) -> Result<Map, ModuleError> {
    let plan: RemotePlan = q.change.take("copy")?;
    let script = format!("set -e\n{}{}", plan.script, facts_script(&plan.dest, false, None));
    let out = run_ok(cx, Cmd::new(script), &format!("copying to {} failed", plan.dest)).await?.stdout_text();
    let facts = parse_facts(&out, &[&plan.dest]).map_err(ModuleError::failed)?;
    if let Some(f) = facts.first() {
        f.insert_into(&mut q.result);
    }
    if let Some(b) = out.lines().find_map(|l| l.strip_prefix("@troupe-backup ")) {
        q.result.insert("backup_file".into(), Value::from(b));
    }
    Ok(q.result)
}
