//! `yum_repository`: one `[repoid]` section of `<reposdir>/<file>.repo`, as ansible-core's
//! module keeps it: the file is read as Python's `RawConfigParser` reads it, the section is
//! replaced by the options given (sorted; booleans as `0`/`1`; `description` is `name`), and
//! the file is rewritten (atomically) only when the sorted dump of all sections differs; a file
//! left without sections is removed.

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt, IGNORED};
use super::content::Content;
use super::lineinfile::read_text;
use super::remote_file::{apply_write, query_write, Attrs, WriteOpts};
use super::script_out::run_ok;
use super::{Change, Ctx, Diff, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{to_text, Map};

/// The repository options written to the section as given (text).
const TEXT: &[&str] = &[
    "bandwidth",
    "cost",
    "deltarpm_metadata_percentage",
    "deltarpm_percentage",
    "failovermethod",
    "gpgcakey",
    "http_caching",
    "include",
    "ip_resolve",
    "keepcache",
    "metadata_expire",
    "metadata_expire_filter",
    "metalink",
    "mirrorlist",
    "mirrorlist_expire",
    "password",
    "priority",
    "proxy",
    "proxy_password",
    "proxy_username",
    "retries",
    "sslcacert",
    "sslclientcert",
    "sslclientkey",
    "throttle",
    "timeout",
    "ui_repoid_vars",
    "username",
];

/// Written as `1`/`0`.
const BOOLS: &[&str] = &[
    "async",
    "countme",
    "enabled",
    "enablegroups",
    "gpgcheck",
    "keepalive",
    "module_hotfixes",
    "protect",
    "repo_gpgcheck",
    "s3_enabled",
    "skip_if_unavailable",
    "ssl_check_cert_permissions",
    "sslverify",
];

const SPEC: ArgSpec = ArgSpec {
    options: &[
        &[
            Opt::str("name", "the repository id (the section name)").required(),
            Opt::str("description", "the repository's `name =` (required when present)"),
            Opt::list("baseurl", "URLs of the repository (one of baseurl, mirrorlist, metalink when present)"),
            Opt::list("gpgkey", "URLs of the repository's GPG keys"),
            Opt::list("exclude", "packages to exclude (written space-separated)"),
            Opt::list("includepkgs", "the only packages to use (written space-separated)"),
            Opt::str("file", "the file name without `.repo` (default: name)"),
            Opt::path("reposdir", "the folder of repo files (must exist)").default("/etc/yum.repos.d"),
            Opt::str("state", "present: write the section; absent: remove it")
                .choices(&["present", "absent"])
                .default("present"),
            Opt::raw("mode", "permissions of the repo file"),
            Opt::str("owner", "owner of the repo file"),
            Opt::str("group", "group of the repo file"),
            Opt::str("seuser", IGNORED),
            Opt::str("serole", IGNORED),
            Opt::str("setype", IGNORED),
            Opt::str("selevel", IGNORED),
            Opt::str("attributes", IGNORED),
            Opt::bool("unsafe_writes", "accepted; writes are always atomic").default("false"),
        ],
        &[
            Opt::str("bandwidth", "repo option `bandwidth`"),
            Opt::str("cost", "repo option `cost`"),
            Opt::str("deltarpm_metadata_percentage", "repo option (deprecated: no effect with dnf)"),
            Opt::str("deltarpm_percentage", "repo option `deltarpm_percentage`"),
            Opt::str("failovermethod", "repo option `failovermethod`").choices(&["roundrobin", "priority"]),
            Opt::str("gpgcakey", "repo option (deprecated: no effect with dnf)"),
            Opt::str("http_caching", "repo option (deprecated)").choices(&["all", "packages", "none"]),
            Opt::str("include", "repo option `include`"),
            Opt::str("ip_resolve", "repo option `ip_resolve`").choices(&["4", "6", "IPv4", "IPv6", "whatever"]),
            Opt::str("keepcache", "repo option (deprecated: main configuration only)").choices(&["0", "1"]),
            Opt::str("metadata_expire", "repo option `metadata_expire`"),
            Opt::str("metadata_expire_filter", "repo option (deprecated)").choices(&[
                "never",
                "read-only:past",
                "read-only:present",
                "read-only:future",
            ]),
            Opt::str("metalink", "repo option `metalink`"),
            Opt::str("mirrorlist", "repo option `mirrorlist`"),
            Opt::str("mirrorlist_expire", "repo option (deprecated)"),
            Opt::str("password", "repo option `password`"),
            Opt::str("priority", "repo option `priority`"),
            Opt::str("proxy", "repo option `proxy`"),
            Opt::str("proxy_password", "repo option `proxy_password`"),
            Opt::str("proxy_username", "repo option `proxy_username`"),
            Opt::str("retries", "repo option `retries`"),
            Opt::str("sslcacert", "repo option `sslcacert`"),
            Opt::str("sslclientcert", "repo option `sslclientcert`"),
            Opt::str("sslclientkey", "repo option `sslclientkey`"),
            Opt::str("throttle", "repo option `throttle`"),
            Opt::str("timeout", "repo option `timeout`"),
            Opt::str("ui_repoid_vars", "repo option (deprecated)"),
            Opt::str("username", "repo option `username`"),
            Opt::bool("async", "repo option (deprecated)"),
            Opt::bool("countme", "repo option `countme`"),
            Opt::bool("enabled", "repo option `enabled`"),
            Opt::bool("enablegroups", "repo option `enablegroups`"),
            Opt::bool("gpgcheck", "repo option `gpgcheck`"),
            Opt::bool("keepalive", "repo option (deprecated)"),
            Opt::bool("module_hotfixes", "repo option `module_hotfixes`"),
            Opt::bool("protect", "repo option (deprecated)"),
            Opt::bool("repo_gpgcheck", "repo option `repo_gpgcheck`"),
            Opt::bool("s3_enabled", "repo option `s3_enabled`"),
            Opt::bool("skip_if_unavailable", "repo option `skip_if_unavailable`"),
            Opt::bool("ssl_check_cert_permissions", "repo option (deprecated)"),
            Opt::bool("sslverify", "repo option `sslverify`"),
        ],
    ],
    aliases: &[
        ("excludepkgs", "exclude"),
        ("ca_cert", "sslcacert"),
        ("client_cert", "sslclientcert"),
        ("client_key", "sslclientkey"),
        ("validate_certs", "sslverify"),
    ],
    ..ArgSpec::NONE
};

pub struct YumRepository;

/// An ini file as `RawConfigParser` holds it: sections in file order, keys lowercased.
pub type Ini = Vec<(String, Vec<(String, String)>)>;

/// Python's `RawConfigParser.read`: `#`/`;` comment lines dropped, `key = value` or
/// `key: value`, indented lines continue a value (joined with `\n`), values stripped.
pub fn parse_ini(text: &str) -> Result<Ini, String> {
    let mut ini: Ini = Vec::new();
    let mut cur: Option<(usize, usize)> = None; // (indent of the option line, section index)
    for (n, raw) in text.lines().enumerate() {
        let stripped = raw.trim();
        if stripped.starts_with('#') || stripped.starts_with(';') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if stripped.is_empty() {
            if let Some((_, s)) = cur {
                if let Some(last) = ini[s].1.last_mut() {
                    last.1.push('\n');
                }
            }
            continue;
        }
        if let Some((_, s)) = cur.filter(|(i, _)| indent > *i) {
            if let Some(last) = ini[s].1.last_mut() {
                last.1.push('\n');
                last.1.push_str(stripped);
                continue;
            }
        }
        if let Some(name) = stripped.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            ini.push((name.to_string(), Vec::new()));
            cur = None;
            continue;
        }
        let Some(sec) = ini.len().checked_sub(1) else {
            return Err(format!("File contains no section headers. line {}: {raw:?}", n + 1));
        };
        let at = stripped
            .find(['=', ':'])
            .ok_or_else(|| format!("Source contains parsing errors: line {}: {raw:?}", n + 1))?;
        let key = stripped[..at].trim().to_lowercase();
        let value = stripped[at + 1..].trim().to_string();
        let opts = &mut ini[sec].1;
        opts.retain(|(k, _)| *k != key);
        opts.push((key, value));
        cur = Some((indent, sec));
    }
    for (_, opts) in &mut ini {
        for (_, v) in opts.iter_mut() {
            let t = v.trim_end().to_string();
            *v = t;
        }
    }
    Ok(ini)
}

