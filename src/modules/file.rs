//! `file`: make a path a file, directory, link or nothing, with the wanted owner and mode.

use crate::modules::Change;
use async_trait::async_trait;

use crate::connection::{quote, Cmd};

use super::args::{ArgSpec, Args, Opt};
use super::file_times::{self, Stamp};
use super::remote_file::{attr_diff, Attrs};
use super::script_out::run_ok;
use super::{Ctx, Diff, Map, Module, ModuleError, Query};
use crate::facts::batch::Want;
use crate::facts::{facts_script, file_facts, parse_facts, FileFacts, FileKind};
use crate::value::Value;

pub struct File;

/// The path and its aliases: a leading `~` is expanded on the host, as the file module does.
const PATH_KEYS: &[&str] = &["path", "dest", "name"];

const STATES: [&str; 6] = ["absent", "directory", "file", "hard", "link", "touch"];

struct Wanted {
    path: String,
    state: &'static str,
    attrs: Attrs,
    recurse: bool,
    src: Option<String>,
    force: bool,
    follow: bool,
    mtime: Stamp,
    atime: Stamp,
}

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::path("path", "the path to manage").required(),
        Opt::str("state", "what the path should be (unset: `file` if it exists, else as `recurse` says)")
            .choices(&STATES),
        Opt::raw("mode", "permissions: octal (`'0644'`) or symbolic (`u+rwx`)"),
        Opt::str("owner", "the owning user"),
        Opt::str("group", "the owning group"),
        Opt::bool("recurse", "apply owner, group and mode to everything under a directory").default("false"),
        Opt::path("src", "the target of a link (`state=link` or `hard`)"),
        Opt::bool("force", "replace what is in the way of a link").default("false"),
        Opt::bool("follow", "act on a link's target, not the link").default("true"),
        Opt::str("access_time", "`now`, `preserve` or a time in `access_time_format` (host's local time)"),
        Opt::str("modification_time", "`now`, `preserve` or a time in `modification_time_format`"),
        Opt::str("access_time_format", "strptime format of `access_time`").default("%Y%m%d%H%M.%S"),
        Opt::str("modification_time_format", "strptime format of `modification_time`").default("%Y%m%d%H%M.%S"),
        Opt::bool("unsafe_writes", "accepted for compatibility; writes are always atomic").default("false"),
        Opt::bool("_diff_peek", "internal (Ansible's action plugins): only say whether the file looks binary"),
    ]],
    aliases: &[("dest", "path"), ("name", "path")],
    ..ArgSpec::NONE
};

fn parse(args: &Map) -> Result<Wanted, ModuleError> {
    let a = Args::parse("file", args, &SPEC)?;
    let path = a.req_str("path")?;
    let mode = a.mode("mode")?;
    let recurse = a.bool("recurse", false)?;
    let state = a.choice("state", &STATES)?.unwrap_or(if recurse { "directory" } else { "" });
    if recurse && state != "directory" {
        return Err(fail("recurse option requires state to be 'directory'".into(), &path, state));
    }
    let src = a.str("src")?;
    // A link that exists keeps its target when `src` is not given (only its owner changes).
    a.bool("unsafe_writes", false)?;
    Ok(Wanted {
        path,
        state,
        attrs: Attrs::new(mode, a.str("owner")?, a.str("group")?),
        recurse,
        src,
        force: a.bool("force", false)?,
        follow: a.bool("follow", true)?,
        mtime: stamp(&a, "modification_time", state)?,
        atime: stamp(&a, "access_time", state)?,
    })
}

fn stamp(a: &Args, name: &str, state: &str) -> Result<Stamp, ModuleError> {
    let format = a.str(&format!("{name}_format"))?.unwrap_or_else(|| "%Y%m%d%H%M.%S".into());
    Stamp::parse(a.str(name)?.as_deref(), &format, state).map_err(ModuleError::failed)
}

/// In check mode a user or group the play has not made yet is a warning, not a failure, as
/// Ansible's `check_owner_exists` / `check_group_exists` (one `getent` round trip).
async fn warn_unknown_owners(cx: &Ctx<'_>, attrs: &Attrs) -> Result<(), ModuleError> {
    let mut script = String::new();
    for (db, name, tag) in [("passwd", &attrs.owner, "u"), ("group", &attrs.group, "g")] {
        if let Some(n) = name {
            script.push_str(&format!("getent {db} {} >/dev/null || echo {tag}\n", quote(n)));
        }
    }
    if script.is_empty() {
        return Ok(());
    }
    let out = cx.run(Cmd::new(script).read_only()).await?.stdout_text();
    for (tag, who, name) in [("u", "user", &attrs.owner), ("g", "group", &attrs.group)] {
        let Some(n) = name.as_deref().filter(|_| out.lines().any(|l| l.trim() == tag)) else { continue };
        let what =
            if n.parse::<u32>().is_ok() { format!("{who} with {}id {n}", &who[..1]) } else { format!("{who} {n}") };
        crate::module_api::args::warn(format!("failed to look up {what}. Create {who} up to this point in real play"));
    }
    Ok(())
}

