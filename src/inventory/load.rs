//! Reading inventory sources: inline host lists, files (YAML or INI) and folders of them.

use std::path::{Component, Path, PathBuf};

use super::graph::SourceInfo;
use super::range::parse_address;
use super::{ini, yaml, Inventory, InventoryError};

/// Folder entries Ansible never reads as inventory (`IGNORED_ALWAYS`, `INVENTORY_IGNORE_EXTS`).
const IGNORED_NAMES: [&str; 3] = ["host_vars", "group_vars", "vars_plugins"];
const IGNORED_ENDINGS: [&str; 12] =
    [".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry"];

impl Inventory {
    /// Load every source in order, then `group_vars/` and `host_vars/` beside each one.
    ///
    /// A source is an inline host list when it has a comma and is not an existing path
    /// (`h1,h2,`), a file (YAML when it has a YAML extension or parses as a mapping of
    /// groups, INI otherwise), or a folder (every file in it, sorted, except ignored ones).
    pub fn load(sources: &[String]) -> Result<Inventory, InventoryError> {
        let mut inv = Inventory::new();
        let mut vars_dirs: Vec<PathBuf> = Vec::new();
        let mut parsed = 0;
        for source in sources.iter().filter(|s| !s.trim().is_empty()) {
            if source.contains(',') && !Path::new(source).exists() {
                inv.add_host_list(source);
                parsed += 1;
                continue;
            }
            let path = absolute(&expand_home(source));
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                // As Ansible: a source that is not there is warned about and skipped.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    inv.warnings.push(format!("Unable to parse {} as an inventory source", path.display()));
                    continue;
                }
                Err(e) => return Err(InventoryError::read(&path, e)),
            };
            parsed += 1;
            if meta.is_dir() {
                inv.load_dir(&path)?;
                vars_dirs.push(path);
            } else {
                inv.load_file(&path)?;
                vars_dirs.push(path.parent().map(Path::to_path_buf).unwrap_or_default());
            }
        }
        if parsed == 0 && !sources.is_empty() {
            inv.warnings.push("No inventory was parsed, only implicit localhost is available".into());
        }
        inv.reconcile();
        let mut seen = Vec::new();
        for dir in vars_dirs {
            let real = dir.canonicalize().unwrap_or(dir);
            if !seen.contains(&real) {
                inv.load_vars_dir(&real, false)?;
                seen.push(real);
            }
        }
        Ok(inv)
    }

    /// `h1,h2:2222,` → hosts in `ungrouped` (a host seen before keeps its groups).
    fn add_host_list(&mut self, list: &str) {
        let source = SourceInfo { file: list.to_string(), dir: None };
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (host, port) = parse_address(item, false).unwrap_or_else(|| (item.to_string(), None));
            if !self.hosts.contains_key(&host) {
                self.add_host(&host, Some("ungrouped"), port, Some(&source));
            }
        }
    }

    fn load_dir(&mut self, dir: &Path) -> Result<(), InventoryError> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| InventoryError::read(dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !is_ignored(n))
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            if path.is_dir() {
                self.load_dir(&path)?;
            } else {
                self.load_file(&path)?;
            }
        }
        Ok(())
    }

    fn load_file(&mut self, path: &Path) -> Result<(), InventoryError> {
        let bytes = crate::vault::read_file(path).map_err(|e| match e {
            crate::vault::FileError::Read { error, .. } => InventoryError::read(path, error),
            e @ crate::vault::FileError::Vault { .. } => {
                InventoryError::parse(crate::yaml::Span::unknown(path), e.to_string(), Some(crate::vault::HINT))
            }
        })?;
        let text = crate::yaml::utf8(&bytes, path)?;
        let source =
            SourceInfo { file: path.display().to_string(), dir: path.parent().map(|p| p.display().to_string()) };
        let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
        if ext.as_deref() == Some("toml") {
            return Err(InventoryError::read(path, "TOML inventories are not supported; convert it to YAML or INI"));
        }
        let yaml_ext = matches!(ext.as_deref(), Some("yml" | "yaml" | "json"));
        let mut yaml_error = None;
        if yaml_ext || ext.is_none() {
            match crate::yaml::parse_str(text, path) {
                Ok(doc) if yaml::is_inventory(&doc) => return yaml::parse(self, &doc, &source),
                Ok(doc) if doc.get("plugin").is_some() => {
                    return Err(InventoryError::parse(
                        doc.span.clone(),
                        "inventory plugin configurations (`plugin:`) are not supported",
                        Some("list hosts and groups in a YAML or INI inventory instead"),
                    ))
                }
                Ok(doc) if yaml_ext && doc.is_null() => return Ok(()),
                Ok(doc) if yaml_ext => return yaml::parse(self, &doc, &source),
                Ok(_) => {}
                Err(e) if yaml_ext => return Err(e.into()),
                Err(e) => yaml_error = Some(e),
            }
        }
        match ini::parse(self, text, path, &source) {
            Ok(()) => Ok(()),
            Err(e) => match yaml_error {
                Some(y) if looks_like_yaml(text) => Err(y.into()),
                _ => Err(e),
            },
        }
    }
}

fn is_ignored(name: &str) -> bool {
    name.starts_with('.') || IGNORED_NAMES.contains(&name) || IGNORED_ENDINGS.iter().any(|e| name.ends_with(e))
}

/// For a file without extension that is neither valid INI nor valid YAML: which error to show.
fn looks_like_yaml(text: &str) -> bool {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
    first.is_some_and(|l| l.starts_with("---") || l.ends_with(':') || l.contains(": "))
}

fn expand_home(source: &str) -> PathBuf {
    match (source.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(source),
    }
}

/// Absolute and normalised, symlinks kept (Ansible's `unfrackpath(follow=False)`).
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
