//! What a task did on a host (`HostOutcome`), per loop item (`ItemOutcome`), the outcomes the
//! engine builds itself (failures, skips, unreachable), and how they are reported.

use crate::connection::ConnectionError;
use crate::modules::{Diff, ModuleError};
use crate::playbook::{ActionKind, Task};
use crate::report::{HostResult, Status};
use crate::template::TemplateError;
use crate::value::Map;

use super::host::TaskCall;
use super::result::TaskResult;
use super::Runner;

/// What one task did on one host.
#[derive(Debug, Clone)]
pub struct HostOutcome {
    pub host: String,
    pub status: Status,
    pub ignored: bool,
    /// What the task returned (`register` stores its dict); its `diff` is reported beside it.
    pub result: TaskResult,
    pub facts: Option<Map>,
    /// `set_fact: cacheable=true` (see `Query::cacheable`).
    pub cacheable: bool,
    pub include_vars: Option<Map>,
    /// `delegate_facts`: the delegate that gets `facts` and `include_vars` instead of the host.
    pub facts_for: Option<String>,
    /// `include_tasks`/`include_role`: what to include, with its loop item vars.
    pub includes: Vec<(Map, Map)>,
    /// `ignore_unreachable` resolved for this host (only when it was unreachable).
    pub ignore_unreachable: bool,
    /// `any_errors_fatal` resolved for this host (only when it failed).
    pub errors_fatal: bool,
    /// A failed `no_log` task: the values its reason is shown without (report::masked).
    pub secrets: Vec<String>,
}

impl HostOutcome {
    pub fn new(host: &str, status: Status, result: TaskResult) -> HostOutcome {
        HostOutcome {
            host: host.to_string(),
            status,
            ignored: false,
            result,
            facts: None,
            cacheable: false,
            include_vars: None,
            facts_for: None,
            includes: Vec::new(),
            ignore_unreachable: false,
            errors_fatal: false,
            secrets: Vec::new(),
        }
    }
    pub fn changed(&self) -> bool {
        self.status == Status::Changed
    }
}

/// The result of one module call (one loop item).
pub(super) struct ItemOutcome {
    pub status: Status,
    pub result: TaskResult,
    pub facts: Option<Map>,
    pub cacheable: bool,
    pub include_vars: Option<Map>,
}

/// A loop item or task after its guards: the outcome (skipped when `when` was false), whether
/// a failure is ignored, whether its output is hidden.
pub(super) struct Guarded {
    pub out: ItemOutcome,
    pub ignore: bool,
    pub no_log: bool,
    /// `no_log` and failed: what to mask in the reason it shows.
    pub secrets: Vec<String>,
}

impl ItemOutcome {
    /// An outcome with nothing besides its status and result.
    pub fn new(status: Status, result: TaskResult) -> ItemOutcome {
        ItemOutcome { status, result, facts: None, cacheable: false, include_vars: None }
    }
}

pub(super) fn failure(msg: impl Into<String>) -> ItemOutcome {
    ItemOutcome::new(Status::Failed, TaskResult::failed(msg.into()))
}

/// The host could not be reached (connecting, or the connection dropped during the task).
pub(super) fn unreachable(reason: impl Into<String>) -> ItemOutcome {
    ItemOutcome::new(Status::Unreachable, TaskResult::unreachable(reason.into()))
}

pub(super) fn template_failure(task: &Task, e: &TemplateError) -> ItemOutcome {
    failure(format!("{} (task at {})", e.message, task.span))
}

/// A task or item skipped by `when`.
pub(super) fn when_skipped(condition: &str) -> ItemOutcome {
    ItemOutcome::new(Status::Skipped, TaskResult::when_skipped(condition))
}

pub(super) fn module_failure(e: ModuleError) -> ItemOutcome {
    match e {
        ModuleError::Failed { msg, result } => ItemOutcome::new(Status::Failed, TaskResult::module_failed(result, msg)),
        ModuleError::Connection(ConnectionError::Unreachable { reason }) => unreachable(reason),
        other => failure(other.to_string()),
    }
}

impl Runner {
    pub(super) fn finish(&self, host: &str, item: ItemOutcome) -> HostOutcome {
        let mut o = HostOutcome::new(host, item.status, item.result);
        o.facts = item.facts;
        o.cacheable = item.cacheable;
        o.include_vars = item.include_vars;
        o
    }

