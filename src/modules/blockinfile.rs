//! `blockinfile`: a block of lines between two marker lines, inserted, replaced or removed.
//!
//! [`edit_block`] is a port of ansible-core's algorithm (same placement rules and messages),
//! run on the controller; reading and the atomic write are shared with `lineinfile`.

use async_trait::async_trait;
use regex::bytes::Regex;

use crate::value::Value;

use super::args::IGNORED;
use super::args::{ArgSpec, Args, Opt};
use super::lineinfile::{apply_edit, compile, query_edit, read_text, text_wants};
use super::{Ctx, Map, Module, ModuleError, Query};
use crate::facts::batch::Want;

pub struct BlockInFile;

/// What the block should look like and where a new one goes.
#[derive(Debug)]
pub struct BlockSpec {
    /// `false` for `state: absent`.
    pub present: bool,
    pub block: String,
    pub marker_begin_line: Vec<u8>,
    pub marker_end_line: Vec<u8>,
    pub insertafter: Option<String>,
    pub insertbefore: Option<String>,
    insert_re: Option<Regex>,
    /// The insert regex starts with a `(?m...)` flag group: search the whole file at once.
    multiline: bool,
    pub prepend_newline: bool,
    pub append_newline: bool,
}

impl BlockSpec {
    /// `marker` has `{mark}` replaced by `begin`/`end`. Neither insert option means `EOF`.
    pub fn new(
        block: &str,
        marker: &str,
        begin: &str,
        end: &str,
        insertafter: Option<String>,
        insertbefore: Option<String>,
    ) -> Result<BlockSpec, String> {
        let insertafter = match (&insertafter, &insertbefore) {
            (None, None) => Some("EOF".to_string()),
            _ => insertafter,
        };
        // As in Ansible, only `EOF` (after) and `BOF` (before) are keywords.
        let pattern = match (insertafter.as_deref(), insertbefore.as_deref()) {
            (Some(a), _) if a != "EOF" => Some(("insertafter", a)),
            (_, Some(b)) if b != "BOF" => Some(("insertbefore", b)),
            _ => None,
        };
        let insert_re = pattern.map(|(arg, p)| compile(arg, p)).transpose()?;
        let multiline = pattern.is_some_and(|(_, p)| {
            p.strip_prefix("(?")
                .is_some_and(|rest| rest.chars().take_while(|c| c.is_ascii_alphabetic()).any(|c| c == 'm'))
        });
        let line = |mark: &str| format!("{}\n", marker.replace("{mark}", mark)).into_bytes();
        Ok(BlockSpec {
            present: true,
            block: block.to_string(),
            marker_begin_line: line(begin),
            marker_end_line: line(end),
            insertafter,
            insertbefore,
            insert_re,
            multiline,
            prepend_newline: false,
            append_newline: false,
        })
    }
}

