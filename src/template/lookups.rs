//! Ansible's `lookup()` and `query()` on the controller: `env`, `file`, `pipe`, `password`,
//! `first_found`, the trivial `vars`, `list`, `items`, `dict`, the list-shaping lookups of
//! the `with_*` loops (see `lists`), and `fileglob`, `config`, `template` (see `controller`).
//!
//! Relative files are searched in the folders the engine puts in the context variable
//! `__troupe_search` (a list of strings): for each folder `folder/files/<path>`, then
//! `folder/<path>`; finally the path as given. `pipe` runs in, and relative `password`
//! paths resolve against, `playbook_dir` when it is set (Ansible's basedir).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, State};

use super::filters::convert::{fail, from_data, require_defined, to_data};
use super::filters::text::{expanduser, text_of};

mod controller;
pub use controller::{allow_broken_conditionals, bool_setting, paths_setting};
mod lists;
mod password;

/// The context variable holding the folders relative lookup paths are searched in.
pub const SEARCH_VAR: &str = "__troupe_search";
/// The context variable naming the folder `first_found` looks in first under each search
/// folder (`files` unless a `with_first_found` loop's action says otherwise).
pub const SUBDIR_VAR: &str = "__troupe_subdir";

/// The lookups troupe runs (each also as `ansible.builtin.<name>`, and as `with_<name>`).
pub const SUPPORTED: &[&str] = &[
    "env",
    "file",
    "pipe",
    "password",
    "first_found",
    "vars",
    "list",
    "items",
    "dict",
    "sequence",
    "lines",
    "nested",
    "together",
    "subelements",
    "indexed_items",
    "flattened",
    "inventory_hostnames",
    "random_choice",
    "varnames",
    "fileglob",
    "config",
    "template",
    "unvault",
];

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
        None => return Ok(if wantlist { Value::from(Vec::<Value>::new()) } else { Value::from(()) }),
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
    Ok(Value::from(run_guarded(state, &name, &terms, &kwargs)?.unwrap_or_default()))
}

