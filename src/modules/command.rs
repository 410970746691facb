//! `command` (argv, no shell features) and `shell` (a /bin/sh script). They share argument
//! handling, `creates`/`removes`, and the result shape.

use crate::modules::Change;
use std::time::{Instant, SystemTime};

use async_trait::async_trait;

use crate::connection::{quote, Cmd};
use crate::value::Value;

use super::args::{ArgSpec, Args, Opt};
use super::clock::{delta, timestamp};
use super::{Ctx, Map, Module, ModuleError, Query};
use crate::module_api::job::Job;

pub struct Command;
pub struct Shell;

/// Options Ansible takes out of free-form text (`command: foo creates=/x`).
const INLINE_KEYS: [&str; 7] =
    ["creates", "removes", "chdir", "executable", "stdin", "stdin_add_newline", "strip_empty_ends"];

/// Split free-form text into the command and the inline `key=value` options, keeping the
/// command's own text (quotes, spacing) as written.
pub fn split_inline(raw: &str) -> (String, Vec<(String, String)>) {
    let mut kept = String::new();
    let mut found = Vec::new();
    for (start, end) in token_ranges(raw) {
        let tok = &raw[start..end];
        let key = tok.split_once('=').map(|(k, _)| k).unwrap_or("");
        if INLINE_KEYS.contains(&key) {
            let value = &tok[key.len() + 1..];
            let value = shlex::split(value).map(|w| w.join(" ")).unwrap_or_else(|| value.to_string());
            found.push((key.to_string(), value));
        } else {
            if !kept.is_empty() {
                // Keep the original spacing between kept words.
                let gap_start = raw[..start].trim_end().len();
                kept.push_str(&raw[gap_start..start]);
            }
            kept.push_str(tok);
        }
    }
    (keep_final_newline(raw, kept), found)
}

/// Byte ranges of whitespace-separated words, quotes and backslashes respected.
fn token_ranges(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quote_char: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if start.is_none() {
            if c.is_whitespace() {
                continue;
            }
            start = Some(i);
        }
        if escaped {
            escaped = false;
        } else if c == '\\' && quote_char != Some('\'') {
            escaped = true;
        } else if let Some(q) = quote_char {
            if c == q {
                quote_char = None;
            }
        } else if c == '\'' || c == '"' {
            quote_char = Some(c);
        } else if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, i));
            }
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

/// Ansible keeps the final newline of a free-form block (`shell: |`) in the command.
fn keep_final_newline(raw: &str, mut kept: String) -> String {
    if raw.ends_with('\n') && !kept.is_empty() && !kept.ends_with('\n') {
        kept.push('\n');
    }
    kept
}

/// A path pattern as a shell word: `*` and `?` stay globs, everything else is quoted.
pub fn glob_word(pattern: &str) -> String {
    let mut out = String::new();
    let mut lit = String::new();
    for c in pattern.chars() {
        if c == '*' || c == '?' {
            if !lit.is_empty() {
                out.push_str(&quote(&lit));
                lit.clear();
            }
            out.push(c);
        } else {
            lit.push(c);
        }
    }
    if !lit.is_empty() {
        out.push_str(&quote(&lit));
    }
    out
}

/// Arguments after inline options are merged in.
struct Parsed {
    /// `cmd` in the result: argv list (command) or the script text (shell).
    shown: Value,
    script: String,
    chdir: Option<String>,
    creates: Option<String>,
    removes: Option<String>,
    stdin: Option<Vec<u8>>,
    strip: bool,
}

