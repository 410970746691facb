//! Writing files on the target: owner/group/mode wanted, and an atomic write that sends the
//! bytes on stdin (no quoting trouble, binary safe). Shared by copy, template, file,
//! lineinfile and blockinfile; the facts it compares with come from `crate::facts`.

use std::path::PathBuf;

use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

use super::content::{Content, LocalFile};
use super::file_mode::{mode_text, Mode};
use super::script_out::run_ok;
use super::{Ctx, ModuleError};
use crate::facts::{facts_script, parse_facts, FileFacts, FileKind};

/// Owner, group and mode wanted for a path.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attrs {
    /// Octal text or a symbolic mode.
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Attrs {
    pub fn new(mode: Option<Mode>, owner: Option<String>, group: Option<String>) -> Attrs {
        let mode = mode.map(|m| match m {
            Mode::Octal(bits) => mode_text(bits),
            Mode::Symbolic(s) => s,
        });
        Attrs { mode, owner, group }
    }

    fn parsed_mode(&self) -> Option<Mode> {
        self.mode.as_deref().and_then(|m| Mode::parse(m).ok())
    }

    /// Only the attributes that differ from `facts` (all of them when the path is absent).
    pub fn differing(&self, facts: &FileFacts) -> Attrs {
        if !facts.exists() {
            return self.clone();
        }
        let is_dir = facts.kind == FileKind::Dir;
        let mode = self.parsed_mode().and_then(|m| {
            let want = m.resolve(facts.mode, is_dir);
            (want != facts.mode).then(|| mode_text(want))
        });
        let owner = self.owner.clone().filter(|o| !names_match(o, &facts.owner, facts.uid));
        let group = self.group.clone().filter(|g| !names_match(g, &facts.group, facts.gid));
        Attrs { mode, owner, group }
    }

    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }

    /// `chown`/`chgrp`/`chmod` commands for `target` (a quoted word or `"$t"`).
    pub fn script(&self, target: &str, recurse: bool) -> String {
        let r = if recurse { "-R " } else { "" };
        let mut s = String::new();
        if let Some(o) = &self.owner {
            s.push_str(&format!("chown {r}-- {} {target}\n", quote(o)));
        }
        if let Some(g) = &self.group {
            s.push_str(&format!("chgrp {r}-- {} {target}\n", quote(g)));
        }
        if let Some(m) = &self.mode {
            s.push_str(&format!("chmod {r}{} {target}\n", quote(m)));
        }
        s
    }

    /// Lines for a `--diff` of attributes.
    pub fn describe(&self, facts: &FileFacts) -> (String, String) {
        let mut before = String::new();
        let mut after = String::new();
        if let Some(m) = &self.mode {
            let want = Mode::parse(m)
                .map(|p| mode_text(p.resolve(facts.mode, facts.kind == FileKind::Dir)))
                .unwrap_or_else(|_| m.clone());
            if facts.exists() {
                before.push_str(&format!("mode: {}\n", mode_text(facts.mode)));
            }
            after.push_str(&format!("mode: {want}\n"));
        }
        if let Some(o) = &self.owner {
            if facts.exists() {
                before.push_str(&format!("owner: {}\n", facts.owner));
            }
            after.push_str(&format!("owner: {o}\n"));
        }
        if let Some(g) = &self.group {
            if facts.exists() {
                before.push_str(&format!("group: {}\n", facts.group));
            }
            after.push_str(&format!("group: {g}\n"));
        }
        (before, after)
    }
}

