//! `meta:` actions, which act on the run rather than on a host, and handlers.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::playbook::{Item, Task};
use crate::report::Status;
use crate::value::{to_text, Value};

use super::frame::Frame;
use super::walk::PlayCtx;
use super::world::{HostState, World};
use super::Runner;

impl Runner {
    /// `meta:` actions act on the run, not on a host. As Ansible's linear strategy: the
    /// per-host ones (`end_host`, `noop`, `flush_handlers`, ...) run for each host, the others
    /// once, for the first; each prints its `TASK [meta]` banner, `META: ...` with -vv, and a
    /// `skipping` line when its `when` is false (not counted in the recap).
    pub(super) async fn run_meta(
        &mut self,
        ctx: &mut PlayCtx<'_>,
        task: &Task,
        frame: &Frame,
        world: &World,
        hosts: &[String],
        (title, display): (&str, &str),
    ) {
        let raw = task.args.get("_raw_params").map(to_text).unwrap_or_default();
        let action = raw.trim().to_string();
        let per_host =
            matches!(action.as_str(), "noop" | "reset_connection" | "end_host" | "flush_handlers" | "end_role");
        let runs_on: Vec<String> = if per_host { hosts.to_vec() } else { hosts.iter().take(1).cloned().collect() };
        let mut flush = false;
        if action == "flush_handlers" && title == "RUNNING HANDLER" {
            self.reporter.task(title, display, 1);
            self.reporter.error("[ERROR]: flush_handlers cannot be used as a handler\n");
            self.aborted = true;
            self.abort_code = crate::error::exit::ERROR;
            self.end_the_play();
            return;
        }
        for h in &runs_on {
            self.reporter.task(title, display, 1);
            let applies =
                match world.task_scope(h, frame.role_of(task).map(|r| r.as_ref()), &frame.block_vars, &frame.extra) {
                    Some(scope) => {
                        let scope = Arc::new(scope);
                        frame.conditions(task).iter().all(|c| scope.eval_bool(c).unwrap_or(false))
                    }
                    None => false,
                };
            let (msg, unless) = match action.as_str() {
                "noop" => ("noop".to_string(), String::new()),
                "flush_handlers" => {
                    (format!("triggered running handlers for {h}"), format!(", not running handlers for {h}"))
                }
                "refresh_inventory" => ("inventory successfully refreshed".into(), String::new()),
                "clear_facts" => ("facts cleared".into(), format!(", not clearing facts and fact cache for {h}")),
                "clear_host_errors" => {
                    ("cleared host errors".into(), format!(", not clearing host error state for {h}"))
                }
                "end_batch" => ("ending batch".into(), ", continuing current batch".into()),
                "end_play" => ("ending play".into(), ", continuing play".into()),
                "end_host" => (format!("ending play for {h}"), format!(", continuing execution for {h}")),
                "reset_connection" => ("reset connection".into(), String::new()),
                other => {
                    let d =
                        crate::error::Diagnostic::new(format!("meta: '{other}' is not supported yet")).at(&task.span);
                    self.reporter.error(&d.render());
                    self.fail_host(h, format!("invalid meta action requested: {other} (task at {})", task.span));
                    continue;
                }
            };
            if !applies {
                let reason = format!("{action} conditional evaluated to False{unless}");
                if self.reporter.verbosity() > 1 {
                    self.reporter.line(&format!("META: {reason}"));
                }
                let msg = match action.as_str() {
                    "end_host" => format!("end_host conditional evaluated to false, continuing execution for {h}"),
                    _ => action.clone(),
                };
                let mut result = crate::value::Map::new();
                result.insert("msg".into(), Value::from(msg));
                result.insert("skip_reason".into(), Value::from(reason));
                let r = crate::report::HostResult {
                    host: h.clone(),
                    delegate: None,
                    status: Status::Skipped,
                    item: None,
                    result,
                    diff: None,
                    ignored: false,
                    show: false,
                    origin: None,
                };
                self.reporter.result(&r, false);
                continue;
            }
            if self.reporter.verbosity() > 1 {
                self.reporter.line(&format!("META: {msg}"));
            }
            match action.as_str() {
                "flush_handlers" => flush = true,
                "end_play" => self.end_the_play(),
                // The batch's hosts are done; the next batch (serial) still runs.
                "end_batch" => {
                    for b in &self.batch {
                        if let Some(s) = self.states.get_mut(b) {
                            s.ended = true;
                        }
                    }
                }
                "end_host" => {
                    if let Some(s) = self.states.get_mut(h) {
                        s.ended = true;
                    }
                }
                // As Ansible: every host of the play is failed or unreachable no more, and a
                // block's `always` that runs this does not restore the failure after it.
                // Every host of the play, those failed in an earlier play included (they
                // then come back in the next play), as Ansible's `get_hosts(play.hosts)`.
                "clear_host_errors" => {
                    let all = match ctx.vars.magic.get("ansible_play_hosts_all") {
                        Some(Value::Array(hs)) => hs.iter().map(to_text).collect(),
                        _ => self.batch.clone(),
                    };
                    for b in &all {
                        if let Some(s) = self.states.get_mut(b) {
                            s.failed = false;
                            s.unreachable = false;
                        }
                    }
                    self.errors_cleared += 1;
                }
                "refresh_inventory" => {
                    if let Err(e) = self.refresh_inventory(ctx) {
                        self.fail_host(h, format!("meta: refresh_inventory: {e} (task at {})", task.span));
                    }
                }
                "clear_facts" => {
                    for b in &self.batch {
                        if let Some(s) = self.states.get_mut(b) {
                            let fresh = super::world::HostState::new(s.inventory.clone());
                            s.facts = fresh.facts;
                            self.options.fact_cache.delete(b);
                        }
                    }
                }
                _ => {}
            }
        }
        if flush {
            let batch: Vec<String> = hosts.to_vec();
            self.flush_handlers(ctx, &batch).await;
        }
    }

