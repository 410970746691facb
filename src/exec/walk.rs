//! Walking a play: sections, blocks with rescue/always, dynamic includes, meta tasks and
//! handlers. One task at a time across all hosts (linear strategy).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use futures::future::join_all;

use crate::facts::cache::CacheError;
use crate::plan::{task_name, PlayPlan, TagFilter};
use crate::playbook::{ActionKind, Block, Item, Play, Task};
use crate::report::Status;
use crate::value::{to_text, Map, Value};
use crate::vars::Level;

use super::ahead::next_tasks;
use super::flags::{resolve, BoolKey};
use super::frame::Frame;
use super::outcome::HostOutcome;
use super::resolve::task_scope;
use super::world::{HostState, PlayVars, World};
use super::{Options, Runner};

#[derive(Clone)]
pub(super) struct PlayCtx<'a> {
    pub play: &'a Play,
    pub plan: &'a PlayPlan,
    pub filter: &'a TagFilter,
    pub vars: PlayVars,
    /// Play and role handlers, plus those of roles included at run time.
    pub handlers: Vec<Item>,
    /// The play-level frame handlers run in.
    pub root: Frame,
    /// Arguments of the `include_role`s whose handlers were added (each once).
    pub included_roles: std::collections::HashSet<String>,
    /// Names of the roles `include_role` ran (for `allow_duplicates: false`).
    pub roles_run: std::collections::HashSet<String>,
    /// Handlers whose name could not be templated, warned about once.
    pub handler_warnings: std::collections::HashSet<String>,
    /// Per host, the handlers (indices into `meta::handler_tasks`) notified by a handler after
    /// their turn in a flush: they run at the next flush, as in Ansible.
    pub pending: HashMap<String, BTreeSet<usize>>,
}

impl Runner {
    pub(super) fn world(&self, ctx: &PlayCtx<'_>) -> Arc<World> {
        World::new(ctx.vars.without_failed(&self.states), self.states.clone())
    }

    pub(super) fn active(&self, hosts: &[String]) -> Vec<String> {
        hosts.iter().filter(|h| self.states.get(*h).map(|s| s.active()).unwrap_or(false)).cloned().collect()
    }

    pub(super) async fn run_batch(&mut self, ctx: &mut PlayCtx<'_>, batch: &[String]) {
        let play = ctx.play;
        self.batch = batch.to_vec();
        let mut root = Frame::default();
        let mut play_attrs = play.attrs.clone();
        play_attrs.vars = Map::new();
        root.attrs.push(Arc::new(play_attrs));
        root.tags = play.attrs.tags.iter().cloned().collect();
        ctx.root = root.clone();
        let gather = match self.gather_facts(ctx) {
            Ok(b) => b,
            Err(e) => {
                let d = crate::error::Diagnostic::new(e.message).at(&play.span);
                self.reporter.error(&d.render());
                self.aborted = true;
                self.end_the_play();
                return;
            }
        };
        self.load_vars_files(ctx, batch);
        if gather && crate::modules::find("setup").is_some() {
            let mut args = Map::new();
            let play_args = [("gather_subset", &play.gather_subset), ("gather_timeout", &play.gather_timeout)];
            for (name, value) in play_args {
                if let Some(v) = value {
                    args.insert(name.into(), v.clone());
                }
            }
            let task = Task {
                args,
                id: 0,
                name: Some("Gathering Facts".into()),
                span: play.span.clone(),
                base_dir: self.playbook_dir.clone(),
                ..Task::with_action("setup")
            };
            self.run_task(ctx, &task, &root, batch, "TASK", &[]).await;
        }
        let sections: [&[&Vec<Item>]; 3] = [&[&play.pre_tasks], &[&play.roles, &play.tasks], &[&play.post_tasks]];
        for section in sections {
            for items in section {
                if self.play_over() {
                    break;
                }
                Box::pin(self.run_items(ctx, items, &root, batch)).await;
            }
            // With `force_handlers`, notified handlers run even when the play ends early.
            if self.play_over() && play.force_handlers != Some(true) {
                return;
            }
            if self.implicit_flush(ctx, batch) {
                self.flush_handlers(ctx, batch).await;
            }
            if self.play_over() {
                return;
            }
        }
    }

