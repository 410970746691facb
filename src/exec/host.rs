//! One task on one host: its scope, the guards (`no_log`, `when`, `ignore_errors`) around the
//! module call, and the keywords resolved after it. Loops are in `loops.rs`, the module call
//! in `call.rs`, per-host resolution in `resolve.rs`, outcomes in `outcome.rs`.

use std::sync::Arc;

use crate::playbook::Task;
use crate::report::{masked, Status};
use crate::value::Value;
use crate::vars::Scope;

use super::ahead::Next;
use super::flags::BoolKey;
use super::frame::Frame;
use super::outcome::{template_failure, when_skipped, Guarded, HostOutcome};
use super::resolve::task_scope;
use super::result::TaskResult;
use super::world::World;
use super::Runner;

/// What one task call on one host needs: the task, what it inherits from its blocks and play,
/// the host, the variables it sees there (a loop item's included) and the tasks after it that
/// may be read ahead.
pub(super) struct TaskCall<'a> {
    pub task: &'a Task,
    pub frame: &'a Frame,
    pub host: &'a str,
    pub scope: Arc<Scope>,
    pub next: &'a Next<'a>,
}

impl<'a> TaskCall<'a> {
    /// The same call for one loop item, whose variables are in `scope`.
    pub fn with_scope(&self, scope: Arc<Scope>) -> TaskCall<'a> {
        TaskCall { scope, ..*self }
    }
}

impl Runner {
    /// Run `task` on `host` against the world snapshot.
    pub(super) async fn run_on_host(
        &self,
        task: &Task,
        frame: &Frame,
        world: &World,
        host: &str,
        ahead: &[&Task],
    ) -> HostOutcome {
        let Some(scope) = task_scope(world, task, frame, host) else {
            return HostOutcome::new(host, Status::Skipped, TaskResult::skipped("host not in play"));
        };
        let _running = self.reporter.running(host);
        let next = Next { world, tasks: ahead };
        let call = TaskCall { task, frame, host, scope, next: &next };
        let mut o = self.run_in_scope(&call).await;
        let scope = &call.scope;
        // Keywords the walker applies after the task, resolved only when they matter.
        if o.status == Status::Unreachable {
            o.ignore_unreachable = self.flag_or_warn(task, frame, BoolKey::IgnoreUnreachable, scope, false);
        }
        if (o.facts.is_some() || o.include_vars.is_some()) && frame.has_flag(task, BoolKey::DelegateFacts) {
            o.facts_for = self.facts_delegate(task, frame, scope);
        }
        if o.status == Status::Failed && !o.ignored {
            // Stopping the play is the safe reading of an `any_errors_fatal` that can't be evaluated.
            o.errors_fatal = self.flag_or_warn(task, frame, BoolKey::AnyErrorsFatal, scope, true);
        }
        o
    }

    /// The delegate that gets the task's facts when `delegate_facts` is on (as in Ansible; the
    /// registered result stays with the host).
    fn facts_delegate(&self, task: &Task, frame: &Frame, scope: &Arc<Scope>) -> Option<String> {
        if !self.flag_or_warn(task, frame, BoolKey::DelegateFacts, scope, false) {
            return None;
        }
        let delegate = frame.get(Some(task), |a| a.delegate_to.clone())?;
        match scope.render_text(&delegate) {
            Ok(name) => Some(name),
            Err(e) => {
                self.reporter
                    .warn(&format!("delegate_facts: {} (task at {}); facts stay with the host", e.message, task.span));
                None
            }
        }
    }

    /// `no_log`, `when`, `ignore_errors`, then the module call (with retries), for one loop item
    /// or the whole task. A keyword that can't be evaluated fails it without running the module.
    pub(super) async fn guarded_item(&self, call: &TaskCall<'_>) -> Guarded {
        let TaskCall { task, frame, scope, .. } = call;
        let (no_log, no_log_error) = self.no_log(task, frame, scope);
        let when = self.false_condition(task, frame, scope);
        let ignore = frame.flag(task, BoolKey::IgnoreErrors, scope, false);
        let mut out = match (&when, &ignore, &no_log_error) {
            (Ok(Some(condition)), ..) => when_skipped(condition),
            (Err(e), ..) | (Ok(None), Err(e), _) | (Ok(None), Ok(_), Some(e)) => template_failure(task, e),
            (Ok(None), Ok(_), None) => self.run_item(call).await,
        };
        out.result.normalize_failure(out.status == Status::Failed);
        let secrets = if no_log && out.status == Status::Failed { no_log_secrets(task, scope) } else { Vec::new() };
        Guarded { out, ignore: ignore.unwrap_or(false), no_log, secrets }
    }
}

/// What a failed `no_log` task was given, rendered again: the variables its arguments use, its
/// loop item, and its `stdin` and `content`. Its reason is shown without them.
fn no_log_secrets(task: &Task, scope: &Arc<Scope>) -> Vec<String> {
    let raw = Value::Object(task.args.clone());
    let data = ["stdin", "content"].iter().filter_map(|k| task.args.get(*k));
    let mut given: Vec<Value> = data.filter_map(|v| scope.render_value(v).ok()).collect();
    let mut names = Vec::new();
    masked::texts_of(&raw)
        .iter()
        .filter(|t| crate::template::is_template(t))
        .for_each(|t| names.extend(scope.referenced(t)));
    if task.loop_.is_some() {
        names.push(task.loop_control.loop_var.clone().unwrap_or_else(|| "item".into()));
    }
    names.sort();
    names.dedup();
    given.extend(names.iter().filter_map(|n| scope.get(n).ok().flatten()));
    masked::secrets_of(given.iter())
}
