//! `stat`: facts about one path, under the `stat` key.

use async_trait::async_trait;

use crate::value::Value;

use super::args::IGNORED;
use super::args::{ArgSpec, Args, Opt};
use super::{Ctx, Map, Module, ModuleError, Query};
use crate::facts::batch::Want;
use crate::facts::{wants_facts, FileFacts, FileKind};

pub struct Stat;

const ALGORITHMS: [&str; 6] = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];
const ALIASES: &[(&str, &str)] = &[
    ("dest", "path"),
    ("name", "path"),
    ("checksum", "checksum_algorithm"),
    ("checksum_algo", "checksum_algorithm"),
    ("mime", "get_mime"),
    ("mime_type", "get_mime"),
    ("mime-type", "get_mime"),
    ("attr", "get_attributes"),
    ("attributes", "get_attributes"),
];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::path("path", "the path to look at").required(),
        Opt::bool("follow", "follow a final link").default("false"),
        Opt::bool("get_checksum", "return the file's checksum").default("true"),
        Opt::str("checksum_algorithm", "the checksum's algorithm")
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
            .default("sha1"),
        Opt::bool("get_mime", "return the mime type").default("true"),
        Opt::bool("get_attributes", "return lsattr's attributes").default("true"),
        Opt::bool("get_md5", IGNORED).default("false"),
    ]],
    aliases: ALIASES,
    ..ArgSpec::NONE
};

/// The `stat` dictionary Ansible returns.
pub fn stat_map(f: &FileFacts) -> Map {
    let mut m = Map::new();
    if !f.exists() {
        m.insert("exists".into(), false.into());
        return m;
    }
    let bit = |b: u32| Value::Bool(f.mode & b != 0);
    let entries: Vec<(&str, Value)> = vec![
        ("exists", true.into()),
        ("path", f.path.clone().into()),
        // stat prints "%04o" (file results "0%03o").
        ("mode", format!("{:04o}", f.mode & 0o7777).into()),
        ("isdir", (f.kind == FileKind::Dir).into()),
        ("isreg", (f.kind == FileKind::File).into()),
        ("islnk", (f.kind == FileKind::Link).into()),
        ("isblk", (f.kind == FileKind::Block).into()),
        ("ischr", (f.kind == FileKind::Char).into()),
        ("isfifo", (f.kind == FileKind::Fifo).into()),
        ("issock", (f.kind == FileKind::Socket).into()),
        ("uid", f.uid.into()),
        ("gid", f.gid.into()),
        ("pw_name", f.owner.clone().into()),
        ("gr_name", f.group.clone().into()),
        ("size", f.size.into()),
        ("atime", f.atime.into()),
        ("mtime", f.mtime.into()),
        ("ctime", f.ctime.into()),
        ("inode", f.inode.into()),
        ("dev", f.dev.into()),
        ("nlink", f.nlink.into()),
        ("readable", f.readable.into()),
        ("writeable", f.writeable.into()),
        ("executable", f.executable.into()),
        ("isuid", bit(0o4000)),
        ("isgid", bit(0o2000)),
        ("rusr", bit(0o400)),
        ("wusr", bit(0o200)),
        ("xusr", bit(0o100)),
        ("rgrp", bit(0o040)),
        ("wgrp", bit(0o020)),
        ("xgrp", bit(0o010)),
        ("roth", bit(0o004)),
        ("woth", bit(0o002)),
        ("xoth", bit(0o001)),
        ("blocks", f.blocks.into()),
        ("block_size", f.block_size.into()),
        ("device_type", f.rdev.into()),
    ];
    for (k, v) in entries {
        m.insert(k.into(), v);
    }
    if f.kind == FileKind::Link {
        m.insert("lnk_target".into(), f.link_target.clone().into());
        m.insert("lnk_source".into(), f.link_source.clone().into());
    }
    if let Some(sum) = &f.checksum {
        m.insert("checksum".into(), sum.clone().into());
    }
    if let Some(text) = &f.mime {
        let (mimetype, charset) = parse_mime(text);
        m.insert("mimetype".into(), mimetype.into());
        m.insert("charset".into(), charset.into());
    }
    if let Some(text) = &f.attrs {
        insert_attributes(&mut m, text);
    }
    m
}

