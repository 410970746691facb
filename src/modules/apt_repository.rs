//! `apt_repository`: a one-line apt source in `sources.list` or `sources.list.d/*.list`, with
//! ansible-core's algorithm: every file is read as the module parses it (enabled or commented
//! out, comment kept); `present` enables every line with the same source or appends it to a
//! file named after the repository URL (`filename` overrides), `absent` drops the enabled
//! lines. Only the files whose text differs are written (atomically; Ansible rewrites every
//! file), a file left without lines is removed, and `update_cache` runs `apt-get update`, with
//! Ansible's retries, putting the files back when it keeps failing. A `ppa:OWNER/NAME` repo is
//! Ansible's `deb https://ppa.launchpadcontent.net/OWNER/NAME/ubuntu CODENAME main`: already
//! there (or asked absent) it needs no network; else the host asks Launchpad for the signing
//! key's fingerprint and, unless apt has that key, fetches it from keyserver.ubuntu.com as
//! Ansible does (`apt-key adv --recv-keys`, or `gpg --export` into `trusted.gpg.d`).

use async_trait::async_trait;
use base64::Engine;

use super::args::{ArgSpec, Args, Opt, IGNORED};
use super::content::Content;
use super::lineinfile::read_text;
use super::remote_file::{apply_write, query_write, Attrs, WriteOpts};
use super::script_out::run_ok;
use super::{Change, Ctx, Diff, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("repo", "the source line (`deb [opts] uri suite [components]`)").required(),
        Opt::str("state", "present: the line is there and enabled; absent: no enabled line")
            .choices(&["absent", "present"])
            .default("present"),
        Opt::raw("mode", "permissions of a new sources file (default 0644)"),
        Opt::bool("update_cache", "run `apt-get update` after a change").default("true"),
        Opt::int("update_cache_retries", "tries of `apt-get update`").default("5"),
        Opt::int("update_cache_retry_max_delay", "the longest pause between tries, in seconds").default("12"),
        Opt::str("filename", "the sources file name without `.list` (default: from the URL)"),
        Opt::bool("install_python_apt", "accepted; troupe needs no python-apt").default("true"),
        Opt::bool("validate_certs", IGNORED).default("true"),
        Opt::str("codename", "the release a `ppa:` line is for (default: the host's)"),
    ]],
    aliases: &[("update-cache", "update_cache")],
    ..ArgSpec::NONE
};

pub struct AptRepository;

/// One line of a sources file as the module holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub valid: bool,
    pub enabled: bool,
    pub source: String,
    pub comment: String,
}

/// The module's `_parse`.
pub fn parse_line(line: &str) -> Line {
    let mut line = line.trim();
    let mut enabled = true;
    if let Some(rest) = line.strip_prefix('#') {
        enabled = false;
        line = rest;
    }
    let mut comment = String::new();
    if let Some(i) = line.find('#').filter(|i| *i > 0) {
        comment = line[i + 1..].trim().to_string();
        line = &line[..i];
    }
    let mut source = line.trim().to_string();
    let chunks: Vec<&str> = source.split_whitespace().collect();
    let valid = chunks.first().is_some_and(|c| *c == "deb" || *c == "deb-src");
    if valid {
        source = chunks.join(" ");
    }
    Line { valid, enabled, source, comment }
}

/// The module's line `dump`.
pub fn dump_line(l: &Line) -> String {
    let mut s = String::new();
    if !l.enabled {
        s.push_str("# ");
    }
    s.push_str(&l.source);
    if !l.comment.is_empty() {
        s.push_str(" # ");
        s.push_str(&l.comment);
    }
    s.push('\n');
    s
}

/// The module's `_suggest_filename` (without `filename`): the URL's host and path.
pub fn suggest_filename(source: &str) -> String {
    let s = regex::Regex::new(r"\[[^\]]+\]").expect("valid").replace_all(source, "");
    let s = regex::Regex::new(r"\w+://").expect("valid").replace_all(&s, "");
    let parts: Vec<&str> = s.split_whitespace().filter(|p| *p != "deb" && *p != "deb-src").collect();
    let first = parts.first().map(|p| p.rsplit_once('@').map_or(*p, |(_, r)| r)).unwrap_or_default();
    let cleaned = regex::Regex::new("[^a-zA-Z0-9]").expect("valid").replace_all(first, " ");
    format!("{}.list", cleaned.split_whitespace().collect::<Vec<_>>().join("_"))
}

/// The sources files: path → lines, in the order apt-config and the folder give them.
pub type Files = Vec<(String, Vec<Line>)>;