/// Where a link's `src` lives, for checking that it exists.
fn src_path(path: &str, src: &str) -> String {
    if src.starts_with('/') {
        return src.to_string();
    }
    match path.rsplit_once('/') {
        Some((dir, _)) => format!("{}/{src}", if dir.is_empty() { "" } else { dir }),
        None => src.to_string(),
    }
}

/// Attributes of a symlink itself: only owner and group (`chown -h`).
fn link_attrs_script(attrs: &Attrs, p: &str) -> String {
    let mut s = String::new();
    if let Some(o) = &attrs.owner {
        s.push_str(&format!("chown -h -- {} {p}\n", quote(o)));
    }
    if let Some(g) = &attrs.group {
        s.push_str(&format!("chgrp -h -- {} {p}\n", quote(g)));
    }
    s
}

/// Shell that prints each distinct mode, kind and owner found under `p` (links aside), one
/// `MODE KIND UID USER GID GROUP` line each: few lines however big the tree, and enough to tell
/// whether any entry differs, symbolic modes included (see [`recurse_differs`]).
/// With `follow`, what links point to counts too (and folders behind links are walked), as
/// Ansible's `recursive_set_attributes`.
fn recurse_check(p: &str, follow: bool) -> String {
    let l = if follow { "-L " } else { "" };
    format!("find {l}{p} ! -type l -printf '%m %y %U %u %G %g\\n' | sort -u")
}

/// Set `attrs` on everything under `p`; with `follow`, on what links point to as well.
fn recurse_script(attrs: &Attrs, p: &str, follow: bool) -> String {
    if !follow {
        return attrs.script(p, true);
    }
    let mut s = String::new();
    for (cmd, v) in [("chown --", &attrs.owner), ("chgrp --", &attrs.group), ("chmod", &attrs.mode)] {
        if let Some(v) = v {
            s.push_str(&format!("find -L {p} ! -type l -exec {cmd} {} {{}} +\n", quote(v)));
        }
    }
    s
}

/// Whether an entry listed by [`recurse_check`] has other attributes than `attrs` give it.
fn recurse_differs(attrs: &Attrs, listing: &str) -> bool {
    listing.lines().any(|line| {
        let w: Vec<&str> = line.split(' ').collect();
        let [mode, kind, uid, user, gid, group] = w[..] else { return false };
        let (Ok(mode), Ok(uid), Ok(gid)) = (u32::from_str_radix(mode, 8), uid.parse(), gid.parse()) else {
            return false;
        };
        let kind = if kind == "d" { FileKind::Dir } else { FileKind::File };
        let f = FileFacts { kind, mode, uid, gid, owner: user.into(), group: group.into(), ..FileFacts::default() };
        !attrs.differing(&f).is_empty()
    })
}

fn describe(path: &str, state: &str, extra: &str) -> String {
    format!("path: {path}\nstate: {state}\n{extra}")
}

fn fail(msg: String, path: &str, state: &str) -> ModuleError {
    let mut result = Map::new();
    result.insert("path".into(), path.into());
    result.insert("state".into(), state.into());
    result.insert("msg".into(), msg.clone().into());
    ModuleError::Failed { msg, result }
}

/// The paths whose facts the query reads, and whether it follows a final link:
/// file/directory/touch act on what a link points to; link/hard/absent on the path itself.
fn fact_paths(w: &Wanted) -> (Vec<String>, bool) {
    let follow = !matches!(w.state, "link" | "hard" | "absent");
    let mut paths = vec![w.path.clone()];
    paths.extend(w.src.as_deref().map(|s| src_path(&w.path, s)));
    (paths, follow)
}

/// Ansible's word for what a path is now (`get_state`): a file with more than one link is `hard`.
fn prev_state(f: &FileFacts) -> &'static str {
    match f.kind {
        FileKind::File if f.nlink > 1 => "hard",
        k => k.state(),
    }
}

/// The `diff` Ansible's file module returns: `before`/`after` mappings that start with the path.
struct StructuredDiff {
    before: Map,
    after: Map,
}

