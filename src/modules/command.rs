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
    (kept, found)
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
    let text = a.str("cmd")?.or(a.str("_raw_params")?).filter(|t| !t.trim().is_empty());
    let (shown, script) = if module == "shell" {
        let text = text.ok_or_else(|| a.error("no command given (free-form text or `cmd`)"))?;
        let sh = a.str("executable")?.unwrap_or_else(|| "/bin/sh".into());
        let script = format!("exec {} -c {}", quote(&sh), quote(&text));
        (Value::from(text), script)
    } else {
        let argv = match (text, a.list("argv")?) {
            (Some(_), Some(_)) => return Err(a.error("give the command as text or as `argv`, not both")),
            (None, None) => return Err(a.error("no command given (free-form text, `cmd` or `argv`)")),
            (None, Some(argv)) => argv,
            (Some(t), None) => shlex::split(&t).ok_or_else(|| a.error(format_args!("unbalanced quotes in {t:?}")))?,
        };
        if argv.is_empty() {
            return Err(a.error("`argv` is empty"));
        }
        let expand = a.bool("expand_argument_vars", true)?;
        let words: Vec<String> =
            argv.iter().map(|w| if expand && w.contains(['$', '~']) { expanding(w) } else { quote(w) }).collect();
        (Value::from(argv), format!("exec {}", words.join(" ")))
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
        chdir: a.str("chdir")?,
        creates: a.str("creates")?,
        removes: a.str("removes")?,
        stdin,
        strip: a.bool("strip_empty_ends", true)?,
    })
}

/// A shell word for `w` with `$NAME`, `${NAME}` and a leading `~`/`~user` expanded on the host
/// as Python's `expandvars`/`expanduser` do (what Ansible's command module does by default): a
/// variable that is not set stays as written; nothing else is interpreted.
fn expanding(w: &str) -> String {
    let valid_user = |u: &str| u.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    let (tilde, rest) = match w.find('/').map_or((w, ""), |i| w.split_at(i)) {
        (t, rest) if t.starts_with('~') && valid_user(&t[1..]) => (t, rest),
        _ => ("", w),
    };
    // The tilde prefix and its `/` stay unquoted, or the shell would not expand it.
    let (tilde, rest) = match rest.strip_prefix('/') {
        Some(r) if !tilde.is_empty() => (format!("{tilde}/"), r),
        _ if !tilde.is_empty() && rest.is_empty() => return tilde.to_string(),
        _ => (tilde.to_string(), rest),
    };
    let mut out = format!("{tilde}\"");
    let mut chars = rest.char_indices().peekable();
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while let Some((i, c)) = chars.next() {
        if c == '$' {
            let tail = &rest[i + 1..];
            if let Some(inner) = tail.strip_prefix('{') {
                if let Some(end) = inner.find('}').filter(|&e| e > 0 && inner[..e].chars().all(is_name)) {
                    let name = &inner[..end];
                    out.push_str(&format!("${{{name}-\\${{{name}\\}}}}"));
                    for _ in 0..end + 2 {
                        chars.next();
                    }
                    continue;
                }
            } else {
                let len = tail.find(|c: char| !is_name(c)).unwrap_or(tail.len());
                if len > 0 {
                    let name = &tail[..len];
                    out.push_str(&format!("${{{name}-\\${name}}}"));
                    for _ in 0..len {
                        chars.next();
                    }
                    continue;
                }
            }
        }
        if matches!(c, '"' | '\\' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
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
            let (msg, out) = if exists {
                (format!("Did not run command since '{pattern}' exists"), format!("skipped, since {pattern} exists"))
            } else {
                (
                    format!("Did not run command since '{pattern}' does not exist"),
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

/// Run what the query parsed (the arguments are not read again).
async fn apply(module: &'static str, cx: &Ctx<'_>, mut q: Query) -> Result<Map, ModuleError> {
    let p: Parsed = q.change.take(module)?;
    let mut cmd = Cmd::new(p.script);
    cmd.chdir = p.chdir;
    cmd.stdin = p.stdin.map(crate::connection::Input::Bytes);
    let start = SystemTime::now();
    let began = Instant::now();
    let out = cx.run(cmd).await?;
    let took = began.elapsed();
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
    let mut msg = "non-zero return code".to_string();
    if module == "command" && out.rc == 127 && stderr.contains("not found") {
        let argv0 = p.shown.get(0).map(crate::value::to_text).unwrap_or_default();
        msg = format!("cannot run {argv0:?}: command not found (rc=127)");
    }
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
    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, q: Query) -> Result<Map, ModuleError> {
        apply("shell", cx, q).await
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
