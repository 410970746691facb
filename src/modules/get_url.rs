//! `get_url`: download a URL to a file on the target, with `curl` (or `wget`) run there.
//!
//! The query decides: a missing `dest` is fetched; an existing one is kept when its `checksum`
//! matches, or when no checksum is given and `force` is false (Ansible would send a conditional
//! GET there). With `force: true` (or a folder `dest`, as in Ansible) and no checksum the query
//! downloads to a temporary file, compares its SHA-1 with `dest` and removes it: `changed` only
//! when the content differs (then the apply downloads again). The download goes to a temporary
//! file beside `dest`, is checked against `checksum`, then renamed into place. URL, headers and
//! credentials travel on stdin as a curl config / wgetrc file (mode 0600), never on a command
//! line.

use crate::modules::Change;
use async_trait::async_trait;

use crate::connection::{quote, Cmd};
use crate::value::{to_text, Value};

use super::args::IGNORED;
use super::args::{ArgSpec, Args, Opt};
use super::file_mode::mode_text;
use super::remote_file::Attrs;
use super::script_out::run_ok;
use super::{Ctx, Diff, Map, Module, ModuleError, Query};
use crate::facts::{facts_script, file_facts, parse_facts, FileKind};

pub struct GetUrl;

const ALIASES: &[(&str, &str)] = &[("username", "url_username"), ("password", "url_password"), ("attr", "attributes")];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("url", "http, https or ftp URL to download").required(),
        Opt::path("dest", "where the file goes (a folder: the URL's file name)").required(),
        Opt::str("checksum", "`algorithm:hexdigest`; a file with this digest is not downloaded again").default(""),
        Opt::raw("mode", "permissions of the file"),
        Opt::str("owner", "owner of the file"),
        Opt::str("group", "group of the file"),
        Opt::bool("force", "download again even when `dest` exists").default("false"),
        Opt::bool("backup", "keep a timestamped copy of the old file").default("false"),
        Opt::dict("headers", "extra request headers"),
        Opt::int("timeout", "seconds for the request").default("10"),
        Opt::bool("validate_certs", "check the server's TLS certificate").default("true"),
        Opt::str("url_username", "user for basic authentication"),
        Opt::str("url_password", "password for basic authentication"),
        Opt::bool("force_basic_auth", "send credentials without waiting for a 401").default("false"),
        Opt::str("http_agent", "the User-Agent header"),
        Opt::bool("use_proxy", IGNORED).default("true"),
        Opt::bool("decompress", IGNORED).default("true"),
        Opt::bool("unsafe_writes", "accepted; writes are always atomic").default("false"),
        Opt::str("attributes", IGNORED),
    ]],
    aliases: ALIASES,
    ..ArgSpec::NONE
};

/// Digest programs the target is expected to have (`<alg>sum`).
const ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// `checksum: 'sha256:abc…'` → (algorithm, lower-case hex), as Ansible normalises it.
pub fn parse_checksum(text: &str) -> Result<(&'static str, String), String> {
    let (alg, sum) = text.split_once(':').ok_or("The checksum parameter has to be in format <algorithm>:<checksum>")?;
    let alg = ALGORITHMS
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(alg.trim()))
        .ok_or_else(|| format!("unsupported checksum algorithm {alg:?}; use one of {}", ALGORITHMS.join(", ")))?;
    if sum.starts_with("http://") || sum.starts_with("https://") || sum.starts_with("ftp://") {
        return Err("a checksum given as a URL is not supported; give the digest itself".into());
    }
    let hex: String = sum.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("The checksum format is invalid".into());
    }
    Ok((alg, hex))
}

/// The last path segment of a URL (no query or fragment), for a folder `dest`.
pub fn url_filename(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or_default();
    let path = no_query.split_once("://").map_or(no_query, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let name = path.rsplit('/').next().unwrap_or_default();
    if name.is_empty() {
        "index.html".into()
    } else {
        name.into()
    }
}

/// Everything the download needs; stored in `Query::plan`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Plan {
    dest: String,
    /// Only fix attributes of an up-to-date file.
    attrs_only: bool,
    attrs: Attrs,
    checksum: Option<(String, String)>,
    /// Mode, uid, gid of the file being replaced.
    existing: Option<(u32, u32, u32)>,
    backup: bool,
    timeout: u64,
    validate_certs: bool,
}