/// Each file's text as the module dumps it; files without lines are left out.
pub fn dump(files: &Files) -> Vec<(String, String)> {
    files
        .iter()
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(f, lines)| (f.clone(), lines.iter().map(dump_line).collect()))
        .collect()
}

/// `abspath(join(dir, name))` for a name without `/`.
fn expand(dir: &str, name: &str) -> String {
    if name.contains('/') {
        return name.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    let joined = format!("{dir}/{name}");
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Add or remove `source` (already parsed) as the module does; `file` is where a new line goes.
pub fn edit(files: &mut Files, source: &str, present: bool, file: &str) {
    if !present {
        for (_, lines) in files.iter_mut() {
            lines.retain(|l| !(l.valid && l.enabled && l.source == source));
        }
        return;
    }
    let mut found = false;
    for (_, lines) in files.iter_mut() {
        for l in lines.iter_mut().filter(|l| l.valid && l.source == source) {
            l.enabled = true;
            found = true;
        }
    }
    if found {
        return;
    }
    let new = Line { valid: true, enabled: true, source: source.to_string(), comment: String::new() };
    match files.iter_mut().find(|(f, _)| f == file) {
        Some((_, lines)) => lines.push(new),
        None => files.push((file.to_string(), vec![new])),
    }
}

/// The query script: apt's sources file and folder, then each file's text.
const READ: &str = r#"eval "$(apt-config shell SL Dir::Etc::sourcelist/f SP Dir::Etc::sourceparts/d 2>/dev/null)"
SL=${SL:-/etc/apt/sources.list}; SP=${SP:-/etc/apt/sources.list.d/}
printf '%s\n%s\n' "$SL" "$SP"
for f in "$SL" "${SP%/}"/*.list; do [ -f "$f" ] || continue; printf '@@troupe:file:%s@@\n' "$f"; cat -- "$f"; [ -z "$(tail -c1 -- "$f")" ] || echo; done
"#;

/// Parse the query's output into (sources.list, sources folder, files).
pub fn read_files(out: &str) -> (String, String, Files) {
    let mut lines = out.lines();
    let sl = lines.next().unwrap_or("/etc/apt/sources.list").to_string();
    let sp = lines.next().unwrap_or("/etc/apt/sources.list.d/").to_string();
    let mut files: Files = Vec::new();
    for l in lines {
        if let Some(name) = l.strip_prefix("@@troupe:file:").and_then(|r| r.strip_suffix("@@")) {
            files.push((name.to_string(), Vec::new()));
        } else if let Some((_, file)) = files.last_mut() {
            file.push(parse_line(l));
        }
    }
    (sl, sp, files)
}

struct Planned {
    /// The script that fetches a new PPA's signing key, when apt lacks it.
    key: Option<String>,
    writes: Vec<Query>,
    removes: Vec<String>,
    update: Option<(i64, i64)>,
    restore: String,
}

/// Shell that puts the files back as they were (when `apt-get update` keeps failing).
fn restore_script(before: &[(String, Option<Vec<u8>>)]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut s = String::new();
    for (f, old) in before {
        match old {
            None => s.push_str(&format!("rm -f -- {}\n", quote(f))),
            Some(data) => s.push_str(&format!(
                "printf '%s' {data} | base64 -d > {f}.troupe-tmp && mv -f -- {f}.troupe-tmp {f}\n",
                data = quote(&b64.encode(data)),
                f = quote(f)
            )),
        }
    }
    s
}

/// `apt-get update` tried `retries` times, pausing as Ansible does (2^n s, at most `max`). An
/// index that failed to download fails the try, as python-apt's `Cache.update` (what Ansible
/// calls) does, though `apt-get` only warns.
pub fn update_script(retries: i64, max: i64) -> String {
    format!(
        "n=0; err=''\nwhile [ $n -lt {retries} ]; do\n  \
         if err=$(LANG=C LC_ALL=C apt-get update -q 2>&1 >/dev/null) && ! printf '%s\\n' \"$err\" | grep -q -e '^W: Failed to fetch' -e '^E: '; then exit 0; fi\n  \
         d=$((1 << n)); [ $d -gt {max} ] && d={max}; n=$((n+1)); [ $n -lt {retries} ] && sleep $d\ndone\n\
         printf 'Failed to update apt cache after {retries} retries: %s\\n' \"${{err:-unknown reason}}\" >&2; exit 1\n"
    )
}

/// A `ppa:OWNER[/NAME]` repository as Ansible's `UbuntuSourcesList` expands it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ppa {
    pub owner: String,
    pub name: String,
    pub codename: String,
    pub line: String,
}

const LP_API: &str = "https://api.launchpad.net/1.0/~";
const PPA_URI: &str = "https://ppa.launchpadcontent.net";
const KEYSERVER: &str = "hkp://keyserver.ubuntu.com:80";

impl Ppa {
    /// `rest` is what follows `ppa:`; the codename defaults to the host's release.
    pub fn expand(rest: &str, codename: &str) -> Ppa {
        let rest = rest.split(':').next().unwrap_or_default();
        let mut parts = rest.split('/');
        let owner = parts.next().unwrap_or_default().to_string();
        let name = parts.next().unwrap_or("ppa").to_string();
        let line = format!("deb {PPA_URI}/{owner}/{name}/ubuntu {codename} main");
        Ppa { owner, name, codename: codename.to_string(), line }
    }

    async fn new(rest: &str, codename: Option<String>, cx: &Ctx<'_>) -> Result<Ppa, ModuleError> {
        let codename = match codename {
            Some(c) => c,
            None => {
                let script = ". /etc/os-release 2>/dev/null; printf '%s' \"${VERSION_CODENAME:-$(lsb_release -sc 2>/dev/null)}\"";
                cx.run(Cmd::new(script).read_only()).await?.stdout_text().trim().to_string()
            }
        };
        Ok(Ppa::expand(rest, &codename))
    }

    /// Ask Launchpad for the signing key (on the host, as Ansible's `fetch_url`); `None` when
    /// apt already has it, else the script that fetches it.
    async fn key_step(&self, cx: &Ctx<'_>) -> Result<Option<String>, ModuleError> {
        let url = format!("{LP_API}{}/+archive/{}", self.owner, self.name);
        let script = format!(
            "command -v apt-key >/dev/null 2>&1 || command -v gpg >/dev/null 2>&1 || {{ echo 'Either apt-key or gpg binary is required, but neither could be found.The apt-key CLI has been deprecated and removed in modern Debian and derivatives, you might want to use \"deb822_repository\" instead.' >&2; exit 3; }}\n\
             if command -v curl >/dev/null 2>&1; then err=$(curl -fsS -H 'Accept: application/json' {u} 2>&1 >/tmp/.troupe-ppa.$$) || {{ rm -f /tmp/.troupe-ppa.$$; echo \"failed to fetch PPA information, error was: $err\" >&2; exit 4; }}\n\
             else err=$(wget -q -O /tmp/.troupe-ppa.$$ --header 'Accept: application/json' {u} 2>&1) || {{ rm -f /tmp/.troupe-ppa.$$; echo \"failed to fetch PPA information, error was: ${{err:-wget failed}}\" >&2; exit 4; }}; fi\n\
             sed -n 's/.*\"signing_key_fingerprint\": *\"\\([0-9A-Fa-f]*\\)\".*/\\1/p' /tmp/.troupe-ppa.$$; rm -f /tmp/.troupe-ppa.$$",
            u = quote(&url)
        );
        let out = cx.run(Cmd::new(script).read_only()).await?;
        if out.rc != 0 {
            // Only the message, as Ansible's fail_json.
            return Err(ModuleError::failed(out.stderr_text().trim().to_string()));
        }
        let fpr = out.stdout_text().trim().to_string();
        if fpr.is_empty() {
            return Err(ModuleError::failed("failed to fetch PPA information, error was: no signing_key_fingerprint"));
        }
        let f = quote(&fpr);
        let has = format!(
            "if command -v apt-key >/dev/null 2>&1; then err=$(apt-key export {f} 2>&1 >/dev/null); case $err in *'nothing exported'*) exit 1;; esac; exit 0; fi\n\
             for k in /etc/apt/trusted.gpg /etc/apt/keyrings/* /etc/apt/trusted.gpg.d/* /usr/share/keyrings/*; do [ -f \"$k\" ] || continue; gpg --list-packets \"$k\" 2>/dev/null | grep -q -- {f} && exit 0; done; exit 1"
        );
        if cx.run(Cmd::new(has).read_only()).await?.rc == 0 {
            return Ok(None);
        }
        let base = format!("ubuntu-{}-main", self.codename);
        Ok(Some(format!(
            "if command -v apt-key >/dev/null 2>&1; then apt-key adv --recv-keys --no-tty --keyserver {KEYSERVER} {f}\n\
             else d=''; for x in /etc/apt/keyrings /etc/apt/trusted.gpg.d /usr/share/keyrings; do [ -d \"$x\" ] && {{ d=$x; break; }}; done\n\
             [ -n \"$d\" ] || {{ echo 'Unable to find any existing apt gpgp repo directories, tried the following: /etc/apt/keyrings, /etc/apt/trusted.gpg.d, /usr/share/keyrings' >&2; exit 1; }}\n\
             k=\"$d\"/{file}; gpg --no-tty --keyserver {KEYSERVER} --export {f} > \"$k.tmp\" && [ -s \"$k.tmp\" ] && mv -f \"$k.tmp\" \"$k\" || {{ rm -f \"$k.tmp\"; echo 'Unable to get required signing key' >&2; exit 1; }}; fi",
            file = quote(&format!("{base}-{}-{}.gpg", self.owner, self.name)),
        )))
    }
}

