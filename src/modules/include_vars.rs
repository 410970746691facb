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
        Opt::path("dir", "a folder whose vars files are loaded in name order"),
        Opt::str("name", "put the variables under this one name"),
        Opt::int("depth", "how deep to descend into `dir` (0: no limit)").default("0"),
        Opt::str("files_matching", "only files in `dir` matching this regex"),
        Opt::list("extensions", "file extensions loaded from `dir`").default("[yaml, yml, json]"),
        Opt::list("ignore_files", "file names in `dir` to skip"),
    ]],
    aliases: &[("_raw_params", "file")],
    ..ArgSpec::NONE
};

pub struct IncludeVars;

const DEFAULT_EXTENSIONS: [&str; 4] = ["yaml", "yml", "json", ""];

/// Load one vars file: a mapping (or an empty file).
pub fn load_vars_file(path: &Path) -> Result<Map, ModuleError> {
    let bytes = std::fs::read(path).map_err(|e| ModuleError::failed(format!("cannot read {}: {e}", path.display())))?;
    let text =
        crate::yaml::utf8(&bytes, path).map_err(|e| ModuleError::failed(format!("{}: {}", e.span, e.message)))?;
    if text.starts_with("$ANSIBLE_VAULT") {
        return Err(ModuleError::failed(format!(
            "{} is vault-encrypted; troupe does not decrypt vault files",
            path.display()
        )));
    }
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

/// Files under `dir` (sorted, depth-first like Ansible), filtered by extension and pattern.
fn dir_files(
    dir: &Path,
    depth: u64,
    level: u64,
    exts: &[String],
    pattern: Option<&regex::Regex>,
    out: &mut Vec<PathBuf>,
) -> Result<(), ModuleError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ModuleError::failed(format!("cannot list {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if depth == 0 || level + 1 < depth {
                dir_files(&p, depth, level + 1, exts, pattern, out)?;
            }
            continue;
        }
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let ext = p.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
        if exts.contains(&ext) && pattern.map_or(true, |re| re.is_match(&name)) {
            out.push(p);
        }
    }
    Ok(())
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
        let files = match (a.str("file")?, a.str("dir")?) {
            (Some(_), Some(_)) => return Err(a.error("give `file` or `dir`, not both")),
            (None, None) => return Err(a.error("`file` (or `dir`) is required")),
            (Some(f), None) => vec![cx.find_file("vars", &f).ok_or_else(|| {
                ModuleError::failed(format!(
                    "could not find vars file {f:?} (looked in vars/ and beside the tasks and playbook)"
                ))
            })?],
            (None, Some(d)) => {
                let dir = cx
                    .find_file("vars", &d)
                    .filter(|p| p.is_dir())
                    .ok_or_else(|| ModuleError::failed(format!("could not find vars folder {d:?}")))?;
                let depth = a.number("depth")?.unwrap_or(0.0) as u64;
                let pattern = match a.str("files_matching")? {
                    Some(p) => Some(
                        regex::Regex::new(&p)
                            .map_err(|e| a.error(format_args!("`files_matching` is not a valid regex: {e}")))?,
                    ),
                    None => None,
                };
                let exts =
                    a.list("extensions")?.unwrap_or_else(|| DEFAULT_EXTENSIONS.iter().map(|s| s.to_string()).collect());
                let ignore = a.list("ignore_files")?.unwrap_or_default();
                let mut out = Vec::new();
                dir_files(&dir, depth, 0, &exts, pattern.as_ref(), &mut out)?;
                out.retain(|p| {
                    let name = p.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
                    !ignore.iter().any(|i| *i == name)
                });
                out
            }
        };
        let mut vars = Map::new();
        for f in &files {
            for (k, v) in load_vars_file(f)? {
                vars.insert(k, v);
            }
        }
        if let Some(name) = a.str("name")? {
            if !super::set_fact::valid_var_name(&name) {
                return Err(a.error(format_args!("`name` {name:?} is not a valid variable name")));
            }
            let mut one = Map::new();
            one.insert(name, Value::Object(vars));
            vars = one;
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
        let q = h.query(&IncludeVars, json!({"dir": "all"})).await.unwrap();
        assert_eq!(q.include_vars.map(Value::Object), Some(json!({"x": 1, "y": 2})));
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
        assert!(e.contains("could not find vars file \"nope.yml\""), "{e}");
    }
}