/// Runs a lookup honouring `errors=strict|warn|ignore` (`None` means "failed, ignored").
fn run_guarded(state: &State, name: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Option<Vec<Value>>, Error> {
    // Before `errors=` is honoured: a refusal must stay an error, never a cached empty value.
    if super::is_reading_ahead() {
        return Err(fail("lookup", format!("'{name}' is not run while reading ahead")));
    }
    let errors = kwargs.get::<Option<String>>("errors")?.unwrap_or_else(|| "strict".into());
    if !matches!(errors.as_str(), "strict" | "warn" | "ignore") {
        return Err(fail("lookup", format!("errors='{errors}' is not one of strict, warn, ignore")));
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
        "unvault" => unvault_lookup(state, &label, terms)?,
        "pipe" => pipe_lookup(state, &label, terms)?,
        "password" => password::lookup(state, &label, terms, kwargs)?,
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
        "sequence" => lists::sequence(&label, terms, kwargs)?,
        "lines" => lists::lines(state, &label, terms)?,
        "nested" => lists::nested(&label, terms)?,
        "together" => lists::together(&label, terms)?,
        "subelements" => lists::subelements(&label, terms)?,
        "indexed_items" => lists::indexed_items(&label, terms)?,
        "flattened" => lists::flattened(&label, terms)?,
        "inventory_hostnames" => lists::inventory_hostnames(state, &label, terms)?,
        "random_choice" => lists::random_choice(terms),
        "varnames" => lists::varnames(state, &label, terms)?,
        "fileglob" => controller::fileglob(state, &label, terms)?,
        "config" => controller::config(&label, terms, kwargs)?,
        "template" => controller::template(state, &label, terms, kwargs)?,
        other => {
            return Err(fail(
                "lookup",
                format!("lookup plugin '{other}' is not supported; troupe has {}", SUPPORTED.join(", ")),
            ))
        }
    };
    kwargs.assert_all_used().map_err(|e| fail(&label, e))?;
    Ok(results)
}

pub(super) fn term_text(label: &str, t: &Value) -> Result<String, Error> {
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

pub(super) fn string_list(v: Option<Value>) -> Vec<String> {
    v.into_iter()
        .flat_map(|v| v.try_iter().map(|i| i.collect::<Vec<_>>()).unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The engine's search folders for relative paths.
pub fn search_dirs(state: &State) -> Vec<PathBuf> {
    string_list(state.lookup(SEARCH_VAR)).into_iter().map(PathBuf::from).collect()
}

/// Ansible's basedir: `playbook_dir` when set, else the current folder.
pub(super) fn base_dir(state: &State) -> Option<PathBuf> {
    state.lookup("playbook_dir").and_then(|v| v.as_str().map(PathBuf::from)).filter(|p| p.is_dir())
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

fn file_lookup(state: &State, label: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
    let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
    let mut out = Vec::new();
    for t in terms {
        let term = term_text(label, t)?;
        let Some(found) = find_file(state, &term, Some("files")) else {
            let dirs: Vec<String> = search_dirs(state).iter().map(|d| d.display().to_string()).collect();
            let searched = if dirs.is_empty() {
                String::new()
            } else {
                format!(" (searched {} and the current folder)", dirs.join(", "))
            };
            return Err(fail(label, format!("file '{term}' not found{searched}")));
        };
        let mut text = read_text(label, &found)?;
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

/// A controller file's text, decrypted when it is a vault file (as Ansible's loader reads it).
pub(crate) fn read_text(label: &str, path: &std::path::Path) -> Result<String, Error> {
    let bytes = crate::vault::read_file(path).map_err(|e| fail(label, e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| fail(label, format!("cannot read {}: not UTF-8 text", path.display())))
}

/// `unvault`: a file's text, decrypted if it is a vault, as it is (no stripping).
fn unvault_lookup(state: &State, label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let term = term_text(label, t)?;
        let found = find_file(state, &term, Some("files"))
            .ok_or_else(|| fail(label, format!("Unable to find '{term}' in expected paths")))?;
        out.push(Value::from(read_text(label, &found)?));
    }
    Ok(out)
}

/// `cmd` run by `/bin/sh` in the playbook's folder, stdin closed, stderr passed through
/// (the `pipe` and `lines` lookups).
fn shell_output(state: &State, label: &str, cmd: &str) -> Result<std::process::Output, Error> {
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(cmd).stdin(Stdio::null()).stderr(Stdio::inherit());
    if let Some(dir) = base_dir(state) {
        command.current_dir(dir);
    }
    command.output().map_err(|e| fail(label, format!("cannot run '{cmd}': {e}")))
}

fn pipe_lookup(state: &State, label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let cmd = term_text(label, t)?;
        let output = shell_output(state, label, &cmd)?;
        if !output.status.success() {
            let code = output.status.code().map_or("a signal".to_string(), |c| format!("code {c}"));
            let stderr = String::from_utf8_lossy(&output.stderr);
            let detail = match stderr.trim() {
                "" => String::new(),
                msg => format!(": {msg}"),
            };
            return Err(fail(label, format!("command '{cmd}' exited with {code}{detail}")));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        out.push(Value::from(text.trim_end()));
    }
    Ok(out)
}

fn vars_lookup(state: &State, label: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let default: Option<Value> = kwargs.get("default")?;
    let mut out = Vec::new();
    for t in terms {
        // Ansible's words: tests and users match on them.
        let Some(name) = t.as_str() else {
            let kind = super::filters::convert::type_name(t);
            return Err(fail(label, format!("Variable name must be 'str' not '{kind}'")));
        };
        match (state.lookup(name), &default) {
            (Some(v), _) if !v.is_undefined() => out.push(v),
            (_, Some(d)) => out.push(d.clone()),
            _ => {
                let why = format!("No variable named '{name}' was found (define it or pass default=...)");
                return Err(fail(label, why));
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
fn first_found(state: &State, label: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    // Options persist from term to term, as the plugin's own options do in Ansible: a
    // mapping term sets them for the terms after it.
    let mut skip = kwargs.get::<Option<bool>>("skip")?.unwrap_or(false);
    let mut files = text_list(kwargs.get::<Option<Value>>("files")?);
    let mut paths = text_list(kwargs.get::<Option<Value>>("paths")?);
    let mut candidates = Vec::new();
    let mut add = |files: &[String], paths: &[String]| {
        let files = split_on(files, &[',', ';']);
        let paths = split_on(paths, &[',', ':', ';']);
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
        add(&files, &paths);
    }
    while let Some(t) = pending.pop() {
        match t.kind() {
            ValueKind::String => add(&[t.as_str().unwrap_or_default().to_string()], &paths),
            ValueKind::Seq => {
                pending.extend(t.try_iter().map(|i| i.collect::<Vec<_>>()).unwrap_or_default().into_iter().rev())
            }
            ValueKind::Map => {
                let option = |name: &str| t.get_attr(name).ok().filter(|v| !v.is_undefined());
                if let Some(f) = option("files") {
                    files = text_list(Some(f));
                }
                if let Some(p) = option("paths") {
                    paths = text_list(Some(p));
                }
                if let Some(s) = option("skip") {
                    skip = s.is_true();
                }
                add(&files, &paths);
            }
            _ => {
                let kind = super::filters::convert::type_name(&t);
                // Ansible's text, its stray parenthesis too.
                return Err(fail(
                    label,
                    format!("Invalid term supplied. A string, dict or list is required, not '{kind}')."),
                ));
            }
        }
    }
    let subdir = state.lookup(SUBDIR_VAR).and_then(|v| v.as_str().map(str::to_string));
    let subdir = subdir.as_deref().unwrap_or("files");
    for c in &candidates {
        if let Some(found) = find_file(state, c, Some(subdir)) {
            return Ok(vec![Value::from(found.to_string_lossy().into_owned())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(fail(label, format!("No file was found when using first_found (looked for: {}).", candidates.join(", "))))
}

/// A list option given as one text or a list of texts.
fn text_list(v: Option<Value>) -> Vec<String> {
    match v {
        Some(v) if v.kind() == ValueKind::String => vec![v.as_str().unwrap_or_default().to_string()],
        v => string_list(v),
    }
}

/// first_found's "magic" splitting of each file and path on its separators (deprecated in
/// Ansible, still done).
fn split_on(items: &[String], seps: &[char]) -> Vec<String> {
    items.iter().flat_map(|s| s.split(seps).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)).collect()
}

#[cfg(test)]
#[path = "lookups_tests.rs"]
mod tests;
