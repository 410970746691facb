//! `deb822_repository`: `/etc/apt/sources.list.d/<slug>.sources` in deb822 format, written as
//! ansible-core's module writes it (fields sorted by option name, `yes`/`no`, lists joined with
//! spaces, multi-line values indented with `.` for empty lines). `signed_by` is a key file on
//! the host (used as is), a URL (the host fetches it into `/etc/apt/keyrings/<slug>.asc|gpg`)
//! or the key itself (inline). Files are written atomically, only when they differ.

use async_trait::async_trait;

use super::apt_key::fetch_script;
use super::args::{ArgSpec, Args, Opt};
use super::content::Content;
use super::lineinfile::read_text;
use super::remote_file::{apply_write, query_write, Attrs, WriteOpts};
use super::script_out::{run_ok, section, sections};
use super::{Change, Ctx, Diff, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const KEYRINGS: &str = "/etc/apt/keyrings";

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("name", "the repository's name (`X-Repolib-Name`; its slug names the files)").required(),
        Opt::list("types", "`deb` and/or `deb-src`").choices(&["deb", "deb-src"]).default("deb"),
        Opt::list("uris", "the repository URIs"),
        Opt::list("suites", "the suites (a path ending in `/` for a flat repository)"),
        Opt::list("components", "the components"),
        Opt::str("signed_by", "a key file on the host, a URL to fetch the key from, or the key itself"),
        Opt::list("architectures", "`Architectures`"),
        Opt::list("languages", "`Languages`"),
        Opt::list("targets", "`Targets`"),
        Opt::bool("allow_downgrade_to_insecure", "`Allow-Downgrade-To-Insecure`"),
        Opt::bool("allow_insecure", "`Allow-Insecure`"),
        Opt::bool("allow_weak", "`Allow-Weak`"),
        Opt::bool("by_hash", "`By-Hash`"),
        Opt::bool("check_date", "`Check-Date`"),
        Opt::bool("check_valid_until", "`Check-Valid-Until`"),
        Opt::int("date_max_future", "`Date-Max-Future`"),
        Opt::bool("enabled", "`Enabled`"),
        Opt::str("inrelease_path", "`Inrelease-Path`"),
        Opt::bool("pdiffs", "`Pdiffs`"),
        Opt::bool("trusted", "`Trusted`"),
        Opt::raw("mode", "permissions of the sources file").default("0644"),
        Opt::str("state", "present: write the file; absent: remove it and its key file")
            .choices(&["present", "absent"])
            .default("present"),
    ]],
    ..ArgSpec::NONE
};

pub struct Deb822Repository;

/// The module's file slug: lowercased, `_`/whitespace runs to `-`, only `[a-z0-9-]` kept.
pub fn slug(name: &str) -> String {
    let dashed = regex::Regex::new(r"[_\s]+").expect("valid").replace_all(&name.to_lowercase(), "-").into_owned();
    dashed.chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-').collect()
}

/// `format_field_name`: `name` → `X-Repolib-Name`, `uris` → `URIs`, else title-cased with `-`.
pub fn field_name(opt: &str) -> String {
    match opt {
        "name" => "X-Repolib-Name".into(),
        "uris" => "URIs".into(),
        _ => opt
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next().map(|f| f.to_uppercase().chain(c.flat_map(|x| x.to_lowercase())).collect()).unwrap_or_default()
            })
            .collect::<Vec<String>>()
            .join("-"),
    }
}

/// `format_multiline`: a leading newline, each line stripped and indented, empty ones `.`.
pub fn multiline(v: &str) -> String {
    let lines: Vec<String> = v
        .trim()
        .lines()
        .map(|l| if l.trim().is_empty() { "    .".to_string() } else { format!("    {}", l.trim()) })
        .collect();
    format!("\n{}", lines.join("\n"))
}