/// `text/plain; charset=us-ascii` as (`text/plain`, `us-ascii`); `unknown` for both when
/// `file` failed, as Ansible reports it.
fn parse_mime(text: &str) -> (String, String) {
    match text.trim().split_once(';') {
        Some((mime, rest)) => match rest.split_once('=') {
            Some((_, charset)) => (mime.trim().to_string(), charset.trim().to_string()),
            None => ("unknown".into(), "unknown".into()),
        },
        None => ("unknown".into(), "unknown".into()),
    }
}

/// lsattr's flag letters and Ansible's names for them (`module_utils.common.file`).
const FILE_ATTRIBUTES: [(char, &str); 20] = [
    ('A', "noatime"),
    ('a', "append"),
    ('c', "compressed"),
    ('C', "nocow"),
    ('d', "nodump"),
    ('D', "dirsync"),
    ('e', "extents"),
    ('E', "encrypted"),
    ('h', "blocksize"),
    ('i', "immutable"),
    ('I', "indexed"),
    ('j', "journalled"),
    ('N', "inline"),
    ('s', "zero"),
    ('S', "synchronous"),
    ('t', "notail"),
    ('T', "blockroot"),
    ('u', "undelete"),
    ('X', "compressedraw"),
    ('Z', "compresseddirty"),
];

/// `version`, `attributes` and `attr_flags` from `lsattr -vd` (`1234 ----e---- path`); when it
/// failed, Ansible's defaults: `null`, `[]`, `''`.
fn insert_attributes(m: &mut Map, text: &str) {
    let mut words = text.split_whitespace();
    let (version, flags) = match (words.next(), words.next()) {
        (Some(v), Some(f)) => (Value::from(v), f.replace('-', "")),
        _ => (Value::Null, String::new()),
    };
    let names: Vec<Value> = flags
        .chars()
        .filter_map(|c| FILE_ATTRIBUTES.iter().find(|(f, _)| *f == c).map(|(_, n)| Value::from(*n)))
        .collect();
    m.insert("version".into(), version);
    m.insert("attributes".into(), Value::Array(names));
    m.insert("attr_flags".into(), flags.into());
}

/// The one path stat reads, as the arguments ask for it.
fn want(args: &Map) -> Result<Want, ModuleError> {
    let a = Args::parse("stat", args, &SPEC)?;
    let path = a.req_str("path")?;
    let follow = a.bool("follow", false)?;
    let alg = a.choice("checksum_algorithm", &ALGORITHMS)?.unwrap_or("sha1");
    let checksum = a.bool("get_checksum", true)?.then_some(alg);
    let mut w = Want::new(path, follow, checksum);
    w.mime = a.bool("get_mime", true)?;
    w.attrs = a.bool("get_attributes", true)?;
    Ok(w)
}

#[async_trait]
impl Module for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn facts_wants(&self, args: &Map) -> Option<Vec<Want>> {
        Some(vec![want(args).ok()?])
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let args = &*crate::module_api::home::expand_args(cx, args, &["path", "dest", "name"]).await?;
        let w = want(args)?;
        let facts = wants_facts(cx, std::slice::from_ref(&w)).await?;
        let stat = facts.first().map(stat_map).unwrap_or_default();
        Ok(Query::ok().with("stat", Value::Object(stat)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{err_text, Harness};
    use serde_json::json;

    #[tokio::test]
    async fn regular_file_link_and_absent() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "hello\n").unwrap();
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
        let l = dir.path().join("l");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        let h = Harness::new();

        let (changed, r) = h.run(&Stat, json!({"path": f.to_string_lossy()})).await.unwrap();
        assert!(!changed);
        let (_, by_alias) = h.run(&Stat, json!({"name": f.to_string_lossy(), "checksum_algo": "sha1"})).await.unwrap();
        // The first run's checksum read the file, which can move atime (relatime): compare without it.
        let without_atime = |v: Option<&Value>| {
            let mut m = v.cloned().unwrap_or_default();
            m.as_object_mut().map(|o| o.remove("atime"));
            m
        };
        assert_eq!(
            without_atime(by_alias.get("stat")),
            without_atime(r.get("stat")),
            "`name` and `checksum_algo` are Ansible's aliases"
        );
        let s = r.get("stat").cloned().unwrap_or_default();
        assert_eq!(s["exists"], json!(true));
        assert_eq!(s["isreg"], json!(true));
        assert_eq!(s["mode"], json!("0640"));
        assert_eq!(s["size"], json!(6));
        assert_eq!(s["checksum"], json!("f572d396fae9206628714fb2ce00f72e94f2258f"));
        assert_eq!(s["pw_name"], json!("root"));
        assert_eq!(s["roth"], json!(false));

        let (_, r) = h.run(&Stat, json!({"path": l.to_string_lossy()})).await.unwrap();
        let s = r.get("stat").cloned().unwrap_or_default();
        assert_eq!(s["islnk"], json!(true));
        assert_eq!(s["lnk_target"], json!(f.to_string_lossy()));
        assert!(s.get("checksum").is_none(), "no checksum for a link itself");
        let args = json!({"path": l.to_string_lossy(), "follow": true, "checksum_algorithm": "sha256"});
        let (_, r) = h.run(&Stat, args).await.unwrap();
        let s = r.get("stat").cloned().unwrap_or_default();
        assert_eq!(s["isreg"], json!(true));
        assert_eq!(s["checksum"], json!("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"));

        let (_, r) = h.run(&Stat, json!({"path": dir.path().join("none").to_string_lossy()})).await.unwrap();
        assert_eq!(r.get("stat"), Some(&json!({"exists": false})));
    }