/// `RawConfigParser.write`: what the module writes.
pub fn write_ini(ini: &Ini) -> String {
    let mut out = String::new();
    for (name, opts) in ini {
        out.push_str(&format!("[{name}]\n"));
        for (k, v) in opts {
            out.push_str(&format!("{k} = {}\n", v.replace('\n', "\n\t")));
        }
        out.push('\n');
    }
    out
}

/// The module's `dump`: sections and keys sorted; what `changed` and the diff compare.
pub fn dump(ini: &Ini) -> String {
    let mut sections: Vec<&(String, Vec<(String, String)>)> = ini.iter().collect();
    sections.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (name, opts) in sections {
        out.push_str(&format!("[{name}]\n"));
        let mut opts = opts.clone();
        opts.sort();
        for (k, v) in opts {
            out.push_str(&format!("{k} = {v}\n"));
        }
        out.push('\n');
    }
    out
}

/// The section's options from the arguments, sorted by key as the module adds them.
pub fn section(a: &Args) -> Result<Vec<(String, String)>, ModuleError> {
    let mut opts = Vec::new();
    if let Some(d) = a.get("description") {
        opts.push(("name".to_string(), to_text(d)));
    }
    for (key, sep) in [("baseurl", "\n"), ("gpgkey", "\n"), ("exclude", " "), ("includepkgs", " ")] {
        if let Some(list) = a.list(key)? {
            opts.push((key.to_string(), list.join(sep)));
        }
    }
    for key in TEXT {
        if let Some(v) = a.str(key)? {
            opts.push((key.to_string(), v));
        }
    }
    for key in BOOLS {
        if let Some(b) = a.opt_bool(key)? {
            opts.push((key.to_string(), if b { "1" } else { "0" }.to_string()));
        }
    }
    opts.sort();
    Ok(opts)
}

