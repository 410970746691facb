//! `find`: files under `paths` selected as ansible-core's module selects them (glob or regex
//! `patterns` and `excludes` on the base name, `file_type`, `age`, `size`, `mode`, `contains`,
//! `hidden`, `recurse`/`depth`, `limit`), with its stat fields per file. One `find` command
//! lists the entries with their stat data; the selection is made on the controller; a second
//! command reads contents (`contains`) and checksums only for the files still selected.
//! Reads only. Regexes use Rust's syntax on the controller and Perl's (`grep -P`) for `contains`.

use async_trait::async_trait;
use regex::Regex;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::run_ok;
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::list("paths", "the folders to search").required(),
        Opt::list("patterns", "globs (or regexes with `use_regex`) one of which the base name must match"),
        Opt::list("excludes", "globs (or regexes) the base name must not match"),
        Opt::str("contains", "a regex a line must match (from its start), or the whole file with `read_whole_file`"),
        Opt::bool("read_whole_file", "search `contains` in the whole file").default("false"),
        Opt::str("file_type", "what kind of entry to select")
            .choices(&["any", "directory", "file", "link"])
            .default("file"),
        Opt::str("age", "older than this (`-1d`: newer); units s m h d w"),
        Opt::str("age_stamp", "the time `age` is measured on").choices(&["atime", "ctime", "mtime"]).default("mtime"),
        Opt::str("size", "at least this big (`-1k`: at most); units b k m g t"),
        Opt::bool("recurse", "search folders below too").default("false"),
        Opt::bool("hidden", "select names starting with a dot").default("false"),
        Opt::bool("follow", "follow links to folders").default("false"),
        Opt::bool("get_checksum", "add each file's checksum").default("false"),
        Opt::str("checksum_algorithm", "the checksum's algorithm")
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
            .default("sha1"),
        Opt::bool("use_regex", "`patterns` and `excludes` are regexes (matched from the start)").default("false"),
        Opt::int("depth", "how deep to recurse"),
        Opt::raw("mode", "permission bits to select by (octal text or symbolic)"),
        Opt::bool("exact_mode", "`mode` must be exactly the permissions (else: any of its bits)").default("true"),
        Opt::str("encoding", "accepted; contents are searched as bytes"),
        Opt::int("limit", "stop after this many matches"),
    ]],
    aliases: &[
        ("name", "paths"),
        ("path", "paths"),
        ("pattern", "patterns"),
        ("exclude", "excludes"),
        ("checksum", "checksum_algorithm"),
        ("checksum_algo", "checksum_algorithm"),
    ],
    ..ArgSpec::NONE
};

pub struct Find;

/// One entry as `find -printf` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub kind: char,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub user: String,
    pub group: String,
    pub size: u64,
    pub inode: u64,
    pub dev: u64,
    pub nlink: u64,
    pub atime: f64,
    pub mtime: f64,
    pub ctime: f64,
    /// Depth below the searched folder (1: directly in it).
    pub depth: usize,
    pub path: String,
}

const PRINTF: &str = "%y\\t%m\\t%U\\t%G\\t%u\\t%g\\t%s\\t%i\\t%D\\t%n\\t%A@\\t%T@\\t%C@\\t%d\\t%p\\0";

/// The listing script: per path, `@troupe-skip` and a reason when it is not a folder, else
/// every entry (to one level below `depth`, which the module counts as examined).
pub fn list_script(paths: &[String], max_depth: Option<usize>, follow: bool) -> String {
    let mut s = String::new();
    for p in paths {
        let q = quote(p);
        let depth = max_depth.map(|d| format!(" -maxdepth {d}")).unwrap_or_default();
        let follow = if follow { " -L" } else { "" };
        s.push_str(&format!(
            "if [ -d {q} ]; then printf '@troupe-path\\t%s\\0' {q}; find{follow} {q} -mindepth 1{depth} -printf '{PRINTF}' 2>/dev/null; \
             else printf '@troupe-skip\\t%s\\0' {q}; fi\n"
        ));
    }
    s
}