/// The options' values as the module formats them, sorted by option name; `signed_by` is the
/// value to write for it (a path or the key).
pub fn fields(a: &Args, signed_by: Option<&str>) -> Result<Vec<(String, String)>, ModuleError> {
    let mut names: Vec<&str> = SPEC.opts().map(|o| o.name).filter(|n| !["mode", "state"].contains(n)).collect();
    names.sort_unstable();
    let mut out = Vec::new();
    for n in names {
        let Some(opt) = SPEC.opt(n) else { continue };
        let value = match opt.ty {
            _ if n == "signed_by" => match signed_by {
                Some(s) => s.to_string(),
                None => continue,
            },
            _ if n == "types" => a.list(n)?.unwrap_or_else(|| vec!["deb".into()]).join(" "),
            super::args::Type::Bool => match a.opt_bool(n)? {
                Some(b) => if b { "yes" } else { "no" }.to_string(),
                None => continue,
            },
            super::args::Type::Int => match a.int(n)? {
                Some(i) => i.to_string(),
                None => continue,
            },
            super::args::Type::List => match a.list(n)? {
                Some(l) => l.join(" "),
                None => continue,
            },
            _ => match a.str(n)? {
                Some(s) => s,
                None => continue,
            },
        };
        let value = if value.contains('\n') { multiline(&value) } else { value };
        out.push((field_name(n), value));
    }
    Ok(out)
}

/// `Deb822.dump`: `Field: value` lines; a value starting with a newline follows the colon.
pub fn dump(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| if v.is_empty() || v.starts_with('\n') { format!("{k}:{v}\n") } else { format!("{k}: {v}\n") })
        .collect()
}

/// What `signed_by` is on the host: a file, a URL (fetched: its bytes), or the key itself.
enum Key {
    File(String),
    Fetched(Vec<u8>),
    Inline(String),
}

enum Plan {
    Write(Vec<(Query, bool)>),
    Remove(Vec<String>),
}

fn is_url(v: &str) -> bool {
    regex::Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*:").expect("valid").is_match(v) && !v.contains('\n')
}

async fn signed_by_key(cx: &Ctx<'_>, v: &str) -> Result<Key, ModuleError> {
    let mut script = format!("{}\n[ -f {} ] && echo file\n", section("file"), quote(v));
    if is_url(v) {
        script.push_str(&format!(
            "{}\n{{ {}; }} | base64 -w0 || {{ echo 'Could not fetch signed_by key: download failed' >&2; exit 3; }}\n",
            section("fetched"),
            fetch_script(v, true)
        ));
    }
    let out = cx.run(Cmd::new(script).read_only()).await?;
    let parts = sections(&out.stdout_text());
    if parts.get("file").is_some_and(|f| f.trim() == "file") {
        return Ok(Key::File(v.into()));
    }
    if !is_url(v) {
        return Ok(Key::Inline(v.into()));
    }
    if out.rc != 0 {
        return Err(ModuleError::failed(out.stderr_text().trim().to_string()));
    }
    use base64::Engine;
    let b64 = parts.get("fetched").map(|s| s.trim().to_string()).unwrap_or_default();
    let data = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| ModuleError::failed(format!("Could not fetch signed_by key: {e}")))?;
    Ok(Key::Fetched(data))
}