    /// Print one line for a host or item; `count` puts it in the recap.
    pub(super) fn report(
        &self,
        call: &TaskCall<'_>,
        o: &HostOutcome,
        item: Option<String>,
        diff: Option<Diff>,
        no_log: bool,
        count: bool,
    ) {
        let TaskCall { task, frame, host, .. } = call;
        // An include that worked shows as `included: ... for HOSTS` once its file loads, and
        // counts ok then, once per loaded file (see `run_includes`), as Ansible's callback.
        if task.kind.is_include() && o.status == Status::Ok {
            return;
        }
        // A delegate that is still a template (the task was skipped before rendering it) is not shown.
        let delegate = frame.get(Some(task), |a| a.delegate_to.clone()).filter(|d| !crate::template::is_template(d));
        let mut result = if no_log {
            o.result.censored(o.changed(), o.status == Status::Failed, &o.secrets)
        } else {
            o.result.to_map()
        };
        let debug = task.kind == ActionKind::Debug;
        if debug {
            crate::report::clean_debug(&mut result);
        }
        // An ok debug, or assert unless `quiet`, is printed whole without -v (Ansible's
        // `_ansible_verbose_always`).
        let assert = matches!(task.action.as_str(), "assert" | "ansible.builtin.assert" | "ansible.legacy.assert")
            && !task.args.get("quiet").is_some_and(|q| crate::value::to_bool(q) == Some(true));
        // An action plugin that re-exports debug is printed whole too, though not cleaned as debug.
        let alias = || crate::bridge::action_alias_of(&task.action) == Some("debug");
        let show = (debug || assert || alias()) && !no_log && matches!(o.status, Status::Ok | Status::Changed);
        // Ansible hides the item label too: it often is the secret.
        let item = if no_log { item.map(|_| "(censored due to no_log)".to_string()) } else { item };
        // A loop's summary of its failed items has no block of its own (its items had).
        // Not for a `no_log` task: Ansible's block would show its message and source lines,
        // which may hold the secrets (troupe keeps them out of the output).
        let origin = (o.status == Status::Failed && !no_log && !result.contains_key("results"))
            .then(|| failure_origin(task, &result));
        let r = HostResult {
            host: host.to_string(),
            delegate,
            status: o.status,
            item,
            result,
            diff: if no_log { None } else { diff },
            ignored: o.ignored,
            show,
            origin,
        };
        self.reporter.result(&r, count);
    }

    pub(super) fn count(&self, host: &str, o: &HostOutcome) {
        let summary = HostResult {
            host: host.to_string(),
            delegate: None,
            status: o.status,
            item: None,
            result: Map::new(),
            diff: None,
            ignored: o.ignored,
            show: false,
            origin: None,
        };
        self.reporter.count_only(&summary);
    }
}

/// Actions Ansible runs on the controller: their failures read "Action failed", the others'
/// "Module failed".
const CONTROLLER_ACTIONS: &[&str] = &[
    "fail",
    "assert",
    "debug",
    "set_fact",
    "set_stats",
    "include_vars",
    "group_by",
    "add_host",
    "pause",
    "wait_for_connection",
    "validate_argument_spec",
    "include_tasks",
    "include_role",
    "import_tasks",
    "import_role",
];

/// ansible-core 2.19's error block before a failed result: what failed, and where the task is,
/// with the two lines before it and a caret under its column.
fn failure_origin(task: &crate::playbook::Task, result: &Map) -> String {
    let controller = CONTROLLER_ACTIONS.contains(&crate::playbook::canonical_action(&task.action))
        || crate::bridge::is_python_plugin(&task.action);
    let kind = if controller { "Action" } else { "Module" };
    let msg = result.get("msg").map(crate::value::to_text).unwrap_or_default();
    // An error the action raised reads as is (its message already says "Task failed").
    let mut text = match msg.starts_with("Task failed: ") {
        true => format!("[ERROR]: {msg}\n"),
        false => format!("[ERROR]: Task failed: {kind} failed: {msg}\n"),
    };
    let span = &task.span;
    if span.line == 0 {
        return text;
    }
    let path = std::fs::canonicalize(&*span.file).unwrap_or_else(|_| span.file.to_path_buf());
    text.push_str(&format!("Origin: {}:{}:{}\n\n", path.display(), span.line, span.col));
    let Ok(source) = std::fs::read_to_string(&path) else { return text };
    let lines: Vec<&str> = source.lines().collect();
    let first = span.line.saturating_sub(2).max(1);
    let width = span.line.to_string().len();
    for n in first..=span.line.min(lines.len()) {
        text.push_str(&format!("{n:<width$} {}\n", lines[n - 1]));
    }
    text.push_str(&format!("{}^ column {}\n\n", " ".repeat(width + span.col), span.col));
    text
}