/// Entries of the listing, grouped by searched path; `Err(path)` for a path that is no folder.
pub fn parse_listing(out: &[u8]) -> Vec<Result<(String, Vec<Entry>), String>> {
    let mut groups: Vec<Result<(String, Vec<Entry>), String>> = Vec::new();
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(rec);
        let f: Vec<&str> = text.splitn(15, '\t').collect();
        match f[..] {
            ["@troupe-path", p] => groups.push(Ok((p.to_string(), Vec::new()))),
            ["@troupe-skip", p] => groups.push(Err(p.to_string())),
            [kind, mode, uid, gid, user, group, size, inode, dev, nlink, atime, mtime, ctime, depth, path] => {
                let n = |s: &str| s.parse::<u64>().unwrap_or(0);
                let t = |s: &str| s.parse::<f64>().unwrap_or(0.0);
                let e = Entry {
                    kind: kind.chars().next().unwrap_or('?'),
                    mode: u32::from_str_radix(mode, 8).unwrap_or(0),
                    uid: n(uid),
                    gid: n(gid),
                    user: user.to_string(),
                    group: group.to_string(),
                    size: n(size),
                    inode: n(inode),
                    dev: n(dev),
                    nlink: n(nlink),
                    atime: t(atime),
                    mtime: t(mtime),
                    ctime: t(ctime),
                    depth: depth.parse().unwrap_or(0),
                    path: path.to_string(),
                };
                if let Some(Ok((_, list))) = groups.last_mut() {
                    list.push(e);
                }
            }
            _ => {}
        }
    }
    groups
}

/// `age`/`size` with their units, as the module reads them.
fn with_unit(text: &str, units: &[(char, i64)]) -> Option<i64> {
    let t = text.trim().to_lowercase();
    let (num, unit) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => (&t[..t.len() - 1], Some(c)),
        _ => (t.as_str(), None),
    };
    let n: i64 = num.parse().ok()?;
    match unit {
        None => Some(n),
        Some(u) => units.iter().find(|(c, _)| *c == u).map(|(_, m)| n * m),
    }
}

/// The selection, all but `contains` (read on the host afterwards).
pub struct Select {
    pub patterns: Vec<Regex>,
    pub excludes: Vec<Regex>,
    pub file_type: &'static str,
    pub age: Option<(i64, &'static str)>,
    pub size: Option<i64>,
    pub hidden: bool,
    pub depth: Option<usize>,
    pub mode: Option<(u32, bool)>,
}

impl Select {
    fn name_ok(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.is_match(name)) && !self.excludes.iter().any(|e| e.is_match(name))
    }

    pub fn keeps(&self, e: &Entry, now: f64) -> bool {
        let name = e.path.rsplit('/').next().unwrap_or(&e.path);
        if self.depth.is_some_and(|d| e.depth > d) || (name.starts_with('.') && !self.hidden) {
            return false;
        }
        let kind_ok = match self.file_type {
            "any" => true,
            "directory" => e.kind == 'd',
            "link" => e.kind == 'l',
            _ => e.kind == 'f',
        };
        let age_ok = self.age.map_or(true, |(age, stamp)| {
            let t = match stamp {
                "atime" => e.atime,
                "ctime" => e.ctime,
                _ => e.mtime,
            };
            let old = now - t;
            if age >= 0 {
                old >= age as f64
            } else {
                old <= (-age) as f64
            }
        });
        let size_ok = !matches!(self.file_type, "file" | "any")
            || e.kind != 'f'
            || self.size.map_or(true, |s| if s >= 0 { e.size as i64 >= s } else { e.size as i64 <= -s });
        let mode_ok = self.mode.map_or(true, |(m, exact)| {
            let bits = e.mode & 0o7777;
            if exact {
                bits == m
            } else {
                bits & m != 0
            }
        });
        kind_ok && self.name_ok(name) && age_ok && size_ok && mode_ok
    }
}

