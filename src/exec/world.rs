//! What the executor knows about each host between tasks, and how a task's variable scope is
//! assembled from it (the layers of [`crate::vars::Level`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::inventory::Inventory;
use crate::playbook::Role;
use crate::template::Engine;
use crate::value::{Map, Value};
use crate::vars::{HostVars, Level, Scope};

/// Per-host state that persists across tasks of a run.
#[derive(Debug, Clone, Default)]
pub struct HostState {
    pub inventory: Arc<InventoryLayers>,
    pub facts: Arc<Map>,
    pub include_vars: Arc<Map>,
    /// `set_fact` and `register` results.
    pub set_facts: Arc<Map>,
    /// This play's `vars_files`, loaded for this host.
    pub vars_files: Arc<Map>,
    pub failed: bool,
    /// The task that last failed here and its result: `ansible_failed_task` and
    /// `ansible_failed_result` once a `rescue` starts.
    pub last_failure: Option<(Value, Value)>,
    pub unreachable: bool,
    /// `meta: end_host` or `end_play` for this host.
    pub ended: bool,
    /// Handler names/topics notified and not yet run.
    pub notified: Vec<String>,
}

impl HostState {
    pub fn active(&self) -> bool {
        !self.failed && !self.unreachable && !self.ended
    }
    pub fn set_fact(&mut self, key: &str, value: Value) {
        Arc::make_mut(&mut self.set_facts).insert(key.to_string(), value);
    }
    /// Gathered facts: in the `ansible_facts` dictionary without their `ansible_` prefix and,
    /// when `inject` (Ansible's `INJECT_FACTS_AS_VARS`), each under its own name too
    /// (`ansible_local` always is).
    pub fn add_facts(&mut self, facts: &Map, inject: bool) {
        let m = Arc::make_mut(&mut self.facts);
        let mut namespaced = match m.remove("ansible_facts") {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
        for (k, v) in facts {
            if inject || k == "ansible_local" {
                m.insert(k.clone(), v.clone());
            }
        }
        namespaced.extend(crate::facts::host::namespaced(facts));
        m.insert("ansible_facts".into(), Value::Object(namespaced));
    }

    /// A host's state before its first task: no facts yet, so `ansible_facts` is `{}`.
    pub fn new(inventory: Arc<InventoryLayers>) -> HostState {
        let facts = Map::from_iter([("ansible_facts".to_string(), Value::Object(Map::new()))]);
        HostState { inventory, facts: Arc::new(facts), ..Default::default() }
    }
}

#[derive(Debug, Clone, Default)]
pub struct InventoryLayers {
    pub group_inventory: Arc<Map>,
    pub group_files: Arc<Map>,
    pub host_inventory: Arc<Map>,
    pub host_files: Arc<Map>,
}

impl InventoryLayers {
    pub fn of(inv: &Inventory, host: &str) -> InventoryLayers {
        let l = inv.host_layers(host);
        let mut host_inventory = l.host_inventory;
        if inv.is_implicit(host) {
            host_inventory.entry("ansible_connection").or_insert(Value::from("local"));
            // Ansible gives the implicit localhost its own Python (`sys.executable`); troupe's
            // is the one that holds ansible-core, when there is one.
            if let Ok(python) = crate::bridge::ansible_python() {
                host_inventory.entry("ansible_python_interpreter").or_insert(Value::from(python.display().to_string()));
            }
        }
        InventoryLayers {
            group_inventory: Arc::new(l.group_inventory),
            group_files: Arc::new(l.group_files),
            host_inventory: Arc::new(host_inventory),
            host_files: Arc::new(l.host_files),
        }
    }
}

/// Play-wide inputs shared by every host's scope.
#[derive(Clone)]
pub struct PlayVars {
    pub engine: Arc<Engine>,
    pub play_vars: Arc<Map>,
    pub role_defaults: Arc<Map>,
    pub role_vars: Arc<Map>,
    pub extra_vars: Arc<Map>,
    /// `groups`, `playbook_dir`, `ansible_play_hosts`, `ansible_check_mode`, ...
    pub magic: Arc<Map>,
    pub groups: Arc<Inventory>,
    /// The play's hosts and this batch at the start; `ansible_play_hosts` and
    /// `ansible_play_batch` are these minus the hosts failed or unreachable so far.
    pub play_hosts: Arc<Vec<String>>,
    pub batch: Arc<Vec<String>>,
}

impl PlayVars {
    /// These variables with `ansible_play_hosts`/`play_hosts`/`ansible_play_batch` leaving out
    /// the hosts that failed or became unreachable (a cheap copy when none did).
    pub fn without_failed(&self, states: &HashMap<String, HostState>) -> PlayVars {
        let alive = |hs: &[String]| -> Vec<String> {
            hs.iter().filter(|h| states.get(*h).map_or(true, |s| !s.failed && !s.unreachable)).cloned().collect()
        };
        let (hosts, batch) = (alive(&self.play_hosts), alive(&self.batch));
        let mut pv = self.clone();
        if hosts.len() != self.play_hosts.len() || batch.len() != self.batch.len() {
            let mut magic = (*self.magic).clone();
            magic.insert("ansible_play_hosts".into(), Value::from(hosts));
            magic.insert("ansible_play_batch".into(), Value::from(batch.clone()));
            magic.insert("play_hosts".into(), Value::from(batch));
            pv.magic = Arc::new(magic);
        }
        pv
    }
}

/// A snapshot of every host's state, taken before a task runs (linear strategy: hosts see
/// each other's results only between tasks).
pub struct World {
    pub play: PlayVars,
    pub hosts: HashMap<String, HostState>,
    cache: Mutex<HashMap<String, Arc<Scope>>>,
    me: std::sync::Weak<World>,
}

impl World {
    pub fn new(play: PlayVars, hosts: HashMap<String, HostState>) -> Arc<World> {
        Arc::new_cyclic(|me| World { play, hosts, cache: Mutex::new(HashMap::new()), me: me.clone() })
    }

