//! Which tasks come next on a host, and what facts they will read: the executor's half of
//! `modules::prefetch`.

use crate::connection::Become;
use crate::facts::ahead::{Lookahead, MAX_AHEAD};
use crate::facts::batch::Want;
use crate::playbook::{Item, Task};

use super::frame::Frame;
use super::resolve::{render_args, task_scope};
use super::world::World;
use super::Runner;

/// The tasks after the current one that may read ahead, and the world to render them in.
pub struct Next<'a> {
    pub world: &'a World,
    pub tasks: &'a [&'a Task],
}

/// How far the scan looks past the current task (controller-only tasks included).
const MAX_SCAN: usize = 64;

/// The next tasks of one list whose facts can be read now. The scan stops at anything that
/// may change a host (a task of another module, a block, an include, `meta`), since what it
/// reads after that would be stale anyway; controller-only tasks are passed over. Lookups in
/// a task are refused while it is rendered early (`template::reading_ahead`).
pub fn next_tasks(items: &[Item], selected: impl Fn(&Task) -> bool) -> Vec<&Task> {
    let mut out = Vec::new();
    for item in items.iter().take(MAX_SCAN) {
        let Item::Task(task) = item else { break };
        if !selected(task) {
            continue;
        }
        let Some(module) = crate::modules::find(&task.action) else { break };
        if module.controller_only() && !module.bypass_host_loop() {
            continue;
        }
        let plain = task.loop_.is_none() && task.attrs.delegate_to.is_none();
        if !module.reads_ahead() || !plain {
            break;
        }
        out.push(task.as_ref());
        if out.len() >= MAX_AHEAD {
            break;
        }
    }
    out
}

/// The next tasks' wants for one host, rendered on a cache miss.
pub struct Ahead<'a> {
    pub runner: &'a Runner,
    pub next: &'a Next<'a>,
    pub frame: &'a Frame,
    pub host: &'a str,
    /// The current task's become and environment: a read-ahead runs with them.
    pub escalate: Option<Become>,
    pub env: Vec<(String, String)>,
}

impl Lookahead for Ahead<'_> {
    fn wants(&self) -> Vec<(usize, Want)> {
        crate::template::reading_ahead(|| self.render())
    }
}

impl Ahead<'_> {
    fn render(&self) -> Vec<(usize, Want)> {
        let mut out = Vec::new();
        for task in self.next.tasks {
            let Some(module) = crate::modules::find(&task.action) else { continue };
            let Some(scope) = task_scope(self.next.world, task, self.frame, self.host) else { continue };
            // Any error here is the task's own business when it runs: skip it now.
            if !matches!(self.runner.false_condition(task, self.frame, &scope), Ok(None)) {
                continue;
            }
            let same_user = matches!(self.runner.escalation(task, self.frame, &scope), Ok(b) if b == self.escalate);
            let same_env = matches!(self.runner.environment(task, self.frame, &scope), Ok(e) if e == self.env);
            if !same_user || !same_env {
                continue;
            }
            if let Ok(args) = render_args(module, task, self.frame, &scope) {
                out.extend(module.facts_wants(&args).unwrap_or_default().into_iter().map(|w| (task.id, w)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{to_text, Value};
    use std::sync::Arc;

    fn task(action: &str, args: serde_json::Value) -> Item {
        let args = match args {
            Value::Object(m) => m,
            _ => Default::default(),
        };
        Item::Task(Arc::new(Task { args, ..Task::with_action(action) }))
    }

    fn actions(items: &[Item], selected: impl Fn(&Task) -> bool) -> Vec<String> {
        next_tasks(items, selected)
            .iter()
            .map(|t| format!("{} {}", t.action, to_text(&Value::Object(t.args.clone()))))
            .collect()
    }

    #[test]
    fn scan_passes_controller_tasks_and_stops_where_a_host_may_change() {
        let items = vec![
            task("copy", serde_json::json!({"dest": "/a"})),
            task("debug", serde_json::json!({"msg": "x"})),
            task("stat", serde_json::json!({"path": "/b"})),
            task("command", serde_json::json!({"cmd": "touch /c"})),
            task("file", serde_json::json!({"path": "/c"})),
        ];
        assert_eq!(actions(&items, |_| true), [r#"copy {"dest":"/a"}"#, r#"stat {"path":"/b"}"#]);
        // A task the tags leave out is passed over.
        assert_eq!(actions(&items, |t| t.action != "copy"), [r#"stat {"path":"/b"}"#]);
    }

    #[test]
    fn loops_and_blocks_end_the_scan() {
        let mut looped = Task::with_action("file");
        looped.loop_ = Some(serde_json::json!([1, 2]));
        let items = vec![task("file", serde_json::json!({"path": "/a"})), Item::Task(Arc::new(looped))];
        assert_eq!(next_tasks(&items, |_| true).len(), 1);
        let block = Item::Block(Arc::new(Default::default()));
        assert!(next_tasks(&[block, task("file", serde_json::json!({"path": "/a"}))], |_| true).is_empty());
    }
}