/// Ansible's attribute diff (`set_fs_attributes_if_different`): `before`/`after` mappings of
/// the `mode` (`'0644'`), `owner` and `group` (ids when numeric) that `differing` changes.
pub fn attr_diff(facts: &FileFacts, differing: &Attrs) -> Option<(Map, Map)> {
    if differing.is_empty() {
        return None;
    }
    let id = |text: &str| text.parse::<u32>().map(Value::from).unwrap_or_else(|_| Value::from(text));
    let ansible_mode = |bits: u32| Value::from(format!("0{bits:03o}"));
    let (mut before, mut after) = (Map::new(), Map::new());
    if let Some(m) = differing.mode.as_deref() {
        let want = Mode::parse(m).map(|p| p.resolve(facts.mode, facts.kind == FileKind::Dir));
        before.insert("mode".into(), ansible_mode(facts.mode));
        after.insert("mode".into(), want.map(ansible_mode).unwrap_or_else(|_| Value::from(m)));
    }
    if let Some(o) = &differing.owner {
        before.insert("owner".into(), facts.uid.into());
        after.insert("owner".into(), id(o));
    }
    if let Some(g) = &differing.group {
        before.insert("group".into(), facts.gid.into());
        after.insert("group".into(), id(g));
    }
    Some((before, after))
}

/// A wanted owner/group (name or numeric id) matches what the host reports.
fn names_match(want: &str, name: &str, id: u32) -> bool {
    want == name || want.parse::<u32>().is_ok_and(|n| n == id)
}

/// Options of a whole-file write.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WriteOpts {
    /// Keep a timestamped copy of the old file (`backup: yes`).
    pub backup: bool,
    /// Command run on the temporary file before it replaces `dest`; `%s` is its path.
    pub validate: Option<String>,
}

/// What `apply_write` does; stored in `Query::plan`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct WritePlan {
    dest: String,
    /// The new content, or none when only attributes change.
    source: Option<Source>,
    /// Attributes to set (all wanted ones for a new file; only the differing ones otherwise).
    attrs: Attrs,
    opts: WriteOpts,
    /// The file exists: a rewrite keeps its owner, group and mode unless told otherwise.
    existing: Option<(u32, u32, u32)>,
    checksum: String,
}

/// Where the new content comes from when the write happens.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Source {
    /// Base64 of bytes held in memory.
    Inline(String),
    /// A controller file, streamed; it must still have this SHA-1.
    File { path: PathBuf, sha1: String },
}

/// Text shown by `--diff` is capped, as Ansible caps it.
const DIFF_MAX: u64 = 100 * 1024;

fn is_text(data: &[u8]) -> bool {
    !data.contains(&0) && std::str::from_utf8(data).is_ok()
}

/// Compare wanted content and attributes with `dest` (facts read with a `sha1` checksum) and
/// say what a write would change. `force: false` leaves an existing file's content alone.
pub async fn query_write(
    cx: &Ctx<'_>,
    facts: &FileFacts,
    content: &Content<'_>,
    attrs: &Attrs,
    opts: &WriteOpts,
    force: bool,
) -> Result<super::Query, ModuleError> {
    query_write_with(cx, facts, content, attrs, opts, force, cx.diff).await
}

/// [`query_write`], with or without reading the old file for a `--diff` (a folder copy shows none).
pub async fn query_write_with(
    cx: &Ctx<'_>,
    facts: &FileFacts,
    content: &Content<'_>,
    attrs: &Attrs,
    opts: &WriteOpts,
    force: bool,
    diff: bool,
) -> Result<super::Query, ModuleError> {
    use base64::Engine;
    let dest = facts.path.clone();
    let checksum = content.sha1();
    let mut q = super::Query::ok();
    match facts.kind {
        FileKind::Absent | FileKind::File | FileKind::Link => {}
        FileKind::Dir => return Err(ModuleError::failed(format!("{dest} is a directory; give a file path as dest"))),
        _ => return Err(ModuleError::failed(format!("{dest} exists and is not a regular file"))),
    }
    let content_differs = match &facts.checksum {
        _ if !facts.exists() => true,
        _ if !force => false,
        Some(sum) => *sum != checksum,
        None => true,
    };
    let diff_attrs = attrs.differing(facts);
    q.result.insert("dest".into(), dest.clone().into());
    q.result.insert("checksum".into(), checksum.clone().into());
    q.result.insert("size".into(), content.size().into());
    if !content_differs && diff_attrs.is_empty() {
        facts.insert_into(&mut q.result);
        q.result.insert("path".into(), dest.into());
        return Ok(q);
    }
    q.changed = true;
    if diff {
        q.diff = Some(write_diff(cx, facts, content, content_differs, &diff_attrs).await?);
    }
    let plan = WritePlan {
        dest,
        source: content_differs.then(|| match content {
            Content::Bytes(b) => Source::Inline(base64::engine::general_purpose::STANDARD.encode(b)),
            Content::File(f) => Source::File { path: f.path.clone(), sha1: f.sha1.clone() },
        }),
        attrs: diff_attrs,
        opts: opts.clone(),
        existing: facts.exists().then_some((facts.mode, facts.uid, facts.gid)),
        checksum,
    };
    q.change = super::Change::new(plan);
    Ok(q)
}