/// The arguments, declared once: shell's, and command's (the same and `argv`).
const COMMON: &[Opt] = &[
    Opt::internal("_raw_params"),
    Opt::str("cmd", "the command line (instead of free-form text)"),
    Opt::path("chdir", "run in this folder"),
    Opt::path("creates", "skip when this path exists"),
    Opt::path("removes", "run only when this path exists"),
    Opt::str("stdin", "text fed to the command's standard input"),
    Opt::bool("stdin_add_newline", "end `stdin` with a newline").default("true"),
    Opt::bool("strip_empty_ends", "strip trailing blank lines of stdout and stderr").default("true"),
    Opt::path("executable", "the shell to run the command with (shell), or ignored (command)"),
    Opt::bool("expand_argument_vars", "expand `$VARS` in arguments (command)").default("true"),
];
const SHELL_SPEC: ArgSpec = ArgSpec { options: &[COMMON], ..ArgSpec::NONE };
const COMMAND_SPEC: ArgSpec = ArgSpec {
    options: &[COMMON, &[Opt::list("argv", "the command as a list of words (instead of text)")]],
    ..ArgSpec::NONE
};

/// Markers the command's script prints on stderr when it could not start (Ansible reports
/// these without the shell's words).
const NO_CHDIR: &str = "@@troupe:chdir@@";
const NOT_FOUND: &str = "@@troupe:notfound@@";

fn parse(module: &'static str, args: &Map) -> Result<Parsed, ModuleError> {
    let mut merged = args.clone();
    if let Some(Value::String(raw)) = args.get("_raw_params") {
        let (text, inline) = split_inline(raw);
        merged.insert("_raw_params".into(), text.into());
        for (k, v) in inline {
            merged.entry(k).or_insert(Value::String(v));
        }
    }
    let spec = if module == "command" { &COMMAND_SPEC } else { &SHELL_SPEC };
    let a = Args::parse(module, &merged, spec)?;
    if module == "shell" && a.has("expand_argument_vars") {
        // Ansible's shell action refuses it with exactly this message.
        return Err(ModuleError::failed("Unsupported parameters for (shell) module: expand_argument_vars"));
    }
    let given: Vec<&str> =
        ["_raw_params", "cmd", "argv"].into_iter().filter(|k| a.get(k).is_some_and(|v| !v.is_null())).collect();
    if given.len() > 1 {
        return Err(ModuleError::failed("parameters are mutually exclusive: _raw_params|cmd|argv"));
    }
    let text = a.str("cmd")?.or(a.str("_raw_params")?).filter(|t| !t.trim().is_empty());
    let chdir = a.str("chdir")?;
    // The command's own `cd`, physical as Python's os.chdir (`$PWD` has no symbolic links).
    let cd = match &chdir {
        Some(dir) => format!("cd -P -- {} 2>/dev/null || {{ printf %s {NO_CHDIR} >&2; exit 1; }}\n", quote(dir)),
        None => String::new(),
    };
    let (shown, script) = if module == "shell" {
        let text =
            text.ok_or_else(|| ModuleError::failed("one of the following is required: _raw_params, cmd, argv"))?;
        let sh = a.str("executable")?.unwrap_or_else(|| "/bin/sh".into());
        let script = format!("{cd}exec {} -c {}", quote(&sh), quote(&text));
        (Value::from(text), script)
    } else {
        if let Some(exe) = a.str("executable")? {
            super::args::warn(format!(
                "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{exe}'."
            ));
        }
        let argv = match (text, a.list("argv")?) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::failed("parameters are mutually exclusive: _raw_params|cmd|argv"))
            }
            (None, None) => {
                return Err(ModuleError::failed("one of the following is required: _raw_params, cmd, argv"))
            }
            (None, Some(argv)) => argv,
            (Some(t), None) => shlex::split(&t).ok_or_else(|| a.error(format_args!("unbalanced quotes in {t:?}")))?,
        };
        if argv.is_empty() {
            return Err(a.error("`argv` is empty"));
        }
        let expand = a.bool("expand_argument_vars", true)?;
        let mut pre = String::new();
        let words: Vec<String> =
            argv.iter().map(|w| if expand { expanded_word(w, &mut pre) } else { quote(w) }).collect();
        // A program that is not there fails as in Python (no shell message).
        let found = format!("command -v {} >/dev/null 2>&1 || {{ printf %s {NOT_FOUND} >&2; exit 127; }}\n", words[0]);
        (Value::from(argv), format!("{cd}{pre}{found}exec {}", words.join(" ")))
    };
    let stdin = match a.str("stdin")? {
        Some(s) => {
            let mut data = s.into_bytes();
            if a.bool("stdin_add_newline", true)? {
                data.push(b'\n');
            }
            Some(data)
        }
        None => None,
    };
    Ok(Parsed {
        shown,
        script,
        chdir,
        creates: a.str("creates")?,
        removes: a.str("removes")?,
        stdin,
        strip: a.bool("strip_empty_ends", true)?,
    })
}