/// Split after `\n`, `\r\n` or a lone `\r`, as Python's `bytes.splitlines(True)`.
fn split_lines(content: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < content.len() {
        let end = match content[i] {
            b'\n' => i + 1,
            b'\r' if content.get(i + 1) == Some(&b'\n') => i + 2,
            b'\r' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        out.push(content[start..end].to_vec());
        start = end;
        i = end;
    }
    if start < content.len() {
        out.push(content[start..].to_vec());
    }
    out
}

fn truthy(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

/// The new content and Ansible's message (`""` when nothing changes). `original` is `None`
/// for a file that does not exist yet.
pub fn edit_block(spec: &BlockSpec, original: Option<&[u8]>) -> (Vec<u8>, &'static str) {
    let text = original.unwrap_or_default();
    let mut lines = split_lines(text);
    let blocklines: Vec<Vec<u8>> = if spec.present && !spec.block.is_empty() {
        let mut block = spec.block.clone().into_bytes();
        if !block.ends_with(b"\n") {
            block.push(b'\n');
        }
        let mut v = vec![spec.marker_begin_line.clone()];
        v.extend(split_lines(&block));
        v.push(spec.marker_end_line.clone());
        v
    } else {
        Vec::new()
    };
    let n0 = lines.iter().rposition(|l| *l == spec.marker_begin_line);
    let n1 = lines.iter().rposition(|l| *l == spec.marker_end_line);
    let mut n0 = match (n0, n1) {
        (Some(a), Some(b)) => {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            lines.drain(lo..=hi);
            lo
        }
        _ => match &spec.insert_re {
            Some(re) => {
                let mut found = None;
                if spec.multiline {
                    if let Some(m) = re.find(text) {
                        let count = |to: usize| text[..to].iter().filter(|b| **b == b'\n').count();
                        if truthy(&spec.insertafter) {
                            found = Some(count(m.end()));
                        } else if truthy(&spec.insertbefore) {
                            found = Some(count(m.start()));
                        }
                    }
                } else {
                    found = lines.iter().rposition(|l| re.is_match(l.strip_suffix(b"\n").unwrap_or(l)));
                }
                match found {
                    None => lines.len(),
                    Some(n) if spec.insertafter.is_some() => n + 1,
                    Some(n) => n,
                }
            }
            None if spec.insertbefore.is_some() => 0,
            None => lines.len(),
        },
    };
    n0 = n0.min(lines.len());
    if n0 > 0 && !lines[n0 - 1].ends_with(b"\n") {
        lines[n0 - 1].push(b'\n');
    }
    if spec.prepend_newline && spec.present && n0 != 0 && lines[n0 - 1] != b"\n" {
        lines.insert(n0, b"\n".to_vec());
        n0 += 1;
    }
    let count = blocklines.len();
    lines.splice(n0..n0, blocklines);
    if spec.append_newline && spec.present {
        let after = n0 + count;
        if after < lines.len() && lines[after] != b"\n" {
            lines.insert(after, b"\n".to_vec());
        }
    }
    let result = lines.concat();
    let msg = match original {
        Some(o) if o == result.as_slice() => "",
        None => "File created",
        _ if count == 0 => "Block removed",
        _ => "Block inserted",
    };
    (result, msg)
}

const ALIASES: &[(&str, &str)] =
    &[("dest", "path"), ("destfile", "path"), ("name", "path"), ("content", "block"), ("attr", "attributes")];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::path("path", "the file to edit").required(),
        Opt::str("state", "whether the block is there").choices(&["absent", "present"]).default("present"),
        Opt::str("marker", "the marker line; `{mark}` becomes `marker_begin`/`marker_end`")
            .default("# {mark} ANSIBLE MANAGED BLOCK"),
        Opt::str("block", "the text between the markers").default(""),
        Opt::str("insertafter", "`EOF` or a regex: put a new block after its last match").default("EOF"),
        Opt::str("insertbefore", "`BOF` or a regex: put a new block before its last match"),
        Opt::bool("create", "create the file if it is missing").default("false"),
        Opt::bool("backup", "keep a timestamped copy of the old file").default("false"),
        Opt::str("validate", "a command that checks the new file (`%s` is its path) before it replaces the old"),
        Opt::str("marker_begin", "`{mark}` in `marker` for the first line").default("BEGIN"),
        Opt::str("marker_end", "`{mark}` in `marker` for the last line").default("END"),
        Opt::bool("append_newline", "add a blank line after a new block").default("false"),
        Opt::bool("prepend_newline", "add a blank line before a new block").default("false"),
        Opt::raw("mode", "permissions of the file"),
        Opt::str("owner", "owner of the file"),
        Opt::str("group", "group of the file"),
        Opt::bool("unsafe_writes", "accepted; writes are always atomic").default("false"),
        Opt::str("attributes", IGNORED),
    ]],
    aliases: ALIASES,
    ..ArgSpec::NONE
};

#[async_trait]
impl Module for BlockInFile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn facts_wants(&self, args: &Map) -> Option<Vec<Want>> {
        text_wants("blockinfile", args, &SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("blockinfile", args, &SPEC)?;
        let path = a.req_str("path")?;
        let present = a.choice("state", &["absent", "present"])? != Some("absent");
        if a.has("insertafter") && a.has("insertbefore") {
            return Err(a.error("parameters are mutually exclusive: insertafter|insertbefore"));
        }
        let block = a.str("block")?.unwrap_or_default();
        let marker = a.str("marker")?.unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".into());
        let begin = a.str("marker_begin")?.unwrap_or_else(|| "BEGIN".into());
        let end = a.str("marker_end")?.unwrap_or_else(|| "END".into());
        let mut spec = BlockSpec::new(&block, &marker, &begin, &end, a.str("insertafter")?, a.str("insertbefore")?)
            .map_err(|e| a.error(e))?;
        spec.present = present;
        spec.prepend_newline = a.bool("prepend_newline", false)?;
        spec.append_newline = a.bool("append_newline", false)?;
        let create = a.bool("create", false)?;

        let file = read_text(cx, &path).await?;
        if file.content.is_none() {
            if !present {
                return Ok(Query::ok().with("msg", format!("File {path} not present")));
            }
            if !create {
                return Err(ModuleError::Failed {
                    msg: format!("Path {path} does not exist !"),
                    result: Map::from_iter([("rc".to_string(), Value::from(257))]),
                });
            }
        }
        let (new, msg) = edit_block(&spec, file.content.as_deref());
        query_edit(cx, &file, new, &a, Map::new(), msg, "backup_file").await
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        apply_edit(cx, q).await
    }
}

#[cfg(test)]
#[path = "blockinfile_tests.rs"]
mod tests;
