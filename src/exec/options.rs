//! What the engine needs from the command line, ansible.cfg and the environment. The CLI's
//! `Settings` are turned into these in `lib.rs`, so `exec` does not depend on the CLI.

use std::sync::Arc;

use crate::connection::pool::ConnectDefaults;
use crate::facts::cache::FactCache;
use crate::value::Map;

#[derive(Debug, Clone)]
pub struct Options {
    /// `--check`, `--diff`: the defaults of the `check_mode` and `diff` keywords.
    pub check: bool,
    pub diff: bool,
    /// Hosts a task runs on at once.
    pub forks: usize,
    pub verbosity: u8,
    /// `-e`: the highest precedence.
    pub extra_vars: Map,
    /// The first inventory source (its folder is `inventory_dir`).
    pub first_inventory: Option<String>,
    /// Every inventory source, read again by `meta: refresh_inventory`.
    pub inventory_sources: Vec<String>,
    pub become_: BecomeDefaults,
    pub connect: ConnectDefaults,
    /// Gathered and cacheable facts, kept across plays (and runs, with `jsonfile`).
    pub fact_cache: Arc<FactCache>,
    /// Facts also as top-level `ansible_*` variables (`ANSIBLE_INJECT_FACT_VARS`, default on).
    pub inject_facts: bool,
}

/// `-b`, `--become-user`, `--become-method`, `-K`: used where no keyword says otherwise.
#[derive(Debug, Clone, Default)]
pub struct BecomeDefaults {
    pub escalate: bool,
    pub user: Option<String>,
    pub method: Option<String>,
    /// Never logged; fed on stdin.
    pub password: Option<String>,
}