async fn write_diff(
    cx: &Ctx<'_>,
    facts: &FileFacts,
    content: &Content<'_>,
    content_differs: bool,
    attrs: &Attrs,
) -> Result<super::Diff, ModuleError> {
    let (mut before, mut after) = attrs.describe(facts);
    if content_differs {
        before.clear();
        after.clear();
        if facts.exists() && facts.size <= DIFF_MAX {
            let old = cx.run(Cmd::new(format!("cat -- {}", quote(&facts.path))).read_only()).await?;
            before = if old.rc == 0 && is_text(&old.stdout) {
                old.stdout_text()
            } else {
                "(binary or unreadable file)\n".into()
            };
        } else if facts.exists() {
            before = "(file too large to show)\n".into();
        }
        after = match content.small(DIFF_MAX) {
            None => "(content too large to show)\n".into(),
            Some(data) if is_text(&data) => String::from_utf8_lossy(&data).into_owned(),
            Some(_) => "(binary content)\n".into(),
        };
    }
    Ok(super::Diff { path: facts.path.clone(), before, after })
}

/// The shell that writes `plan.dest` atomically (or only fixes attributes), then prints its facts.
/// `len` is how many bytes the new content has: a shorter stdin (the sender died) must never
/// replace the destination.
fn write_script(plan: &WritePlan, len: u64) -> Result<String, String> {
    write_script_from(plan, len, None)
}