enum Plan {
    Write(Box<Query>),
    Remove(String),
}

#[async_trait]
impl Module for YumRepository {
    fn name(&self) -> &'static str {
        "yum_repository"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("yum_repository", args, &SPEC)?;
        let name = a.req_str("name")?;
        let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
        if present && !["baseurl", "mirrorlist", "metalink"].iter().any(|k| a.has(k)) {
            return Err(ModuleError::Args(
                "state is present but any of the following are missing: baseurl, mirrorlist, metalink".into(),
            ));
        }
        if present && !a.has("description") {
            return Err(ModuleError::Args("state is present but all of the following are missing: description".into()));
        }
        let dir = a.str("reposdir")?.unwrap_or_else(|| "/etc/yum.repos.d".into());
        let file = a.str("file")?.unwrap_or_else(|| name.clone());
        let dest = format!("{}/{file}.repo", dir.trim_end_matches('/'));
        let out = cx.run(Cmd::new(format!("test -d {}", quote(&dir))).read_only()).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(format!("Repo directory '{dir}' does not exist.")));
        }
        let found = read_text(cx, &dest).await?;
        let text = String::from_utf8_lossy(found.content.as_deref().unwrap_or_default()).into_owned();
        let mut ini = parse_ini(&text).map_err(|e| ModuleError::failed(format!("{dest}: {e}")))?;
        let before = dump(&ini);
        let at = ini.iter().position(|(s, _)| *s == name);
        if let Some(i) = at {
            ini.remove(i);
        }
        if present {
            ini.push((name.clone(), section(&a)?));
        }
        let after = dump(&ini);
        let state = if present { "present" } else { "absent" };
        let mut q = Query::ok().with("repo", name).with("state", state);
        let changed = before != after;
        if changed && ini.is_empty() {
            q.changed = true;
            q.diff = Some(Diff { path: dest.clone(), before, after });
            q.change = Change::new(Plan::Remove(dest));
            return Ok(q);
        }
        if !found.facts.exists() && !changed {
            return Ok(q);
        }
        let content = if changed { write_ini(&ini).into_bytes() } else { found.content.clone().unwrap_or_default() };
        let attrs = Attrs::new(a.mode("mode")?, a.str("owner")?, a.str("group")?);
        let write =
            query_write(cx, &found.facts, &Content::Bytes(&content), &attrs, &WriteOpts::default(), true).await?;
        if write.changed {
            q.changed = true;
            if changed {
                q.diff = Some(Diff { path: dest, before, after });
            }
            q.change = Change::new(Plan::Write(Box::new(write)));
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        match q.change.take::<Plan>("yum_repository")? {
            Plan::Write(w) => {
                apply_write(cx, *w).await?;
            }
            Plan::Remove(dest) => {
                let cmd = Cmd::new(format!("rm -f -- {}", quote(&dest)));
                run_ok(cx, cmd, &format!("Cannot remove empty repo file {dest}.")).await?;
            }
        }
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_api::testutil::{err_text, text, Harness};
    use serde_json::json;

    #[test]
    fn reads_and_writes_as_configparser() {
        let ini = parse_ini("# c\n[b]\nName=B\nbaseurl = http://x\n  http://y\n\n[a]\nenabled: 1\n").unwrap();
        assert_eq!(ini[0].1, vec![("name".into(), "B".into()), ("baseurl".into(), "http://x\nhttp://y".into())]);
        assert_eq!(write_ini(&ini), "[b]\nname = B\nbaseurl = http://x\n\thttp://y\n\n[a]\nenabled = 1\n\n");
        assert_eq!(dump(&ini), "[a]\nenabled = 1\n\n[b]\nbaseurl = http://x\nhttp://y\nname = B\n\n");
        assert!(parse_ini("x = 1\n").unwrap_err().contains("no section headers"));
    }

    #[test]
    fn section_options_as_the_module_sets_them() {
        let raw = crate::module_api::testutil::to_map(json!({
            "name": "epel", "description": "EPEL", "baseurl": ["http://a", "http://b"],
            "gpgcheck": "yes", "excludepkgs": "x,y", "priority": 99, "validate_certs": false
        }));
        let a = Args::parse("yum_repository", &raw, &SPEC).unwrap();
        let opts = section(&a).unwrap();
        let text: Vec<String> = opts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            text,
            ["baseurl=http://a\nhttp://b", "exclude=x y", "gpgcheck=1", "name=EPEL", "priority=99", "sslverify=0"]
        );
    }

    #[tokio::test]
    async fn adds_changes_and_removes_a_section() {
        let h = Harness::new();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_string_lossy().into_owned();
        let f = tmp.path().join("epel.repo");
        let args =
            json!({"name": "epel", "description": "EPEL", "baseurl": "http://a", "reposdir": dir, "gpgcheck": false});
        let (changed, r) = h.run(&YumRepository, args.clone()).await.unwrap();
        assert!(changed);
        assert_eq!((r["repo"].clone(), r["state"].clone()), (json!("epel"), json!("present")));
        assert_eq!(text(&f), "[epel]\nbaseurl = http://a\ngpgcheck = 0\nname = EPEL\n\n");
        assert!(!h.run(&YumRepository, args.clone()).await.unwrap().0, "idempotent");
        let other = json!({"name": "x", "file": "epel", "description": "X", "mirrorlist": "http://m", "reposdir": dir});
        assert!(h.run(&YumRepository, other).await.unwrap().0);
        let gone = json!({"name": "epel", "state": "absent", "reposdir": dir});
        assert!(h.run(&YumRepository, gone.clone()).await.unwrap().0);
        assert_eq!(text(&f), "[x]\nmirrorlist = http://m\nname = X\n\n");
        let last = json!({"name": "x", "file": "epel", "state": "absent", "reposdir": dir});
        assert!(h.run(&YumRepository, last).await.unwrap().0);
        assert!(!f.exists(), "a file without sections is removed");
        assert!(!h.run(&YumRepository, gone).await.unwrap().0);
        let e = err_text(h.run(&YumRepository, json!({"name": "e", "description": "E", "reposdir": dir})).await);
        assert!(e.contains("any of the following are missing: baseurl, mirrorlist, metalink"), "{e}");
        let e = err_text(h.run(&YumRepository, json!({"name": "e", "baseurl": "u", "reposdir": "/nonexistent"})).await);
        assert!(e.contains("all of the following are missing: description"), "{e}");
        let e = err_text(
            h.run(&YumRepository, json!({"name": "e", "description": "E", "baseurl": "u", "reposdir": "/nonexistent"}))
                .await,
        );
        assert!(e.contains("Repo directory '/nonexistent' does not exist."), "{e}");
    }
}