/// Ansible's stat fields of one selected entry.
pub fn stat_info(e: &Entry) -> Map {
    let m = e.mode;
    let bit = |b: u32| Value::Bool(m & b != 0);
    let mut r = Map::new();
    r.insert("path".into(), e.path.clone().into());
    r.insert("mode".into(), format!("0{:03o}", m & 0o7777).into());
    for (k, c) in [
        ("isdir", 'd'),
        ("ischr", 'c'),
        ("isblk", 'b'),
        ("isreg", 'f'),
        ("isfifo", 'p'),
        ("islnk", 'l'),
        ("issock", 's'),
    ] {
        r.insert(k.into(), Value::Bool(e.kind == c));
    }
    for (k, v) in
        [("uid", e.uid), ("gid", e.gid), ("size", e.size), ("inode", e.inode), ("dev", e.dev), ("nlink", e.nlink)]
    {
        r.insert(k.into(), v.into());
    }
    for (k, v) in [("atime", e.atime), ("mtime", e.mtime), ("ctime", e.ctime)] {
        r.insert(k.into(), v.into());
    }
    let name = |s: &str, id: u64| if s == id.to_string() { String::new() } else { s.to_string() };
    r.insert("gr_name".into(), name(&e.group, e.gid).into());
    r.insert("pw_name".into(), name(&e.user, e.uid).into());
    for (k, b) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        r.insert(k.into(), bit(b));
    }
    r
}

fn name_regexes(a: &Args, list: &[String], regex: bool, what: &str) -> Result<Vec<Regex>, ModuleError> {
    list.iter()
        .map(|p| {
            let re = if regex { format!("^(?:{p})") } else { format!("^(?s:{})$", crate::glob::to_regex(p)) };
            Regex::new(&re).map_err(|e| a.error(format_args!("`{what}` {p:?} is not a valid pattern: {e}")))
        })
        .collect()
}