/// [`write_script`] whose bytes come from `inline` (base64, in a here-document) instead of stdin.
fn write_script_from(plan: &WritePlan, len: u64, inline: Option<&str>) -> Result<String, String> {
    let d = quote(&plan.dest);
    let mut s = format!("set -e\nd={d}\n");
    if plan.source.is_none() {
        s.push_str(&plan.attrs.script("\"$d\"", false));
    } else {
        // No `dirname`, `mktemp` or `$(…)`: each is a process start on the host. The temporary
        // name is random from here; `set -C` makes its creation exclusive (O_EXCL), and a file
        // made by a redirection gets 0666 minus the umask, as a new file should.
        s.push_str(&format!(
            "dir={}\n\
             [ -d \"$dir\" ] || {{ echo \"destination directory $dir does not exist\" >&2; exit 2; }}\n\
             t=\"$dir/.troupe-tmp.{:016x}\"\n\
             set -C; : > \"$t\"; set +C\n\
             trap 'rm -f -- \"$t\"' EXIT\n\
             {fill}",
            quote(&parent_dir(&plan.dest)),
            rand::random::<u64>(),
            fill = match inline {
                None => "cat > \"$t\"\n".to_string(),
                Some(b64) => format!("base64 -d > \"$t\" <<'@troupe-b64-end'\n{b64}\n@troupe-b64-end\n"),
            },
        ));
        // A short stdin (the sender died) or changed bytes never replace the destination. The
        // sha1 proves both in one process; the count only says which went wrong. (An empty
        // checksum is a plan made by a test: the count alone.)
        let short = format!(
            "n=$(wc -c < \"$t\")\n\
             [ \"$n\" -eq {len} ] || {{ echo \"stdin ended early: $n of {len} bytes arrived\" >&2; exit 4; }}\n"
        );
        if plan.checksum.is_empty() {
            s.push_str(&short);
        } else {
            s.push_str(&format!(
                "h=$(sha1sum < \"$t\")\n\
                 if [ \"${{h%% *}}\" != {sum} ]; then\n{short}\
                 echo \"the bytes that arrived have sha1 ${{h%% *}}, not {sum}\" >&2; exit 4\nfi\n",
                sum = quote(&plan.checksum)
            ));
        }
        if let Some((mode, uid, gid)) = plan.existing {
            // Keep the old file's owner and mode; chown fails harmlessly when not root.
            s.push_str(&format!("chown {uid}:{gid} \"$t\" 2>/dev/null || true\nchmod {} \"$t\"\n", mode_text(mode)));
        }
        s.push_str(&plan.attrs.script("\"$t\"", false));
        if let Some(v) = &plan.opts.validate {
            s.push_str(&validate_command(v)?);
            s.push_str(" || { echo \"validation command failed\" >&2; exit 3; }\n");
        }
        if plan.opts.backup && plan.existing.is_some() {
            s.push_str(concat!(
                "b=\"$d.$$.$(date +%Y-%m-%d@%H:%M:%S)~\"\n",
                "cp -p -- \"$d\" \"$b\"\n",
                "echo \"@troupe-backup $b\"\n",
            ));
        }
        s.push_str("mv -f -- \"$t\" \"$d\"\ntrap - EXIT\n");
    }
    s.push_str(&facts_script(&plan.dest, false, None));
    Ok(s)
}

/// What `dirname` prints for `path`.
fn parent_dir(path: &str) -> String {
    match std::path::Path::new(path).parent().map(|p| p.to_string_lossy().into_owned()) {
        Some(p) if p.is_empty() => ".".into(),
        Some(p) => p,
        None if path.starts_with('/') => "/".into(),
        None => ".".into(),
    }
}

/// `validate: 'visudo -cf %s'` as shell words, `%s` standing for the temporary file.
fn validate_command(text: &str) -> Result<String, String> {
    if !text.contains("%s") {
        return Err(format!("validate {text:?} must contain %s (the file to check)"));
    }
    let words = shlex::split(text).ok_or_else(|| format!("validate {text:?}: unbalanced quotes"))?;
    let quoted: Vec<String> = words
        .iter()
        .map(|w| {
            w.split("%s")
                .map(|part| if part.is_empty() { String::new() } else { quote(part) })
                .collect::<Vec<_>>()
                .join("\"$t\"")
        })
        .collect();
    Ok(quoted.join(" "))
}

/// Do what [`query_write`] planned; returns the result with the file's new facts.
pub async fn apply_write(cx: &Ctx<'_>, mut q: super::Query) -> Result<Map, ModuleError> {
    use base64::Engine;
    let plan: WritePlan = q.change.take("a file write")?;
    let mut cmd = Cmd::default();
    let mut len = 0;
    match &plan.source {
        None => {}
        Some(Source::Inline(b64)) => {
            let data = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| ModuleError::failed(format!("internal: bad write plan: {e}")))?;
            len = data.len() as u64;
            cmd = cmd.stdin(data);
        }
        Some(Source::File { path, sha1 }) => {
            LocalFile::unchanged(path, sha1)?;
            len = std::fs::metadata(path).map_err(|e| ModuleError::failed(format!("{}: {e}", path.display())))?.len();
            cmd = cmd.stdin_file(path);
        }
    }
    cmd.script = write_script(&plan, len).map_err(ModuleError::Args)?;
    let out = run_ok(cx, cmd, &format!("writing {} failed", plan.dest)).await?.stdout_text();
    let facts = parse_facts(&out, &[&plan.dest]).map_err(ModuleError::failed)?;
    let mut result = q.result;
    if let Some(f) = facts.first() {
        f.insert_into(&mut result);
    }
    if let Some(b) = out.lines().find_map(|l| l.strip_prefix("@troupe-backup ")) {
        result.insert("backup_file".into(), Value::from(b));
    }
    Ok(result)
}

