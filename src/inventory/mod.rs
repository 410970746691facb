//! Inventory: hosts, groups and their variables; `--limit` host patterns.
//!
//! Sources: YAML or INI files, a folder of them, or an inline list `h1,h2,`.
//! `group_vars/` and `host_vars/` beside each inventory source and beside the playbook.
//! Behaviour follows ansible-core 2.19 (`InventoryData`, the `ini`/`yaml`/`host_list`
//! plugins, `host_group_vars` and `InventoryManager.get_hosts`).

mod error;
mod graph;
mod ini;
mod literal;
mod load;
mod pattern;
mod range;
mod vars_dirs;
mod yaml;

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use crate::value::Map;

pub use error::InventoryError;
pub use graph::SourceInfo;
pub use range::parse_address;
pub use vars_dirs::VarsDir;

/// Names that mean this machine; a pattern naming one gets an implicit host (never in `all`).
pub const LOCALHOST_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

#[derive(Debug, Clone, Default)]
pub struct Host {
    pub name: String,
    /// Host vars from inventory sources, in load order (later source wins per key).
    /// Includes `inventory_file` and `inventory_dir`, as Ansible sets them.
    pub vars: Map,
    /// Host vars from `host_vars/<name>` files (inventory dir first, then playbook dir).
    pub file_vars: Map,
    /// Groups that list this host directly, in the order it was added to them.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    /// Hosts listed directly in this group, in order.
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub parents: Vec<String>,
    pub vars: Map,
    /// Vars from `group_vars/<name>` files (inventory dir first, then playbook dir).
    pub file_vars: Map,
    /// Distance from `all` along the longest parent chain; deeper groups' vars win.
    pub depth: usize,
    /// `ansible_group_priority` (default 1): among groups of equal depth, higher wins.
    pub priority: i64,
}

impl Default for Group {
    fn default() -> Group {
        Group::new("")
    }
}

impl Group {
    pub fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            hosts: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            vars: Map::new(),
            file_vars: Map::new(),
            depth: 0,
            priority: 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Inventory {
    /// Every host, in first-seen order.
    pub hosts: IndexMap<String, Host>,
    /// Every group incl. `all` and `ungrouped`, in first-seen order.
    pub groups: IndexMap<String, Group>,
    /// Loaded `group_vars/` + `host_vars/` folders: inventory folders, then playbook folders.
    pub vars_dirs: Vec<VarsDir>,
    /// Things Ansible warns about (skipped keys, unmatched patterns are not here).
    pub warnings: Vec<String>,
}

impl Default for Inventory {
    fn default() -> Inventory {
        Inventory::new()
    }
}

/// A host's variables from the inventory, each layer already merged in Ansible's order
/// (top-level keys replace, no deep merge). The precedence merge applies them in field order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostLayers {
    /// Inventory vars of `all`, then of the host's groups by (depth, priority, name).
    pub group_inventory: Map,
    /// `group_vars/` files: `all` (inventory dirs, then playbook dirs), then the other groups
    /// in the same order (every inventory dir, then every playbook dir).
    pub group_files: Map,
    pub host_inventory: Map,
    /// `host_vars/` files: inventory dirs, then playbook dirs.
    pub host_files: Map,
}

impl Inventory {
    /// An empty inventory: just `all` with its child `ungrouped`.
    pub fn new() -> Inventory {
        let mut inv =
            Inventory { hosts: IndexMap::new(), groups: IndexMap::new(), vars_dirs: Vec::new(), warnings: Vec::new() };
        inv.add_group("all");
        inv.add_group("ungrouped");
        // Cannot fail: two fresh groups.
        let _ = inv.add_child_group("all", "ungrouped");
        inv
    }

    /// Whether `host` is the implicit localhost: a localhost name that is not in the inventory.
    pub fn is_implicit(&self, host: &str) -> bool {
        LOCALHOST_NAMES.contains(&host) && !self.hosts.contains_key(host)
    }

    /// `groups_map` as the value of the `groups` magic variable.
    pub fn groups_value(&self) -> crate::value::Value {
        use crate::value::Value;
        Value::Object(self.groups_map().into_iter().map(|(g, hs)| (g, Value::from(hs))).collect())
    }

    /// Every group (incl. `all`, `ungrouped`) with all hosts of it and its descendants:
    /// the `groups` magic variable.
    pub fn groups_map(&self) -> IndexMap<String, Vec<String>> {
        // A group with one child lists its own hosts, then exactly its child's list (the
        // breadth-first walk goes on from the child alone): reusing it, deepest groups first,
        // keeps a chain of 10,000 groups linear instead of quadratic.
        let mut by_depth: Vec<&Group> = self.groups.values().collect();
        by_depth.sort_by_key(|g| std::cmp::Reverse(g.depth));
        let mut done: HashMap<&str, Vec<String>> = HashMap::new();
        for g in by_depth {
            let hosts = match g.children.as_slice() {
                [only] if done.contains_key(only.as_str()) => {
                    let mut seen = HashSet::new();
                    g.hosts.iter().chain(&done[only.as_str()]).filter(|h| seen.insert(h.as_str())).cloned().collect()
                }
                _ => self.group_hosts(&g.name),
            };
            done.insert(&g.name, hosts);
        }
        self.groups.keys().map(|g| (g.clone(), done.remove(g.as_str()).unwrap_or_default())).collect()
    }

    /// The `group_names` magic variable: sorted, without `all` (with `ungrouped` when the host is).
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self.host_groups(host).into_iter().filter(|g| g != "all").collect();
        names.sort();
        names
    }

    /// The host's inventory variables, layer by layer (see [`HostLayers`]).
    pub fn host_layers(&self, host: &str) -> HostLayers {
        let groups = self.sorted_host_groups(host);
        let mut layers = HostLayers::default();
        if let Some(all) = self.groups.get("all") {
            extend(&mut layers.group_inventory, &all.vars);
        }
        for g in &groups {
            extend(&mut layers.group_inventory, &self.groups[g.as_str()].vars);
        }
        let (inv_dirs, play_dirs): (Vec<&VarsDir>, Vec<&VarsDir>) = self.vars_dirs.iter().partition(|d| !d.playbook);
        for dir in inv_dirs.iter().chain(&play_dirs) {
            if let Some(vars) = dir.groups.get("all") {
                extend(&mut layers.group_files, vars);
            }
        }
        for dir in inv_dirs.iter().chain(&play_dirs) {
            for g in &groups {
                if let Some(vars) = dir.groups.get(g.as_str()) {
                    extend(&mut layers.group_files, vars);
                }
            }
        }
        if let Some(h) = self.hosts.get(host) {
            layers.host_inventory = h.vars.clone();
        }
        for dir in inv_dirs.iter().chain(&play_dirs) {
            if let Some(vars) = dir.hosts.get(host) {
                extend(&mut layers.host_files, vars);
            }
        }
        layers
    }

    /// The host's groups other than `all`, in variable order: (depth, priority, name).
    fn sorted_host_groups(&self, host: &str) -> Vec<String> {
        let mut groups: Vec<&Group> =
            self.host_groups(host).iter().filter(|g| *g != "all").filter_map(|g| self.groups.get(g.as_str())).collect();
        groups.sort_by(|a, b| (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name)));
        groups.into_iter().map(|g| g.name.clone()).collect()
    }
}

/// Top-level keys of `over` replace those in `base`.
fn extend(base: &mut Map, over: &Map) {
    for (k, v) in over {
        base.insert(k.clone(), v.clone());
    }
}

#[cfg(test)]
mod tests;
