//! Ansible's `lookup()` and `query()` on the controller: `env`, `file`, `pipe`, `password`,
//! `first_found`, plus the trivial `vars`, `list`, `items`, `dict`.
//!
//! Relative files are searched in the folders the engine puts in the context variable
//! `__troupe_search` (a list of strings): for each folder `folder/files/<path>`, then
//! `folder/<path>`; finally the path as given. `pipe` runs in, and relative `password`
//! paths resolve against, `playbook_dir` when it is set (Ansible's basedir).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, State};
use rand::{Rng, SeedableRng};

use super::filters::convert::{fail, from_data, require_defined, to_data};
use super::filters::text::{expanduser, text_of};

/// The context variable holding the folders relative lookup paths are searched in.
pub const SEARCH_VAR: &str = "__troupe_search";

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

/// `lookup(name, terms..., wantlist=false, errors='strict', **options)`.
fn lookup(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let results = match run_guarded(state, &name, &terms, &kwargs)? {
        Some(results) => results,
        None => {
            return Ok(if wantlist {
                Value::from(Vec::<Value>::new())
            } else {
                Value::from(())
            })
        }
    };
    if wantlist || results.is_empty() {
        return Ok(Value::from(results));
    }
    if results.len() == 1 {
        return Ok(results.into_iter().next().unwrap_or_default());
    }
    // Several string results are joined with commas, as Ansible does for compatibility.
    if results.iter().all(|r| r.kind() == ValueKind::String) {
        let parts: Vec<&str> = results.iter().filter_map(Value::as_str).collect();
        return Ok(Value::from(parts.join(",")));
    }
    Ok(Value::from(results))
}

/// `query(name, terms...)`: always a list.
fn query(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let _: Option<bool> = kwargs.get("wantlist")?;
    Ok(Value::from(
        run_guarded(state, &name, &terms, &kwargs)?.unwrap_or_default(),
    ))
}

