//! `pip`: Python packages, in the system's Python or a virtualenv (made when missing). The query
//! reads `pip list --format=freeze` and compares it with the wanted names and versions (as
//! Ansible's check mode does); what that can't answer (`latest`, `requirements`, URLs, paths)
//! it asks `pip install --dry-run`. Results as Ansible's: `cmd`, `name`, `version`, `state`,
//! `requirements`, `virtualenv`, `stdout`, `stderr`.

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{failed_with, sections};
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const STATES: [&str; 4] = ["present", "absent", "latest", "forcereinstall"];

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::list("name", "package names, with version specifiers, or URLs/paths"),
        Opt::str("version", "the version of the one package in `name`"),
        Opt::str("requirements", "a requirements file on the host"),
        Opt::path("virtualenv", "a virtualenv to install into (made when missing)"),
        Opt::bool("virtualenv_site_packages", "the new virtualenv sees the global site-packages").default("false"),
        Opt::path("virtualenv_command", "the command that makes the virtualenv").default("virtualenv"),
        Opt::str("virtualenv_python", "the Python the virtualenv is made for (not with `-m venv`)"),
        Opt::str("state", "what the packages should be").choices(&STATES).default("present"),
        Opt::str("extra_args", "more arguments for `pip install`/`uninstall`"),
        Opt::bool("editable", "pass `-e` (editable install)").default("false"),
        Opt::path("chdir", "the folder pip runs in (default: /tmp)"),
        Opt::path("executable", "the pip to run (not with `virtualenv`)"),
        Opt::str("umask", "the umask pip runs with (octal)"),
        Opt::bool("break_system_packages", "let pip change an externally managed Python").default("false"),
    ]],
    ..ArgSpec::NONE
};

pub struct Pip;

/// Everything the commands need, from the arguments.
#[derive(Debug, Clone, Default)]
pub struct Want {
    pub state: String,
    pub names: Vec<String>,
    pub requirements: Option<String>,
    pub extra: Vec<String>,
    pub env: Option<String>,
    pub venv_cmd: String,
    pub venv_site: bool,
    pub venv_python: Option<String>,
    pub executable: Option<String>,
    pub chdir: String,
    pub umask: Option<String>,
    pub break_system: bool,
}

/// A requirement `name[extras]<specifiers>`; `None` for URLs and paths.
#[derive(Debug, Clone, PartialEq)]
pub struct Req {
    pub name: String,
    pub specs: Vec<(String, String)>,
}

/// PEP 503 name: runs of `-_.` are one `-`, lower case.
pub fn canonical(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

pub fn parse_req(text: &str) -> Option<Req> {
    let t = text.trim();
    let end = t.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(t.len());
    let (name, mut rest) = t.split_at(end);
    if name.is_empty() || name.starts_with('.') {
        return None;
    }
    if let Some(r) = rest.strip_prefix('[') {
        rest = r.split_once(']')?.1;
    }
    let rest = rest.split(';').next().unwrap_or("").trim();
    let mut specs = Vec::new();
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let op_len = part.find(|c: char| !matches!(c, '=' | '!' | '<' | '>' | '~')).unwrap_or(part.len());
        let (op, ver) = part.split_at(op_len);
        if !matches!(op, "==" | "!=" | ">=" | "<=" | ">" | "<" | "~=" | "===") || ver.trim().is_empty() {
            return None;
        }
        specs.push((op.to_string(), ver.trim().to_string()));
    }
    Some(Req { name: canonical(name), specs })
}

/// Release numbers of a version (`1.10.2rc1` → [1, 10, 2] and the rest as text).
fn release(v: &str) -> (Vec<u64>, String) {
    let v = v.trim().trim_start_matches('v');
    let mut nums = Vec::new();
    let mut rest = String::new();
    for (i, part) in v.split('.').enumerate() {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || !rest.is_empty() {
            rest = v.split('.').skip(i).collect::<Vec<_>>().join(".");
            break;
        }
        nums.push(digits.parse().unwrap_or(0));
        if digits.len() < part.len() {
            rest = part[digits.len()..].to_string();
            if let Some(more) = v.split('.').nth(i + 1) {
                rest.push('.');
                rest.push_str(more);
            }
            break;
        }
    }
    while nums.last() == Some(&0) && nums.len() > 1 {
        nums.pop();
    }
    (nums, rest)
}

