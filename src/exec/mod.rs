//! Execution: runs the plan over hosts, play by play, with the linear strategy (each task runs
//! on all active hosts in parallel, up to `--forks`; results are applied to the host states
//! between tasks; failed hosts drop out; handlers flush per section) or the free one (`free.rs`).

mod ahead;
mod call;
mod dynamic;
pub mod fileglob;
mod flags;
mod frame;
mod free;
mod host;
mod include;
mod job;
mod limits;
mod loops;
mod meta;
mod options;
mod outcome;
mod resolve;
mod result;
mod walk;
mod world;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::connection::pool::ConnPool;
use crate::error::exit;
use crate::inventory::Inventory;
use crate::plan::{Plan, PlayPlan};
use crate::playbook::{Item, LoadOptions, Play, Playbook};
use crate::report::Reporter;
use crate::template::Engine;
use crate::value::{Map, Value};

pub use limits::raise_open_files;
pub use options::{BecomeDefaults, Options};
pub use resolve::OMIT;
use world::{HostState, InventoryLayers, PlayVars};

pub struct Runner {
    options: Arc<Options>,
    inventory: Arc<Inventory>,
    engine: Arc<Engine>,
    reporter: Arc<Reporter>,
    conns: Arc<ConnPool>,
    forks: Arc<Semaphore>,
    load_opts: LoadOptions,
    playbook_dir: PathBuf,
    states: HashMap<String, HostState>,
    /// File facts read ahead for the next tasks (see `facts::ahead`).
    prefetch: Arc<crate::facts::ahead::Prefetch>,
    /// `TROUPE_READ_AHEAD=off` turns reading ahead off (benchmarks, or if it ever misleads).
    read_ahead: bool,
    /// Set by `any_errors_fatal`, `max_fail_percentage` or `meta: end_play`.
    end_play: bool,
    /// A play could not start (a play keyword failed to evaluate): the run stops, no recap.
    aborted: bool,
    /// The exit code of an abort other than a load-time error (Ansible's run-time `ERROR`: 1).
    abort_code: i32,
    /// `add_host`/`group_by` changed the inventory: later plays resolve `hosts:` again.
    inventory_changed: bool,
    /// Every `add_host`/`group_by` change so far, applied again after `meta: refresh_inventory`.
    dynamic_log: Vec<dynamic::Dynamic>,
    /// Under the free strategy, one host's walker ending the play ends it for all (see `free.rs`).
    play_ended: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The hosts of the batch being walked (`any_errors_fatal` fails them all).
    batch: Vec<String>,
    /// How many `meta: clear_host_errors` ran (a block's `always` then keeps hosts cleared).
    errors_cleared: u64,
}

/// A host's state when it first comes up in the run: its inventory, and its cached facts.
fn fresh_state(inv: &Inventory, options: &Options, reporter: &Reporter, host: &str) -> HostState {
    let (cache, inject) = (&options.fact_cache, options.inject_facts);
    let mut state = HostState::new(Arc::new(InventoryLayers::of(inv, host)));
    match cache.get(host) {
        Ok(Some(facts)) => state.add_facts(&facts, inject),
        Ok(None) => {}
        Err(e) => reporter.warn(&e.to_string()),
    }
    state
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub exit_code: i32,
}

/// A play's variables for its name, `hosts` and `order` (Ansible renders them before any host
/// is known): play vars, `groups`, `playbook_dir` and extra vars.
pub fn play_scope(engine: Arc<Engine>, inv: &Inventory, play: &Play, extra_vars: &Map) -> Arc<crate::vars::Scope> {
    let mut magic = Map::new();
    magic.insert("groups".into(), inv.groups_value());
    let dir = std::path::absolute(play.span.file.as_path()).ok().and_then(|f| f.parent().map(absolute));
    if let Some(dir) = dir {
        magic.insert("playbook_dir".into(), Value::from(dir));
    }
    Arc::new(
        crate::vars::Scope::new(engine)
            .layer(crate::vars::Level::PlayVars, Arc::new(play.vars.clone()))
            .layer(crate::vars::Level::Magic, Arc::new(magic))
            .layer(crate::vars::Level::ExtraVars, Arc::new(extra_vars.clone())),
    )
}

impl Runner {
    pub fn new(
        options: Arc<Options>,
        inventory: Arc<Inventory>,
        reporter: Arc<Reporter>,
        load_opts: LoadOptions,
        playbook_dir: PathBuf,
    ) -> Runner {
        Runner {
            forks: Arc::new(Semaphore::new(options.forks.min(crate::limits::MAX_PERMITS))),
            conns: Arc::new(match options.verbosity {
                v if v >= 3 => {
                    let to = reporter.clone();
                    ConnPool::new(options.connect.clone()).traced(Arc::new(move |line: &str| to.line(line)))
                }
                _ => ConnPool::new(options.connect.clone()),
            }),
            options,
            inventory,
            engine: Arc::new(Engine::new()),
            reporter,
            load_opts,
            playbook_dir,
            states: HashMap::new(),
            prefetch: Default::default(),
            read_ahead: !matches!(std::env::var("TROUPE_READ_AHEAD").as_deref(), Ok("off" | "0" | "false" | "no")),
            end_play: false,
            aborted: false,
            abort_code: 0,
            inventory_changed: false,
            dynamic_log: Vec::new(),
            play_ended: None,
            batch: Vec::new(),
            errors_cleared: 0,
        }
    }