/// What apply carries out: the plan, with the arguments query parsed (apply never re-parses).
struct Planned {
    plan: Plan,
    url: String,
    args: Args,
}

/// A value for a curl config file: double-quoted, backslash-escaped.
fn curl_value(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The curl config and wgetrc sent on stdin, separated by a marker line.
fn secrets(a: &Args, url: &str) -> Result<Vec<u8>, ModuleError> {
    let mut curl = format!("url = {}\n", curl_value(url));
    let mut wget = String::new();
    if let Some(agent) = a.str("http_agent")? {
        curl.push_str(&format!("user-agent = {}\n", curl_value(&agent)));
        wget.push_str(&format!("user_agent = {agent}\n"));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    match a.get("headers") {
        None => {}
        Some(Value::Object(h)) => pairs.extend(h.iter().map(|(k, v)| (k.clone(), to_text(v)))),
        Some(_) => return Err(a.error("`headers` must be a mapping of header names to values")),
    }
    for (k, v) in &pairs {
        curl.push_str(&format!("header = {}\n", curl_value(&format!("{k}: {v}"))));
        wget.push_str(&format!("header = {k}: {v}\n"));
    }
    let user = a.str("url_username")?;
    let password = a.str("url_password")?;
    if let Some(u) = &user {
        let p = password.clone().unwrap_or_default();
        curl.push_str(&format!("user = {}\n", curl_value(&format!("{u}:{p}"))));
        wget.push_str(&format!("http_user = {u}\nhttp_password = {p}\n"));
    }
    let all = pairs.iter().flat_map(|(k, v)| [k, v]).chain(user.iter()).chain(password.iter());
    if all.into_iter().any(|s| s.contains(['\n', '\r'])) {
        return Err(a.error("headers and credentials must not contain line breaks"));
    }
    Ok(format!("{curl}@troupe-wgetrc\n{wget}").into_bytes())
}

/// Downloads into `$t` (beside `dest`, or in the temporary folder for a probe, removed on
/// exit), prints `@troupe-status`, checks `checksum` and prints the SHA-1 as `@troupe-src`.
fn fetch_script(p: &Plan, beside_dest: bool) -> String {
    let timeout = p.timeout.max(1);
    let insecure = if p.validate_certs { "" } else { " -k" };
    let wget_insecure = if p.validate_certs { "" } else { "check_certificate = off\n" };
    let t = if beside_dest { "mktemp \"$dir/.troupe-get_url.XXXXXXXX\"" } else { "mktemp" };
    let mut s = format!(
        "set -e\nd={d}\ndir=$(dirname -- \"$d\")\n\
         [ -d \"$dir\" ] || {{ echo \"Destination $dir does not exist\" >&2; exit 2; }}\n\
         m=$(printf %o $((0666 & ~$(umask))))\numask 077\n\
         cfg=$(mktemp)\nw=$(mktemp)\nt=$({t})\n\
         trap 'rm -f -- \"$t\" \"$cfg\" \"$w\"' EXIT\n\
         cat > \"$cfg\"\n\
         if command -v curl >/dev/null 2>&1; then\n\
         code=$(sed '/^@troupe-wgetrc$/,$d' \"$cfg\" | curl -fsSL{insecure} --connect-timeout {timeout} -y {timeout} -Y 1 -K - -o \"$t\" -w '%{{http_code}}') \
         || {{ rc=$?; echo \"@troupe-status $code\"; exit $rc; }}\n\
         elif command -v wget >/dev/null 2>&1; then\n\
         {{ sed '1,/^@troupe-wgetrc$/d' \"$cfg\"; printf 'timeout = {timeout}\\n{wget_insecure}'; }} > \"$w\"\n\
         sed -n 's/^url = \"\\(.*\\)\"$/\\1/p' \"$cfg\" | sed 's/\\\\\\(.\\)/\\1/g' \
         | WGETRC=\"$w\" wget -q -O \"$t\" -i -\ncode=200\n\
         else echo 'neither curl nor wget is installed on the target' >&2; exit 127; fi\n\
         echo \"@troupe-status $code\"\n",
        d = quote(&p.dest)
    );
    if let Some((alg, want)) = &p.checksum {
        s.push_str(&format!(
            "got=$({alg}sum < \"$t\" | cut -d' ' -f1)\n\
             [ \"$got\" = {want} ] || {{ echo \"@troupe-mismatch $got\"; exit 4; }}\n",
            want = quote(want)
        ));
    }
    s.push_str("src=$(sha1sum < \"$t\" | cut -d' ' -f1)\necho \"@troupe-src $src\"\n");
    s
}

fn download_script(p: &Plan) -> String {
    let mut s = fetch_script(p, true);
    s.push_str("if [ -f \"$d\" ]; then echo \"@troupe-dest $(sha1sum < \"$d\" | cut -d' ' -f1)\"; fi\n");
    match p.existing {
        Some((mode, uid, gid)) => {
            s.push_str(&format!("chown {uid}:{gid} \"$t\" 2>/dev/null || true\nchmod {} \"$t\"\n", mode_text(mode)))
        }
        None => s.push_str("chmod \"$m\" \"$t\"\n"),
    }
    s.push_str(&p.attrs.script("\"$t\"", false));
    if p.backup && p.existing.is_some() {
        s.push_str("b=\"$d.$$.$(date +%Y-%m-%d@%H:%M:%S)~\"\ncp -p -- \"$d\" \"$b\"\necho \"@troupe-backup $b\"\n");
    }
    s.push_str("mv -f -- \"$t\" \"$d\"\ntrap 'rm -f -- \"$cfg\" \"$w\"' EXIT\n");
    s.push_str(&facts_script(&p.dest, true, None));
    s
}

fn marker<'a>(out: &'a str, name: &str) -> Option<&'a str> {
    out.lines().find_map(|l| l.strip_prefix(name)).map(str::trim)
}