#[async_trait]
impl Module for Deb822Repository {
    fn name(&self) -> &'static str {
        "deb822_repository"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("deb822_repository", args, &SPEC)?;
        let name = a.req_str("name")?;
        let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
        let slug = slug(&name);
        let dest = format!("/etc/apt/sources.list.d/{slug}.sources");
        let mut q = Query::ok().with("dest", dest.clone());
        if !present {
            let keys = [format!("{KEYRINGS}/{slug}.asc"), format!("{KEYRINGS}/{slug}.gpg")];
            q.result.insert("repo".into(), Value::Null);
            q.result.insert("key_filename".into(), keys[1].clone().into());
            let mut script = String::new();
            for p in [&dest, &keys[0], &keys[1]] {
                script.push_str(&format!("[ -e {0} ] || [ -L {0} ] && printf '%s\\n' {0}\n", quote(p)));
            }
            script.push_str("true\n");
            let out = run_ok(cx, Cmd::new(script).read_only(), "deb822_repository: cannot read the files").await?;
            let there: Vec<String> = out.stdout_text().lines().map(String::from).collect();
            if !there.is_empty() {
                q.changed = true;
                q.change = Change::new(Plan::Remove(there));
            }
            return Ok(q);
        }
        let mut writes = Vec::new();
        let mut key_filename = None;
        let signed_by = match a.str("signed_by")? {
            None => None,
            Some(v) => match signed_by_key(cx, &v).await? {
                Key::File(f) => Some(f),
                Key::Inline(k) => Some(k),
                Key::Fetched(data) if data.is_empty() => Some(v),
                Key::Fetched(data) => {
                    let armored = String::from_utf8_lossy(&data).contains("-----BEGIN PGP PUBLIC KEY BLOCK-----");
                    let path = format!("{KEYRINGS}/{slug}.{}", if armored { "asc" } else { "gpg" });
                    let file = read_text(cx, &path).await?;
                    let attrs = Attrs::new(Some(super::file_mode::Mode::Octal(0o644)), None, None);
                    let w = query_write(cx, &file.facts, &Content::Bytes(&data), &attrs, &WriteOpts::default(), true)
                        .await?;
                    if w.changed {
                        writes.push((w, true));
                    }
                    key_filename = Some(path.clone());
                    Some(path)
                }
            },
        };
        let repo = dump(&fields(&a, signed_by.as_deref())?);
        q.result.insert("repo".into(), repo.clone().into());
        q.result.insert("key_filename".into(), key_filename.map_or(Value::Null, Value::from));
        let file = read_text(cx, &dest).await?;
        let before = String::from_utf8_lossy(file.content.as_deref().unwrap_or_default()).into_owned();
        let mode = match a.mode("mode")? {
            Some(m) => m,
            None => super::file_mode::Mode::Octal(0o644),
        };
        let attrs = Attrs::new(Some(mode), None, None);
        let w =
            query_write(cx, &file.facts, &Content::Bytes(repo.as_bytes()), &attrs, &WriteOpts::default(), true).await?;
        if before != repo {
            q.diff = Some(Diff { path: dest, before, after: repo });
        }
        if w.changed {
            writes.push((w, false));
        }
        if !writes.is_empty() {
            q.changed = true;
            q.change = Change::new(Plan::Write(writes));
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        match q.change.take::<Plan>("deb822_repository")? {
            Plan::Remove(paths) => {
                let words: Vec<String> = paths.iter().map(|p| quote(p)).collect();
                run_ok(cx, Cmd::new(format!("rm -f -- {}", words.join(" "))), "deb822_repository: removing failed")
                    .await?;
            }
            Plan::Write(writes) => {
                for (w, key) in writes {
                    if key {
                        let mk = format!(
                            "[ -d {KEYRINGS} ] || {{ mkdir -m 0755 {KEYRINGS} && chown root:root {KEYRINGS}; }}"
                        );
                        run_ok(cx, Cmd::new(mk), "deb822_repository: cannot create /etc/apt/keyrings").await?;
                    }
                    apply_write(cx, w).await?;
                }
            }
        }
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_api::testutil::to_map;
    use serde_json::json;

    #[test]
    fn formats_as_the_module() {
        assert_eq!(slug("My Repo_x!"), "my-repo-x");
        assert_eq!(field_name("check_valid_until"), "Check-Valid-Until");
        assert_eq!(field_name("uris"), "URIs");
        assert_eq!(field_name("name"), "X-Repolib-Name");
        let raw = to_map(json!({
            "name": "local", "uris": "file:/srv/repo", "suites": "./", "trusted": true,
            "components": ["main", "contrib"], "date_max_future": 10
        }));
        let a = Args::parse("deb822_repository", &raw, &SPEC).unwrap();
        let key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n";
        assert_eq!(
            dump(&fields(&a, Some(key)).unwrap()),
            "Components: main contrib\nDate-Max-Future: 10\nX-Repolib-Name: local\n\
             Signed-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    abc\n    -----END PGP PUBLIC KEY BLOCK-----\n\
             Suites: ./\nTrusted: yes\nTypes: deb\nURIs: file:/srv/repo\n"
        );
        assert!(is_url("https://x/k.asc") && !is_url("/etc/k.asc") && !is_url(key));
    }
}