#[async_trait]
impl Module for AptRepository {
    fn name(&self) -> &'static str {
        "apt_repository"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("apt_repository", args, &SPEC)?;
        let repo = a.str("repo")?.unwrap_or_default();
        if repo.is_empty() {
            return Err(ModuleError::failed("Please set argument 'repo' to a non-empty value"));
        }
        let present = a.choice("state", &["absent", "present"])?.unwrap_or("present") == "present";
        let ppa = match repo.strip_prefix("ppa:") {
            Some(rest) => Some(Ppa::new(rest, a.str("codename")?, cx).await?),
            None => None,
        };
        let parsed = match &ppa {
            Some(p) => Line { valid: true, enabled: true, source: p.line.clone(), comment: String::new() },
            None => parse_line(&repo),
        };
        if !parsed.valid || !parsed.enabled {
            let mut l = repo.trim();
            l = l.strip_prefix('#').unwrap_or(l);
            let l = match l.find('#').filter(|i| *i > 0) {
                Some(i) => &l[..i],
                None => l,
            };
            return Err(ModuleError::failed(format!("Invalid repository string: {l}")));
        }
        let out = run_ok(cx, Cmd::new(READ).read_only(), "apt_repository: cannot read apt's sources").await?;
        let (_sl, sp, mut files) = read_files(&out.stdout_text());
        let before = dump(&files);
        let name = match (a.str("filename")?, &ppa) {
            (Some(f), _) => format!("{f}.list"),
            (None, Some(p)) => suggest_filename(&format!("{repo}_{}", p.codename)),
            (None, None) => suggest_filename(&parsed.source),
        };
        // A new PPA needs its key first (as Ansible: asked even in check mode, fetched only for real).
        let already = files.iter().flat_map(|(_, ls)| ls).any(|l| l.valid && l.enabled && l.source == parsed.source);
        let key = match &ppa {
            Some(p) if present && !already => p.key_step(cx).await?,
            _ => None,
        };
        edit(&mut files, &parsed.source, present, &expand(&sp, &name));
        let after = dump(&files);
        let state = if present { "present" } else { "absent" };
        let mut q = Query::ok().with("repo", repo.clone()).with("state", state);
        let names = |from: &[(String, String)], not_in: &[(String, String)]| -> Value {
            let mut v: Vec<String> =
                from.iter().filter(|(f, _)| !not_in.iter().any(|(g, _)| g == f)).map(|(f, _)| f.clone()).collect();
            v.sort();
            v.into_iter().map(Value::from).collect::<Vec<_>>().into()
        };
        let changed = before != after;
        q.result.insert("sources_added".into(), if changed { names(&after, &before) } else { Value::Array(vec![]) });
        q.result.insert("sources_removed".into(), if changed { names(&before, &after) } else { Value::Array(vec![]) });
        if !changed {
            return Ok(q);
        }
        let mode = a.mode("mode")?.unwrap_or(super::file_mode::Mode::Octal(0o644));
        let mut writes = Vec::new();
        let mut removes = Vec::new();
        let mut saved = Vec::new();
        for (f, old) in &before {
            if !after.iter().any(|(g, _)| g == f) {
                removes.push(f.clone());
                saved.push((f.clone(), Some(old.as_bytes().to_vec())));
            }
        }
        for (f, text) in &after {
            let old = before.iter().find(|(g, _)| g == f).map(|(_, t)| t);
            if old == Some(text) {
                continue;
            }
            let file = read_text(cx, f).await?;
            saved.push((file.facts.path.clone(), file.content.clone()));
            let attrs = if file.facts.exists() { Attrs::default() } else { Attrs::new(Some(mode.clone()), None, None) };
            let w = query_write(cx, &file.facts, &Content::Bytes(text.as_bytes()), &attrs, &WriteOpts::default(), true)
                .await?;
            if q.diff.is_none() {
                q.diff = Some(Diff { path: f.clone(), before: old.cloned().unwrap_or_default(), after: text.clone() });
            }
            writes.push(w);
        }
        let update = if a.bool("update_cache", true)? {
            Some((a.int("update_cache_retries")?.unwrap_or(5), a.int("update_cache_retry_max_delay")?.unwrap_or(12)))
        } else {
            None
        };
        q.changed = true;
        q.change = Change::new(Planned { key, writes, removes, update, restore: restore_script(&saved) });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("apt_repository")?;
        if let Some(script) = &p.key {
            let out = cx.run(Cmd::new(script.clone())).await?;
            if out.rc != 0 {
                let msg = out.stderr_text().trim().to_string();
                return Err(super::script_out::failed_with(msg, &out));
            }
        }
        for w in p.writes {
            apply_write(cx, w).await?;
        }
        if !p.removes.is_empty() {
            let words: Vec<String> = p.removes.iter().map(|f| quote(f)).collect();
            run_ok(cx, Cmd::new(format!("rm -f -- {}", words.join(" "))), "apt_repository: removing failed").await?;
        }
        if let Some((retries, max)) = p.update {
            let out = cx.run(Cmd::new(update_script(retries.max(1), max))).await?;
            if out.rc != 0 {
                run_ok(cx, Cmd::new(p.restore), "apt_repository: restoring the sources failed").await?;
                return Err(ModuleError::failed(out.stderr_text().trim().to_string()));
            }
        }
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_dumps_lines_as_the_module() {
        let l = parse_line("  deb   [trusted=yes]  file:/srv/r ./  # local\n");
        assert_eq!(
            (l.valid, l.enabled, l.source.as_str(), l.comment.as_str()),
            (true, true, "deb [trusted=yes] file:/srv/r ./", "local")
        );
        assert_eq!(dump_line(&l), "deb [trusted=yes] file:/srv/r ./ # local\n");
        let off = parse_line("#deb http://x y main");
        assert!(off.valid && !off.enabled);
        assert_eq!(dump_line(&off), "# deb http://x y main\n");
        let other = parse_line("# just text");
        assert!(!other.valid);
        assert_eq!(dump_line(&other), "# just text\n");
        assert_eq!(dump_line(&parse_line("")), "\n");
    }

