//! Inventory: hosts, groups and their variables; `--limit` host patterns.
//!
//! Sources: YAML or INI files, a folder of them, or an inline list `h1,h2,`.
//! `group_vars/` and `host_vars/` beside each inventory source and beside the playbook.

use std::path::PathBuf;

use indexmap::IndexMap;

use crate::value::Map;
use crate::yaml::Span;

#[derive(Debug, Clone, Default)]
pub struct Host {
    pub name: String,
    /// Host vars from inventory sources, in load order (later source wins per key).
    pub vars: Map,
    /// Host vars from `host_vars/<name>` files (inventory dir first, then playbook dir).
    pub file_vars: Map,
}

#[derive(Debug, Clone, Default)]
pub struct Group {
    pub name: String,
    /// Hosts listed directly in this group, in order.
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub vars: Map,
    /// Vars from `group_vars/<name>` files.
    pub file_vars: Map,
}

#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Every host, in first-seen order.
    pub hosts: IndexMap<String, Host>,
    /// Every group incl. `all` and `ungrouped`, in first-seen order.
    pub groups: IndexMap<String, Group>,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{message}")]
    Parse {
        span: Span,
        message: String,
        hint: Option<String>,
    },
    #[error("cannot read inventory {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{0}")]
    Pattern(String),
}