    /// `gather_facts` is templated with play-level variables only (play vars, magic, extra
    /// vars), as in Ansible: host variables are not known yet.
    fn gather_facts(&self, ctx: &PlayCtx<'_>) -> Result<bool, crate::template::TemplateError> {
        let pv = &ctx.vars;
        let scope = crate::vars::Scope::new(pv.engine.clone())
            .layer(Level::PlayVars, pv.play_vars.clone())
            .layer(Level::Magic, pv.magic.clone())
            .layer(Level::ExtraVars, pv.extra_vars.clone());
        resolve(&ctx.play.gather_facts, "gather_facts", &Arc::new(scope))
    }

    /// Load the play's `vars_files` for each host (paths may use host variables). As in
    /// ansible-core 2.19: an entry that is a list loads its first file that exists; a file that
    /// exists nowhere is skipped; an entry using an undefined variable is skipped with a warning.
    fn load_vars_files(&mut self, ctx: &PlayCtx<'_>, batch: &[String]) {
        if ctx.play.vars_files.is_empty() {
            return;
        }
        let world = self.world(ctx);
        let base = ctx.play.file.parent().map(Path::to_path_buf).unwrap_or_default();
        for host in batch {
            let Some(scope) = world.task_scope(host, None, &[], &[]) else { continue };
            let scope = Arc::new(scope);
            let mut loaded = Map::new();
            let mut error = None;
            'entries: for entry in &ctx.play.vars_files {
                for name in entry {
                    let path = match scope.render_text(name) {
                        Ok(p) => vars_file_path(&base, &p),
                        Err(e) if e.variable.is_some() => {
                            self.reporter.warn(&format!(
                                "skipping vars_files item {entry:?} due to an undefined variable: {}",
                                e.message
                            ));
                            continue 'entries;
                        }
                        Err(e) => {
                            error = Some(e.message);
                            break 'entries;
                        }
                    };
                    let Some(path) = path else { continue };
                    match load_vars_file(&path) {
                        Ok(m) => loaded.extend(m),
                        Err(msg) => error = Some(msg),
                    }
                    continue 'entries;
                }
            }
            if let Some(msg) = error {
                self.fail_host(host, format!("vars_files: {msg}"));
            } else if let Some(s) = self.states.get_mut(host) {
                s.vars_files = Arc::new(loaded);
            }
        }
    }

    /// `any_errors_fatal`: a host failed, so every other host of the batch still running is
    /// failed too (as Ansible's `mark_host_failed`): one inside a block goes to its `rescue` or
    /// `always`, the others stop. They are not counted as failed in the recap.
    pub(super) fn fail_the_others(&mut self) {
        for h in &self.batch {
            if let Some(s) = self.states.get_mut(h) {
                if s.active() {
                    s.failed = true;
                }
            }
        }
    }

    /// A failure outside any module (vars_files, an include that can't load): report it, mark the host.
    pub(super) fn fail_host(&mut self, host: &str, msg: String) {
        self.fail_with(host, super::result::TaskResult::host_failed(msg).to_map(), true);
    }

    /// An include that did not load fails the host with Ansible's result (`include` names an
    /// include_tasks file, `reason` says why), shown unless it came from a loop (Ansible prints
    /// no line for a looped one). It never counted ok (see `run_includes`).
    pub(super) fn include_failed(&mut self, host: &str, file: Option<&str>, reason: &str, show: bool) {
        let mut result = Map::new();
        result.insert("changed".into(), Value::Bool(false));
        if let Some(f) = file {
            result.insert("include".into(), Value::String(f.to_string()));
        }
        result.insert("reason".into(), Value::String(reason.to_string()));
        self.fail_with(host, result, show);
    }

    fn fail_with(&mut self, host: &str, result: Map, show: bool) {
        let r = crate::report::HostResult {
            host: host.to_string(),
            delegate: None,
            status: Status::Failed,
            item: None,
            result,
            diff: None,
            ignored: false,
            show: false,
            origin: None,
        };
        match show {
            true => self.reporter.result(&r, true),
            false => self.reporter.count_only(&r),
        }
        if let Some(s) = self.states.get_mut(host) {
            s.failed = true;
        }
    }

    /// Does anything under these items run with the current selection?
    fn any_selected(&self, ctx: &PlayCtx<'_>, items: &[Item], frame: &Frame) -> bool {
        items.iter().any(|item| match item {
            Item::Task(t) => self.selected(ctx, t, frame),
            Item::Block(b) => {
                let f = frame.enter(&b.attrs, b.role.as_ref());
                self.any_selected(ctx, &b.block, &f)
                    || self.any_selected(ctx, &b.rescue, &f)
                    || self.any_selected(ctx, &b.always, &f)
            }
        })
    }

    fn selected(&self, ctx: &PlayCtx<'_>, task: &Task, frame: &Frame) -> bool {
        if frame.dynamic || ctx.plan.node(task.id).is_none() {
            let tags: BTreeSet<String> = frame.tags.iter().chain(task.attrs.tags.iter()).cloned().collect();
            return ctx.filter.selects(&tags);
        }
        ctx.plan.is_selected(task.id)
    }

    pub(super) async fn run_items(&mut self, ctx: &mut PlayCtx<'_>, items: &[Item], frame: &Frame, hosts: &[String]) {
        for (i, item) in items.iter().enumerate() {
            if self.play_over() || crate::interrupt::stopping() || self.active(hosts).is_empty() {
                return;
            }
            match item {
                Item::Task(task) => {
                    if self.selected(ctx, task, frame) {
                        let reads = crate::modules::find(&task.action).is_some_and(|m| m.reads_ahead());
                        let ahead = match reads {
                            true => next_tasks(&items[i + 1..], |t| self.selected(ctx, t, frame)),
                            false => Vec::new(),
                        };
                        let title = if frame.handler { "RUNNING HANDLER" } else { "TASK" };
                        self.run_task(ctx, task, frame, hosts, title, &ahead).await;
                    }
                }
                // A role already applied in this play with the same parameters runs once.
                Item::Block(block) if block.duplicate_role => {}
                Item::Block(block) => {
                    let f = frame.enter(&block.attrs, block.role.as_ref());
                    if self.any_selected(ctx, std::slice::from_ref(item), frame) {
                        Box::pin(self.run_block(ctx, block, &f, hosts)).await;
                    }
                }
            }
        }
    }

    async fn run_block(&mut self, ctx: &mut PlayCtx<'_>, block: &Block, frame: &Frame, hosts: &[String]) {
        let entered = self.active(hosts);
        Box::pin(self.run_items(ctx, &block.block, frame, &entered)).await;
        let failed: Vec<String> =
            entered.iter().filter(|h| self.states.get(*h).map(|s| s.failed).unwrap_or(false)).cloned().collect();
        if !block.rescue.is_empty() && !failed.is_empty() && !self.play_over() {
            for h in &failed {
                if let Some(s) = self.states.get_mut(h) {
                    s.failed = false;
                    // As Ansible: the rescue sees what failed, as host facts that stay set.
                    if let Some((task, result)) = s.last_failure.take() {
                        s.set_fact("ansible_failed_task", task);
                        s.set_fact("ansible_failed_result", result);
                        // The failure counts as `rescued` once the rescue starts, whatever it
                        // does (a host failed by `any_errors_fatal` had no failure to count).
                        self.reporter.rescued(h);
                    }
                }
            }
            Box::pin(self.run_items(ctx, &block.rescue, frame, &failed)).await;
        }
        if !block.always.is_empty() {
            let was_failed: HashMap<String, bool> =
                entered.iter().map(|h| (h.clone(), self.states.get(h).map(|s| s.failed).unwrap_or(false))).collect();
            for h in &entered {
                if let Some(s) = self.states.get_mut(h) {
                    s.failed = false;
                }
            }
            let cleared = self.errors_cleared;
            Box::pin(self.run_items(ctx, &block.always, frame, &entered)).await;
            for (h, was) in was_failed {
                let was = was && self.errors_cleared == cleared;
                if let Some(s) = self.states.get_mut(&h) {
                    s.failed = s.failed || was;
                }
            }
        }
    }

    /// Run one task on every active host of `hosts`, then apply the results.
    pub(super) async fn run_task(
        &mut self,
        ctx: &mut PlayCtx<'_>,
        task: &Task,
        frame: &Frame,
        hosts: &[String],
        title: &str,
        ahead: &[&Task],
    ) {
        let mut targets = self.active(hosts);
        // After a first Ctrl-C no new task starts (handlers and rescues included).
        if targets.is_empty() || crate::interrupt::stopping() {
            return;
        }
        let world = self.world(ctx);
        let display = self.display_name(task, frame, &world, &targets[0]);
        if task.kind == ActionKind::Meta {
            Box::pin(self.run_meta(ctx, task, frame, &world, &targets, (title, &display))).await;
            return;
        }
        // Like Ansible's linear strategy, `run_once` is templated for the first host.
        let run_once = match task_scope(&world, task, frame, &targets[0]) {
            Some(scope) if frame.has_flag(task, BoolKey::RunOnce) => frame.flag(task, BoolKey::RunOnce, &scope, false),
            _ => Ok(false),
        };
        let run_once = match run_once {
            Ok(b) => b,
            Err(e) => {
                self.reporter.task(title, &display, targets.len());
                for h in &targets {
                    self.fail_host(h, format!("{} (task at {})", e.message, task.span));
                }
                return;
            }
        };
        // A run_once result stands for every active host of the batch, also those that did
        // not reach this task (an include run once), as Ansible's `get_task_hosts`.
        let all_targets = if run_once {
            let mut all = targets.clone();
            all.extend(self.active(&self.batch).into_iter().filter(|h| !targets.contains(h)));
            all
        } else {
            targets.clone()
        };
        // `pause` and the like run once per batch, on the first host (Ansible's BYPASS_HOST_LOOP).
        let bypass = crate::modules::find(&task.action).is_some_and(|m| m.bypass_host_loop());
        if run_once || bypass {
            targets.truncate(1);
        }
        self.reporter.task(title, &display, targets.len());
        let throttle = frame
            .get(Some(task), |a| a.throttle.clone())
            .and_then(|v| to_text(&v).parse::<usize>().ok())
            .filter(|n| *n > 0)
            .map(|n| n.min(crate::limits::MAX_PERMITS));
        let throttle_sem = throttle.map(|n| Arc::new(tokio::sync::Semaphore::new(n)));
        let outcomes: Vec<HostOutcome> = {
            let this = &*self;
            let futures = targets.iter().map(|host| {
                let world = world.clone();
                let throttle_sem = throttle_sem.clone();
                async move {
                    let _fork = this.forks.acquire().await;
                    let _throttle = match &throttle_sem {
                        Some(s) => Some(s.acquire().await),
                        None => None,
                    };
                    this.run_on_host(task, frame, &world, host, ahead).await
                }
            });
            join_all(futures).await
        };
        // run_once: the one result stands for every host.
        let outcomes = if run_once && !outcomes.is_empty() {
            let first = outcomes[0].clone();
            // Except an include: Ansible includes the file for the first host only.
            all_targets
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let includes = if i == 0 { first.includes.clone() } else { Vec::new() };
                    HostOutcome { host: h.clone(), includes, ..first.clone() }
                })
                .collect()
        } else {
            outcomes
        };
        // A bypassing task that fails stops the whole batch, as in Ansible; only the host it
        // ran on is counted in the recap.
        if bypass && outcomes.iter().any(|o| o.status == Status::Failed && !o.ignored) {
            for h in &all_targets {
                if let Some(s) = self.states.get_mut(h) {
                    s.failed = true;
                }
            }
        }
        self.apply_outcomes(ctx, task, frame, &outcomes).await;
    }

    async fn apply_outcomes(&mut self, ctx: &mut PlayCtx<'_>, task: &Task, frame: &Frame, outcomes: &[HostOutcome]) {
        self.apply_dynamic_inventory(ctx, outcomes);
        let mut includes: Vec<(String, Map, Map)> = Vec::new();
        let mut any_fatal = false;
        // A task's own `notify`, or its innermost block's or import's.
        let notify = frame.get(Some(task), |a| (!a.notify.is_empty()).then(|| a.notify.clone())).unwrap_or_default();
        // Templated names (`notify: "{{ handler_list }}"`) are rendered per host that changed.
        let mut rendered: HashMap<String, Vec<String>> = HashMap::new();
        if notify.iter().any(|n| crate::template::is_template(n)) {
            let world = self.world(ctx);
            for o in outcomes.iter().filter(|o| o.status == Status::Changed) {
                let Some(scope) = task_scope(&world, task, frame, &o.host) else { continue };
                let mut names = Vec::new();
                for n in &notify {
                    match scope.render_value(&Value::from(n.as_str())) {
                        Ok(Value::Array(items)) => names.extend(items.iter().map(to_text)),
                        Ok(v) => names.push(to_text(&v)),
                        Err(e) => self.reporter.warn(&format!("notify: {} (task at {})", e.message, task.span)),
                    }
                }
                rendered.insert(o.host.clone(), names);
            }
        }
        let notify_of = |host: &str| rendered.get(host).unwrap_or(&notify).clone();
        let mut lists: Vec<Vec<String>> = rendered.values().cloned().collect();
        if lists.is_empty() && outcomes.iter().any(|o| o.status == Status::Changed) {
            lists.push(notify.clone());
        }
        lists.sort();
        lists.dedup();
        for names in &lists {
            if !self.handlers_exist(ctx, names) {
                return;
            }
        }
        for o in outcomes {
            let Some(state) = self.states.get_mut(&o.host) else { continue };
            if let Some(name) = &task.register {
                let value = o.result.registered(o.status == Status::Failed, o.status == Status::Changed);
                state.set_fact(name, value);
            }
            let options = &self.options;
            let cached = match &o.facts_for {
                None => add_facts(state, &o.host, task, o, options),
                Some(delegate) => match self.states.get_mut(delegate) {
                    Some(other) => add_facts(other, delegate, task, o, options),
                    None => {
                        self.reporter.warn(&format!(
                            "delegate_facts: '{delegate}' is not in the inventory; its facts are dropped (task at {})",
                            task.span
                        ));
                        Ok(())
                    }
                },
            };
            if let Err(e) = cached {
                self.reporter.warn(&e.to_string());
            }
            let Some(state) = self.states.get_mut(&o.host) else { continue };
            match o.status {
                Status::Failed if !o.ignored => {
                    state.failed = true;
                    // Its name is templated when read, in the rescue's scope.
                    let name = task.name.clone().unwrap_or_default();
                    let failed_task = serde_json::json!({"name": name, "action": task.action});
                    state.last_failure = Some((failed_task, serde_json::Value::Object(o.result.to_map())));
                    any_fatal |= o.errors_fatal;
                }
                Status::Unreachable if !o.ignore_unreachable => state.unreachable = true,
                Status::Changed => {
                    for n in &notify_of(&o.host) {
                        if !state.notified.contains(n) {
                            state.notified.push(n.clone());
                        }
                    }
                }
                _ => {}
            }
            for (args, vars) in &o.includes {
                includes.push((o.host.clone(), args.clone(), vars.clone()));
            }
        }
        if any_fatal {
            self.fail_the_others();
        }
        if let Some(pct) = ctx.play.max_fail_percentage {
            let batch: Vec<&HostOutcome> = outcomes.iter().collect();
            let failed = batch.iter().filter(|o| o.status == Status::Failed && !o.ignored).count();
            if !batch.is_empty() && (failed as f64) * 100.0 / (batch.len() as f64) > pct {
                self.reporter.line(&format!("NO MORE HOSTS LEFT (max_fail_percentage {pct}% exceeded)"));
                self.end_the_play();
                return;
            }
        }
        if !includes.is_empty() {
            Box::pin(self.run_includes(ctx, task, frame, includes)).await;
        }
    }

    fn display_name(&self, task: &Task, frame: &Frame, world: &World, host: &str) -> String {
        let name = task_name(task);
        if !crate::template::is_template(&name) {
            return name;
        }
        match world.task_scope(host, frame.role_of(task).map(|r| r.as_ref()), &frame.block_vars, &frame.extra) {
            Some(scope) => Arc::new(scope).render_text(&name).unwrap_or(name),
            None => name,
        }
    }
}

