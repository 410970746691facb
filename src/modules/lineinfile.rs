//! `lineinfile`: make sure one line is (or is not) in a text file.
//!
//! The file is read in one command; the new content is computed on the controller by
//! [`present`]/[`absent`], a port of ansible-core's algorithm (same quirks, same messages); the
//! write goes through the shared atomic path in `remote_file`. [`read_text`], [`query_edit`] and
//! [`apply_edit`] are shared with `blockinfile`.
//!
//! Regular expressions use Rust's `regex` syntax (Python's minus look-around and backreferences
//! inside the pattern). A line is searched without its final `\n`, so `$` behaves like Python's.

use crate::modules::Change;
use async_trait::async_trait;
use regex::bytes::{Captures, Regex};

use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

use super::args::IGNORED;
use super::args::{ArgSpec, Args, Opt};
use super::content::{sha1_hex, Content};
use super::remote_file::WriteOpts;
use super::remote_file::{apply_write, attr_diff, query_write, Attrs};
use super::script_out::run_ok;
use super::{Ctx, Diff, Module, ModuleError, Query};
use crate::facts::batch::Want;
use crate::facts::{facts_script, parse_facts, FileFacts, FileKind};

pub struct LineInFile;

/// What to do with the line; regexes compiled once, before anything runs.
#[derive(Debug, Default)]
pub struct LineSpec {
    pub line: String,
    pub regexp: Option<Regex>,
    pub search_string: Option<String>,
    pub insertafter: Option<String>,
    pub insertbefore: Option<String>,
    /// `insertafter`/`insertbefore` as a regex (not `BOF`/`EOF`).
    insert_re: Option<Regex>,
    pub backrefs: bool,
    pub firstmatch: bool,
}

impl LineSpec {
    /// `insertafter` defaults to `EOF` when neither insert option is given, as in Ansible.
    pub fn new(
        line: Option<String>,
        regexp: Option<&str>,
        search_string: Option<String>,
        insertafter: Option<String>,
        insertbefore: Option<String>,
    ) -> Result<LineSpec, String> {
        let regexp = regexp.map(|r| compile("regexp", r)).transpose()?;
        let insertafter = match (&insertafter, &insertbefore) {
            (None, None) => Some("EOF".to_string()),
            _ => insertafter,
        };
        let insert_re = match (insertafter.as_deref(), insertbefore.as_deref()) {
            (Some(a), _) if a != "BOF" && a != "EOF" => Some(compile("insertafter", a)?),
            (_, Some(b)) if b != "BOF" => Some(compile("insertbefore", b)?),
            _ => None,
        };
        Ok(LineSpec {
            line: line.unwrap_or_default(),
            regexp,
            search_string,
            insertafter,
            insertbefore,
            insert_re,
            backrefs: false,
            firstmatch: false,
        })
    }
}

/// Compile a user regex, saying which argument it came from.
pub fn compile(arg: &str, pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| {
        format!("`{arg}` {pattern:?} is not a valid regular expression (Rust regex syntax: no look-around): {e}")
    })
}

/// Split after each `\n`, as Python's `readlines()` on bytes does.
pub fn split_lines(content: &[u8]) -> Vec<Vec<u8>> {
    content.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

/// A line without its trailing `\r`/`\n` characters (Python's `rstrip(b'\r\n')`).
fn bare(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|b| *b != b'\r' && *b != b'\n').map_or(0, |i| i + 1);
    &line[..end]
}