fn cmp_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let ((an, ar), (bn, br)) = (release(a), release(b));
    // A pre-release (`rc1`) sorts before its release; anything else after.
    let pre = |r: &str| r.starts_with(['a', 'b', 'r', 'c', 'd']);
    an.cmp(&bn).then_with(|| match (ar.is_empty(), br.is_empty()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) if pre(&br) => std::cmp::Ordering::Greater,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) if pre(&ar) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => ar.cmp(&br),
    })
}

/// Whether `version` meets one specifier.
pub fn satisfies(version: &str, op: &str, want: &str) -> bool {
    use std::cmp::Ordering::*;
    if let Some(prefix) = want.strip_suffix(".*") {
        let hit = version == prefix || version.starts_with(&format!("{prefix}."));
        return if op == "!=" { !hit } else { hit };
    }
    let o = cmp_versions(version, want);
    match op {
        "==" => o == Equal,
        "===" => version == want,
        "!=" => o != Equal,
        ">=" => o != Less,
        "<=" => o != Greater,
        ">" => o == Greater,
        "<" => o == Less,
        "~=" => {
            let (nums, _) = release(want);
            let prefix: Vec<String> =
                nums.iter().take(nums.len().saturating_sub(1).max(1)).map(u64::to_string).collect();
            o != Less && satisfies(version, "==", &format!("{}.*", prefix.join(".")))
        }
        _ => false,
    }
}

/// Installed `name==version` lines of `pip list --format=freeze` → canonical name, version.
pub fn installed(freeze: &str) -> Vec<(String, String)> {
    freeze.lines().filter_map(|l| l.split_once("==")).map(|(n, v)| (canonical(n), v.trim().to_string())).collect()
}

pub fn is_present(req: &Req, have: &[(String, String)]) -> bool {
    have.iter().any(|(n, v)| *n == req.name && req.specs.iter().all(|(op, want)| satisfies(v, op, want)))
}

/// Ansible's `_recover_package_name`: `['django>1', '<2', 'six']` → `['django>1,<2', 'six']`.
pub fn recover_names(names: &[String]) -> Vec<String> {
    let parts: Vec<&str> = names.iter().flat_map(|n| n.split(',')).collect();
    let mut out: Vec<String> = Vec::new();
    let mut in_brackets = false;
    for p in parts {
        let is_name = p.trim_start().starts_with(|c: char| c.is_ascii_alphanumeric());
        if (is_name && !in_brackets) || out.is_empty() {
            out.push(p.to_string());
        } else if let Some(last) = out.last_mut() {
            last.push(',');
            last.push_str(p);
        }
        if p.contains('[') {
            in_brackets = true;
        }
        if in_brackets && p.contains(']') {
            in_brackets = false;
        }
    }
    out
}

/// `pip` as a shell word list (the virtualenv's, `executable`, or `python3 -m pip`).
pub fn pip_words(w: &Want) -> String {
    match (&w.env, &w.executable) {
        (Some(env), _) => format!("{}/bin/pip3", quote(env.trim_end_matches('/'))),
        (None, Some(exe)) => quote(exe),
        (None, None) => "python3 -m pip".into(),
    }
}

fn state_words(state: &str) -> &'static str {
    match state {
        "absent" => "uninstall -y",
        "latest" => "install -U",
        "forcereinstall" => "install -U --force-reinstall",
        _ => "install",
    }
}

/// The targets of the command: the names, or `-r requirements`.
fn targets(w: &Want) -> String {
    match &w.requirements {
        Some(r) => format!("-r {}", quote(r)),
        None => w.names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(" "),
    }
}

fn extra(w: &Want) -> String {
    w.extra.iter().map(|e| format!(" {}", quote(e))).collect()
}

/// The install/uninstall command, as Ansible builds it.
pub fn command(w: &Want) -> String {
    format!("{} {}{} {}", pip_words(w), state_words(&w.state), extra(w), targets(w))
}

/// The virtualenv command, as Ansible builds it.
pub fn venv_command(w: &Want, env: &str) -> Result<String, ModuleError> {
    let mut words: Vec<String> = shlex::split(&w.venv_cmd).unwrap_or_default().iter().map(|s| quote(s)).collect();
    let is_venv = w.venv_cmd.contains("pyvenv") || w.venv_cmd.contains("-m venv");
    if w.venv_site {
        words.push("--system-site-packages".into());
    }
    if !is_venv {
        match &w.venv_python {
            Some(p) => words.push(quote(&format!("-p{p}"))),
            None => words.push("-p\"$(command -v python3)\"".into()),
        }
    } else if w.venv_python.is_some() {
        return Err(ModuleError::failed(
            "virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command",
        ));
    }
    words.push(quote(env));
    Ok(words.join(" "))
}