/// Runs a script built on [`fetch_script`] with the URL and credentials on stdin; records
/// `elapsed` and `status_code` in `result` and turns a failure into Ansible's messages.
async fn download(
    cx: &Ctx<'_>,
    a: &Args,
    url: &str,
    script: String,
    plan: &Plan,
    result: &mut Map,
) -> Result<String, ModuleError> {
    let started = std::time::Instant::now();
    let out = cx.run(Cmd::new(script).stdin(secrets(a, url)?)).await?;
    let stdout = out.stdout_text();
    result.insert("elapsed".into(), started.elapsed().as_secs().into());
    if let Some(code) = marker(&stdout, "@troupe-status ").and_then(|c| c.parse::<u64>().ok()) {
        result.insert("status_code".into(), code.into());
    }
    if out.rc == 0 {
        return Ok(stdout);
    }
    let msg = match (marker(&stdout, "@troupe-mismatch "), &plan.checksum) {
        (Some(got), Some((_, want))) => format!("The checksum for {} did not match {want}; it was {got}.", plan.dest),
        _ if out.rc == 2 || out.rc == 127 => out.stderr_text().trim().to_string(),
        _ => format!("Request failed: {}", out.stderr_text().trim()),
    };
    Err(ModuleError::Failed { msg, result: result.clone() })
}

#[async_trait]
impl Module for GetUrl {
    fn name(&self) -> &'static str {
        "get_url"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("get_url", args, &SPEC)?;
        let url = a.req_str("url")?;
        let mut dest = a.req_str("dest")?;
        let checksum = match a.str("checksum")?.filter(|c| !c.is_empty()) {
            Some(c) => Some(parse_checksum(&c).map_err(|e| a.error(e))?),
            None => None,
        };
        let force = a.bool("force", false)?;
        let attrs = Attrs::new(a.mode("mode")?, a.str("owner")?, a.str("group")?);
        secrets(&a, &url)?;
        a.bool("force_basic_auth", false)?;
        let timeout = a.number("timeout")?.unwrap_or(10.0).ceil() as u64;