impl StructuredDiff {
    fn new(path: &str) -> StructuredDiff {
        let start = Map::from_iter([("path".to_string(), Value::from(path))]);
        StructuredDiff { before: start.clone(), after: start }
    }

    fn set(&mut self, key: &str, before: Value, after: Value) {
        self.before.insert(key.into(), before);
        self.after.insert(key.into(), after);
    }

    /// The owner, group and mode `differing` changes.
    fn attrs(&mut self, f: &FileFacts, differing: &Attrs) {
        if let Some((before, after)) = attr_diff(f, differing) {
            self.before.extend(before);
            self.after.extend(after);
        }
    }

    fn into_value(self) -> Value {
        Value::Object(Map::from_iter([
            ("before".to_string(), Value::Object(self.before)),
            ("after".to_string(), Value::Object(self.after)),
        ]))
    }
}

/// What removing directory `p` would take away (`path_content` in the diff): its folders and
/// files, as Ansible's `os.walk` lists them.
async fn path_content(cx: &Ctx<'_>, p: &str) -> Result<Value, ModuleError> {
    let script = format!("find {p} -mindepth 1 \\( -type d -printf 'd %p\\n' \\) -o -printf 'f %p\\n'");
    let out = run_ok(cx, Cmd::new(script).read_only(), "listing the directory failed").await?.stdout_text();
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    for line in out.lines() {
        match line.split_once(' ') {
            Some(("d", path)) => dirs.push(Value::from(path)),
            Some((_, path)) => files.push(Value::from(path)),
            None => {}
        }
    }
    Ok(Value::Object(Map::from_iter([
        ("directories".to_string(), Value::Array(dirs)),
        ("files".to_string(), Value::Array(files)),
    ])))
}

/// Ansible's `_diff_peek`: whether the file's first 8 KiB hold a NUL byte (unreadable: text).
async fn diff_peek(cx: &Ctx<'_>, path: &str) -> Result<Query, ModuleError> {
    let script = format!("head -c 8192 -- {} 2>/dev/null | tr -dc '\\000' | wc -c", quote(path));
    let out = run_ok(cx, Cmd::new(script).read_only(), "reading the file failed").await?.stdout_text();
    let binary = out.trim().parse::<u64>().is_ok_and(|n| n > 0);
    Ok(Query::ok().with("path", path).with("appears_binary", binary))
}

/// What `apply` runs: the script, and whether the facts after it follow a link.
struct Planned {
    script: String,
    follow: bool,
}