    /// Whether the flush ending a section runs. It is Ansible's implicit `meta: flush_handlers`,
    /// tagged `always` under the play's tags, so `--skip-tags` can skip it (`always`, or a tag of
    /// the play). With `ANSIBLE_DEBUG`, Ansible's debug line for each host it comes to.
    pub(super) fn implicit_flush(&self, ctx: &PlayCtx<'_>, hosts: &[String]) -> bool {
        let mut tags = ctx.root.tags.clone();
        tags.insert("always".to_string());
        if !ctx.filter.selects(&tags) {
            return false;
        }
        let force = ctx.play.force_handlers == Some(true);
        for h in hosts {
            let Some(s) = self.states.get(h).filter(|s| eligible(s, force)) else { continue };
            match s.notified.is_empty() && ctx.pending.is_empty() {
                true => self.reporter.debug(&format!("No handler notifications for {h}, skipping.")),
                false => self.reporter.debug(&format!("META: triggered running handlers for {h}")),
            }
        }
        true
    }

    /// Run notified handlers, in the order they are defined, on the hosts that notified them:
    /// one pass, as Ansible's flush. Every handler answering a name or `listen` topic runs; a
    /// handler notified by an earlier one runs in the same pass, one notified by a later one
    /// (or by itself) at the next flush. With `force_handlers`, hosts that failed run theirs
    /// too (and stay failed).
    pub(super) async fn flush_handlers(&mut self, ctx: &mut PlayCtx<'_>, hosts: &[String]) {
        let force = ctx.play.force_handlers == Some(true);
        let eligible = |s: &HostState| eligible(s, force);
        let handlers = handler_tasks(&ctx.handlers, &ctx.root);
        let names = self.answers(ctx, &handlers);
        // Per host, the indices of the handlers it is waiting for.
        let mut pending = std::mem::take(&mut ctx.pending);
        for (i, (task, frame, _)) in handlers.iter().enumerate() {
            self.take_notified(hosts, &names, &mut pending);
            let targets: Vec<String> = hosts
                .iter()
                .filter(|h| self.states.get(*h).is_some_and(&eligible))
                .filter(|h| pending.get_mut(*h).is_some_and(|p| p.remove(&i)))
                .cloned()
                .collect();
            if targets.is_empty() {
                continue;
            }
            let forced: Vec<String> =
                targets.iter().filter(|h| self.states.get(*h).is_some_and(|s| s.failed)).cloned().collect();
            for h in &forced {
                if let Some(s) = self.states.get_mut(h) {
                    s.failed = false;
                }
            }
            self.run_task(ctx, task, frame, &targets, "RUNNING HANDLER", &[]).await;
            for h in &forced {
                if let Some(s) = self.states.get_mut(h) {
                    s.failed = true;
                }
            }
        }
        self.take_notified(hosts, &names, &mut pending);
        // Hosts no longer eligible (failed, unreachable) drop what they were waiting for.
        pending.retain(|h, p| self.states.get(h).is_some_and(&eligible) && !p.is_empty());
        ctx.pending = pending;
    }