    #[test]
    fn file_names_as_the_module_suggests() {
        assert_eq!(suggest_filename("deb [trusted=yes] file:/var/tmp/repo ./"), "file_var_tmp_repo.list");
        assert_eq!(
            suggest_filename("deb https://user:pw@artifacts.elastic.co/packages/6.x/apt stable main"),
            "artifacts_elastic_co_packages_6_x_apt.list"
        );
        assert_eq!(expand("/etc/apt/sources.list.d/", "x.list"), "/etc/apt/sources.list.d/x.list");
        assert_eq!(expand("/etc/apt/sources.list.d/", "/tmp/y.list"), "/tmp/y.list");
        assert_eq!(suggest_filename("ppa:nginx/stable_jammy"), "ppa_nginx_stable_jammy.list");
    }

    #[test]
    fn ppa_lines_expand_as_ansibles() {
        let p = Ppa::expand("nginx/stable", "jammy");
        assert_eq!(p.line, "deb https://ppa.launchpadcontent.net/nginx/stable/ubuntu jammy main");
        assert_eq!(Ppa::expand("deadsnakes", "noble").name, "ppa");
        assert_eq!(Ppa::expand("deadsnakes", "noble").owner, "deadsnakes");
    }

    #[test]
    fn adds_enables_and_removes() {
        let out = "/etc/apt/sources.list\n/etc/apt/sources.list.d/\n\
                   @@troupe:file:/etc/apt/sources.list.d/a.list@@\n# deb http://x y main\ndeb http://z y main\n";
        let (_, sp, mut files) = read_files(out);
        assert_eq!(files[0].1.len(), 2);
        let before = dump(&files);
        edit(&mut files, "deb http://x y main", true, &expand(&sp, "x.list"));
        assert_eq!(dump(&files)[0].1, "deb http://x y main\ndeb http://z y main\n", "enabled in place");
        edit(&mut files, "deb http://n y main", true, &expand(&sp, "n.list"));
        assert_eq!(dump(&files)[1], ("/etc/apt/sources.list.d/n.list".into(), "deb http://n y main\n".into()));
        edit(&mut files, "deb http://n y main", true, &expand(&sp, "n.list"));
        assert_eq!(dump(&files).len(), 2, "idempotent");
        edit(&mut files, "deb http://n y main", false, "");
        edit(&mut files, "deb http://x y main", false, "");
        edit(&mut files, "deb http://z y main", false, "");
        assert!(dump(&files).is_empty(), "files without lines are dropped");
        assert_ne!(before, dump(&files));
        let s = update_script(5, 12);
        assert!(s.contains("apt-get update -q") && s.contains("after 5 retries"), "{s}");
    }
}