/// What the query reads: whether the virtualenv exists, and the installed packages.
fn read_script(w: &Want, dry_run: bool) -> String {
    let env_check = match &w.env {
        Some(env) => format!("test -e {}/bin/activate && echo yes || echo no", quote(env)),
        None => "echo yes".into(),
    };
    let mut s = format!("cd {} || exit 1\necho '@@troupe:venv@@'; {env_check}\n", quote(&w.chdir));
    let pip = pip_words(w);
    // Without the virtualenv there is nothing to list.
    s.push_str(&format!(
        "if [ -z {env} ] || [ -e {env}/bin/activate ]; then\n\
         echo '@@troupe:list@@'; LC_ALL=C {pip} list --format=freeze 2>/dev/null || {pip} freeze || exit 1\n",
        env = quote(w.env.as_deref().unwrap_or("")),
    ));
    if dry_run {
        s.push_str(&format!(
            "echo '@@troupe:dry@@'; LC_ALL=C {pip} {} --dry-run{} {} 2>&1 || exit 1\n",
            state_words(&w.state),
            extra(w),
            targets(w)
        ));
    }
    s.push_str("fi\n");
    s
}

/// What differs: the wanted state against the installed packages (and a dry run's answer).
pub fn differs(w: &Want, have: &[(String, String)], dry: Option<&str>) -> bool {
    if w.state == "forcereinstall" {
        return true;
    }
    if let Some(out) = dry {
        return out.lines().any(|l| l.starts_with("Would install "));
    }
    let reqs: Vec<Option<Req>> = w.names.iter().map(|n| parse_req(n)).collect();
    match w.state.as_str() {
        "absent" => reqs.iter().any(|r| r.as_ref().map_or(true, |r| have.iter().any(|(n, _)| *n == r.name))),
        _ => reqs.iter().any(|r| r.as_ref().map_or(true, |r| !is_present(r, have))),
    }
}

/// Whether the query must ask pip for a dry run (the list can't tell).
fn needs_dry_run(w: &Want) -> bool {
    matches!(w.state.as_str(), "latest" | "present")
        && (w.requirements.is_some() || w.state == "latest" || w.names.iter().any(|n| parse_req(n).is_none()))
}

fn want(a: &Args) -> Result<Want, ModuleError> {
    let state = a.choice("state", &STATES)?.unwrap_or("present").to_string();
    let names = a.list("name")?;
    let requirements = a.str("requirements")?;
    match (&names, &requirements) {
        (None, None) => return Err(ModuleError::Args("one of the following is required: name, requirements".into())),
        (Some(_), Some(_)) => {
            return Err(ModuleError::Args("parameters are mutually exclusive: name|requirements".into()))
        }
        _ => {}
    }
    if a.has("executable") && a.has("virtualenv") {
        return Err(ModuleError::Args("parameters are mutually exclusive: executable|virtualenv".into()));
    }
    let version = a.str("version")?;
    if state == "latest" && version.is_some() {
        return Err(ModuleError::failed("version is incompatible with state=latest"));
    }
    let mut names = names.map(|n| recover_names(&n)).unwrap_or_default();
    if let Some(v) = version {
        if names.len() > 1 {
            return Err(ModuleError::failed(
                "'version' argument is ambiguous when installing multiple package distributions. \
                 Please specify version restrictions next to each package in 'name' argument.",
            ));
        }
        if names.first().and_then(|n| parse_req(n)).is_some_and(|r| !r.specs.is_empty()) {
            return Err(ModuleError::failed(
                "The 'version' argument conflicts with any version specifier provided along with a package name. \
                 Please keep the version specifier, but remove the 'version' argument.",
            ));
        }
        let v = v.trim_start();
        let sep = if v.starts_with(|c: char| c.is_ascii_digit()) { "==" } else { "" };
        names[0] = format!("{}{sep}{v}", names[0]);
    }
    let mut extra = match a.str("extra_args")? {
        Some(e) => shlex::split(&e).ok_or_else(|| a.error("extra_args: unbalanced quotes"))?,
        None => Vec::new(),
    };
    if a.bool("editable", false)? && !extra.iter().any(|e| e == "-e") {
        extra.push("-e".into());
    }
    let chdir = a.str("chdir")?;
    let env = a.str("virtualenv")?.map(|e| match (&chdir, e.starts_with('/')) {
        (Some(c), false) => format!("{}/{e}", c.trim_end_matches('/')),
        _ => e,
    });
    let umask = a.str("umask")?;
    if let Some(u) = &umask {
        if u.is_empty() || !u.chars().all(|c| ('0'..='7').contains(&c)) {
            return Err(ModuleError::failed("umask must be an octal integer"));
        }
    }
    Ok(Want {
        state,
        names,
        requirements,
        extra,
        env,
        venv_cmd: a.str("virtualenv_command")?.unwrap_or_else(|| "virtualenv".into()),
        venv_site: a.bool("virtualenv_site_packages", false)?,
        venv_python: a.str("virtualenv_python")?,
        executable: a.str("executable")?,
        chdir: chdir.unwrap_or_else(|| "/tmp".into()),
        umask,
        break_system: a.bool("break_system_packages", false)?,
    })
}

