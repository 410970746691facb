//! `include_vars`: load variables from YAML/JSON files on the controller.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::value::Value;

use super::args::{ArgSpec, Args, Opt};
use super::{Ctx, Map, Module, ModuleError, Query};

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::path("file", "a YAML or JSON file of variables"),
        Opt::path("dir", "a folder whose vars files are loaded, folder by folder in name order"),
        Opt::str("name", "put the variables under this one name"),
        Opt::int("depth", "how deep to descend into `dir` (0: no limit, 1: `dir` only)").default("0"),
        Opt::str("files_matching", "only files in `dir` whose name matches this regex"),
        Opt::list("extensions", "file extensions loaded from `dir`").default("[yaml, yml, json]"),
        Opt::list("ignore_files", "regexes of file names in `dir` to skip (anchored at the end)"),
        Opt::bool("ignore_unknown_extensions", "skip files in `dir` without a listed extension instead of failing")
            .default("false"),
        Opt::str("hash_behaviour", "`merge`: merge mappings into the variables' current values")
            .choices(&["replace", "merge"]),
    ]],
    aliases: &[("_raw_params", "file")],
    ..ArgSpec::NONE
};

pub struct IncludeVars;

const DEFAULT_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Load one vars file: a mapping (or an empty file).
pub fn load_vars_file(path: &Path) -> Result<Map, ModuleError> {
    let bytes = crate::vault::read_file(path).map_err(|e| ModuleError::failed(e.to_string()))?;
    let text =
        crate::yaml::utf8(&bytes, path).map_err(|e| ModuleError::failed(format!("{}: {}", e.span, e.message)))?;
    let node =
        crate::yaml::parse_str(text, path).map_err(|e| ModuleError::failed(format!("{}: {}", e.span, e.message)))?;
    match node.vars() {
        Some(m) => Ok(m),
        _ => Err(ModuleError::failed(format!(
            "{}: a vars file must hold a mapping of names to values, not {}",
            node.span,
            node.type_name()
        ))),
    }
}

/// A failure the way Ansible's include_vars reports it: the text under `message`.
fn failed(message: String) -> ModuleError {
    let mut result = Map::new();
    result.insert("message".into(), Value::from(message.clone()));
    ModuleError::Failed { msg: message, result }
}

/// The folders under `dir` with their file names, as Ansible walks them: every folder (links
/// followed) sorted by its path, files by name; `depth` 1 is `dir` alone, 0 no limit.
fn walk(dir: &Path, depth: u64) -> Result<Vec<(PathBuf, Vec<String>)>, ModuleError> {
    let mut out = Vec::new();
    let mut todo = vec![(dir.to_path_buf(), 1u64)];
    while let Some((root, level)) = todo.pop() {
        let entries = std::fs::read_dir(&root).map_err(|e| failed(format!("cannot list {}: {e}", root.display())))?;
        let mut files = Vec::new();
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                if depth == 0 || level < depth {
                    todo.push((p, level + 1));
                }
            } else {
                files.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        files.sort();
        out.push((root, files));
    }
    out.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    Ok(out)
}

/// The folder a `dir` names: in a role under its `vars/` (a name starting with `vars/` is
/// taken from the role folder when there), else beside the task's file.
fn source_dir(cx: &Ctx<'_>, dir: &str) -> PathBuf {
    // The search folders are [role, task folder, playbook folder] inside a role, else two.
    match cx.search.as_slice() {
        [role, _, _] if dir.split('/').next() == Some("vars") => {
            let p = role.join(dir);
            if p.exists() {
                p
            } else {
                PathBuf::from(dir)
            }
        }
        [role, _, _] => role.join("vars").join(dir),
        [task_dir, ..] => task_dir.join(dir),
        [] => PathBuf::from(dir),
    }
}

/// The extension as Python's `splitext` sees it (`.hidden` and `name` have none).
fn extension(name: &str) -> &str {
    match name.trim_start_matches('.').rfind('.') {
        Some(_) => name.rsplit('.').next().unwrap_or(""),
        None => "",
    }
}