#[async_trait]
impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn facts_wants(&self, args: &Map) -> Option<Vec<Want>> {
        let (paths, follow) = fact_paths(&parse(args).ok()?);
        Some(paths.into_iter().map(|p| Want::new(p, follow, None)).collect())
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let args = &*crate::module_api::home::expand_args(cx, args, PATH_KEYS).await?;
        let w = parse(args)?;
        if Args::parse("file", args, &SPEC)?.bool("_diff_peek", false)? {
            return diff_peek(cx, &w.path).await;
        }
        if cx.check_mode && w.state != "absent" {
            warn_unknown_owners(cx, &w.attrs).await?;
        }
        let p = quote(&w.path);
        let (paths, follow) = fact_paths(&w);
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let all = file_facts(cx, &paths, follow, None).await?;
        let f = all.first().cloned().unwrap_or_default();
        let src_facts = all.get(1).cloned();
        let current = f.kind.state();
        let state = match w.state {
            "" if f.exists() => current,
            "" => "file",
            s => s,
        };
        if matches!(state, "link" | "hard") && (w.mtime != Stamp::Preserve || w.atime != Stamp::Preserve) {
            return Err(fail(
                format!("modification_time and access_time with state={state} are not supported yet"),
                &w.path,
                current,
            ));
        }
        if w.src.is_some() && !matches!(state, "link" | "hard") {
            return Err(fail("src option requires state to be 'link' or 'hard'".into(), &w.path, current));
        }

        let mut q = Query::ok().with("path", w.path.clone());
        // Ansible's `diff` result (`initial_diff`), returned in diff mode only.
        let prev = prev_state(&f);
        let mut data = StructuredDiff::new(&w.path);
        if prev != state {
            data.set("state", prev.into(), state.into());
        }
        let mut script = String::new();
        let diff_before;
        let mut diff_after;
        match state {
            "absent" => {
                q.result.insert("state".into(), "absent".into());
                if !f.exists() {
                    return Ok(q);
                }
                if w.path.trim_end_matches('/').is_empty() {
                    return Err(fail("refusing to remove /".into(), &w.path, current));
                }
                script = format!("rm -rf -- {p}\n");
                if cx.diff && f.kind == FileKind::Dir {
                    data.before.insert("path_content".into(), path_content(cx, &p).await?);
                }
                diff_before = describe(&w.path, current, "");
                diff_after = describe(&w.path, "absent", "");
            }
            "file" | "directory" | "touch" => {
                let want_kind = if state == "directory" { FileKind::Dir } else { FileKind::File };
                match f.kind {
                    FileKind::Absent if state == "file" => {
                        return Err(fail(format!("file ({}) is absent, cannot continue", w.path), &w.path, "absent"));
                    }
                    FileKind::Absent => {
                        script =
                            if state == "directory" { format!("mkdir -p -- {p}\n") } else { format!("touch -- {p}\n") };
                        // A touched file whose owner or mode can't be set is removed again, as Ansible does.
                        if state == "touch" {
                            script.push_str(&format!("tp={p}\ntrap 'rm -f -- \"$tp\"' EXIT\n"));
                        }
                        script.push_str(&w.attrs.script(&p, false));
                        for (stamp, flag) in [(&w.mtime, "-m"), (&w.atime, "-a")] {
                            if let Stamp::At(t) = stamp {
                                script.push_str(&format!("touch -c {flag} -d {} -- {p}\n", quote(t)));
                            }
                        }
                        if state == "touch" {
                            script.push_str("trap - EXIT\n");
                        }
                        let (_, after) = w.attrs.describe(&f);
                        diff_before = describe(&w.path, "absent", "");
                        diff_after = describe(&w.path, state, &after);
                    }
                    k if k == want_kind || (state == "touch" && k == FileKind::Dir) => {
                        let d = w.attrs.differing(&f);
                        let mut recurse_differs = false;
                        if w.recurse && !w.attrs.is_empty() {
                            let out =
                                run_ok(cx, Cmd::new(recurse_check(&p, w.follow)).read_only(), "checking files failed")
                                    .await?
                                    .stdout_text();
                            recurse_differs = self::recurse_differs(&w.attrs, &out);
                        }
                        let (times, changes) = file_times::plan(cx, &f, &p, &w.mtime, &w.atime).await?;
                        script.push_str(&times);
                        for (key, before, after) in changes {
                            data.set(key, before, after);
                        }
                        if recurse_differs {
                            script.push_str(&recurse_script(&w.attrs, &p, w.follow));
                        } else {
                            script.push_str(&d.script(&p, false));
                        }
                        data.attrs(&f, &d);
                        let (before, after) = d.describe(&f);
                        diff_before = describe(&w.path, current, &before);
                        diff_after = describe(&w.path, state, &after);
                        if recurse_differs {
                            diff_after.push_str("(and entries below it)\n");
                        }
                    }
                    _ => {
                        return Err(fail(
                            format!("{} already exists as a {current}, not a {state}", w.path),
                            &w.path,
                            current,
                        ))
                    }
                }
            }
            "link" => {
                let src = match (&w.src, &f.link_target) {
                    (Some(src), _) => src.clone(),
                    (None, Some(target)) if f.kind == FileKind::Link => target.clone(),
                    (None, _) => {
                        return Err(fail("src is required for creating new symlinks".into(), &w.path, current))
                    }
                };
                q.result.insert("src".into(), src.clone().into());
                let src_facts = match &w.src {
                    Some(_) => src_facts,
                    None => Some(f.clone()),
                };
                let src_exists = src_facts.as_ref().is_some_and(FileFacts::exists);
                if !src_exists && !w.force && f.link_target.as_deref() != Some(src.as_str()) {
                    return Err(fail(
                        format!(
                            "src file does not exist, use 'force=yes' if you really want to create the link: {}",
                            src_path(&w.path, &src)
                        ),
                        &w.path,
                        current,
                    ));
                }
                let ln = format!("ln -sfn -- {} {p}\n", quote(&src));
                script = match f.kind {
                    FileKind::Link if f.link_target.as_deref() == Some(src.as_str()) => String::new(),
                    FileKind::Link => {
                        let old = f.link_target.clone().unwrap_or_default();
                        data.set("src", old.into(), src.clone().into());
                        ln
                    }
                    FileKind::Absent => ln,
                    _ if !w.force => {
                        return Err(fail(
                            format!("refusing to convert from {} to symlink for {}", prev_state(&f), w.path),
                            &w.path,
                            current,
                        ))
                    }
                    // `force` replaces an empty directory only.
                    FileKind::Dir => format!(
                        "rmdir -- {p} 2>/dev/null || {{ echo {} >&2; exit 1; }}\n{ln}",
                        quote(&format!("the directory {} is not empty, refusing to convert it", w.path))
                    ),
                    _ => format!("rm -f -- {p}\n") + &ln,
                };
                // With `follow` (the default) owner, group and mode are the target's, as Ansible
                // sets them on the link's real path; without it, only the link's owner and group.
                if w.attrs.is_empty() {
                } else if w.follow {
                    let target = match &w.src {
                        Some(_) => src_path(&w.path, &src),
                        None => f.link_source.clone().unwrap_or_default(),
                    };
                    let tf = file_facts(cx, &[&target], true, None).await?.pop().unwrap_or_default();
                    if tf.exists() {
                        let d = w.attrs.differing(&tf);
                        data.attrs(&tf, &d);
                        script.push_str(&d.script(&quote(&target), false));
                    }
                } else {
                    let d = if f.kind == FileKind::Link { w.attrs.differing(&f) } else { w.attrs.clone() };
                    script.push_str(&link_attrs_script(&d, &p));
                }
                let before_target = f.link_target.clone().unwrap_or_default();
                diff_before = describe(&w.path, current, &format!("src: {before_target}\n"));
                diff_after = describe(&w.path, "link", &format!("src: {src}\n"));
            }
            _ => {
                // hard: an existing one keeps its target when `src` is not given.
                match w.src.clone() {
                    None if current != "hard" => {
                        return Err(fail("src is required for creating new hardlinks".into(), &w.path, current));
                    }
                    None => {
                        let d = w.attrs.differing(&f);
                        data.attrs(&f, &d);
                        script = d.script(&p, false);
                        diff_before = describe(&w.path, current, "");
                        diff_after = describe(&w.path, "hard", "");
                    }
                    Some(src) => {
                        q.result.insert("src".into(), src.clone().into());
                        let Some(s) = src_facts.filter(FileFacts::exists) else {
                            let msg = "src does not exist".to_string();
                            let mut result = Map::new();
                            result.insert("dest".into(), w.path.clone().into());
                            result.insert("src".into(), src.into());
                            result.insert("msg".into(), msg.clone().into());
                            return Err(ModuleError::Failed { msg, result });
                        };
                        let ln = format!("ln -f -- {} {p}\n", quote(&src));
                        match f.kind {
                            _ if f.exists() && f.inode == s.inode && f.dev == s.dev => {
                                let d = w.attrs.differing(&f);
                                data.attrs(&f, &d);
                                script = d.script(&p, false);
                            }
                            FileKind::Absent => script = ln + &w.attrs.script(&p, false),
                            FileKind::Dir => return Err(fail(format!("{} is a directory", w.path), &w.path, current)),
                            _ if !w.force => {
                                return Err(fail(
                                    format!(
                                        "{} exists and is not a hard link to {src}; set force: true to replace it",
                                        w.path
                                    ),
                                    &w.path,
                                    current,
                                ))
                            }
                            _ => script = ln + &w.attrs.script(&p, false),
                        }
                        diff_before = describe(&w.path, current, "");
                        diff_after = describe(&w.path, "hard", &format!("src: {src}\n"));
                    }
                }
            }
        }
        q.result.insert("state".into(), state.into());
        if cx.diff {
            q.result.insert("diff".into(), data.into_value());
        }
        if script.is_empty() {
            f.insert_into(&mut q.result);
            return Ok(q);
        }
        q.changed = true;
        if cx.diff {
            q.diff = Some(Diff { path: w.path.clone(), before: diff_before, after: diff_after });
        }
        q.change = Change::new(Planned { script: format!("set -e\n{script}"), follow });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let args = &*crate::module_api::home::expand_args(cx, args, PATH_KEYS).await?;
        let w = parse(args)?;
        let Planned { script, follow } = q.change.take("file")?;
        let full = format!("{script}{}", facts_script(&w.path, follow, None));
        let out = run_ok(cx, Cmd::new(full), &format!("file {} failed", w.path)).await?.stdout_text();
        let mut result = q.result;
        if let Some(f) = parse_facts(&out, &[&w.path]).map_err(ModuleError::failed)?.first() {
            f.insert_into(&mut result);
            if w.state == "link" || w.state == "hard" {
                result.insert("state".into(), w.state.into());
            }
        }
        if matches!(w.state, "link" | "hard" | "touch") {
            result.insert("dest".into(), w.path.clone().into());
        }
        Ok(result)
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