    /// Whether every notified name has a handler. A missing one stops the run, as Ansible's
    /// `ERROR_ON_MISSING_HANDLER` (default on) does; with it off, a warning.
    pub(super) fn handlers_exist(&mut self, ctx: &mut PlayCtx<'_>, notify: &[String]) -> bool {
        if notify.is_empty() {
            return true;
        }
        let all = self.answers(ctx, &handler_tasks(&ctx.handlers, &ctx.root));
        for n in notify {
            if !answering(n, &all).is_empty() {
                continue;
            }
            let msg = format!(
                "The requested handler '{n}' was not found in either the main handlers list nor in the listening handlers list"
            );
            if !crate::template::lookups::bool_setting("ERROR_ON_MISSING_HANDLER") {
                self.reporter.warn(&msg);
                continue;
            }
            self.reporter.error(&format!("[ERROR]: {msg}\n"));
            self.aborted = true;
            self.abort_code = crate::error::exit::ERROR;
            self.end_the_play();
            return false;
        }
        true
    }

    /// What each handler answers to. A templated name is rendered with the play's variables
    /// (as seen from the batch's first host); one that can't be is unusable, with Ansible's
    /// warning (once) when it has no `listen` topics.
    fn answers(&self, ctx: &mut PlayCtx<'_>, handlers: &[(Arc<Task>, Frame, usize)]) -> Vec<Answers> {
        let templated = handlers.iter().any(|(t, _, _)| t.name.as_deref().is_some_and(crate::template::is_template));
        let scope = templated
            .then(|| self.batch.first().and_then(|h| self.world(ctx).task_scope(h, None, &[], &[])))
            .flatten()
            .map(Arc::new);
        handlers
            .iter()
            .map(|(t, _, group)| {
                let mut a = Answers::of(t, t.name.as_deref(), *group);
                if let (Some(name), Some(scope)) = (t.name.as_deref().filter(|n| crate::template::is_template(n)), &scope) {
                    match scope.render_text(name) {
                        Ok(n) => a = Answers::of(t, Some(&n), *group),
                        Err(e) => {
                            if t.listen.is_empty() && ctx.handler_warnings.insert(name.to_string()) {
                                self.reporter.warn(&format!(
                                    "Handler '{name}' is unusable because it has no listen topics and the name could not be \
                                     templated (host-specific variables are not supported in handler names). The error: {}",
                                    e.message
                                ));
                            }
                            a.names.clear();
                        }
                    }
                }
                a
            })
            .collect()
    }

    /// Move each host's notified names to the handlers answering them.
    fn take_notified(&mut self, hosts: &[String], names: &[Answers], pending: &mut HashMap<String, BTreeSet<usize>>) {
        for h in hosts {
            let Some(s) = self.states.get_mut(h) else { continue };
            for n in std::mem::take(&mut s.notified) {
                pending.entry(h.clone()).or_default().extend(answering(&n, names));
            }
        }
    }
}