struct DirOptions {
    depth: u64,
    matching: Option<regex::Regex>,
    ignore: Vec<regex::Regex>,
    extensions: Vec<String>,
    ignore_unknown: bool,
}

impl DirOptions {
    fn parse(a: &Args) -> Result<DirOptions, ModuleError> {
        let regex = |p: &str, what: &str| {
            regex::Regex::new(p)
                .map_err(|e| a.error(format_args!("`{what}` {p:?} is not a valid regular expression: {e}")))
        };
        let matching = a.str("files_matching")?.map(|p| regex(&p, "files_matching")).transpose()?;
        let ignore = a.list("ignore_files")?.unwrap_or_default();
        let ignore = ignore.iter().map(|p| regex(&format!("(?:{p})$"), "ignore_files")).collect::<Result<_, _>>()?;
        let extensions = match a.get("extensions") {
            // Ansible takes a string as its characters (`list('yml')`).
            Some(Value::String(s)) => s.chars().map(String::from).collect(),
            _ => a.list("extensions")?.unwrap_or_else(|| DEFAULT_EXTENSIONS.map(String::from).to_vec()),
        };
        Ok(DirOptions {
            depth: a.number("depth")?.unwrap_or(0.0) as u64,
            matching,
            ignore,
            extensions,
            ignore_unknown: a.bool("ignore_unknown_extensions", false)?,
        })
    }

    /// The files of `dir` to load, in order; a file without a listed extension fails the task
    /// unless `ignore_unknown_extensions`.
    fn files(&self, dir: &Path) -> Result<Vec<PathBuf>, ModuleError> {
        let mut out = Vec::new();
        for (root, names) in walk(dir, self.depth)? {
            for name in names {
                if self.matching.as_ref().is_some_and(|re| !re.is_match(&name))
                    || self.ignore.iter().any(|re| re.is_match(&name))
                {
                    continue;
                }
                let path = root.join(&name);
                if !self.extensions.iter().any(|e| e == extension(&name)) {
                    if self.ignore_unknown {
                        continue;
                    }
                    return Err(failed(format!(
                        "{} does not have a valid extension: {}",
                        path.display(),
                        self.extensions.join(", ")
                    )));
                }
                out.push(path);
            }
        }
        Ok(out)
    }
}

/// Merge `new` into `old` recursively (Ansible's `combine_vars(..., merge=True)`).
fn merge(old: Value, new: Value) -> Value {
    match (old, new) {
        (Value::Object(mut o), Value::Object(n)) => {
            for (k, v) in n {
                match o.get_mut(&k) {
                    Some(prev) => *prev = merge(std::mem::take(prev), v),
                    None => {
                        o.insert(k, v);
                    }
                }
            }
            Value::Object(o)
        }
        (_, n) => n,
    }
}