/// A task's facts (`set_fact`, `setup`) and `include_vars` on the host that gets them
/// (`host`). Gathered facts and `cacheable` ones are facts proper; a cacheable `set_fact`
/// keeps its own precedence too, as in Ansible.
fn add_facts(
    state: &mut HostState,
    host: &str,
    task: &Task,
    o: &HostOutcome,
    options: &Options,
) -> Result<(), CacheError> {
    let mut cached = Ok(());
    if let Some(f) = &o.facts {
        let setup = task.kind == ActionKind::Setup;
        if setup || o.cacheable {
            state.add_facts(f, options.inject_facts);
        }
        // Every module's facts are cached (`service_facts`, `getent`...), `set_fact`'s only
        // when cacheable, as in Ansible.
        if o.cacheable || crate::playbook::canonical_action(&task.action) != "set_fact" {
            cached = options.fact_cache.update(host, f);
        }
        if !setup {
            for (k, v) in f {
                state.set_fact(k, v.clone());
            }
        }
    }
    if let Some(v) = &o.include_vars {
        let m = Arc::make_mut(&mut state.include_vars);
        m.extend(v.clone());
    }
    cached
}

/// Where a `vars_files` name is found (Ansible's `path_dwim_relative_stack` for a play):
/// absolute as is; else `BASE/vars/NAME` (unless NAME starts with `vars/`), then `BASE/NAME`.
fn vars_file_path(base: &Path, name: &str) -> Option<std::path::PathBuf> {
    let name = name.trim();
    let p = Path::new(name);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    let in_vars = (name.split('/').next() != Some("vars")).then(|| base.join("vars").join(name));
    in_vars.into_iter().chain([base.join(name)]).find(|c| c.exists())
}

/// One vars file: a mapping, a list of mappings (merged in order) or empty.
fn load_vars_file(path: &Path) -> Result<Map, String> {
    let node = crate::yaml::load_file(path).map_err(|e| format!("{} ({})", e.message, e.span))?;
    if let Some(m) = node.vars() {
        return Ok(m);
    }
    let bad = || format!("{}: a vars file must hold a mapping or a list of mappings", node.span);
    match node.to_value() {
        Value::Array(items) => items.into_iter().try_fold(Map::new(), |mut all, item| match item {
            Value::Object(m) => {
                all.extend(m);
                Ok(all)
            }
            _ => Err(bad()),
        }),
        _ => Err(bad()),
    }
}
