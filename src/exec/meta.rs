//! `meta:` actions, which act on the run rather than on a host, and handlers.

use std::sync::Arc;

use crate::playbook::{Item, Task};
use crate::value::to_text;

use super::frame::Frame;
use super::walk::PlayCtx;
use super::world::World;
use super::Runner;

impl Runner {
    /// `meta:` actions act on the run, not on a host.
    pub(super) async fn run_meta(
        &mut self,
        ctx: &mut PlayCtx<'_>,
        task: &Task,
        frame: &Frame,
        world: &World,
        hosts: &[String],
        _display: &str,
    ) {
        let action = task.args.get("_raw_params").map(to_text).unwrap_or_default();
        let conditional = !frame.conditions(task).is_empty();
        let mut applies = Vec::new();
        for h in hosts {
            let ok = match world.task_scope(h, frame.role_of(task).map(|r| r.as_ref()), &frame.block_vars, &frame.extra)
            {
                Some(scope) => {
                    let scope = Arc::new(scope);
                    frame.conditions(task).iter().all(|c| scope.eval_bool(c).unwrap_or(false))
                }
                None => false,
            };
            if ok {
                applies.push(h.clone());
            }
        }
        match action.trim() {
            "flush_handlers" => {
                let batch: Vec<String> = hosts.to_vec();
                self.flush_handlers(ctx, &batch).await;
            }
            "end_play" if !applies.is_empty() => {
                self.end_play = true;
            }
            "end_host" => {
                for h in &applies {
                    if let Some(s) = self.states.get_mut(h) {
                        s.ended = true;
                    }
                }
            }
            "clear_host_errors" => {
                for s in self.states.values_mut() {
                    s.failed = false;
                    s.unreachable = false;
                }
            }
            "noop" | "refresh_inventory" | "reset_connection" | "clear_facts" | "end_play" | "end_batch" => {
                if action.trim() == "end_batch" && !applies.is_empty() {
                    self.end_play = true;
                }
            }
            other => {
                self.reporter.warn(&format!("meta: unknown action '{other}' ignored (task at {})", task.span));
            }
        }
        let _ = conditional;
    }

    /// Run notified handlers, in the order they are defined, on the hosts that notified them.
    pub(super) async fn flush_handlers(&mut self, ctx: &mut PlayCtx<'_>, hosts: &[String]) {
        for _round in 0..5 {
            let pending: bool =
                hosts.iter().any(|h| self.states.get(h).map(|s| !s.notified.is_empty()).unwrap_or(false));
            if !pending {
                return;
            }
            let handlers = handler_tasks(&ctx.handlers, &ctx.root);
            for (task, frame) in handlers {
                let names = handler_names(&task);
                let targets: Vec<String> = self
                    .active(hosts)
                    .into_iter()
                    .filter(|h| {
                        self.states.get(h).map(|s| s.notified.iter().any(|n| names.contains(n))).unwrap_or(false)
                    })
                    .collect();
                if targets.is_empty() {
                    continue;
                }
                for h in &targets {
                    if let Some(s) = self.states.get_mut(h) {
                        s.notified.retain(|n| !names.contains(n));
                    }
                }
                self.run_task(ctx, &task, &frame, &targets, "RUNNING HANDLER", &[]).await;
            }
        }
    }
}

/// Handler tasks with the frame they run in (handlers may sit in blocks).
fn handler_tasks(items: &[Item], root: &Frame) -> Vec<(Task, Frame)> {
    let mut out = Vec::new();
    fn walk(items: &[Item], frame: &Frame, out: &mut Vec<(Task, Frame)>) {
        for item in items {
            match item {
                Item::Task(t) => out.push(((**t).clone(), frame.clone())),
                Item::Block(b) => walk(&b.block, &frame.enter(&b.attrs, b.role.as_ref()), out),
            }
        }
    }
    walk(items, root, &mut out);
    out
}

/// The names a handler answers to: its name, `role : name`, and its `listen` topics.
fn handler_names(task: &Task) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(n) = &task.name {
        names.push(n.clone());
        if let Some(r) = &task.role {
            names.push(format!("{} : {}", r.name, n));
        }
    }
    names.extend(task.listen.iter().cloned());
    names
}