        // One command: dest, dest/<url file name> (when dest is a folder), and dest's folder.
        let inner = format!("{}/{}", dest.trim_end_matches('/'), url_filename(&url));
        let parent = std::path::Path::new(&dest).parent().map(|p| p.to_string_lossy().into_owned());
        let parent = parent.filter(|p| !p.is_empty()).unwrap_or_else(|| ".".into());
        let alg = checksum.as_ref().map_or("sha1", |(alg, _)| *alg);
        let mut f = file_facts(cx, &[&dest, &inner, &parent], true, Some(alg)).await?;
        let (dir_facts, inner_facts) = (f.pop().unwrap_or_default(), f.pop().unwrap_or_default());
        let mut facts = f.pop().unwrap_or_default();
        // A folder `dest` downloads every time, as `force` does (Ansible's rule).
        let into_folder = facts.kind == FileKind::Dir;
        if into_folder {
            dest = inner;
            facts = inner_facts;
        } else if !facts.exists() && dir_facts.kind != FileKind::Dir {
            return Err(ModuleError::failed(format!("Destination {parent} does not exist")));
        }
        if facts.exists() && facts.kind != FileKind::File {
            return Err(ModuleError::failed(format!("{dest} exists and is not a regular file")));
        }

        let mut q = Query::ok().with("url", url.clone()).with("dest", dest.clone()).with("elapsed", 0);
        let mut plan = Plan {
            dest: dest.clone(),
            attrs: attrs.clone(),
            checksum: checksum.clone().map(|(a, s)| (a.to_string(), s)),
            existing: facts.exists().then_some((facts.mode, facts.uid, facts.gid)),
            backup: a.bool("backup", false)?,
            timeout,
            validate_certs: a.bool("validate_certs", true)?,
            attrs_only: false,
        };
        let up_to_date = match &checksum {
            _ if !facts.exists() => false,
            Some((_, want)) => facts.checksum.as_deref() == Some(want.as_str()),
            None if !(force || into_folder) => true,
            // Download now (to a temporary file, removed again) and compare: a forced download
            // of unchanged content is `ok`, as in Ansible. Facts hold the SHA-1 here.
            None => {
                let out = download(cx, &a, &url, fetch_script(&plan, false), &plan, &mut q.result).await?;
                marker(&out, "@troupe-src ") == facts.checksum.as_deref()
            }
        };
        if up_to_date {
            plan.attrs = attrs.differing(&facts);
            plan.attrs_only = true;
            if plan.attrs.is_empty() {
                facts.insert_into(&mut q.result);
                return Ok(q.with("msg", "file already exists"));
            }
            if cx.diff {
                let (before, after) = plan.attrs.describe(&facts);
                q.diff = Some(Diff { path: dest.clone(), before, after });
            }
            q.result.insert("msg".into(), "file already exists but file attributes changed".into());
        } else if cx.diff {
            let before = if facts.exists() { "(existing file)\n" } else { "" };
            q.diff =
                Some(Diff { path: dest.clone(), before: before.into(), after: format!("(downloaded from {url})\n") });
        }
        q.changed = true;
        q.change = Change::new(Planned { plan, url, args: a });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let Planned { plan, url, args: a } = q.change.take("get_url")?;
        let mut result = q.result;
        if plan.attrs_only {
            let script =
                format!("{}{}", plan.attrs.script(&quote(&plan.dest), false), facts_script(&plan.dest, true, None));
            let out = run_ok(cx, Cmd::new(script), &format!("setting attributes of {} failed", plan.dest))
                .await?
                .stdout_text();
            if let Some(f) = parse_facts(&out, &[&plan.dest]).map_err(ModuleError::failed)?.first() {
                f.insert_into(&mut result);
            }
            return Ok(result);
        }
        let stdout = download(cx, &a, &url, download_script(&plan), &plan, &mut result).await?;
        let src = marker(&stdout, "@troupe-src ").unwrap_or_default().to_string();
        let old = marker(&stdout, "@troupe-dest ").map(str::to_string);
        result.insert("checksum_src".into(), src.clone().into());
        result.insert("checksum_dest".into(), old.map_or(Value::Null, Value::from));
        if let Some(b) = marker(&stdout, "@troupe-backup ") {
            result.insert("backup_file".into(), b.into());
        }
        let facts = parse_facts(&stdout, &[&plan.dest]).map_err(ModuleError::failed)?;
        if let Some(f) = facts.first() {
            f.insert_into(&mut result);
            result.insert("msg".into(), format!("OK ({} bytes)", f.size).into());
        }
        Ok(result)
    }
}

#[cfg(test)]
#[path = "get_url_tests.rs"]
mod tests;