/// One argument as Ansible's command module passes it (`expand_argument_vars`): Python's
/// `expanduser(expandvars(arg))` on the host. `$NAME` and `${NAME}` become the variable's value
/// when it is set and stay as written when not; a leading `~` or `~user` is the home folder.
/// The values are set in `pre` (one line per variable), so the word itself stays quoted.
fn expanded_word(arg: &str, pre: &mut String) -> String {
    let mut out = String::new();
    let mut rest = arg;
    if let Some(tail) = arg.strip_prefix('~') {
        let end = tail.find('/').unwrap_or(tail.len());
        let user = &tail[..end];
        if user.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            out.push('~');
            out.push_str(user);
            rest = &tail[end..];
        }
    }
    let mut lit = String::new();
    let flush = |lit: &mut String, out: &mut String| {
        if !lit.is_empty() {
            out.push_str(&quote(lit));
            lit.clear();
        }
    };
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            lit.push(c);
            continue;
        }
        let after = &rest[i + 1..];
        let (name, written) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], &rest[i..i + end + 3]),
                None => ("", "$"),
            }
        } else {
            let end = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
            (&after[..end], &rest[i..i + 1 + end])
        };
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            lit.push('$');
            continue;
        }
        flush(&mut lit, &mut out);
        let n = pre.lines().count();
        pre.push_str(&format!(
            "if [ -n \"${{{name}+x}}\" ]; then __e{n}=${name}; else __e{n}={}; fi\n",
            quote(written)
        ));
        out.push_str(&format!("\"$__e{n}\""));
        for _ in 1..written.chars().count() {
            chars.next();
        }
    }
    flush(&mut lit, &mut out);
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

/// Result keys that hold for a run that did not happen.
fn not_run(shown: Value, msg: String, stdout: String) -> Query {
    let lines: Vec<Value> = stdout.lines().map(Value::from).collect();
    Query::ok()
        .with("cmd", shown)
        .with("delta", Value::Null)
        .with("end", Value::Null)
        .with("msg", msg)
        .with("rc", 0)
        .with("start", Value::Null)
        .with("stderr", "")
        .with("stderr_lines", Vec::<Value>::new())
        .with("stdout", stdout)
        .with("stdout_lines", lines)
}

async fn query(module: &'static str, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
    let p = parse(module, args)?;
    // creates/removes are checked on the host, relative to chdir like Ansible.
    for (pattern, skip_if_exists) in [(&p.creates, true), (&p.removes, false)] {
        let Some(pattern) = pattern else { continue };
        let check = format!("for f in {}; do [ -e \"$f\" ] && exit 0; done; exit 1", glob_word(pattern));
        let mut cmd = Cmd::new(check);
        cmd.chdir = p.chdir.clone();
        let exists = cx.run(cmd).await?.rc == 0;
        if exists == skip_if_exists {
            let did = if cx.check_mode { "Would" } else { "Did" };
            let (msg, out) = if exists {
                (format!("{did} not run command since '{pattern}' exists"), format!("skipped, since {pattern} exists"))
            } else {
                (
                    format!("{did} not run command since '{pattern}' does not exist"),
                    format!("skipped, since {pattern} does not exist"),
                )
            };
            return Ok(not_run(p.shown, msg, out));
        }
    }
    let decided = p.creates.is_some() || p.removes.is_some();
    let mut q = not_run(p.shown.clone(), "Command would have run if not in check mode".into(), String::new());
    q.changed = true;
    q.check_skip = !decided;
    q.change = Change::new(p);
    Ok(q)
}

