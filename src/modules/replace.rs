//! `replace`: every match of `regexp` (multi-line mode) in a file, or in the part of it between
//! `after` and `before`, is replaced; a port of ansible-core's module (same messages, the same
//! `N replacements made`). The file is read in one command (or read ahead) and written through
//! the shared atomic path (`lineinfile::query_edit`), so check mode, `--diff`, `backup` and the
//! file attributes work as for `lineinfile`.
//!
//! Regular expressions use Rust's `regex` syntax (Python's minus look-around and backreferences
//! inside the pattern); replacements take Python's `\1`, `\g<1>`, `\g<name>`.

use async_trait::async_trait;
use regex::bytes::{Captures, Regex};

use super::args::{ArgSpec, Args, Opt};
use super::lineinfile::{apply_edit, compile, expand, query_edit, read_text, text_wants};
use super::{Ctx, Module, ModuleError, Query};
use crate::facts::batch::Want;
use crate::value::{Map, Value};

pub struct Replace;

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::path("path", "the file to edit").required(),
        Opt::str("regexp", "what to replace (multi-line mode; Rust regex syntax)").required(),
        Opt::str("replace", "the replacement; `\\1`, `\\g<name>` name groups").default(""),
        Opt::str("after", "replace only after this regexp's first match"),
        Opt::str("before", "replace only before this regexp's match"),
        Opt::bool("backup", "keep a timestamped copy of the old file").default("false"),
        Opt::str("validate", "a command that must accept the new file (`%s` is its path)"),
        Opt::str("encoding", "accepted; files are edited as bytes").default("utf-8"),
        Opt::raw("mode", "permissions: octal (`'0644'`) or symbolic (`u+rwx`)"),
        Opt::str("owner", "the owning user"),
        Opt::str("group", "the owning group"),
        Opt::bool("unsafe_writes", "accepted; writes are always atomic").default("false"),
        Opt::str("attributes", "accepted; not applied"),
        Opt::str("seuser", "accepted; not applied"),
        Opt::str("serole", "accepted; not applied"),
        Opt::str("selevel", "accepted; not applied"),
        Opt::str("setype", "accepted; not applied"),
    ]],
    aliases: &[("dest", "path"), ("destfile", "path"), ("name", "path"), ("attr", "attributes")],
    ..ArgSpec::NONE
};

/// What the edit found: the new content (`None`: nothing to change) and the message.
#[derive(Debug, PartialEq)]
pub struct Edited {
    pub after: Option<Vec<u8>>,
    pub msg: String,
}

/// Replace `regexp` by `replace` in `content`, within the `after`/`before` section when given.
pub fn edit(
    content: &[u8],
    regexp: &Regex,
    replace: &[u8],
    after: Option<&str>,
    before: Option<&str>,
) -> Result<Edited, String> {
    let pattern = match (after, before) {
        (Some(a), Some(b)) => format!("{a}(?P<subsection>.*?){b}"),
        (Some(a), None) => format!("{a}(?P<subsection>.*)"),
        (None, Some(b)) => format!("(?P<subsection>.*){b}"),
        (None, None) => String::new(),
    };
    let (start, end) = if pattern.is_empty() {
        (0, content.len())
    } else {
        let section = compile("after/before", &format!("(?s){pattern}"))?;
        match section.captures(content).and_then(|c| c.name("subsection")) {
            Some(m) => (m.start(), m.end()),
            None => {
                let msg = format!("Pattern for before/after params did not match the given file: {pattern}");
                return Ok(Edited { after: None, msg });
            }
        }
    };
    let section = &content[start..end];
    let mut count = 0usize;
    let replaced = regexp.replace_all(section, |caps: &Captures| {
        count += 1;
        expand(replace, caps)
    });
    if count == 0 || replaced.as_ref() == section {
        return Ok(Edited { after: None, msg: String::new() });
    }
    let mut out = content[..start].to_vec();
    out.extend_from_slice(&replaced);
    out.extend_from_slice(&content[end..]);
    Ok(Edited { after: Some(out), msg: format!("{count} replacements made") })
}