    /// Run every play of a planned playbook. `hosts_of(i, None)` gives play `i`'s hosts as
    /// planned; `hosts_of(i, Some(inventory))` resolves them again once `add_host` or
    /// `group_by` changed the inventory.
    pub async fn run(
        &mut self,
        pb: &Playbook,
        plan: &Plan,
        hosts_of: &dyn Fn(usize, Option<&Inventory>) -> Vec<String>,
    ) -> RunSummary {
        for (i, (play, pplan)) in pb.plays.iter().zip(&plan.plays).enumerate() {
            let hosts = hosts_of(i, self.inventory_changed.then_some(&*self.inventory));
            let go_on = self.run_play(play, pplan, plan, hosts).await;
            if !go_on || self.aborted || crate::interrupt::stopping() {
                break;
            }
        }
        self.conns.close_all().await;
        if self.aborted {
            let exit_code = if self.abort_code != 0 { self.abort_code } else { exit::UNREACHABLE_OR_PARSE };
            return RunSummary { exit_code };
        }
        self.reporter.recap();
        // From the hosts' states, as Ansible's failed/unreachable host lists: a rescued host or
        // one cleared by `meta: clear_host_errors` does not fail the run; one failed by
        // `any_errors_fatal` does.
        let code = if crate::interrupt::stopping() {
            exit::INTERRUPTED
        } else if self.states.values().any(|s| s.unreachable) {
            exit::UNREACHABLE_OR_PARSE
        } else if self.states.values().any(|s| s.failed) {
            exit::HOST_FAILED
        } else {
            exit::OK
        };
        RunSummary { exit_code: code }
    }

    /// Run one play; false when the playbook stops there: every host of a batch failed, as
    /// Ansible's `PlaybookExecutor` (its later plays don't start, the recap still shows).
    async fn run_play(&mut self, play: &Play, pplan: &PlayPlan, plan: &Plan, hosts: Vec<String>) -> bool {
        let mut name = if play.name.is_empty() { play.hosts.clone() } else { play.name.clone() };
        // A templated play name is rendered as its `hosts`, as in Ansible.
        if crate::template::is_template(&name) {
            let scope = play_scope(self.engine.clone(), &self.inventory, play, &self.options.extra_vars);
            if let Ok(rendered) = scope.render_text(&name) {
                name = rendered;
            }
        }
        self.reporter.play(&name);
        // Hosts that failed in an earlier play stay out, as in Ansible (but count in
        // `ansible_play_hosts_all`).
        let all_hosts = hosts.clone();
        let hosts: Vec<String> = hosts
            .into_iter()
            .filter(|h| self.states.get(h).map(|s| !s.failed && !s.unreachable).unwrap_or(true))
            .collect();
        if hosts.is_empty() {
            self.reporter.line("skipping: no hosts matched");
            return true;
        }
        for h in &hosts {
            let st = self
                .states
                .entry(h.clone())
                .or_insert_with(|| fresh_state(&self.inventory, &self.options, &self.reporter, h));
            st.ended = false;
            st.vars_files = Arc::new(Map::new());
            st.notified.clear();
        }
        // `hostvars` covers the whole inventory, as in Ansible (not only the play's hosts):
        // a limited run still reads other hosts' inventory vars and delegates to them.
        let everyone = self.inventory.groups_map().get("all").cloned().unwrap_or_default();
        for h in everyone {
            self.states
                .entry(h.clone())
                .or_insert_with(|| fresh_state(&self.inventory, &self.options, &self.reporter, &h));
        }
        self.end_play = false;
        for (i, batch) in batches(&play.serial, &hosts).into_iter().enumerate() {
            // Ansible starts each `serial` batch with the play's banner.
            if i > 0 {
                self.reporter.play(&name);
            }
            let pv = self.play_vars(play, (&all_hosts, &hosts), &batch, plan);
            let mut ctx = walk::PlayCtx {
                play,
                plan: pplan,
                filter: &plan.filter,
                vars: pv,
                handlers: play.handlers.clone(),
                root: Default::default(),
                included_roles: Default::default(),
                roles_run: Default::default(),
                handler_warnings: Default::default(),
                pending: Default::default(),
            };
            match self.strategy(&ctx) {
                Ok(free::Strategy::Linear) => self.run_batch(&mut ctx, &batch).await,
                Ok(free::Strategy::Free) => self.run_free(&mut ctx, &batch).await,
                Err(d) => {
                    self.reporter.error(&d.render());
                    self.aborted = true;
                    return false;
                }
            }
            if batch.iter().all(|h| self.states.get(h).map(|s| s.failed || s.unreachable).unwrap_or(true)) {
                return false;
            }
            if self.end_play {
                break;
            }
        }
        true
    }