struct Planned {
    want: Want,
    make_venv: bool,
}

/// The result as Ansible's: `name` as given (a list), `version` as given.
fn result(w: &Want, a: &Args) -> Result<Map, ModuleError> {
    let mut r = Map::new();
    r.insert("cmd".into(), command(w).into());
    let names = a.list("name")?.map(|n| Value::Array(n.into_iter().map(Value::String).collect()));
    r.insert("name".into(), names.unwrap_or(Value::Null));
    r.insert("version".into(), a.str("version")?.map_or(Value::Null, Value::from));
    r.insert("state".into(), w.state.clone().into());
    r.insert("requirements".into(), w.requirements.clone().map_or(Value::Null, Value::from));
    r.insert("virtualenv".into(), w.env.clone().map_or(Value::Null, Value::from));
    Ok(r)
}

fn prefix(w: &Want) -> String {
    let mut s = format!("cd {} || exit 1\n", quote(&w.chdir));
    if let Some(u) = &w.umask {
        s.push_str(&format!("umask {u}\n"));
    }
    if w.break_system {
        s.push_str("PIP_BREAK_SYSTEM_PACKAGES=1; export PIP_BREAK_SYSTEM_PACKAGES\n");
    }
    if let Some(env) = &w.env {
        s.push_str(&format!("PATH={}/bin:$PATH; export PATH\n", quote(env)));
    }
    s
}

#[async_trait]
impl Module for Pip {
    fn name(&self) -> &'static str {
        "pip"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("pip", args, &SPEC)?;
        let w = want(&a)?;
        let dry = needs_dry_run(&w);
        let out = cx.run(Cmd::new(read_script(&w, dry)).read_only()).await?;
        if out.rc != 0 {
            return Err(failed_with(
                format!("reading the installed packages failed: {}", out.stderr_text().trim()),
                &out,
            ));
        }
        let parts = sections(&out.stdout_text());
        let make_venv = parts.get("venv").is_some_and(|v| v.trim() == "no");
        let list = parts.get("list").cloned().unwrap_or_default();
        let have = installed(&list);
        let changed = make_venv || differs(&w, &have, parts.get("dry").map(String::as_str));
        let mut q = Query::ok();
        q.result = result(&w, &a)?;
        q.changed = changed;
        if changed {
            q.change = crate::module_api::Change::new(Planned { want: w, make_venv });
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("pip")?;
        let w = &p.want;
        let mut script = prefix(w);
        if let (true, Some(env)) = (p.make_venv, &w.env) {
            script.push_str(&format!("{} || exit 1\n", venv_command(w, env)?));
        }
        let cmd = command(w);
        script.push_str(&format!("{cmd}\n"));
        let out = cx.run(Cmd::new(script)).await?;
        let (stdout, stderr) = (out.stdout_text(), out.stderr_text());
        let not_installed = w.state == "absent" && out.rc == 1 && format!("{stdout}{stderr}").contains("not installed");
        if out.rc != 0 && !not_installed {
            let mut msg = String::new();
            if !stdout.is_empty() {
                msg.push_str(&format!("stdout: {stdout}"));
            }
            if !stderr.is_empty() {
                msg.push_str(&format!("\n:stderr: {stderr}"));
            }
            let mut result = Map::new();
            result.insert("cmd".into(), cmd.into());
            return Err(ModuleError::Failed { msg, result });
        }
        let mut r = q.result;
        r.insert("stdout".into(), stdout.into());
        r.insert("stderr".into(), stderr.into());
        Ok(r)
    }
}

#[cfg(test)]
#[path = "pip_tests.rs"]
mod tests;