#[async_trait]
impl Module for Replace {
    fn name(&self) -> &'static str {
        "replace"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn facts_wants(&self, args: &Map) -> Option<Vec<Want>> {
        text_wants("replace", args, &SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("replace", args, &SPEC)?;
        let path = a.req_str("path")?;
        let regexp = a.str("regexp")?.ok_or_else(|| a.error("missing required arguments: regexp"))?;
        let regexp = compile("regexp", &format!("(?m){regexp}")).map_err(|e| a.error(e))?;
        let replace = a.str("replace")?.unwrap_or_default();
        let (after, before) = (a.str("after")?.filter(|s| !s.is_empty()), a.str("before")?.filter(|s| !s.is_empty()));
        let file = read_text(cx, &path).await?;
        let Some(content) = &file.content else {
            let mut result = Map::new();
            result.insert("rc".into(), Value::from(257));
            return Err(ModuleError::Failed { msg: format!("Path {path} does not exist !"), result });
        };
        let edited =
            edit(content, &regexp, replace.as_bytes(), after.as_deref(), before.as_deref()).map_err(|e| a.error(e))?;
        let mut result = Map::new();
        result.insert("rc".into(), Value::from(0));
        let new = edited.after.unwrap_or_else(|| content.clone());
        query_edit(cx, &file, new, &a, result, &edited.msg, "backup_file").await
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        apply_edit(cx, q).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    fn re(p: &str) -> Regex {
        compile("regexp", &format!("(?m){p}")).unwrap()
    }

    #[test]
    fn edits_as_ansible_does() {
        let text = b"a=1\nb=2\n# start\na=3\n# end\na=4\n";
        let e = edit(text, &re(r"^a=(\d)$"), br"a=\1\1", None, None).unwrap();
        assert_eq!(e.msg, "3 replacements made");
        assert_eq!(e.after.unwrap(), b"a=11\nb=2\n# start\na=33\n# end\na=44\n");
        let e = edit(text, &re(r"^a=(?P<n>\d)$"), br"x=\g<n>", Some("# start"), Some("# end")).unwrap();
        assert_eq!(e.after.unwrap(), b"a=1\nb=2\n# start\nx=3\n# end\na=4\n");
        let e = edit(text, &re("^a"), b"z", Some("# end"), None).unwrap();
        assert_eq!(e.after.unwrap(), b"a=1\nb=2\n# start\na=3\n# end\nz=4\n");
        let e = edit(text, &re("^a"), b"a", None, None).unwrap();
        assert_eq!(e, Edited { after: None, msg: String::new() });
        let e = edit(text, &re("q"), b"z", Some("nope"), None).unwrap();
        assert_eq!(e.msg, "Pattern for before/after params did not match the given file: nope(?P<subsection>.*)");
    }

    #[tokio::test]
    async fn replaces_in_a_file_once() {
        let h = Harness::new();
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("conf");
        std::fs::write(&f, "port 80\nhost x\nport 8080\n").unwrap();
        let args = json!({"path": f, "regexp": r"^port (\d+)$", "replace": r"port 1\1"});
        let (changed, r) = h.run(&Replace, args.clone()).await.unwrap();
        assert!(changed);
        assert_eq!((r["msg"].clone(), r["rc"].clone()), (json!("2 replacements made"), json!(0)));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "port 180\nhost x\nport 18080\n");
        let (changed, r) = h.run(&Replace, json!({"path": f, "regexp": "^nomatch$"})).await.unwrap();
        assert!(!changed);
        assert_eq!(r["msg"], "");
        let err = h.run(&Replace, json!({"path": tmp.path().join("nope"), "regexp": "x"})).await.unwrap_err();
        assert!(err.to_string().ends_with("/nope does not exist !"), "{err}");
        let err = h.run(&Replace, json!({"path": tmp.path(), "regexp": "x"})).await.unwrap_err();
        assert!(err.to_string().ends_with(" is a directory !"), "{err}");
        let err = h.run(&Replace, json!({"path": f})).await.unwrap_err();
        assert!(err.to_string().contains("missing required arguments: regexp"), "{err}");
    }
}