    /// Play-wide variables: play vars, all roles' defaults and vars, magic variables.
    fn play_vars(&self, play: &Play, (all, hosts): (&[String], &[String]), batch: &[String], plan: &Plan) -> PlayVars {
        let mut role_defaults = Map::new();
        let mut role_vars = Map::new();
        for items in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
            collect_roles(items, &mut role_defaults, &mut role_vars);
        }
        let mut magic = Map::new();
        magic.insert("groups".into(), self.inventory.groups_value());
        magic.insert("ansible_play_hosts".into(), Value::from(hosts.to_vec()));
        magic.insert("ansible_play_hosts_all".into(), Value::from(all.to_vec()));
        magic.insert("play_hosts".into(), Value::from(batch.to_vec()));
        magic.insert("ansible_play_batch".into(), Value::from(batch.to_vec()));
        magic.insert("playbook_dir".into(), Value::from(absolute(&self.playbook_dir)));
        magic.insert("ansible_play_name".into(), Value::from(play.name.clone()));
        magic.insert("ansible_check_mode".into(), Value::Bool(self.options.check));
        magic.insert("ansible_diff_mode".into(), Value::Bool(self.options.diff));
        magic.insert("ansible_verbosity".into(), Value::from(self.options.verbosity));
        magic.insert(
            "ansible_run_tags".into(),
            Value::from(if plan.filter.only.is_empty() { vec!["all".to_string()] } else { plan.filter.only.clone() }),
        );
        magic.insert("ansible_skip_tags".into(), Value::from(plan.filter.skip.clone()));
        magic.insert("ansible_forks".into(), Value::from(self.options.forks));
        magic.insert("omit".into(), Value::from(OMIT));
        magic.insert(
            "ansible_version".into(),
            serde_json::json!({"full": "2.19.0", "major": 2, "minor": 19, "revision": 0, "string": "2.19.0 (troupe)"}),
        );
        magic.insert("troupe_version".into(), Value::from(env!("CARGO_PKG_VERSION")));
        if let Some(first) = &self.options.first_inventory {
            let dir = std::path::Path::new(first).parent().map(absolute).unwrap_or_default();
            magic.insert("inventory_dir".into(), Value::from(dir));
        }
        PlayVars {
            engine: self.engine.clone(),
            play_vars: Arc::new(play.vars.clone()),
            role_defaults: Arc::new(role_defaults),
            role_vars: Arc::new(role_vars),
            extra_vars: Arc::new(self.options.extra_vars.clone()),
            magic: Arc::new(magic),
            groups: self.inventory.clone(),
            play_hosts: Arc::new(hosts.to_vec()),
            batch: Arc::new(batch.to_vec()),
        }
    }
}

fn absolute(p: &std::path::Path) -> String {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}

/// Ansible exposes every role's defaults and vars to the whole play.
fn collect_roles(items: &[Item], defaults: &mut Map, vars: &mut Map) {
    for item in items {
        if let Item::Block(b) = item {
            // Role vars: a role's, then its dependencies' (a task inside a dependency sees them
            // over its parents', roles_var_inheritance). Defaults: the dependencies' first, so
            // the role's own win (var_precedence's role_parent_default).
            if let Some(role) = &b.role {
                vars.extend(role.vars.clone());
            }
            collect_roles(&b.block, defaults, vars);
            collect_roles(&b.rescue, defaults, vars);
            collect_roles(&b.always, defaults, vars);
            if let Some(role) = &b.role {
                defaults.extend(role.defaults.clone());
            }
        }
    }
}

/// Split hosts into `serial` batches (numbers, percentages, or a list of them; the last repeats).
pub fn batches(serial: &[Value], hosts: &[String]) -> Vec<Vec<String>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let total = hosts.len();
    let size_of = |v: &Value| -> usize {
        let text = crate::value::to_text(v);
        let n = if let Some(pct) = text.strip_suffix('%') {
            let p: f64 = pct.trim().parse().unwrap_or(100.0);
            ((total as f64) * p / 100.0).floor() as usize
        } else {
            text.trim().parse().unwrap_or(total)
        };
        n.clamp(1, total.max(1))
    };
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut i = 0;
    while !rest.is_empty() {
        let size = size_of(&serial[i.min(serial.len() - 1)]).min(rest.len());
        out.push(rest[..size].to_vec());
        rest = &rest[size..];
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("h{i}")).collect()
    }

    #[test]
    fn serial_batches() {
        let b = batches(&[Value::from(2)], &hosts(5));
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        let b = batches(&[Value::from(1), Value::from("50%")], &hosts(5));
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 2, 2]);
        assert_eq!(batches(&[], &hosts(3)).len(), 1);
    }
}
