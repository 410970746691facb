//! One task on one host: loop items, `when`, the module's query then apply, `until`,
//! `changed_when`/`failed_when`, and the registered result.

use std::sync::Arc;
use std::time::Duration;

use crate::connection::{Become, ConnectionError};
use crate::modules::prefetch::{Lookahead, ReadAhead};
use crate::modules::{self, Ctx, Diff, ModuleError, Render};
use crate::playbook::{Conditions, Task};
use crate::report::{masked, HostResult, Status};
use crate::template::TemplateError;
use crate::value::{to_bool, to_text, Map, Value};
use crate::vars::{Level, Scope};

use super::ahead::{Ahead, Next};
use super::conn::CONNECTION_VARS;
use super::flags::BoolKey;
use super::frame::Frame;
use super::world::World;
use super::Runner;

/// The placeholder `omit` renders to; arguments equal to it are dropped.
pub const OMIT: &str = "__omit_place_holder__troupe";

/// What one task did on one host.
#[derive(Debug, Clone)]
pub struct HostOutcome {
    pub host: String,
    pub status: Status,
    pub ignored: bool,
    /// The value `register` stores.
    pub result: Map,
    pub facts: Option<Map>,
    pub include_vars: Option<Map>,
    /// `include_tasks`/`include_role`: what to include, with its loop item vars.
    pub includes: Vec<(Map, Map)>,
    pub diff: Option<Diff>,
    /// `ignore_unreachable` resolved for this host (only when it was unreachable).
    pub ignore_unreachable: bool,
    /// `any_errors_fatal` resolved for this host (only when it failed).
    pub errors_fatal: bool,
    /// A failed `no_log` task: the values its reason is shown without (report::masked).
    pub secrets: Vec<String>,
}

