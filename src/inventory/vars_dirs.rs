//! `group_vars/<group>` and `host_vars/<host>` beside inventory sources and playbooks
//! (Ansible's `host_group_vars` plugin).
//!
//! For an entity `name` the first of `name` (file or folder), `name.yml`, `name.yaml`,
//! `name.json` that exists is used; a folder contributes every file inside (recursively,
//! sorted, no hidden or `~` files, extension none/.yml/.yaml/.json), later files winning
//! per top-level key. Empty files are ignored.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::{extend, Inventory, InventoryError, LOCALHOST_NAMES};
use crate::value::Map;

const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// The vars files found in one folder, by group and host name.
#[derive(Debug, Clone, Default)]
pub struct VarsDir {
    pub dir: PathBuf,
    /// Beside a playbook (wins over inventory folders) rather than beside an inventory source.
    pub playbook: bool,
    pub groups: IndexMap<String, Map>,
    pub hosts: IndexMap<String, Map>,
}

impl Inventory {
    /// Load `group_vars/` and `host_vars/` beside a playbook; they win over the inventory ones.
    pub fn add_vars_dir(&mut self, dir: &Path) -> Result<(), InventoryError> {
        let real = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        if self.vars_dirs.iter().any(|d| d.playbook && d.dir == real) {
            return Ok(());
        }
        self.load_vars_dir(&real, true)
    }

    pub(crate) fn load_vars_dir(&mut self, dir: &Path, playbook: bool) -> Result<(), InventoryError> {
        let mut loaded = VarsDir { dir: dir.to_path_buf(), playbook, ..VarsDir::default() };
        let group_dir = dir.join("group_vars");
        if group_dir.is_dir() {
            for name in self.groups.keys() {
                if let Some(vars) = entity_vars(&group_dir, name)? {
                    loaded.groups.insert(name.clone(), vars);
                }
            }
        }
        let host_dir = dir.join("host_vars");
        if host_dir.is_dir() {
            let names = self.hosts.keys().map(String::as_str).chain(LOCALHOST_NAMES.iter().copied());
            let mut seen = Vec::new();
            for name in names {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
                if let Some(vars) = entity_vars(&host_dir, name)? {
                    loaded.hosts.insert(name.to_string(), vars);
                }
            }
        }
        self.vars_dirs.push(loaded);
        self.refresh_file_vars();
        Ok(())
    }

    /// `Group.file_vars` / `Host.file_vars`: inventory folders first, then playbook folders.
    fn refresh_file_vars(&mut self) {
        let mut ordered: Vec<&VarsDir> = self.vars_dirs.iter().filter(|d| !d.playbook).collect();
        ordered.extend(self.vars_dirs.iter().filter(|d| d.playbook));
        for g in self.groups.values_mut() {
            g.file_vars = Map::new();
            for d in &ordered {
                if let Some(v) = d.groups.get(&g.name) {
                    extend(&mut g.file_vars, v);
                }
            }
        }
        for h in self.hosts.values_mut() {
            h.file_vars = Map::new();
            for d in &ordered {
                if let Some(v) = d.hosts.get(&h.name) {
                    extend(&mut h.file_vars, v);
                }
            }
        }
    }
}

/// The merged vars for one group or host in a `group_vars/` or `host_vars/` folder.
fn entity_vars(base: &Path, name: &str) -> Result<Option<Map>, InventoryError> {
    // Ansible skips names that are absolute paths (chroot-style host names).
    if name.starts_with('/') || name.is_empty() {
        return Ok(None);
    }
    let candidates =
        std::iter::once(base.join(name)).chain(EXTENSIONS.iter().map(|e| base.join(format!("{name}.{e}"))));
    let Some(found) = candidates.into_iter().find(|p| p.exists()) else {
        return Ok(None);
    };
    let files = if found.is_dir() { dir_files(&found)? } else { vec![found] };
    let mut vars = Map::new();
    for file in files {
        let doc = crate::yaml::load_file(&file)?;
        match doc.to_value() {
            serde_json::Value::Null => {}
            serde_json::Value::Object(m) => extend(&mut vars, &m),
            _ => {
                return Err(InventoryError::parse(
                    doc.span.clone(),
                    format!("vars file {} must be a mapping of variables, found {}", file.display(), doc.type_name()),
                    Some("write `name: value` lines at the top level"),
                ))
            }
        }
    }
    Ok(Some(vars))
}

/// Files in a vars folder: sorted, recursive into extension-less folders, no hidden or `~`.
fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| InventoryError::read(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !n.ends_with('~'))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
        if path.is_dir() && ext.is_none() {
            out.extend(dir_files(&path)?);
        } else if path.is_file() && ext.as_deref().map_or(true, |e| EXTENSIONS.contains(&e)) {
            out.push(path);
        }
    }
    Ok(out)
}