    fn hostvars(&self) -> Option<Arc<dyn HostVars>> {
        self.me.upgrade().map(|w| w as Arc<dyn HostVars>)
    }

    /// The magic variables of one host.
    pub fn host_magic(&self, host: &str, role: Option<&Role>) -> Map {
        let inv = &self.play.groups;
        let mut m = Map::new();
        m.insert("inventory_hostname".into(), Value::from(host));
        m.insert("inventory_hostname_short".into(), Value::from(host.split('.').next().unwrap_or(host)));
        m.insert("group_names".into(), Value::from(inv.group_names(host)));
        if let Some(role) = role {
            m.insert("role_name".into(), Value::from(role.name.clone()));
            m.insert("role_path".into(), Value::from(role.path.display().to_string()));
            m.insert("ansible_role_name".into(), Value::from(role.name.clone()));
        }
        m
    }

    /// The scope of `host` at play level: what `hostvars[host]` shows.
    pub fn host_scope(&self, host: &str) -> Option<Arc<Scope>> {
        if let Some(s) = self.cache.lock().ok()?.get(host) {
            return Some(s.clone());
        }
        let state = self.hosts.get(host)?;
        let scope = Arc::new(self.base(state, None).layer(Level::Magic, Arc::new(self.host_magic(host, None))));
        self.cache.lock().ok()?.insert(host.to_string(), scope.clone());
        Some(scope)
    }

    /// Layers common to every task on a host; `role` adds its defaults/vars on top of the play's.
    fn base(&self, state: &HostState, role: Option<&Role>) -> Scope {
        let p = &self.play;
        let mut s = Scope::new(p.engine.clone())
            .layer(Level::RoleDefaults, p.role_defaults.clone())
            .layer(Level::InventoryGroupVars, state.inventory.group_inventory.clone())
            .layer(Level::GroupVarsFiles, state.inventory.group_files.clone())
            .layer(Level::InventoryHostVars, state.inventory.host_inventory.clone())
            .layer(Level::HostVarsFiles, state.inventory.host_files.clone())
            .layer(Level::Facts, state.facts.clone())
            .layer(Level::PlayVars, p.play_vars.clone())
            .layer(Level::PlayVarsFiles, state.vars_files.clone())
            .layer(Level::RoleVars, p.role_vars.clone())
            .layer(Level::IncludeVars, state.include_vars.clone())
            .layer(Level::SetFact, state.set_facts.clone())
            .layer(Level::Magic, p.magic.clone())
            .layer(Level::ExtraVars, p.extra_vars.clone());
        if let Some(role) = role {
            s = s
                .layer(Level::RoleDefaults, Arc::new(role.defaults.clone()))
                .layer(Level::RoleVars, Arc::new(role.vars.clone()))
                .layer(Level::RoleParams, Arc::new(role.params.clone()));
        }
        if let Some(hv) = self.hostvars() {
            s = s.with_hostvars(hv);
        }
        s
    }

    /// The scope one task sees on one host: base layers, then block and task vars, then extras
    /// (loop items, include params) in order.
    pub fn task_scope(
        &self,
        host: &str,
        role: Option<&Role>,
        block_vars: &[Arc<Map>],
        extra: &[(Level, Arc<Map>)],
    ) -> Option<Scope> {
        let state = self.hosts.get(host)?;
        let mut s = self.base(state, role).layer(Level::Magic, Arc::new(self.host_magic(host, role)));
        for v in block_vars {
            s = s.layer(Level::BlockVars, v.clone());
        }
        for (level, v) in extra {
            s = s.layer(*level, v.clone());
        }
        Some(s)
    }
}

impl HostVars for World {
    fn host_scope(&self, host: &str) -> Option<Arc<Scope>> {
        World::host_scope(self, host)
    }
    fn host_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.hosts.keys().cloned().collect();
        names.sort();
        names
    }
}
