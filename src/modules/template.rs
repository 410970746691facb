//! `template`: render a controller template with the host's variables and write the result
//! through the same compare-and-write path as `copy`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::content::Content;
use super::copy::{content_wants, query_content, WRITE_OPTS};
use super::remote_file::apply_write;
use super::{Ctx, Map, Module, ModuleError, Query};
use crate::facts::batch::Want;

pub struct Template;

/// template's arguments, declared once: the write's, then its own.
const SPEC: ArgSpec = ArgSpec {
    options: &[
        WRITE_OPTS,
        &[
            Opt::path("src", "the Jinja template on the controller (searched in `templates/`)").required(),
            Opt::str("newline_sequence", "the line ending written: `\\n`, `\\r` or `\\r\\n`").default("\\n"),
            Opt::str("output_encoding", "only `utf-8` is supported").default("utf-8"),
            Opt::bool("trim_blocks", "drop the newline after a block tag").default("true"),
            Opt::bool("lstrip_blocks", "strip spaces before a block tag").default("false"),
        ],
    ],
    missing: Some("src and dest are required"),
    ..ArgSpec::NONE
};

#[async_trait]
impl Module for Template {
    fn name(&self) -> &'static str {
        "template"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn facts_wants(&self, args: &Map) -> Option<Vec<Want>> {
        let a = Args::parse("template", args, &SPEC).ok()?;
        content_wants(&a.req_str("dest").ok()?, Some(&a.req_str("src").ok()?))
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let args = &*crate::module_api::home::expand_args(cx, args, &["dest"]).await?;
        let a = Args::parse("template", args, &SPEC)?;
        if !a.bool("trim_blocks", true)? || a.bool("lstrip_blocks", false)? {
            return Err(a.error("only the default trim_blocks: true, lstrip_blocks: false are supported"));
        }
        if let Some(enc) = a.str("output_encoding")? {
            if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                return Err(a.error(format_args!("`output_encoding` {enc:?} is not supported; only utf-8")));
            }
        }
        let newline = match a.choice("newline_sequence", &["\\n", "\\r", "\\r\\n", "\n", "\r", "\r\n"])? {
            Some("\\r" | "\r") => "\r",
            Some("\\r\\n" | "\r\n") => "\r\n",
            _ => "\n",
        };
        let src = a.req_str("src")?;
        let path = cx.find_file("templates", &src).ok_or_else(|| {
            ModuleError::failed(format!(
                "could not find template {src:?} (looked in templates/ and beside the tasks and playbook)"
            ))
        })?;
        // A vault-encrypted template is decrypted, as Ansible's loader does.
        let bytes = crate::vault::read_file(&path).map_err(|e| ModuleError::failed(format!("template: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ModuleError::failed(format!("cannot read template {}: not UTF-8 text", path.display())))?;
        // Included templates: beside this one first, then where templates are searched.
        let mut dirs: Vec<PathBuf> = path.parent().map(Path::to_path_buf).into_iter().collect();
        dirs.extend(cx.search.iter().flat_map(|d| [d.join("templates"), d.clone()]));
        let mut out = cx
            .render
            .render_file(&text, &dirs)
            .map_err(|e| ModuleError::Template(format!("template {}: {e}", path.display())))?;
        if newline != "\n" {
            out = out.replace('\n', newline);
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let mut q = query_content(cx, &a, &Content::Bytes(out.as_bytes()), name.as_deref()).await?;
        q.result.insert("src".into(), path.to_string_lossy().into_owned().into());
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        apply_write(cx, q).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{err_text, mode_of, text, Harness, TestRender};
    use serde_json::json;

    #[tokio::test]
    async fn renders_writes_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/etcd.conf.j2"), "name={{ name }}\nport={{ port }}\n").unwrap();
        let dest = dir.path().join("etcd.conf");
        let mut h = Harness::new();
        h.search = vec![dir.path().to_path_buf()];
        h.render = TestRender::with(json!({"name": "e1", "port": 2379}));
        let args = json!({"src": "etcd.conf.j2", "dest": dest.to_string_lossy(), "mode": "0600"});

        h.check_mode = true;
        assert!(h.run(&Template, args.clone()).await.unwrap().0);
        assert!(!dest.exists());
        h.check_mode = false;
        let (changed, r) = h.run(&Template, args.clone()).await.unwrap();
        assert!(changed);
        assert_eq!(text(&dest), "name=e1\nport=2379\n");
        assert_eq!(mode_of(&dest), 0o600);
        assert_eq!(r.get("mode"), Some(&json!("0600")));
        assert!(!h.run(&Template, args.clone()).await.unwrap().0);

        // A variable change shows up as a text diff.
        h.render = TestRender::with(json!({"name": "e1", "port": 2380}));
        let q = h.query(&Template, args).await.unwrap();
        let d = q.diff.unwrap_or_default();
        assert_eq!((d.before.as_str(), d.after.as_str()), ("name=e1\nport=2379\n", "name=e1\nport=2380\n"));
    }

    #[tokio::test]
    async fn errors_name_the_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.j2"), "{{ missing }}").unwrap();
        let mut h = Harness::new();
        h.search = vec![dir.path().to_path_buf()];
        let dest = dir.path().join("out").to_string_lossy().into_owned();
        let e = err_text(h.query(&Template, json!({"src": "bad.j2", "dest": dest})).await);
        assert!(e.contains("bad.j2") && e.contains("'missing' is undefined"), "{e}");
        let e = err_text(h.query(&Template, json!({"src": "none.j2", "dest": dest})).await);
        assert!(e.contains("could not find template \"none.j2\""), "{e}");
    }

    #[tokio::test]
    async fn newline_sequence() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.j2"), "a\nb\n").unwrap();
        let mut h = Harness::new();
        h.search = vec![dir.path().to_path_buf()];
        let dest = dir.path().join("out");
        let args = json!({"src": "t.j2", "dest": dest.to_string_lossy(), "newline_sequence": "\\r\\n"});
        h.run(&Template, args).await.unwrap();
        assert_eq!(text(&dest), "a\r\nb\r\n");
    }
}