impl HostOutcome {
    pub fn new(host: &str, status: Status, result: Map) -> HostOutcome {
        HostOutcome {
            host: host.to_string(),
            status,
            ignored: false,
            result,
            facts: None,
            include_vars: None,
            includes: Vec::new(),
            diff: None,
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
struct ItemOutcome {
    status: Status,
    result: Map,
    facts: Option<Map>,
    include_vars: Option<Map>,
    diff: Option<Diff>,
}

/// A loop item or task after its guards: the outcome (skipped when `when` was false), whether
/// a failure is ignored, whether its output is hidden.
struct Guarded {
    out: ItemOutcome,
    ignore: bool,
    no_log: bool,
    /// `no_log` and failed: what to mask in the reason it shows.
    secrets: Vec<String>,
}

fn failure(msg: impl Into<String>) -> ItemOutcome {
    let mut result = Map::new();
    result.insert("failed".into(), Value::Bool(true));
    result.insert("msg".into(), Value::String(msg.into()));
    ItemOutcome { status: Status::Failed, result, facts: None, include_vars: None, diff: None }
}

fn template_failure(task: &Task, e: &TemplateError) -> ItemOutcome {
    failure(format!("{} (task at {})", e.message, task.span))
}

/// Ansible's `skipped` result.
fn skipped(reason: &str) -> Map {
    let mut m = Map::new();
    m.insert("changed".into(), Value::Bool(false));
    m.insert("skipped".into(), Value::Bool(true));
    m.insert("skip_reason".into(), Value::from(reason));
    m
}

/// A task or item skipped by `when`: Ansible names the first condition that was false, a
/// literal `when: false` as the boolean. (The loader keeps conditions as text, so a quoted
/// `"False"` shows as the boolean too.)
fn when_skipped(condition: &str) -> ItemOutcome {
    let mut result = skipped("Conditional result was False");
    let shown = match condition {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        text => Value::from(text),
    };
    result.insert("false_condition".into(), shown);
    ItemOutcome { status: Status::Skipped, result, facts: None, include_vars: None, diff: None }
}

struct ScopeRender(Arc<Scope>);

impl Render for ScopeRender {
    fn render(&self, text: &str) -> Result<String, String> {
        self.0.render_text(text).map_err(|e| e.message)
    }
    fn eval(&self, expr: &str) -> Result<Value, String> {
        self.0.eval(expr).map_err(|e| e.message)
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
            return HostOutcome::new(host, Status::Skipped, skipped("host not in play"));
        };
        let _running = self.reporter.running(host);
        let next = Next { world, tasks: ahead };
        let mut o = self.run_in_scope(task, frame, &scope, host, &next).await;
        // Keywords the walker applies after the task, resolved only when they matter.
        if o.status == Status::Unreachable {
            o.ignore_unreachable = self.flag_or_warn(task, frame, BoolKey::IgnoreUnreachable, &scope, false);
        }
        if o.status == Status::Failed && !o.ignored {
            // Stopping the play is the safe reading of an `any_errors_fatal` that can't be evaluated.
            o.errors_fatal = self.flag_or_warn(task, frame, BoolKey::AnyErrorsFatal, &scope, true);
        }
        o
    }

    /// A boolean keyword for this host; an error is reported as a warning and gives `on_error`.
    fn flag_or_warn(&self, task: &Task, frame: &Frame, key: BoolKey, scope: &Arc<Scope>, on_error: bool) -> bool {
        frame.flag(task, key, scope, false).unwrap_or_else(|e| {
            self.reporter.warn(&format!("{} (task at {}); using {on_error}", e.message, task.span));
            on_error
        })
    }

    /// `no_log` fails safe: a value that can't be evaluated hides the output (as in Ansible)
    /// and comes back as the error that fails the task.
    fn no_log(&self, task: &Task, frame: &Frame, scope: &Arc<Scope>) -> (bool, Option<TemplateError>) {
        match frame.flag(task, BoolKey::NoLog, scope, false) {
            Ok(b) => (b, None),
            Err(e) => {
                self.reporter.warn(&format!(
                    "invalid no_log value for task at {}, output will be masked: {}",
                    task.span, e.message
                ));
                (true, Some(e))
            }
        }
    }

    /// `no_log`, `when`, `ignore_errors`, then the module call (with retries), for one loop item
    /// or the whole task. A keyword that can't be evaluated fails it without running the module.
    async fn guarded_item(
        &self,
        task: &Task,
        frame: &Frame,
        scope: &Arc<Scope>,
        host: &str,
        next: &Next<'_>,
    ) -> Guarded {
        let (no_log, no_log_error) = self.no_log(task, frame, scope);
        let when = self.false_condition(task, frame, scope);
        let ignore = frame.flag(task, BoolKey::IgnoreErrors, scope, false);
        let out = match (&when, &ignore, &no_log_error) {
            (Ok(Some(condition)), ..) => when_skipped(condition),
            (Err(e), ..) | (Ok(None), Err(e), _) | (Ok(None), Ok(_), Some(e)) => template_failure(task, e),
            (Ok(None), Ok(_), None) => self.run_item(task, frame, scope, host, next).await,
        };
        let secrets = if no_log && out.status == Status::Failed { no_log_secrets(task, scope) } else { Vec::new() };
        Guarded { out, ignore: ignore.unwrap_or(false), no_log, secrets }
    }

    async fn run_in_scope(
        &self,
        task: &Task,
        frame: &Frame,
        scope: &Arc<Scope>,
        host: &str,
        next: &Next<'_>,
    ) -> HostOutcome {
        let Some(loop_value) = &task.loop_ else {
            let Guarded { out, ignore, no_log, secrets } = self.guarded_item(task, frame, scope, host, next).await;
            let mut o = self.finish(host, out);
            o.secrets = secrets;
            o.ignored = o.status == Status::Failed && ignore;
            let diff = o.diff.take();
            self.report(task, frame, host, &o, None, diff, no_log, true);
            if (task.action == "include_tasks" || task.action == "include_role") && o.status == Status::Ok {
                o.includes.push((o.result.clone(), Map::new()));
            }
            return o;
        };

        // Loops: render the list, then run each item with its loop variable set.
        let items = match self.loop_items(task, loop_value, scope) {
            Ok(items) => items,
            Err(e) => {
                let (no_log, _) = self.no_log(task, frame, scope);
                let mut o = self.finish(host, template_failure(task, &e));
                o.ignored = frame.flag(task, BoolKey::IgnoreErrors, scope, false).unwrap_or(false);
                self.report(task, frame, host, &o, None, None, no_log, true);
                return o;
            }
        };
        let lc = &task.loop_control;
        let loop_var = lc.loop_var.clone().unwrap_or_else(|| "item".into());
        let mut results = Vec::new();
        let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
        // The loop's own line is hidden if any item was; a failure is ignored if every failed item was.
        let (mut any_no_log, mut all_ignored) = (false, true);
        let mut facts: Option<Map> = None;
        let mut include_vars: Option<Map> = None;
        let mut includes = Vec::new();
        let total = items.len();
        if total == 0 {
            // Ansible skips a task whose loop has no items, with its own reason.
            let mut result = Map::new();
            result.insert("changed".into(), Value::Bool(false));
            result.insert("skipped".into(), Value::Bool(true));
            result.insert("skipped_reason".into(), Value::from("No items in the list"));
            result.insert("results".into(), Value::Array(Vec::new()));
            let o = HostOutcome::new(host, Status::Skipped, result);
            let (no_log, _) = self.no_log(task, frame, scope);
            let mut line = o.clone();
            line.result.remove("results");
            self.report(task, frame, host, &line, None, None, no_log, true);
            return o;
        }
        let mut warnings: Vec<Value> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let mut vars = Map::new();
            vars.insert(loop_var.clone(), item.clone());
            vars.insert("ansible_loop_var".into(), Value::from(loop_var.clone()));
            if let Some(iv) = &lc.index_var {
                vars.insert(iv.clone(), Value::from(index));
                vars.insert("ansible_index_var".into(), Value::from(iv.clone()));
            }
            if lc.extended {
                vars.insert("ansible_loop".into(), extended_loop(&items, index));
            }
            let item_scope = Arc::new(scope.child(Level::TaskVars, vars.clone()));
            let label = match &lc.label {
                Some(l) => item_scope.render_text(l).unwrap_or_else(|_| l.clone()),
                None => label_of(item),
            };
            let Guarded { mut out, ignore, no_log, secrets } =
                self.guarded_item(task, frame, &item_scope, host, next).await;
            any_no_log |= no_log;
            if out.status == Status::Failed && !ignore {
                all_ignored = false;
            }
            // The loop variables go into the item's result, as in Ansible.
            for (k, v) in &vars {
                out.result.insert(k.clone(), v.clone());
            }
            let mut item_o = HostOutcome::new(host, out.status, out.result.clone());
            item_o.secrets = secrets;
            self.report(task, frame, host, &item_o, Some(label), out.diff.take(), no_log, false);
            // Ansible moves the items' warnings to the loop's result.
            if let Some(Value::Array(w)) = out.result.remove("warnings") {
                warnings.extend(w);
            }
            match out.status {
                Status::Changed => any_changed = true,
                Status::Failed | Status::Unreachable => any_failed = true,
                _ => {}
            }
            if out.status != Status::Skipped {
                all_skipped = false;
            }
            if let Some(f) = out.facts {
                facts.get_or_insert_with(Map::new).extend(f);
            }
            if let Some(v) = out.include_vars {
                include_vars.get_or_insert_with(Map::new).extend(v);
            }
            if (task.action == "include_tasks" || task.action == "include_role") && out.status == Status::Ok {
                includes.push((out.result.clone(), vars));
            }
            results.push(Value::Object(out.result));
            if let Some(p) = lc.pause {
                tokio::time::sleep(Duration::from_secs_f64(p)).await;
            }
        }
        let status = if any_failed {
            Status::Failed
        } else if any_changed {
            Status::Changed
        } else if all_skipped {
            Status::Skipped
        } else {
            Status::Ok
        };
        let mut result = Map::new();
        result.insert("changed".into(), Value::Bool(any_changed));
        let msg = match (any_failed, all_skipped) {
            (true, _) => "One or more items failed",
            (false, true) => "All items skipped",
            (false, false) => "All items completed",
        };
        result.insert("msg".into(), Value::from(msg));
        if any_failed {
            result.insert("failed".into(), Value::Bool(true));
        }
        result.insert("skipped".into(), Value::Bool(all_skipped));
        if !warnings.is_empty() {
            result.insert("warnings".into(), Value::Array(warnings));
        }
        result.insert("results".into(), Value::Array(results));
        let mut o = HostOutcome::new(host, status, result);
        o.facts = facts;
        o.include_vars = include_vars;
        o.includes = includes;
        o.ignored = any_failed && all_ignored;
        if any_failed {
            self.report(task, frame, host, &o, None, None, any_no_log, true);
        } else if all_skipped {
            // Ansible ends a loop whose items all skipped with one `skipping: [host]` line.
            let mut line = o.clone();
            line.result.remove("results");
            self.report(task, frame, host, &line, None, None, any_no_log, true);
        } else {
            self.count(host, &o);
        }
        o
    }

    fn finish(&self, host: &str, item: ItemOutcome) -> HostOutcome {
        let mut o = HostOutcome::new(host, item.status, item.result);
        o.diff = item.diff;
        o.facts = item.facts;
        o.include_vars = item.include_vars;
        o
    }

    /// The first `when` condition that is false, in Ansible's order (blocks' and imports' first).
    pub(super) fn false_condition<'a>(
        &self,
        task: &'a Task,
        frame: &'a Frame,
        scope: &Arc<Scope>,
    ) -> Result<Option<&'a str>, TemplateError> {
        for cond in frame.conditions(task) {
            if !scope.eval_bool(cond)? {
                return Ok(Some(cond));
            }
        }
        Ok(None)
    }

    fn loop_items(&self, task: &Task, value: &Value, scope: &Arc<Scope>) -> Result<Vec<Value>, TemplateError> {
        let rendered = scope.render_value(value)?;
        let with = task.loop_with.as_deref();
        let list = match (with, rendered) {
            (Some("dict"), Value::Object(m)) => {
                m.into_iter().map(|(k, v)| serde_json::json!({"key": k, "value": v})).collect()
            }
            (_, Value::Array(items)) => items,
            (_, Value::Null) => Vec::new(),
            (Some(_), other) => vec![other],
            (None, other) => {
                return Err(TemplateError::new(
                    &to_text(value),
                    format!(
                        "`loop` needs a list, got {} ({}); use `dict2items` for a mapping",
                        to_text(&other),
                        crate::vars::type_name(&other)
                    ),
                ))
            }
        };
        // `with_items` flattens one level, like Ansible.
        if with == Some("items") {
            let mut flat = Vec::new();
            for v in list {
                match v {
                    Value::Array(inner) => flat.extend(inner),
                    other => flat.push(other),
                }
            }
            return Ok(flat);
        }
        Ok(list)
    }

    /// One module call (one loop item), with `until` retries and result conditions.
    async fn run_item(
        &self,
        task: &Task,
        frame: &Frame,
        scope: &Arc<Scope>,
        host: &str,
        next: &Next<'_>,
    ) -> ItemOutcome {
        let retries = match &task.retries {
            Some(v) => match scope.render_value(v).map(|v| to_text(&v).parse::<u32>()) {
                Ok(Ok(n)) => n,
                _ => return failure(format!("`retries` must be a whole number (task at {})", task.span)),
            },
            None if task.until.is_some() => 3,
            None => 0,
        };
        let delay = match &task.delay {
            Some(v) => scope.render_value(v).ok().and_then(|v| to_text(&v).parse::<f64>().ok()).unwrap_or(5.0),
            None => 5.0,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut out = self.call_module(task, frame, scope, host, next).await;
            if out.status == Status::Unreachable {
                return out;
            }
            if let Err(e) = self.apply_conditions(task, scope, &mut out) {
                return template_failure(task, &e);
            }
            let Some(until) = &task.until else { return out };
            let bound = self.bind_result(task, scope, &out.result);
            let done = match conditions_hold(until, &bound) {
                Ok(b) => b,
                Err(e) => return template_failure(task, &e),
            };
            if task.until.is_some() {
                out.result.insert("attempts".into(), Value::from(attempt));
            }
            if done {
                return out;
            }
            if attempt > retries {
                out.status = Status::Failed;
                out.result.insert("failed".into(), Value::Bool(true));
                out.result.entry("msg").or_insert(Value::from("the `until` condition never held"));
                return out;
            }
            tokio::time::sleep(Duration::from_secs_f64(delay)).await;
        }
    }

    /// A scope where the result is visible under the `register` name (for `*_when`, `until`).
    fn bind_result(&self, task: &Task, scope: &Arc<Scope>, result: &Map) -> Arc<Scope> {
        let mut vars = Map::new();
        if let Some(name) = &task.register {
            vars.insert(name.clone(), Value::Object(result.clone()));
        }
        Arc::new(scope.child(Level::SetFact, vars))
    }

    fn apply_conditions(&self, task: &Task, scope: &Arc<Scope>, out: &mut ItemOutcome) -> Result<(), TemplateError> {
        if task.changed_when.is_none() && task.failed_when.is_none() {
            return Ok(());
        }
        let bound = self.bind_result(task, scope, &out.result);
        if let Some(c) = &task.changed_when {
            // A failed result gets it too (Ansible): it decides the recap's `changed` when the
            // failure is ignored or `failed_when` clears it.
            if out.status != Status::Skipped {
                let changed = conditions_hold(c, &bound)?;
                if out.status != Status::Failed {
                    out.status = if changed { Status::Changed } else { Status::Ok };
                }
                out.result.insert("changed".into(), Value::Bool(changed));
            }
        }
        if let Some(c) = &task.failed_when {
            if out.status != Status::Skipped {
                let failed = conditions_hold(c, &bound)?;
                out.result.insert("failed".into(), Value::Bool(failed));
                if failed {
                    out.status = Status::Failed;
                    out.result.entry("msg").or_insert(Value::from("failed_when condition was true"));
                } else if out.status == Status::Failed {
                    let changed = out.result.get("changed").and_then(to_bool).unwrap_or(false);
                    out.status = if changed { Status::Changed } else { Status::Ok };
                }
            }
        }
        Ok(())
    }

    async fn call_module(
        &self,
        task: &Task,
        frame: &Frame,
        scope: &Arc<Scope>,
        host: &str,
        next: &Next<'_>,
    ) -> ItemOutcome {
        let action = task.action.as_str();
        if action == "include_tasks" || action == "include_role" {
            return match scope.render_value(&Value::Object(task.args.clone())) {
                Ok(Value::Object(args)) => {
                    ItemOutcome { status: Status::Ok, result: args, facts: None, include_vars: None, diff: None }
                }
                Ok(_) => failure("include arguments must be a mapping"),
                Err(e) => template_failure(task, &e),
            };
        }
        let Some(module) = modules::find(action) else {
            return failure(format!("unknown module '{action}' (task at {})", task.span));
        };
        let args = match render_args(module, task, scope) {
            Ok(a) => a,
            Err(e) => return template_failure(task, &e),
        };
        let check = match frame.flag(task, BoolKey::CheckMode, scope, self.settings.check) {
            Ok(b) => b,
            Err(e) => return template_failure(task, &e),
        };
        let diff = match frame.flag(task, BoolKey::Diff, scope, self.settings.diff) {
            Ok(b) => b,
            Err(e) => return template_failure(task, &e),
        };
        // Where the module runs: the host, or its delegate.
        let delegate = match frame.get(Some(task), |a| a.delegate_to.clone()) {
            Some(d) => match scope.render_text(&d) {
                Ok(d) => Some(d),
                Err(e) => return template_failure(task, &e),
            },
            None => None,
        };
        let target = delegate.clone().unwrap_or_else(|| host.to_string());
        let render = ScopeRender(scope.clone());
        let local_fallback;
        let conn: &dyn crate::connection::Connection;
        let held;
        if module.controller_only() {
            local_fallback = crate::connection::local::Local::new(host);
            conn = &local_fallback;
        } else {
            let mut vars = match self.connection_vars(&target, host, scope, delegate.is_some()) {
                Ok(v) => v,
                Err(e) => return template_failure(task, &e),
            };
            // The `connection:` keyword (play, block or task) wins over inventory variables.
            if let (None, Some(kind)) = (&delegate, frame.get(Some(task), |a| a.connection.clone())) {
                vars.insert("ansible_connection".into(), Value::from(kind));
            }
            match self.conns.get(&target, &vars).await {
                Ok(c) => {
                    held = c;
                    conn = held.as_ref();
                }
                Err(e) => {
                    let mut o = failure(e.to_string());
                    o.status = Status::Unreachable;
                    o.result.insert("unreachable".into(), Value::Bool(true));
                    o.result.remove("failed");
                    return o;
                }
            }
        }
        let escalate = match self.escalation(task, frame, scope) {
            Ok(b) => b,
            Err(e) => return template_failure(task, &e),
        };
        let env = match self.environment(task, frame, scope) {
            Ok(e) => e,
            Err(e) => return template_failure(task, &e),
        };
        // Read ahead only for the host's own connection: the next tasks' paths are on it.
        let lookahead = (delegate.is_none() && !next.tasks.is_empty()).then(|| Ahead {
            runner: self,
            next,
            frame,
            host,
            escalate: escalate.clone(),
            env: env.clone(),
        });
        let cx = Ctx {
            conn,
            host,
            check_mode: check,
            diff,
            render: &render,
            search: self.search_dirs(task, frame),
            escalate,
            env,
            read_ahead: self.read_ahead.then(|| ReadAhead {
                cache: &self.prefetch,
                task: task.id,
                next: lookahead.as_ref().map(|l| l as &dyn Lookahead),
            }),
        };
        if let Some(line) = module.announce(&args) {
            self.reporter.line(&line);
        }
        let (mut out, warnings) =
            modules::args::gather_warnings(self.query_apply(module, &cx, &args, check, diff)).await;
        if !warnings.is_empty() {
            let list = match out.result.remove("warnings") {
                Some(Value::Array(own)) => own,
                _ => Vec::new(),
            };
            out.result
                .insert("warnings".into(), list.into_iter().chain(warnings.into_iter().map(Value::from)).collect());
        }
        if let Some(f) = &out.facts {
            if out.status != Status::Failed && (action == "setup" || action == "gather_facts") {
                out.result.entry("ansible_facts").or_insert(Value::Object(f.clone()));
            }
        }
        out
    }

    /// The module's query, then its apply when something differs and this is not check mode.
    async fn query_apply(
        &self,
        module: &dyn modules::Module,
        cx: &Ctx<'_>,
        args: &Map,
        check: bool,
        diff: bool,
    ) -> ItemOutcome {
        let query = match module.query(cx, args).await {
            Ok(q) => q,
            Err(e) => return module_failure(e),
        };
        let facts = query.facts.clone();
        let include_vars = query.include_vars.clone();
        let diff_out = if diff { query.diff.clone() } else { None };
        // A module may skip itself (debug below its `verbosity`) by answering `skipped: true`.
        let (status, mut result) = if query.result.get("skipped") == Some(&Value::Bool(true)) {
            (Status::Skipped, query.result)
        } else if check && query.check_skip {
            // Ansible's result is the module's own (command: `cmd`, `msg`, `rc`...), marked skipped.
            let mut r = query.result;
            r.insert("skipped".into(), Value::Bool(true));
            r.entry("msg").or_insert_with(|| {
                Value::from(format!("remote module ({}) does not support check mode", module.name()))
            });
            (Status::Skipped, r)
        } else if !query.changed {
            (Status::Ok, query.result)
        } else if check {
            (Status::Changed, query.result)
        } else {
            self.prefetch.note_write();
            match module.apply(cx, args, query).await {
                Ok(r) => (Status::Changed, r),
                Err(e) => return module_failure(e),
            }
        };
        result.insert("changed".into(), Value::Bool(status == Status::Changed));
        ItemOutcome { status, result, facts, include_vars, diff: diff_out }
    }

    /// Connection variables of the target, templated in the target's own scope.
    fn connection_vars(
        &self,
        target: &str,
        host: &str,
        scope: &Arc<Scope>,
        delegated: bool,
    ) -> Result<Map, TemplateError> {
        let mut out = Map::new();
        if delegated && target != host {
            // A delegate that is not in the inventory (e.g. localhost) runs locally when local.
            let hv = scope.eval(&format!("hostvars[{:?}] is defined", target)).unwrap_or(Value::Bool(false));
            if hv == Value::Bool(true) {
                for name in CONNECTION_VARS {
                    if let Ok(v) = scope.eval(&format!("hostvars[{:?}][{:?}]", target, name)) {
                        if !v.is_null() {
                            out.insert(name.to_string(), v);
                        }
                    }
                }
            } else if target == "localhost" || target == "127.0.0.1" {
                out.insert("ansible_connection".into(), Value::from("local"));
            } else {
                out.insert("ansible_host".into(), Value::from(target));
            }
            return Ok(out);
        }
        for name in CONNECTION_VARS {
            if scope.contains(name) {
                if let Some(v) = scope.get(name)? {
                    out.insert(name.to_string(), v);
                }
            }
        }
        Ok(out)
    }

    pub(super) fn escalation(
        &self,
        task: &Task,
        frame: &Frame,
        scope: &Arc<Scope>,
    ) -> Result<Option<Become>, TemplateError> {
        let on = frame.flag(task, BoolKey::Become, scope, self.settings.escalate)?;
        if !on {
            return Ok(None);
        }
        let user = match frame.get(Some(task), |a| a.become_user.clone()).or(self.settings.become_user.clone()) {
            Some(u) => scope.render_text(&u)?,
            None => "root".into(),
        };
        let method = match frame.get(Some(task), |a| a.become_method.clone()).or(self.settings.become_method.clone()) {
            Some(m) => scope.render_text(&m)?,
            None => "sudo".into(),
        };
        let mut password = self.settings.become_password.clone();
        for name in ["ansible_become_password", "ansible_become_pass"] {
            if password.is_none() && scope.contains(name) {
                password = scope.get(name)?.map(|v| to_text(&v));
            }
        }
        Ok(Some(Become { method, user, password }))
    }

    pub(super) fn environment(
        &self,
        task: &Task,
        frame: &Frame,
        scope: &Arc<Scope>,
    ) -> Result<Vec<(String, String)>, TemplateError> {
        let mut env: Vec<(String, String)> = Vec::new();
        let sources =
            frame.attrs.iter().map(|a| a.environment.as_ref()).chain(std::iter::once(task.attrs.environment.as_ref()));
        for source in sources.flatten() {
            if let Value::Object(m) = scope.render_value(source)? {
                for (k, v) in m {
                    env.retain(|(name, _)| name != &k);
                    env.push((k, to_text(&v)));
                }
            }
        }
        Ok(env)
    }

    fn search_dirs(&self, task: &Task, frame: &Frame) -> Vec<std::path::PathBuf> {
        let mut dirs = Vec::new();
        if let Some(role) = frame.role_of(task) {
            dirs.push(role.path.clone());
        }
        dirs.push(task.base_dir.clone());
        dirs.push(self.playbook_dir.clone());
        dirs
    }

    /// Print one line for a host or item; `count` puts it in the recap.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        task: &Task,
        frame: &Frame,
        host: &str,
        o: &HostOutcome,
        item: Option<String>,
        diff: Option<Diff>,
        no_log: bool,
        count: bool,
    ) {
        // A delegate that is still a template (the task was skipped before rendering it) is not shown.
        let delegate = frame.get(Some(task), |a| a.delegate_to.clone()).filter(|d| !crate::template::is_template(d));
        let mut result = o.result.clone();
        if no_log {
            result = masked::no_log_result(&o.result, o.changed(), o.status == Status::Failed, &o.secrets);
        }
        let debug = task.action == "debug";
        if debug {
            crate::report::clean_debug(&mut result);
        }
        // Only an ok debug is printed whole without -v (Ansible's `_ansible_verbose_always`).
        let show = debug && !no_log && matches!(o.status, Status::Ok | Status::Changed);
        // Ansible hides the item label too: it often is the secret.
        let item = if no_log { item.map(|_| "(censored due to no_log)".to_string()) } else { item };
        let r = HostResult {
            host: host.to_string(),
            delegate,
            status: o.status,
            item,
            result,
            diff: if no_log { None } else { diff },
            ignored: o.ignored,
            show,
        };
        self.reporter.result(&r, count);
    }

    fn count(&self, host: &str, o: &HostOutcome) {
        let summary = HostResult {
            host: host.to_string(),
            delegate: None,
            status: o.status,
            item: None,
            result: Map::new(),
            diff: None,
            ignored: o.ignored,
            show: false,
        };
        self.reporter.count_only(&summary);
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

fn module_failure(e: ModuleError) -> ItemOutcome {
    match e {
        ModuleError::Failed { msg, mut result } => {
            result.insert("failed".into(), Value::Bool(true));
            result.insert("msg".into(), Value::String(msg));
            ItemOutcome { status: Status::Failed, result, facts: None, include_vars: None, diff: None }
        }
        ModuleError::Connection(ConnectionError::Unreachable { reason }) => {
            let mut o = failure(reason);
            o.status = Status::Unreachable;
            o.result.remove("failed");
            o.result.insert("unreachable".into(), Value::Bool(true));
            o
        }
        other => failure(other.to_string()),
    }
}

fn conditions_hold(c: &Conditions, scope: &Arc<Scope>) -> Result<bool, TemplateError> {
    match c {
        Conditions::Literal(b) => Ok(*b),
        Conditions::Exprs(list) => {
            for e in list {
                if !scope.eval_bool(e)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
    }
}

/// `ansible_loop` of `loop_control: extended`, as Ansible builds it (with `allitems`).
fn extended_loop(items: &[Value], index: usize) -> Value {
    let total = items.len();
    let mut l = serde_json::json!({"index": index + 1, "index0": index, "first": index == 0,
        "last": index + 1 == total, "length": total, "revindex": total - index, "revindex0": total - index - 1,
        "allitems": items});
    if let Value::Object(m) = &mut l {
        if let Some(next) = items.get(index + 1) {
            m.insert("nextitem".into(), next.clone());
        }
        if let Some(prev) = index.checked_sub(1).and_then(|i| items.get(i)) {
            m.insert("previtem".into(), prev.clone());
        }
    }
    l
}

/// How a loop item is shown: strings bare, other values as compact JSON.
fn label_of(item: &Value) -> String {
    match item {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The variables `task` sees on `host`: the host's layers, block and include vars, task vars.
/// A task's arguments for `module`, rendered, except those the module evaluates itself.
pub(super) fn render_args(module: &dyn modules::Module, task: &Task, scope: &Arc<Scope>) -> Result<Map, TemplateError> {
    let mut args = Map::new();
    for (k, v) in &task.args {
        if module.raw_args().contains(&k.as_str()) {
            args.insert(k.clone(), v.clone());
            continue;
        }
        match scope.render_value(v)? {
            Value::String(s) if s == OMIT => {}
            v => {
                args.insert(k.clone(), v);
            }
        }
    }
    Ok(args)
}

pub(super) fn task_scope(world: &World, task: &Task, frame: &Frame, host: &str) -> Option<Arc<Scope>> {
    let role = frame.role_of(task).map(|r| r.as_ref());
    let scope = world.task_scope(host, role, &frame.block_vars, &frame.extra)?;
    Some(Arc::new(scope.layer(Level::TaskVars, Arc::new(task.attrs.vars.clone()))))
}