/// Bytes that [`apply_writes`] sends inline in one command at most; more go file by file.
const INLINE_MAX: u64 = 1024 * 1024;

/// Do several writes [`query_write`] planned (a folder copy's files): in one command with the
/// bytes inline when they are small together, else one [`apply_write`] each. Each file is still
/// replaced atomically; the first failure stops the rest, as Ansible's loop over the files does.
/// `prelude` (shell that makes the folders the files go in) runs first, in the same command.
pub async fn apply_writes(cx: &Ctx<'_>, prelude: &str, queries: Vec<super::Query>) -> Result<Vec<Map>, ModuleError> {
    use base64::Engine;
    let mut plans = Vec::new();
    let mut total = 0;
    for mut q in queries {
        let plan: WritePlan = q.change.take("a file write")?;
        total = u64::saturating_add(
            total,
            match &plan.source {
                None => 0,
                Some(Source::Inline(b64)) => b64.len() as u64,
                Some(Source::File { path, .. }) => std::fs::metadata(path).map_or(u64::MAX, |m| m.len()),
            },
        );
        plans.push((q, plan));
    }
    if total > INLINE_MAX {
        if !prelude.is_empty() {
            run_ok(cx, Cmd::new(format!("set -e\n{prelude}")), "making the folders failed").await?;
        }
        let mut out = Vec::new();
        for (mut q, plan) in plans {
            q.change = super::Change::new(plan);
            out.push(apply_write(cx, q).await?);
        }
        return Ok(out);
    }
    if plans.is_empty() && prelude.is_empty() {
        return Ok(Vec::new());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut script = format!("set -e\n{prelude}");
    for (_, plan) in &plans {
        let data = match &plan.source {
            None => None,
            Some(Source::Inline(text)) => {
                Some(b64.decode(text).map_err(|e| ModuleError::failed(format!("internal: bad write plan: {e}")))?)
            }
            Some(Source::File { path, sha1 }) => {
                LocalFile::unchanged(path, sha1)?;
                Some(std::fs::read(path).map_err(|e| ModuleError::failed(format!("{}: {e}", path.display())))?)
            }
        };
        let len = data.as_ref().map_or(0, |d| d.len() as u64);
        let text = data.map(|d| wrap76(&b64.encode(d)));
        script.push_str(&write_script_from(plan, len, text.as_deref()).map_err(ModuleError::Args)?);
    }
    let dests: Vec<&str> = plans.iter().map(|(_, p)| p.dest.as_str()).collect();
    let out = run_ok(cx, Cmd::new(script), &format!("writing {} files failed", plans.len())).await?.stdout_text();
    let facts = parse_facts(&out, &dests).map_err(ModuleError::failed)?;
    let backups: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("@troupe-backup ")).collect();
    let mut results = Vec::new();
    for ((q, plan), f) in plans.into_iter().zip(facts) {
        let mut result = q.result;
        f.insert_into(&mut result);
        let prefix = format!("{}.", plan.dest);
        if let Some(b) = backups.iter().find(|b| b.starts_with(&prefix) && plan.opts.backup) {
            result.insert("backup_file".into(), Value::from(*b));
        }
        results.push(result);
    }
    Ok(results)
}

/// Base64 in lines of 76 characters (what `base64 -d` reads, and short lines for the shell).
fn wrap76(text: &str) -> String {
    text.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
#[path = "remote_file_tests.rs"]
mod tests;