#[async_trait]
impl Module for Find {
    fn name(&self) -> &'static str {
        "find"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("find", args, &SPEC)?;
        let paths = a.list("paths")?.unwrap_or_default();
        let use_regex = a.bool("use_regex", false)?;
        let default = if use_regex { ".*" } else { "*" };
        let patterns = a.list("patterns")?.filter(|p| !p.is_empty()).unwrap_or_else(|| vec![default.into()]);
        let excludes = a.list("excludes")?.unwrap_or_default();
        let age = match a.str("age")? {
            None => None,
            Some(t) => Some(
                with_unit(&t, &[('s', 1), ('m', 60), ('h', 3600), ('d', 86400), ('w', 604800)])
                    .ok_or_else(|| ModuleError::failed("failed to process age"))?,
            ),
        };
        let size = match a.str("size")? {
            None => None,
            Some(t) => Some(
                with_unit(&t, &[('b', 1), ('k', 1 << 10), ('m', 1 << 20), ('g', 1 << 30), ('t', 1 << 40)])
                    .ok_or_else(|| ModuleError::failed("failed to process size"))?,
            ),
        };
        let limit = a.int("limit")?;
        if let Some(l) = limit.filter(|l| *l <= 0) {
            return Err(ModuleError::failed(format!("limit cannot be {l} (use None for unlimited)")));
        }
        let mode = match a.get("mode") {
            None => None,
            Some(Value::String(_)) => match a.mode("mode")? {
                Some(crate::modules::file_mode::Mode::Octal(m)) => Some(m),
                Some(sym) => Some(sym.resolve(0, false)),
                None => None,
            },
            Some(other) => {
                return Err(ModuleError::failed(format!(
                    "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
                    if other.is_number() { "int" } else { "list" }
                )))
            }
        };
        let recurse = a.bool("recurse", false)?;
        let depth = a.int("depth")?.filter(|d| *d > 0).map(|d| d as usize);
        let sel = Select {
            patterns: name_regexes(&a, &patterns, use_regex, "patterns")?,
            excludes: name_regexes(&a, &excludes, use_regex, "excludes")?,
            file_type: a.choice("file_type", &["any", "directory", "file", "link"])?.unwrap_or("file"),
            age: age
                .map(|n| (n, a.choice("age_stamp", &["atime", "ctime", "mtime"]).ok().flatten().unwrap_or("mtime"))),
            size,
            hidden: a.bool("hidden", false)?,
            depth: if recurse { depth } else { Some(1) },
            mode: mode.map(|m| (m & 0o7777, a.bool("exact_mode", true).unwrap_or(true))),
        };
        let max_depth = if recurse { depth.map(|d| d + 1) } else { Some(1) };
        let out = run_ok(
            cx,
            Cmd::new(list_script(&paths, max_depth, a.bool("follow", false)?)).read_only(),
            "find: listing failed",
        )
        .await?;
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let mut examined = 0usize;
        let mut skipped = Map::new();
        let mut warnings = Vec::new();
        let mut picked: Vec<Entry> = Vec::new();
        for group in parse_listing(&out.stdout) {
            match group {
                Err(p) => {
                    let why = format!("'{p}' is not a directory");
                    warnings.push(Value::from(format!("Skipped '{p}' path due to this access issue: {why}\n")));
                    skipped.insert(p, why.into());
                }
                Ok((_, entries)) => {
                    examined += entries.len();
                    picked.extend(entries.into_iter().filter(|e| sel.keeps(e, now)));
                }
            }
        }
        let contains = a.str("contains")?.filter(|_| matches!(sel.file_type, "file"));
        let checksum = a
            .bool("get_checksum", false)?
            .then(|| a.str("checksum_algorithm").ok().flatten().unwrap_or_else(|| "sha1".into()));
        let extra = match (&contains, &checksum) {
            (None, None) => None,
            _ => Some(
                content_pass(cx, &picked, contains.as_deref(), a.bool("read_whole_file", false)?, checksum.as_deref())
                    .await?,
            ),
        };
        let mut files = Vec::new();
        let mut msg = "All paths examined";
        for (i, e) in picked.iter().enumerate() {
            let mut r = stat_info(e);
            if let Some(extra) = &extra {
                let (keep, sum) = &extra[i];
                if !keep {
                    continue;
                }
                if let Some(sum) = sum.as_ref().filter(|_| e.kind == 'f') {
                    r.insert("checksum".into(), sum.clone().into());
                }
            }
            files.push(Value::Object(r));
            if limit.is_some_and(|l| files.len() as i64 == l) {
                msg = "Limit of matches reached";
                break;
            }
        }
        if !skipped.is_empty() {
            msg = "Not all paths examined, check warnings for details";
        }
        let mut q = Query::ok()
            .with("matched", files.len())
            .with("files", files)
            .with("msg", msg)
            .with("examined", examined)
            .with("skipped_paths", Value::Object(skipped));
        if !warnings.is_empty() {
            q = q.with("warnings", warnings);
        }
        Ok(q)
    }
}

/// For each selected entry: whether `contains` matches (true when not asked) and its checksum.
async fn content_pass(
    cx: &Ctx<'_>,
    entries: &[Entry],
    contains: Option<&str>,
    whole: bool,
    checksum: Option<&str>,
) -> Result<Vec<(bool, Option<String>)>, ModuleError> {
    let mut s = String::new();
    for e in entries {
        let p = quote(&e.path);
        let grep = match contains {
            Some(c) if whole => format!("grep -qzP -- {} {p} && echo y || echo n", quote(c)),
            Some(c) => format!("grep -qP -- {} {p} && echo y || echo n", quote(&format!("^(?:{c})"))),
            None => "echo y".into(),
        };
        let sum = match checksum {
            Some(alg) if e.kind == 'f' => format!("{alg}sum < {p} 2>/dev/null | cut -d' ' -f1 || echo"),
            _ => "echo".into(),
        };
        s.push_str(&format!("{{ {grep}; {sum}; }} | tr '\\n' ' '; echo\n"));
    }
    let out = run_ok(cx, Cmd::new(s).read_only(), "find: reading contents failed").await?;
    let text = out.stdout_text();
    Ok(text
        .lines()
        .map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("y"), w.next().map(String::from))
        })
        .chain(std::iter::repeat((false, None)))
        .take(entries.len())
        .collect())
}

#[cfg(test)]
#[path = "find_tests.rs"]
mod tests;