/// Runs a lookup honouring `errors=strict|warn|ignore` (`None` means "failed, ignored").
fn run_guarded(
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Option<Vec<Value>>, Error> {
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    if !matches!(errors.as_str(), "strict" | "warn" | "ignore") {
        return Err(fail(
            "lookup",
            format!("errors='{errors}' is not one of strict, warn, ignore"),
        ));
    }
    match run(state, name, terms, kwargs) {
        Ok(results) => Ok(Some(results)),
        Err(_) if errors != "strict" => Ok(None),
        Err(e) => Err(e),
    }
}

fn run(state: &State, name: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let short = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    let label = format!("lookup('{short}')");
    let results = match short {
        "env" => env_lookup(&label, terms, kwargs)?,
        "file" => file_lookup(state, &label, terms, kwargs)?,
        "pipe" => pipe_lookup(state, &label, terms)?,
        "password" => password_lookup(state, &label, terms, kwargs)?,
        "first_found" => first_found(state, &label, terms, kwargs)?,
        "vars" => vars_lookup(state, &label, terms, kwargs)?,
        "list" => terms.to_vec(),
        "items" => terms
            .iter()
            .flat_map(|t| match t.kind() {
                ValueKind::Seq => t.try_iter().map(|i| i.collect::<Vec<_>>()).unwrap_or_default(),
                _ => vec![t.clone()],
            })
            .collect(),
        "dict" => dict_lookup(&label, terms)?,
        other => {
            return Err(fail(
                "lookup",
                format!("lookup plugin '{other}' is not supported; troupe has env, file, pipe, password, first_found, vars, list, items, dict"),
            ))
        }
    };
    kwargs.assert_all_used().map_err(|e| fail(&label, e))?;
    Ok(results)
}

fn term_text(label: &str, t: &Value) -> Result<String, Error> {
    require_defined(label, t)?;
    text_of(label, t)
}

fn env_lookup(label: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let default: Option<Value> = kwargs.get("default")?;
    let mut out = Vec::new();
    for t in terms {
        let text = term_text(label, t)?;
        let var = text.split_whitespace().next().unwrap_or_default();
        out.push(match std::env::var(var) {
            Ok(v) => Value::from(v),
            Err(_) => default.clone().unwrap_or_else(|| Value::from("")),
        });
    }
    Ok(out)
}

fn string_list(v: Option<Value>) -> Vec<String> {
    v.into_iter()
        .flat_map(|v| {
            v.try_iter()
                .map(|i| i.collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The engine's search folders for relative paths.
pub fn search_dirs(state: &State) -> Vec<PathBuf> {
    string_list(state.lookup(SEARCH_VAR))
        .into_iter()
        .map(PathBuf::from)
        .collect()
}

/// Ansible's basedir: `playbook_dir` when set, else the current folder.
fn base_dir(state: &State) -> Option<PathBuf> {
    state
        .lookup("playbook_dir")
        .and_then(|v| v.as_str().map(PathBuf::from))
        .filter(|p| p.is_dir())
}

/// Find a controller file: absolute as is; relative in each search folder (its `subdir`
/// first), then as given.
pub fn find_file(state: &State, path: &str, subdir: Option<&str>) -> Option<PathBuf> {
    let path = expanduser(path);
    let p = Path::new(&path);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    let mut candidates = Vec::new();
    for dir in search_dirs(state) {
        if let Some(sub) = subdir {
            candidates.push(dir.join(sub).join(p));
        }
        candidates.push(dir.join(p));
    }
    candidates.push(p.to_path_buf());
    candidates.into_iter().find(|c| c.exists())
}

fn file_lookup(
    state: &State,
    label: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
    let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
    let mut out = Vec::new();
    for t in terms {
        let term = term_text(label, t)?;
        let Some(found) = find_file(state, &term, Some("files")) else {
            let dirs: Vec<String> = search_dirs(state)
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            let searched = if dirs.is_empty() {
                String::new()
            } else {
                format!(" (searched {} and the current folder)", dirs.join(", "))
            };
            return Err(fail(label, format!("file '{term}' not found{searched}")));
        };
        let mut text = fs::read_to_string(&found)
            .map_err(|e| fail(label, format!("cannot read {}: {e}", found.display())))?;
        if rstrip {
            text.truncate(text.trim_end().len());
        }
        if lstrip {
            text = text.trim_start().to_string();
        }
        out.push(Value::from(text));
    }
    Ok(out)
}

fn pipe_lookup(state: &State, label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let cmd = term_text(label, t)?;
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(&cmd)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(dir) = base_dir(state) {
            command.current_dir(dir);
        }
        let output = command
            .output()
            .map_err(|e| fail(label, format!("cannot run '{cmd}': {e}")))?;
        if !output.status.success() {
            let code = output
                .status
                .code()
                .map_or("a signal".to_string(), |c| format!("code {c}"));
            return Err(fail(label, format!("command '{cmd}' exited with {code}")));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        out.push(Value::from(text.trim_end()));
    }
    Ok(out)
}

fn vars_lookup(
    state: &State,
    label: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let default: Option<Value> = kwargs.get("default")?;
    let mut out = Vec::new();
    for t in terms {
        let name = term_text(label, t)?;
        match (state.lookup(&name), &default) {
            (Some(v), _) if !v.is_undefined() => out.push(v),
            (_, Some(d)) => out.push(d.clone()),
            _ => {
                return Err(fail(
                    label,
                    format!("no variable named '{name}'; define it or pass default=..."),
                ))
            }
        }
    }
    Ok(out)
}

fn dict_lookup(label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let crate::value::Value::Object(map) = to_data(label, t)? else {
            return Err(fail(label, "expects dictionaries"));
        };
        for (k, v) in map {
            out.push(from_data(&serde_json::json!({"key": k, "value": v})));
        }
    }
    Ok(out)
}

/// `first_found`: terms are paths, lists of paths, or `{files: [...], paths: [...], skip: bool}`.
fn first_found(
    state: &State,
    label: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let mut skip = kwargs.get::<Option<bool>>("skip")?.unwrap_or(false);
    let global_files = string_list(kwargs.get::<Option<Value>>("files")?);
    let global_paths = string_list(kwargs.get::<Option<Value>>("paths")?);
    let mut candidates = Vec::new();
    let split = |items: Vec<String>, seps: &[char]| -> Vec<String> {
        items
            .iter()
            .flat_map(|s| {
                s.split(seps)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut add = |files: Vec<String>, paths: Vec<String>| {
        let files = split(files, &[',', ';']);
        let paths = split(paths, &[',', ':', ';']);
        if paths.is_empty() {
            candidates.extend(files);
        } else {
            for p in &paths {
                for f in &files {
                    candidates.push(Path::new(p).join(f).to_string_lossy().into_owned());
                }
            }
        }
    };
    let mut pending: Vec<Value> = terms.iter().rev().cloned().collect();
    if pending.is_empty() {
        add(global_files.clone(), global_paths.clone());
    }
    while let Some(t) = pending.pop() {
        match t.kind() {
            ValueKind::String => add(
                vec![t.as_str().unwrap_or_default().to_string()],
                global_paths.clone(),
            ),
            ValueKind::Seq => pending.extend(
                t.try_iter()
                    .map(|i| i.collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .rev(),
            ),
            ValueKind::Map => {
                let files = string_list(t.get_attr("files").ok().filter(|v| !v.is_undefined()));
                let paths = string_list(t.get_attr("paths").ok().filter(|v| !v.is_undefined()));
                if let Ok(s) = t.get_attr("skip") {
                    if !s.is_undefined() {
                        skip = s.is_true();
                    }
                }
                add(
                    if files.is_empty() {
                        global_files.clone()
                    } else {
                        files
                    },
                    if paths.is_empty() {
                        global_paths.clone()
                    } else {
                        paths
                    },
                );
            }
            _ => {
                return Err(fail(
                    label,
                    format!("invalid term {t}: a string, list or dict is required"),
                ))
            }
        }
    }
    for c in &candidates {
        if let Some(found) = find_file(state, c, Some("files")) {
            return Ok(vec![Value::from(found.to_string_lossy().into_owned())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(fail(
        label,
        format!("no file was found among: {}", candidates.join(", ")),
    ))
}

/// Options of the password lookup, from `path key=value ...` and keyword arguments.
struct PasswordSpec {
    path: String,
    length: usize,
    chars: Vec<String>,
    seed: Option<String>,
}

fn parse_password_term(label: &str, term: &str, kwargs: &Kwargs) -> Result<PasswordSpec, Error> {
    let (path, params) = match term.split_once(' ') {
        Some((p, rest)) => (p.to_string(), rest),
        None => (term.to_string(), ""),
    };
    let words = shlex::split(params)
        .ok_or_else(|| fail(label, format!("cannot parse parameters '{params}'")))?;
    let mut spec = PasswordSpec {
        path,
        length: 20,
        chars: vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
        seed: None,
    };
    let mut set = |key: &str, value: String| -> Result<(), Error> {
        match key {
            "length" => {
                spec.length = value
                    .trim()
                    .parse()
                    .map_err(|_| fail(label, format!("length '{value}' is not a number")))?
            }
            "chars" => {
                let mut chars = Vec::new();
                if value.contains(",,") {
                    chars.push(",".to_string());
                }
                chars.extend(
                    value
                        .replace(",,", ",")
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string),
                );
                spec.chars = chars;
            }
            "seed" => spec.seed = Some(value),
            "encrypt" | "ident" => {
                return Err(fail(
                    label,
                    format!(
                    "'{key}' is not supported; hash the password with a filter in the task instead"
                ),
                ))
            }
            other => {
                return Err(fail(
                    label,
                    format!("unrecognized parameter '{other}'; valid ones are length, chars, seed"),
                ))
            }
        }
        Ok(())
    };
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(fail(
                label,
                format!("unrecognized value '{w}' after the path; parameters are key=value"),
            ));
        };
        set(k, v.to_string())?;
    }
    for key in ["length", "seed"] {
        if let Some(v) = kwargs.get::<Option<Value>>(key)? {
            set(key, text_of(label, &v)?)?;
        }
    }
    if let Some(v) = kwargs.get::<Option<Value>>("chars")? {
        match v.kind() {
            ValueKind::Seq => spec.chars = string_list(Some(v)),
            _ => set("chars", text_of(label, &v)?)?,
        }
    }
    Ok(spec)
}

/// Python's `string` module constants, or the text itself; quotes are never used.
fn candidate_chars(specs: &[String]) -> Vec<char> {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let mut out = String::new();
    for spec in specs {
        match spec.as_str() {
            "ascii_letters" => out.extend([LOWER, UPPER]),
            "ascii_lowercase" => out.push_str(LOWER),
            "ascii_uppercase" => out.push_str(UPPER),
            "digits" => out.push_str("0123456789"),
            "hexdigits" => out.push_str("0123456789abcdefABCDEF"),
            "octdigits" => out.push_str("01234567"),
            "punctuation" => out.push_str(PUNCT),
            "printable" => out.extend(["0123456789", LOWER, UPPER, PUNCT, " \t\n\r\x0b\x0c"]),
            "whitespace" => out.push_str(" \t\n\r\x0b\x0c"),
            other => out.push_str(other),
        }
    }
    out.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

fn random_password(spec: &PasswordSpec) -> Option<String> {
    let chars = candidate_chars(&spec.chars);
    if chars.is_empty() {
        return None;
    }
    let pick = |rng: &mut dyn rand::RngCore| -> String {
        (0..spec.length)
            .map(|_| chars[rng.random_range(0..chars.len())])
            .collect()
    };
    Some(match &spec.seed {
        Some(seed) => {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(seed.as_bytes());
            let mut bytes = [0u8; 32];
            bytes.copy_from_slice(&digest);
            pick(&mut rand::rngs::StdRng::from_seed(bytes))
        }
        None => pick(&mut rand::rng()),
    })
}

/// Serializes password-file creation across hosts templating in parallel.
static PASSWORD_FILES: Mutex<()> = Mutex::new(());

/// The stored password: the file's text up to a trailing ` salt=...` part, if any.
fn stored_password(content: &str) -> String {
    let content = content.trim_end();
    match content.rfind(" salt=") {
        Some(i) => content[..i].to_string(),
        None => content.to_string(),
    }
}

fn password_lookup(
    state: &State,
    label: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let spec = parse_password_term(label, &term_text(label, t)?, kwargs)?;
        let fresh = || {
            random_password(&spec).ok_or_else(|| {
                fail(
                    label,
                    "no characters to build a password from (check chars=)",
                )
            })
        };
        if spec.path == "/dev/null" {
            out.push(Value::from(fresh()?));
            continue;
        }
        let expanded = expanduser(&spec.path);
        let path = match base_dir(state) {
            Some(base) if Path::new(&expanded).is_relative() => base.join(&expanded),
            _ => PathBuf::from(&expanded),
        };
        let _guard = PASSWORD_FILES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Ok(content) = fs::read_to_string(&path) {
            out.push(Value::from(stored_password(&content)));
            continue;
        }
        let password = fresh()?;
        write_password_file(&path, &password)
            .map_err(|e| fail(label, format!("cannot write {}: {e}", path.display())))?;
        out.push(Value::from(password));
    }
    Ok(out)
}

fn write_password_file(path: &Path, password: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask may have removed bits we never asked for, but never added any; be explicit.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(format!("{password}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use minijinja::{context, Environment, UndefinedBehavior, Value};

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        crate::template::filters::register(&mut env);
        env
    }

    fn eval(src: &str, ctx: Value) -> String {
        env()
            .render_str(src, ctx)
            .unwrap_or_else(|e| panic!("{src}: {e:#}"))
    }

    fn err(src: &str, ctx: Value) -> String {
        match env().render_str(src, ctx) {
            Ok(out) => panic!("{src} rendered {out:?}, expected an error"),
            Err(e) => format!("{e:#}"),
        }
    }

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
    }

    fn write(path: &std::path::Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn env_lookup() {
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(eval("{{ lookup('env', 'PATH') }}", context! {}), path);
        assert_eq!(
            eval(
                "[{{ lookup('env', 'TROUPE_SURELY_UNSET_VAR') }}]",
                context! {}
            ),
            "[]"
        );
        assert_eq!(
            eval(
                "{{ lookup('env', 'TROUPE_SURELY_UNSET_VAR', default='d') }}",
                context! {}
            ),
            "d"
        );
        assert_eq!(
            eval(
                "{{ query('env', 'TROUPE_SURELY_UNSET_VAR') | length }}",
                context! {}
            ),
            "1"
        );
    }

    #[test]
    fn file_lookup_uses_search_dirs_and_strips() {
        let dir = tempdir();
        write(&dir.path().join("files/motd.txt"), "hello\n\n");
        write(&dir.path().join("plain.txt"), "  plain  \n");
        let ctx = context! { __troupe_search => vec![dir.path().to_string_lossy().to_string()] };
        assert_eq!(
            eval("[{{ lookup('file', 'motd.txt') }}]", ctx.clone()),
            "[hello]"
        );
        assert_eq!(
            eval("[{{ lookup('file', 'plain.txt') }}]", ctx.clone()),
            "[  plain]"
        );
        assert_eq!(
            eval(
                "[{{ lookup('file', 'plain.txt', lstrip=true) }}]",
                ctx.clone()
            ),
            "[plain]"
        );
        assert_eq!(
            eval(
                "[{{ lookup('file', 'plain.txt', rstrip=false) }}]",
                ctx.clone()
            ),
            "[  plain  \n]"
        );
        assert_eq!(
            eval("{{ lookup('file', 'motd.txt', 'plain.txt') }}", ctx.clone()),
            "hello,  plain"
        );
        assert_eq!(
            eval(
                "{{ query('file', 'motd.txt', 'plain.txt') | length }}",
                ctx.clone()
            ),
            "2"
        );
        let abs = dir.path().join("plain.txt").to_string_lossy().to_string();
        assert_eq!(
            eval("{{ lookup('file', p) }}", context! { p => abs }),
            "  plain"
        );
        let e = err("{{ lookup('file', 'nope.txt') }}", ctx.clone());
        assert!(
            e.contains("lookup('file'): file 'nope.txt' not found (searched"),
            "{e}"
        );
        assert_eq!(
            eval(
                "{{ lookup('file', 'nope.txt', errors='ignore') is none }}",
                ctx.clone()
            ),
            "True"
        );
        assert!(err("{{ lookup('file', 'motd.txt', bogus=1) }}", ctx).contains("bogus"));
    }

    #[test]
    fn pipe_lookup() {
        assert_eq!(
            eval("[{{ lookup('pipe', 'echo hi; echo there') }}]", context! {}),
            "[hi\nthere]"
        );
        let dir = tempdir();
        let ctx = context! { playbook_dir => dir.path().to_string_lossy().to_string() };
        let out = eval("{{ lookup('pipe', 'pwd') }}", ctx);
        assert_eq!(
            std::fs::canonicalize(out).ok(),
            std::fs::canonicalize(dir.path()).ok()
        );
        let e = err("{{ lookup('pipe', 'exit 3') }}", context! {});
        assert!(
            e.contains("lookup('pipe'): command 'exit 3' exited with code 3"),
            "{e}"
        );
    }

    #[test]
    fn password_lookup_creates_private_file_once() {
        let dir = tempdir();
        let file = dir.path().join("creds/sub/etcd_pw");
        let ctx =
            context! { p => format!("{} length=32 chars=ascii_letters,digits", file.display()) };
        let first = eval("{{ lookup('password', p) }}", ctx.clone());
        let second = eval("{{ lookup('password', p) }}", ctx);
        assert_eq!(first, second);
        assert_eq!(first.len(), 32);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()), "{first}");
        let meta = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let parent = std::fs::metadata(dir.path().join("creds")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parent.permissions().mode() & 0o777, 0o700);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap_or_default(),
            format!("{first}\n")
        );
    }

    #[test]
    fn password_lookup_reads_existing_and_dev_null_is_fresh() {
        let dir = tempdir();
        write(&dir.path().join("pw"), "s3cret salt=abcdefgh\n");
        let ctx = context! { playbook_dir => dir.path().to_string_lossy().to_string() };
        assert_eq!(eval("{{ lookup('password', 'pw') }}", ctx), "s3cret");
        let a = eval(
            "{{ lookup('password', '/dev/null length=40') }}",
            context! {},
        );
        let b = eval(
            "{{ lookup('password', '/dev/null length=40') }}",
            context! {},
        );
        assert_eq!(a.len(), 40);
        assert_ne!(a, b);
        let digits = eval(
            "{{ lookup('password', '/dev/null', length=12, chars=['digits']) }}",
            context! {},
        );
        assert!(
            digits.len() == 12 && digits.chars().all(|c| c.is_ascii_digit()),
            "{digits}"
        );
        let comma = eval(
            "{{ lookup('password', '/dev/null length=30 chars=,,') }}",
            context! {},
        );
        assert_eq!(comma, ",".repeat(30));
        assert!(
            err("{{ lookup('password', '/dev/null size=3') }}", context! {})
                .contains("unrecognized parameter 'size'")
        );
        assert!(err(
            "{{ lookup('password', '/dev/null encrypt=sha512_crypt') }}",
            context! {}
        )
        .contains("'encrypt' is not supported"));
    }

    #[test]
    fn first_found_lookup() {
        let dir = tempdir();
        write(&dir.path().join("files/debian.yml"), "x");
        write(&dir.path().join("vars/default.yml"), "x");
        let root = dir.path().to_string_lossy().to_string();
        let ctx = context! { __troupe_search => vec![root.clone()], root => root.clone() };
        assert_eq!(
            eval(
                "{{ lookup('first_found', ['redhat.yml', 'debian.yml']) }}",
                ctx.clone()
            ),
            format!("{root}/files/debian.yml")
        );
        assert_eq!(
            eval("{{ lookup('first_found', {'files': ['x.yml', 'default.yml'], 'paths': [root ~ '/vars']}) }}", ctx.clone()),
            format!("{root}/vars/default.yml")
        );
        assert_eq!(
            eval(
                "{{ query('first_found', 'none.yml', skip=true) | length }}",
                ctx.clone()
            ),
            "0"
        );
        assert!(err("{{ lookup('first_found', ['a.yml', 'b.yml']) }}", ctx)
            .contains("no file was found among: a.yml, b.yml"));
    }

    #[test]
    fn lookup_result_shapes_and_unknown_plugins() {
        let ctx = context! { x => 5 };
        assert_eq!(eval("{{ lookup('list', 'a', 'b') }}", ctx.clone()), "a,b");
        assert_eq!(
            eval(
                "{{ lookup('list', 'a', 'b', wantlist=true) | length }}",
                ctx.clone()
            ),
            "2"
        );
        assert_eq!(
            eval(
                "{{ lookup('vars', 'x') + 1 }} {{ lookup('vars', 'y', default=0) }}",
                ctx.clone()
            ),
            "6 0"
        );
        assert_eq!(
            eval("{{ query('items', [1, 2], 3) | length }}", ctx.clone()),
            "3"
        );
        assert_eq!(
            eval(
                "{{ query('dict', {'a': 1}) | map(attribute='key') | join }}",
                ctx.clone()
            ),
            "a"
        );
        assert_eq!(
            eval(
                "{{ lookup('ansible.builtin.env', 'TROUPE_SURELY_UNSET_VAR', default='z') }}",
                ctx.clone()
            ),
            "z"
        );
        assert!(err("{{ lookup('redis', 'k') }}", ctx)
            .contains("lookup plugin 'redis' is not supported"));
    }
}