/// Whether a host runs its notified handlers: an active one, or with `force_handlers` one that
/// failed too (not one unreachable or ended).
fn eligible(s: &HostState, force: bool) -> bool {
    if force {
        !s.unreachable && !s.ended
    } else {
        s.active()
    }
}

/// What a handler answers to: its name (also `role : name`) and its `listen` topics; `group`
/// is the handler block it was loaded in.
struct Answers {
    names: Vec<String>,
    listen: Vec<String>,
    group: usize,
}

impl Answers {
    /// `name`: the handler's name as it reads (rendered when templated).
    fn of(task: &Task, name: Option<&str>, group: usize) -> Answers {
        // A role's handler also answers as `role : name` and `role : topic`, for a collection
        // role both with its FQCN and its short name.
        let roles: Vec<&str> = match &task.role {
            Some(r) => {
                let short = r.name.rsplit('.').next().filter(|_| r.name.split('.').count() == 3);
                std::iter::once(r.name.as_str()).chain(short).collect()
            }
            None => Vec::new(),
        };
        let mut names = Vec::new();
        if let Some(n) = name {
            names.push(n.to_string());
            names.extend(roles.iter().map(|r| format!("{r} : {n}")));
        }
        let mut listen = task.listen.clone();
        for topic in &task.listen {
            listen.extend(roles.iter().map(|r| format!("{r} : {topic}")));
        }
        Answers { names, listen, group }
    }
}

/// The handlers a notification runs, as Ansible's `search_handlers_by_notification`: blocks
/// last-loaded first, in order inside a block; by name only the first match, then every
/// handler listening to it, once per handler name.
fn answering(n: &str, all: &[Answers]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(all[i].group));
    let mut out: Vec<usize> =
        order.iter().copied().find(|&i| all[i].names.iter().any(|x| x == n)).into_iter().collect();
    let mut seen = std::collections::HashSet::new();
    for &i in &order {
        if all[i].listen.iter().any(|x| x == n) {
            let name = all[i].names.first();
            if name.is_some_and(|x| !seen.insert(x.clone())) {
                continue;
            }
            out.push(i);
        }
    }
    out
}

/// Handler tasks with the frame they run in (handlers may sit in blocks) and their group:
/// the play's own handlers are one group, each role's or included block another.
fn handler_tasks(items: &[Item], root: &Frame) -> Vec<(Arc<Task>, Frame, usize)> {
    let mut out = Vec::new();
    fn walk(items: &[Item], frame: &Frame, group: usize, out: &mut Vec<(Arc<Task>, Frame, usize)>) {
        for item in items {
            match item {
                Item::Task(t) => out.push((t.clone(), frame.clone(), group)),
                Item::Block(b) => walk(&b.block, &frame.enter(&b.attrs, b.role.as_ref()), group, out),
            }
        }
    }
    let root = Frame { handler: true, ..root.clone() };
    for (i, item) in items.iter().enumerate() {
        let group = if matches!(item, Item::Task(_)) { 0 } else { i + 1 };
        walk(std::slice::from_ref(item), &root, group, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, listen: &[&str], group: usize) -> Answers {
        Answers { names: vec![name.to_string()], listen: listen.iter().map(|s| s.to_string()).collect(), group }
    }

    #[test]
    fn a_name_runs_its_first_handler_and_every_listener_once() {
        let all = [
            h("topic", &[], 0),
            h("topic", &[], 0),
            h("a", &["topic"], 0),
            h("a", &["topic"], 0),
            h("b", &["topic"], 0),
            h("c", &["other"], 0),
        ];
        assert_eq!(answering("topic", &all), vec![0, 2, 4]);
        // A later-loaded block (a role's handlers) wins a name over the play's own.
        let all = [h("x", &[], 0), h("x", &[], 1)];
        assert_eq!(answering("x", &all), vec![1]);
        assert!(answering("nothing", &all).is_empty());
    }
}