/// The text a regex sees: the line minus one final `\n`, so `$` matches like Python's `$`.
fn subject(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

fn truthy(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

/// Expand a Python replacement template (`\1`, `\g<1>`, `\g<name>`, `\n`, `\\`) with `caps`.
pub fn expand(template: &[u8], caps: &Captures) -> Vec<u8> {
    let group = |out: &mut Vec<u8>, name: &[u8]| {
        let text = std::str::from_utf8(name).unwrap_or("");
        let m = match text.parse::<usize>() {
            Ok(i) => caps.get(i),
            Err(_) => caps.name(text),
        };
        if let Some(m) = m {
            out.extend_from_slice(m.as_bytes());
        }
    };
    let mut out = Vec::with_capacity(template.len());
    let mut i = 0;
    while i < template.len() {
        let c = template[i];
        if c != b'\\' || i + 1 == template.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = template[i + 1];
        i += 2;
        match next {
            b'0'..=b'9' => {
                // Python reads at most two digits for a group number.
                let mut end = i;
                if end < template.len() && template[end].is_ascii_digit() {
                    end += 1;
                }
                group(&mut out, &template[i - 1..end]);
                i = end;
            }
            b'g' if template.get(i) == Some(&b'<') => match template[i..].iter().position(|b| *b == b'>') {
                Some(close) => {
                    group(&mut out, &template[i + 1..i + close]);
                    i += close + 1;
                }
                None => out.extend_from_slice(b"\\g"),
            },
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'\\' => out.push(b'\\'),
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    out
}

/// `state: present`: the new content and Ansible's message ("" when nothing changes).
pub fn present(spec: &LineSpec, content: &[u8]) -> (Vec<u8>, &'static str) {
    let mut lines = split_lines(content);
    let line = spec.line.as_bytes();
    let with_nl = || [line, b"\n"].concat();
    // index0: the line that matched regexp/search_string (or equals `line`); index1: insert point.
    let mut index0: Option<usize> = None;
    let mut index1: Option<usize> = None;
    let mut found = false;
    let mut expanded: Option<Vec<u8>> = None;

    if let Some(re) = &spec.regexp {
        for (i, l) in lines.iter().enumerate() {
            if let Some(caps) = re.captures(subject(l)) {
                index0 = Some(i);
                found = true;
                if spec.backrefs {
                    expanded = Some(expand(line, &caps));
                }
                if spec.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(s) = &spec.search_string {
        let needle = s.as_bytes();
        for (i, l) in lines.iter().enumerate() {
            if l.windows(needle.len().max(1)).any(|w| w == needle) || needle.is_empty() {
                index0 = Some(i);
                found = true;
                if spec.firstmatch {
                    break;
                }
            }
        }
    }
    if !found {
        for (i, l) in lines.iter().enumerate() {
            if bare(l) == line {
                index0 = Some(i);
            } else if spec.insert_re.as_ref().is_some_and(|re| re.is_match(subject(l))) {
                if truthy(&spec.insertafter) {
                    index1 = Some(i + 1);
                    if spec.firstmatch {
                        break;
                    }
                }
                if truthy(&spec.insertbefore) {
                    index1 = Some(i);
                    if spec.firstmatch {
                        break;
                    }
                }
            }
        }
    }

    let after = spec.insertafter.as_deref();
    let before = spec.insertbefore.as_deref();
    let ends_with_eol = |lines: &Vec<Vec<u8>>| lines.last().map_or(true, |l| matches!(l.last(), Some(b'\n' | b'\r')));
    let mut msg = "";
    if let Some(i) = index0 {
        // A match (or the exact line) exists: replace it when it differs.
        let mut new_line = match expanded {
            Some(e) if spec.backrefs && found => e,
            _ => line.to_vec(),
        };
        if !new_line.ends_with(b"\n") {
            new_line.push(b'\n');
        }
        if lines[i] != new_line {
            lines[i] = new_line;
            msg = "line replaced";
        }
    } else if spec.backrefs {
        // Nothing matched: without captures the line can't be built, so leave the file alone.
    } else if before == Some("BOF") || after == Some("BOF") {
        lines.insert(0, with_nl());
        msg = "line added";
    } else if after == Some("EOF") || index1.is_none() {
        if !ends_with_eol(&lines) {
            lines.push(b"\n".to_vec());
        }
        lines.push(with_nl());
        msg = "line added";
    } else if let Some(i) = index1.filter(|_| truthy(&spec.insertafter)) {
        if i == lines.len() {
            if bare(&lines[i - 1]) != line {
                lines.push(with_nl());
                msg = "line added";
            }
        } else if bare(&lines[i]) != line {
            lines.insert(i, with_nl());
            msg = "line added";
        }
    } else if let Some(i) = index1 {
        lines.insert(i, with_nl());
        msg = "line added";
    }
    (lines.concat(), msg)
}

/// `state: absent`: the content without matching lines, and how many were removed.
pub fn absent(spec: &LineSpec, content: &[u8]) -> (Vec<u8>, usize) {
    let line = spec.line.as_bytes();
    let matches = |l: &[u8]| match (&spec.regexp, &spec.search_string) {
        (Some(re), _) => re.is_match(subject(l)),
        (None, Some(s)) => s.is_empty() || l.windows(s.len()).any(|w| w == s.as_bytes()),
        (None, None) => bare(l) == line,
    };
    let lines = split_lines(content);
    let total = lines.len();
    let kept: Vec<Vec<u8>> = lines.into_iter().filter(|l| !matches(l)).collect();
    let removed = total - kept.len();
    (kept.concat(), removed)
}

const ALIASES: &[(&str, &str)] = &[
    ("dest", "path"),
    ("destfile", "path"),
    ("name", "path"),
    ("regex", "regexp"),
    ("value", "line"),
    ("attr", "attributes"),
];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::path("path", "the file to edit").required(),
        Opt::str("state", "whether the line is there").choices(&["absent", "present"]).default("present"),
        Opt::str("regexp", "the line to replace (last match) or remove (every match)"),
        Opt::str("search_string", "like `regexp`, a literal string"),
        Opt::str("line", "the line to put in (`state=present`)"),
        Opt::str("insertafter", "`EOF` or a regex: where a new line goes").default("EOF"),
        Opt::str("insertbefore", "`BOF` or a regex: where a new line goes"),
        Opt::bool("backrefs", "`line` uses `regexp`'s groups; no match changes nothing").default("false"),
        Opt::bool("create", "create the file if it is missing").default("false"),
        Opt::bool("backup", "keep a timestamped copy of the old file").default("false"),
        Opt::bool("firstmatch", "`insertafter`/`insertbefore` use the first match").default("false"),
        Opt::str("validate", "a command that checks the new file (`%s` is its path) before it replaces the old"),
        Opt::raw("mode", "permissions of the file"),
        Opt::str("owner", "owner of the file"),
        Opt::str("group", "group of the file"),
        Opt::bool("unsafe_writes", "accepted; writes are always atomic").default("false"),
        Opt::str("attributes", IGNORED),
        Opt::str("seuser", IGNORED),
        Opt::str("serole", IGNORED),
        Opt::str("setype", IGNORED),
        Opt::str("selevel", IGNORED),
    ]],
    aliases: ALIASES,
    ..ArgSpec::NONE
};

/// A text file on the target, read in one command. `content` is `None` when it does not exist.
/// A symlink is followed: `facts.path` is the real file, which is what gets rewritten.
pub struct TextFile {
    pub facts: FileFacts,
    pub content: Option<Vec<u8>>,
}

const CONTENT_MARK: &[u8] = b"\n@troupe-content\n";

/// The read-ahead wants of a module that edits the text file at `path` ([`read_text`]).
pub fn text_wants(module: &'static str, args: &Map, spec: &ArgSpec) -> Option<Vec<Want>> {
    let a = Args::parse(module, args, spec).ok()?;
    Some(vec![Want::text(a.req_str("path").ok()?)])
}

/// Read a file's facts and bytes (read ahead, or in one command of its own); fail when it is
/// a directory or special file.
pub async fn read_text(cx: &Ctx<'_>, path: &str) -> Result<TextFile, ModuleError> {
    let (mut facts, content) = match crate::facts::ahead::text(cx, path).await? {
        Some(found) => (found.facts, found.content),
        None => read_plain(cx, path).await?,
    };
    match facts.kind {
        FileKind::Dir => return Err(ModuleError::failed(format!("Path {path} is a directory !"))),
        FileKind::Absent | FileKind::File => {}
        _ => return Err(ModuleError::failed(format!("Path {path} is not a regular file"))),
    }
    if let Some(real) = facts.link_source.clone().filter(|_| facts.exists()) {
        facts.path = real;
    }
    facts.checksum = content.as_deref().map(sha1_hex);
    Ok(TextFile { facts, content })
}

async fn read_plain(cx: &Ctx<'_>, path: &str) -> Result<(FileFacts, Option<Vec<u8>>), ModuleError> {
    let p = quote(path);
    let script = format!(
        "{}if [ -f {p} ]; then printf '\\n@troupe-content\\n'; cat -- {p} || exit 1; fi\n",
        facts_script(path, true, None)
    );
    let out = cx.run(Cmd::new(script).read_only()).await?;
    if out.rc != 0 {
        return Err(ModuleError::failed(format!("cannot read {path}: {}", out.stderr_text().trim())));
    }
    let (head, content) = match out.stdout.windows(CONTENT_MARK.len()).position(|w| w == CONTENT_MARK) {
        Some(at) => (&out.stdout[..at], Some(out.stdout[at + CONTENT_MARK.len()..].to_vec())),
        None => (&out.stdout[..], None),
    };
    let facts = parse_facts(&String::from_utf8_lossy(head), &[path])
        .map_err(ModuleError::failed)?
        .into_iter()
        .next()
        .unwrap_or_default();
    Ok((facts, content))
}

/// What `apply_edit` needs besides the shared write plan.
struct EditPlan {
    write: Change,
    /// Parent folder to create first (`create: yes` on a new file).
    mkdir: Option<String>,
    /// Result key for the backup path (`backup` for lineinfile, `backup_file` for blockinfile).
    backup_key: String,
}

/// Plan the write of `after` over `file` (content and attributes); `msg` says what the content
/// edit did and gets Ansible's attribute suffix. `result` holds the module's own return values.
pub async fn query_edit(
    cx: &Ctx<'_>,
    file: &TextFile,
    after: Vec<u8>,
    a: &Args,
    mut result: Map,
    msg: &str,
    backup_key: &str,
) -> Result<Query, ModuleError> {
    let attrs = Attrs::new(a.mode("mode")?, a.str("owner")?, a.str("group")?);
    let opts = WriteOpts { backup: a.bool("backup", false)?, validate: a.str("validate")? };
    let content_changed = file.content.as_deref() != Some(after.as_slice());
    let differing = attrs.differing(&file.facts);
    let attrs_changed = file.facts.exists() && !differing.is_empty();
    result.insert("diff".into(), result_diff(cx, file, &after, &a.req_str("path")?, &differing));
    let msg = match (content_changed, attrs_changed) {
        (true, true) => format!("{msg} and ownership, perms or SE linux context changed"),
        (false, true) => "ownership, perms or SE linux context changed".to_string(),
        _ => msg.to_string(),
    };
    result.insert("msg".into(), msg.into());
    if !content_changed && !attrs_changed {
        return Ok(Query { result, ..Query::ok() });
    }
    // The old text is at hand: build the diff here rather than let the write read the file again.
    let quiet = Ctx {
        conn: cx.conn,
        host: cx.host,
        check_mode: cx.check_mode,
        diff: cx.diff && !content_changed,
        no_log: cx.no_log,
        render: cx.render,
        search: Vec::new(),
        escalate: cx.escalate.clone(),
        env: cx.env.clone(),
        read_ahead: cx.read_ahead.map(|ra| ra.without_next()),
        deadline: cx.deadline,
    };
    let mut q = query_write(&quiet, &file.facts, &Content::Bytes(&after), &attrs, &opts, true).await?;
    if cx.diff && content_changed {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        q.diff = Some(Diff {
            path: file.facts.path.clone(),
            before: file.content.as_deref().map(text).unwrap_or_default(),
            after: text(&after),
        });
    }
    let mkdir = (!file.facts.exists()).then(|| parent(&file.facts.path)).flatten();
    let write = std::mem::take(&mut q.change);
    q.change = Change::new(EditPlan { write, mkdir, backup_key: backup_key.to_string() });
    q.result = result;
    Ok(q)
}

/// The `diff` Ansible's lineinfile and blockinfile return, in diff mode or not: the content
/// (texts only in diff mode) and the attributes, or the content alone for a file check mode
/// would create.
fn result_diff(cx: &Ctx<'_>, file: &TextFile, after: &[u8], path: &str, differing: &Attrs) -> Value {
    let text = |b: &[u8]| if cx.diff { String::from_utf8_lossy(b).into_owned() } else { String::new() };
    let header = |what: &str| Value::from(format!("{path} ({what})"));
    let mut content = Map::new();
    content.insert("before".into(), text(file.content.as_deref().unwrap_or_default()).into());
    content.insert("after".into(), text(after).into());
    content.insert("before_header".into(), header("content"));
    content.insert("after_header".into(), header("content"));
    if cx.check_mode && !file.facts.exists() {
        return Value::Object(content);
    }
    let mut attrs = Map::new();
    if let Some((before, after)) = attr_diff(&file.facts, differing).filter(|_| file.facts.exists()) {
        attrs.insert("before".into(), Value::Object(before));
        attrs.insert("after".into(), Value::Object(after));
    }
    attrs.insert("before_header".into(), header("file attributes"));
    attrs.insert("after_header".into(), header("file attributes"));
    Value::Array(vec![Value::Object(content), Value::Object(attrs)])
}

fn parent(path: &str) -> Option<String> {
    let p = std::path::Path::new(path).parent()?.to_string_lossy().into_owned();
    (!p.is_empty()).then_some(p)
}

/// Do what [`query_edit`] planned; the module's result plus the backup path when one was made.
pub async fn apply_edit(cx: &Ctx<'_>, mut q: Query) -> Result<Map, ModuleError> {
    let plan: EditPlan = q.change.take("lineinfile")?;
    if let Some(dir) = &plan.mkdir {
        run_ok(cx, Cmd::new(format!("mkdir -p -- {}", quote(dir))), &format!("Error creating {dir}")).await?;
    }
    let written = apply_write(cx, Query { change: plan.write, ..Query::ok() }).await?;
    let mut result = q.result;
    if let Some(b) = written.get("backup_file") {
        result.insert(plan.backup_key, b.clone());
    }
    Ok(result)
}

#[async_trait]
impl Module for LineInFile {
    fn name(&self) -> &'static str {
        "lineinfile"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn facts_wants(&self, args: &Map) -> Option<Vec<Want>> {
        text_wants("lineinfile", args, &SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("lineinfile", args, &SPEC)?;
        let path = a.req_str("path")?;
        let present_state = a.choice("state", &["absent", "present"])? != Some("absent");
        let regexp = a.str("regexp")?;
        let search_string = a.str("search_string")?;
        let line = a.str("line")?;
        let (after, before) = (a.str("insertafter")?, a.str("insertbefore")?);
        let backrefs = a.bool("backrefs", false)?;
        let create = a.bool("create", false)?;
        for (x, y) in [("insertafter", "insertbefore"), ("regexp", "search_string"), ("backrefs", "search_string")] {
            if a.has(x) && a.has(y) && (x != "backrefs" || backrefs) {
                return Err(a.error(format_args!("parameters are mutually exclusive: {x}|{y}")));
            }
        }
        if present_state && backrefs && regexp.is_none() {
            return Err(a.error("regexp is required with backrefs=true"));
        }
        if present_state && line.is_none() {
            return Err(a.error("line is required with state=present"));
        }
        if !present_state && (&regexp, &search_string, &line) == (&None, &None, &None) {
            return Err(a.error("one of line, search_string, or regexp is required with state=absent"));
        }
        let mut spec = LineSpec::new(line, regexp.as_deref(), search_string, after, before).map_err(|e| a.error(e))?;
        spec.backrefs = backrefs;
        spec.firstmatch = a.bool("firstmatch", false)?;

        let file = read_text(cx, &path).await?;
        let mut result = Map::new();
        result.insert("backup".into(), "".into());
        if !present_state {
            let Some(old) = &file.content else {
                return Ok(Query::ok().with("msg", "file not present"));
            };
            let (new, removed) = absent(&spec, old);
            result.insert("found".into(), removed.into());
            let msg = if removed > 0 { format!("{removed} line(s) removed") } else { String::new() };
            return query_edit(cx, &file, new, &a, result, &msg, "backup").await;
        }
        if file.content.is_none() && !create {
            return Err(ModuleError::Failed {
                msg: format!("Destination {path} does not exist !"),
                result: Map::from_iter([("rc".to_string(), Value::from(257))]),
            });
        }
        let (new, msg) = present(&spec, file.content.as_deref().unwrap_or_default());
        if file.content.is_none() && msg.is_empty() {
            // backrefs without a match on a missing file: Ansible writes nothing.
            result.insert("msg".into(), "".into());
            return Ok(Query { result, ..Query::ok() });
        }
        query_edit(cx, &file, new, &a, result, msg, "backup").await
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        apply_edit(cx, q).await
    }
}

#[cfg(test)]
#[path = "lineinfile_tests.rs"]
mod tests;