    #[tokio::test]
    async fn mime_attributes_and_device_fields() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f:1.txt");
        std::fs::write(&f, "hello world").unwrap();
        let h = Harness::new();
        let (_, r) = h.run(&Stat, json!({"path": f.to_string_lossy()})).await.unwrap();
        let s = r.get("stat").cloned().unwrap_or_default();
        assert_eq!(s["mimetype"], json!("text/plain"), "{s}");
        assert_eq!(s["charset"], json!("us-ascii"));
        assert!(s["attributes"].is_array() && s["attr_flags"].is_string(), "{s}");
        assert!(s.get("version").is_some());
        assert_eq!(s["blocks"].as_u64().map(|b| b > 0), Some(true), "{s}");
        assert_eq!(s["device_type"], json!(0));

        let off = json!({"path": f.to_string_lossy(), "get_mime": false, "attributes": false});
        let (_, r) = h.run(&Stat, off).await.unwrap();
        let s = r.get("stat").cloned().unwrap_or_default();
        for key in ["mimetype", "charset", "version", "attributes", "attr_flags"] {
            assert!(s.get(key).is_none(), "{key} not asked for: {s}");
        }

        // /dev/null is character device 1:3, which Python's st_rdev reports as 259.
        let (_, r) = h.run(&Stat, json!({"path": "/dev/null"})).await.unwrap();
        let s = r.get("stat").cloned().unwrap_or_default();
        assert_eq!((s["ischr"].clone(), s["device_type"].clone()), (json!(true), json!(259)));
        assert_eq!(s["mimetype"], json!("inode/chardevice"));
    }

    #[test]
    fn mime_and_lsattr_output() {
        assert_eq!(parse_mime("text/plain; charset=us-ascii\n"), ("text/plain".into(), "us-ascii".into()));
        assert_eq!(parse_mime(""), ("unknown".into(), "unknown".into()));
        let mut m = Map::new();
        insert_attributes(&mut m, "4242   --------------e-----i- /x");
        assert_eq!(
            Value::Object(m),
            json!({"version": "4242", "attributes": ["extents", "immutable"], "attr_flags": "ei"})
        );
        let mut m = Map::new();
        insert_attributes(&mut m, "");
        assert_eq!(Value::Object(m), json!({"version": null, "attributes": [], "attr_flags": ""}));
    }

    #[tokio::test]
    async fn bad_arguments() {
        let h = Harness::new();
        let e = err_text(h.run(&Stat, json!({})).await);
        assert_eq!(e, "missing required arguments: path");
        let e = err_text(h.run(&Stat, json!({"path": "/", "checksum_algorithm": "crc"})).await);
        assert!(
            e.contains(
                "value of checksum_algorithm must be one of: md5, sha1, sha224, sha256, sha384, sha512, got: crc"
            ),
            "{e}"
        );
        let e = err_text(h.run(&Stat, json!({"path": "/", "checksum": "crc"})).await);
        assert!(
            e.contains(
                "value of checksum_algorithm must be one of: md5, sha1, sha224, sha256, sha384, sha512, got: crc"
            ),
            "the alias is checked: {e}"
        );
    }
}
