//! troupe: Ansible-style playbooks, run fast and safely.
//!
//! Stages, in order: cli → load (inventory, playbook) → plan → connect/execute → report.
//! Nothing connects to a host before the whole run is loaded and planned, so a bad playbook
//! changes nothing anywhere.

pub mod bridge;
pub mod cli;
pub mod connection;
pub mod error;
pub mod exec;
pub mod facts;
pub mod glob;
pub mod interrupt;
pub mod inventory;
pub mod limits;
pub mod module_api;
pub mod modules;
pub mod plan;
pub mod playbook;
pub mod report;
pub mod template;
pub mod value;
pub mod vars;
pub mod vault;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;

use crate::cli::{Args, Settings};
use crate::connection::pool::ConnectDefaults;
use crate::connection::ssh::SshDefaults;
use crate::error::{exit, Diagnose, Diagnostic};
use crate::facts::cache::FactCache;
use crate::inventory::Inventory;
use crate::plan::{list, Plan, TagFilter};
use crate::playbook::{LoadOptions, Playbook};
use crate::report::Reporter;

/// Why a run could not start or finish normally.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Cli(#[from] cli::CliError),
    #[error(transparent)]
    Inventory(#[from] inventory::InventoryError),
    #[error(transparent)]
    Load(#[from] playbook::LoadError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error("{message}")]
    NoHosts { message: String },
    /// A play keyword that can't be rendered (`hosts`, `order`): Ansible's parse error.
    #[error("{message}")]
    Keyword { message: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    #[error(transparent)]
    FactCache(#[from] facts::cache::CacheError),
}

impl Diagnose for RunError {
    fn diagnostic(&self) -> Diagnostic {
        match self {
            RunError::Cli(e) => e.diagnostic(),
            RunError::Inventory(e) => e.diagnostic(),
            RunError::Load(e) => e.diagnostic(),
            RunError::Plan(e) => e.diagnostic(),
            RunError::NoHosts { message } => Diagnostic::new(message.clone())
                .hint("check the play's `hosts:` and --limit against the inventory (troupe --list-hosts)"),
            RunError::Keyword { message } => Diagnostic::new(message.clone())
                .hint("define the variable (play vars, -e) or give it a default (`x | default(...)`)"),
            RunError::Runtime(m) => Diagnostic::new(m.clone()),
            RunError::FactCache(e) => Diagnostic::new(e.to_string()),
        }
    }
    fn exit_code(&self) -> i32 {
        match self {
            RunError::Cli(e) => e.exit_code(),
            RunError::Inventory(e) => e.exit_code(),
            RunError::Load(e) => e.exit_code(),
            RunError::Plan(e) => e.exit_code(),
            RunError::Keyword { .. } => exit::UNREACHABLE_OR_PARSE,
            RunError::NoHosts { .. } | RunError::Runtime(_) | RunError::FactCache(_) => exit::ERROR,
        }
    }
}

/// Entry point for the binary: parse flags, run, print errors; returns the exit code.
pub fn main_entry() -> i32 {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { exit::ERROR } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    match Settings::from_args(args).map_err(RunError::from).and_then(run) {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", e.diagnostic().render());
            e.exit_code()
        }
    }
}

/// Everything loaded and planned before any host is touched.
struct Prepared {
    inventory: Arc<Inventory>,
    playbooks: Vec<(Playbook, Plan)>,
}

fn prepare(settings: &Settings) -> Result<Prepared, RunError> {
    let mut inventory = Inventory::load(&settings.inventory)?;
    let load_opts = load_options(settings, None);
    bridge::set_playbook_dirs(settings.playbooks.iter().filter_map(|p| p.parent().map(Path::to_path_buf)).collect());
    let filter = TagFilter::new(settings.tags.clone(), settings.skip_tags.clone());
    let mut playbooks = Vec::new();
    for path in &settings.playbooks {
        let mut pb = playbook::load_playbook(path, &load_opts)?;
        if settings.force_handlers {
            for play in pb.plays.iter_mut().filter(|p| p.force_handlers.is_none()) {
                play.force_handlers = Some(true);
            }
        }
        inventory.add_vars_dir(&pb.dir)?;
        let plan = plan::build(&pb, &filter, settings.start_at_task.as_deref())?;
        playbooks.push((pb, plan));
    }
    Ok(Prepared { inventory: Arc::new(inventory), playbooks })
}

fn load_options(settings: &Settings, playbook_dir: Option<&Path>) -> LoadOptions {
    LoadOptions {
        roles_path: settings.roles_path.clone(),
        playbook_dir: playbook_dir.map(Path::to_path_buf),
        extra_vars: settings.extra_vars.clone(),
        ..Default::default()
    }
}

/// A play's scope for its `hosts` and `order` (see `exec::play_scope`).
fn play_scope(inv: &Inventory, play: &playbook::Play, settings: &Settings) -> Arc<vars::Scope> {
    exec::play_scope(Arc::new(template::Engine::new()), inv, play, &settings.extra_vars)
}

/// Ansible's words for a play keyword it could not render, then troupe's detail.
fn keyword_error(key: &str, value: &str, play: &playbook::Play, e: &template::TemplateError) -> RunError {
    RunError::Keyword {
        message: format!("Error processing keyword '{key}': {} (play `{key}: {value}` at {})", e.reason(), play.span),
    }
}

/// A play's `hosts:` pattern, rendered when it is a template (a list gives `a,b`).
fn play_pattern(inv: &Inventory, play: &playbook::Play, settings: &Settings) -> Result<String, RunError> {
    if !template::is_template(&play.hosts) {
        return Ok(play.hosts.clone());
    }
    let rendered = play_scope(inv, play, settings)
        .render_value(&value::Value::from(play.hosts.clone()))
        .map_err(|e| keyword_error("hosts", &play.hosts, play, &e))?;
    Ok(match rendered {
        value::Value::Array(items) => items.iter().map(value::to_text).collect::<Vec<_>>().join(","),
        other => value::to_text(&other),
    })
}

/// The hosts of each play, with its rendered `hosts:` pattern: the pattern (templated with play
/// vars, `groups` and extra vars, as in Ansible; a template may give a list) intersected with
/// `--limit`, in the play's `order` (which may be templated too).
fn play_hosts(inv: &Inventory, play: &playbook::Play, settings: &Settings) -> Result<(String, Vec<String>), RunError> {
    let pattern = play_pattern(inv, play, settings)?;
    let mut hosts = inv.select(&pattern)?;
    if let Some(limit) = settings.limit.as_deref() {
        let allowed = inv.select(limit)?;
        hosts.retain(|h| allowed.contains(h));
    }
    let order = match play.order.as_deref() {
        Some(o) if template::is_template(o) => {
            Some(play_scope(inv, play, settings).render_text(o).map_err(|e| keyword_error("order", o, play, &e))?)
        }
        o => o.map(str::to_string),
    };
    in_order(&mut hosts, order.as_deref()).map_err(|o| RunError::NoHosts {
        message: format!(
            "play `order` ({}): '{o}' is not a host order (inventory, reverse_inventory, sorted, reverse_sorted, shuffle)",
            play.span
        ),
    })?;
    Ok((pattern, hosts))
}

/// The play's `order`: the inventory's (the default), reversed, sorted by name, or shuffled.
fn in_order(hosts: &mut [String], order: Option<&str>) -> Result<(), String> {
    match order {
        None | Some("inventory") => {}
        Some("reverse_inventory") => hosts.reverse(),
        Some("sorted") => hosts.sort(),
        Some("reverse_sorted") => hosts.sort_by(|a, b| b.cmp(a)),
        Some("shuffle") => rand::seq::SliceRandom::shuffle(hosts, &mut rand::rng()),
        Some(other) => return Err(other.to_string()),
    }
    Ok(())
}

/// What the engine takes from the settings.
fn exec_options(settings: &Settings, fact_cache: Arc<FactCache>) -> exec::Options {
    exec::Options {
        fact_cache,
        inject_facts: settings.inject_facts,
        check: settings.check,
        diff: settings.diff,
        forks: settings.forks,
        verbosity: settings.verbosity,
        extra_vars: settings.extra_vars.clone(),
        first_inventory: settings.inventory.first().cloned(),
        inventory_sources: settings.inventory.clone(),
        become_: exec::BecomeDefaults {
            escalate: settings.escalate,
            user: settings.become_user.clone(),
            method: settings.become_method.clone(),
            password: settings.become_password.clone(),
        },
        connect: ConnectDefaults {
            connection: settings.connection.clone(),
            ssh: SshDefaults {
                user: settings.remote_user.clone(),
                private_key: settings.private_key.clone(),
                host_key_checking: settings.host_key_checking,
                retries: settings.ssh_retries,
                ..SshDefaults::default()
            },
        },
    }
}

/// Run with validated settings; returns the exit code.
pub fn run(settings: Settings) -> Result<i32, RunError> {
    let prepared = prepare(&settings)?;
    let inv = prepared.inventory.clone();
    let reporter = Arc::new(Reporter::new(settings.verbosity).with_debug(settings.debug));
    for w in &inv.warnings {
        reporter.warn(w);
    }
    if let Some(limit) = &settings.limit {
        if inv.select(limit)?.is_empty() {
            return Err(RunError::NoHosts { message: format!("--limit '{limit}' matches no host in the inventory") });
        }
    }
    // Host lists per playbook and play, resolved up front (errors before anything runs).
    let mut hosts: Vec<Vec<Vec<String>>> = Vec::new();
    let mut patterns: Vec<Vec<String>> = Vec::new();
    for (pb, _) in &prepared.playbooks {
        let (mut per_play, mut pats) = (Vec::new(), Vec::new());
        for play in &pb.plays {
            let (pattern, play_hosts) = play_hosts(&inv, play, &settings)?;
            per_play.push(play_hosts);
            for part in inv.unmatched(&pattern) {
                reporter.warn(&format!("Could not match supplied host pattern, ignoring: {part}"));
            }
            pats.push(pattern);
        }
        hosts.push(per_play);
        patterns.push(pats);
    }
    if settings.syntax_check {
        for (pb, _) in &prepared.playbooks {
            println!("\nplaybook: {}", pb.path.display());
        }
        return Ok(exit::OK);
    }
    if settings.list_hosts || settings.list_tasks || settings.list_tags {
        let what = list::ListWhat { hosts: settings.list_hosts, tasks: settings.list_tasks, tags: settings.list_tags };
        for (((pb, plan), per_play), pats) in prepared.playbooks.iter().zip(&hosts).zip(&patterns) {
            let plays = list::PlayHosts {
                hosts: &|i| per_play.get(i).cloned().unwrap_or_default(),
                pattern: &|i| pats.get(i).cloned().unwrap_or_default(),
            };
            print!("{}", list::render(pb, plan, what, &plays));
        }
        return Ok(exit::OK);
    }
    if hosts.iter().flatten().all(|h| h.is_empty()) {
        return Err(RunError::NoHosts {
            message: "no hosts matched: the plays' host patterns and --limit leave nothing to run on".into(),
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Runtime(e.to_string()))?;
    let cache = FactCache::open(settings.fact_cache.clone())?;
    let inventory_hosts = inv.groups_map().get("all").cloned().unwrap_or_default();
    if settings.flush_cache {
        // As Ansible: every inventory host (not the implicit localhost).
        for h in &inventory_hosts {
            cache.delete(h);
        }
    }
    // Read before any task runs: a corrupt cache file stops the run here, as in Ansible.
    for h in inventory_hosts.iter().chain(hosts.iter().flatten().flatten()) {
        cache.get(h)?;
    }
    let options = Arc::new(exec_options(&settings, Arc::new(cache)));
    if let Some(warning) = exec::raise_open_files(settings.forks) {
        reporter.warn(&warning);
    }
    interrupt::watch(&runtime, reporter.clone(), connection::ssh::default_control_dir());
    let mut worst = exit::OK;
    for ((pb, plan), per_play) in prepared.playbooks.iter().zip(&hosts) {
        if interrupt::stopping() {
            break;
        }
        let dir: PathBuf = pb.dir.clone();
        let mut runner =
            exec::Runner::new(options.clone(), inv.clone(), reporter.clone(), load_options(&settings, Some(&dir)), dir);
        // After `add_host`/`group_by`, a play's `hosts:` is resolved against the changed inventory.
        let hosts_of = |i: usize, changed: Option<&Inventory>| {
            let planned = per_play.get(i).cloned().unwrap_or_default();
            match (changed, pb.plays.get(i)) {
                (Some(inv), Some(play)) => play_hosts(inv, play, &settings).map(|(_, hosts)| hosts).unwrap_or(planned),
                _ => planned,
            }
        };
        reporter.playbook(&pb.path, pb.plays.len());
        let summary = runtime.block_on(runner.run(pb, plan, &hosts_of));
        interrupt::let_signal_end();
        worst = worst.max(summary.exit_code);
    }
    Ok(worst)
}