#[async_trait]
impl Module for IncludeVars {
    fn name(&self) -> &'static str {
        "include_vars"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn controller_only(&self) -> bool {
        true
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("include_vars", args, &SPEC)?;
        const DIR_ONLY: [&str; 6] =
            ["dir", "depth", "files_matching", "ignore_files", "extensions", "ignore_unknown_extensions"];
        if a.has("file") && DIR_ONLY.iter().any(|k| a.has(k)) {
            return Err(a.error("you are mixing file only and dir only arguments, these are incompatible"));
        }
        let files = match a.str("dir")? {
            Some(d) => {
                let dir = source_dir(cx, &d);
                if !dir.exists() {
                    return Err(failed(format!("{} directory does not exist", dir.display())));
                }
                if !dir.is_dir() {
                    return Err(failed(format!("{} is not a directory", dir.display())));
                }
                DirOptions::parse(&a)?.files(&dir)?
            }
            None => {
                let f = a.str("file")?.map(|f| f.trim_end_matches('\n').to_string()).unwrap_or_default();
                if f.is_empty() {
                    return Err(failed("Could not find file: `file` (or `dir`) names nothing".into()));
                }
                vec![cx.find_file("vars", &f).ok_or_else(|| {
                    failed(format!(
                        "Could not find or access '{f}' (looked in vars/ and beside the tasks and playbook)"
                    ))
                })?]
            }
        };
        let mut vars = Map::new();
        for f in &files {
            let loaded = load_vars_file(f).map_err(|e| failed(e.to_string()))?;
            vars.extend(loaded);
        }
        if let Some(name) = a.str("name")? {
            if !super::set_fact::valid_var_name(&name) {
                return Err(a.error(format_args!("`name` {name:?} is not a valid variable name")));
            }
            let mut one = Map::new();
            one.insert(name, Value::Object(vars));
            vars = one;
        }
        // As Ansible: merged after `name` wraps them, with the variables' current values.
        if a.choice("hash_behaviour", &["replace", "merge"])? == Some("merge") {
            for (k, v) in vars.iter_mut() {
                if let Ok(old) = cx.render.eval(k) {
                    *v = merge(old, std::mem::take(v));
                }
            }
        }
        let included: Vec<Value> = files.iter().map(|f| Value::from(f.to_string_lossy().into_owned())).collect();
        let mut q =
            Query::ok().with("ansible_facts", Value::Object(vars.clone())).with("ansible_included_var_files", included);
        q.include_vars = Some(vars);
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{err_text, Harness};
    use serde_json::json;

    #[tokio::test]
    async fn loads_file_from_vars_folder_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("vars")).unwrap();
        std::fs::write(dir.path().join("vars/main.yml"), "port: 0644\nup: yes\n").unwrap();
        let mut h = Harness::new();
        h.search = vec![dir.path().to_path_buf()];
        let q = h.query(&IncludeVars, json!({"file": "main.yml"})).await.unwrap();
        assert_eq!(q.include_vars.map(Value::Object), Some(json!({"port": 420, "up": true})));
        let files = q.result.get("ansible_included_var_files").cloned().unwrap_or_default();
        assert!(files.to_string().contains("vars/main.yml"));
        let q = h.query(&IncludeVars, json!({"_raw_params": "main.yml", "name": "cfg"})).await.unwrap();
        assert_eq!(q.include_vars.map(Value::Object), Some(json!({"cfg": {"port": 420, "up": true}})));
    }

    #[tokio::test]
    async fn loads_a_folder_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("vars/all");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("a.yml"), "x: 1\ny: 1\n").unwrap();
        std::fs::write(d.join("b.json"), "{\"y\": 2}").unwrap();
        std::fs::write(d.join("c.txt"), "z: 3").unwrap();
        let mut h = Harness::new();
        h.search = vec![dir.path().to_path_buf()];
        // Outside a role, `dir` is beside the task's file; inside one, under its `vars/`.
        let q = h.query(&IncludeVars, json!({"dir": "vars/all", "ignore_unknown_extensions": true})).await.unwrap();
        assert_eq!(q.include_vars.map(Value::Object), Some(json!({"x": 1, "y": 2})));
        h.search = vec![dir.path().to_path_buf(), "/nonexistent".into(), "/nonexistent".into()];
        let e = err_text(h.query(&IncludeVars, json!({"dir": "all"})).await);
        assert!(e.contains("c.txt does not have a valid extension: yaml, yml, json"), "{e}");
    }

    #[tokio::test]
    async fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("list.yml"), "- a\n").unwrap();
        std::fs::write(dir.path().join("bad.yml"), "a: [\n").unwrap();
        let mut h = Harness::new();
        h.search = vec![dir.path().to_path_buf()];
        let e = err_text(h.query(&IncludeVars, json!({"file": "list.yml"})).await);
        assert!(e.contains("list.yml:1:1") && e.contains("mapping"), "{e}");
        let e = err_text(h.query(&IncludeVars, json!({"file": "bad.yml"})).await);
        assert!(e.contains("bad.yml"), "{e}");
        let e = err_text(h.query(&IncludeVars, json!({"file": "nope.yml"})).await);
        assert!(e.contains("Could not find or access 'nope.yml'"), "{e}");
    }
}