/// A command that could not start (its folder, its program), failed as Ansible reports it.
fn unstarted(shown: &Value, out: &crate::connection::Output) -> Option<ModuleError> {
    let mut r = Map::new();
    r.insert("cmd".into(), shown.clone());
    r.insert("stdout".into(), "".into());
    r.insert("stderr".into(), "".into());
    let msg = match out.stderr.as_slice() {
        e if out.rc == 1 && e == NO_CHDIR.as_bytes() => {
            r.insert("rc".into(), Value::Null);
            "Unable to change directory before execution.".to_string()
        }
        e if out.rc == 127 && e == NOT_FOUND.as_bytes() => {
            r.insert("rc".into(), 2.into());
            let argv0 = shown.get(0).map(crate::value::to_text).unwrap_or_default();
            format!("[Errno 2] No such file or directory: b'{argv0}'")
        }
        _ => return None,
    };
    r.insert("msg".into(), msg.clone().into());
    Some(ModuleError::Failed { msg, result: r })
}

/// What the query parsed, as one background job (`async`).
fn job(module: &'static str, q: &mut Query) -> Option<Result<Job, ModuleError>> {
    let p: Parsed = match q.change.take(module) {
        Ok(p) => p,
        Err(e) => return Some(Err(e)),
    };
    let mut cmd = Cmd::new(p.script);
    cmd.stdin = p.stdin.map(crate::connection::Input::Bytes);
    let known = [("cmd".to_string(), p.shown)].into_iter().collect();
    Some(Ok(Job { cmd, known, strip: p.strip }))
}

/// Run what the query parsed (the arguments are not read again).
async fn apply(module: &'static str, cx: &Ctx<'_>, mut q: Query) -> Result<Map, ModuleError> {
    let p: Parsed = q.change.take(module)?;
    let mut cmd = Cmd::new(p.script);
    cmd.stdin = p.stdin.map(crate::connection::Input::Bytes);
    let start = SystemTime::now();
    let began = Instant::now();
    let out = cx.run(cmd).await?;
    let took = began.elapsed();
    if let Some(e) = unstarted(&p.shown, &out) {
        return Err(e);
    }
    let trim = |b: &[u8]| {
        let t = String::from_utf8_lossy(b).into_owned();
        if p.strip {
            t.trim_end_matches(['\r', '\n']).to_string()
        } else {
            t
        }
    };
    let (stdout, stderr) = (trim(&out.stdout), trim(&out.stderr));
    let lines = |s: &str| s.lines().map(Value::from).collect::<Vec<_>>();
    let mut r = Map::new();
    r.insert("cmd".into(), p.shown.clone());
    r.insert("delta".into(), delta(took).into());
    r.insert("end".into(), timestamp(start + took).into());
    r.insert("msg".into(), "".into());
    r.insert("rc".into(), out.rc.into());
    r.insert("start".into(), timestamp(start).into());
    r.insert("stderr_lines".into(), lines(&stderr).into());
    r.insert("stderr".into(), stderr.clone().into());
    r.insert("stdout_lines".into(), lines(&stdout).into());
    r.insert("stdout".into(), stdout.into());
    if out.rc == 0 {
        return Ok(r);
    }
    let msg = "non-zero return code".to_string();
    r.insert("msg".into(), msg.clone().into());
    // The command ran, so Ansible calls it changed, failed or not (`changed_when` may say otherwise).
    r.insert("changed".into(), true.into());
    Err(ModuleError::Failed { msg, result: r })
}

#[async_trait]
impl Module for Command {
    fn name(&self) -> &'static str {
        "command"
    }
    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&COMMAND_SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        query("command", cx, args).await
    }
    fn job(&self, q: &mut Query) -> Option<Result<Job, ModuleError>> {
        job("command", q)
    }
    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        apply("command", cx, q).await
    }
}

#[async_trait]
impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }
    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SHELL_SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        query("shell", cx, args).await
    }
    fn job(&self, q: &mut Query) -> Option<Result<Job, ModuleError>> {
        job("shell", q)
    }
    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        apply("shell", cx, q).await
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
