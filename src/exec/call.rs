//! The module call for one host (or loop item): where it runs, with which connection, become
//! and environment, then the module's query and, when something differs, its apply.

use std::sync::Arc;

use crate::facts::ahead::{Lookahead, ReadAhead};
use crate::modules::{self, Ctx, Render, Step};
use crate::playbook::ActionKind;
use crate::report::Status;
use crate::value::{Map, Value};
use crate::vars::Scope;

use super::ahead::Ahead;
use super::flags::BoolKey;
use super::host::TaskCall;
use super::outcome::{failure, module_failure, template_failure, unreachable, ItemOutcome};
use super::resolve::{connection_keywords, render_args, ArgsError};
use super::result::TaskResult;
use super::Runner;

struct ScopeRender(Arc<Scope>);

impl Render for ScopeRender {
    fn render(&self, text: &str) -> Result<String, String> {
        self.0.render_text(text).map_err(|e| e.message)
    }
    fn render_file(&self, text: &str, dirs: &[std::path::PathBuf]) -> Result<String, String> {
        self.0.render_file(text, dirs).map_err(|e| e.message)
    }
    /// Module expressions (`that`, `var`) are conditional expressions: their string
    /// constants may hold templates (`Scope::expand_constants`).
    fn eval(&self, expr: &str) -> Result<Value, String> {
        let expr = self.0.expand_constants(expr).map_err(|e| e.message)?;
        self.0.eval(&expr).map_err(|e| e.message)
    }
    fn raw_list(&self, name: &str) -> Option<Vec<Value>> {
        self.0.raw_list(name)
    }
    fn indirect(&self, template: &str) -> Result<String, String> {
        self.0.indirect(template).map_err(|e| e.message)
    }
    fn vars(&self) -> Map {
        self.0.names().into_iter().filter_map(|n| Some((n.clone(), self.0.get(&n).ok()??))).collect()
    }
}

impl Runner {
    /// One module call: the engine's own actions, or the module with its connection, become,
    /// environment and read-ahead.
    pub(super) async fn call_module(&self, call: &TaskCall<'_>) -> ItemOutcome {
        let TaskCall { task, frame, host, next, .. } = *call;
        let scope = &call.scope;
        let action = task.action.as_str();
        if task.kind.is_include() {
            return match scope.render_value(&Value::Object(task.args.clone())) {
                Ok(Value::Object(mut args)) => {
                    // An argument set to `omit` is not given.
                    args.retain(|_, v| v.as_str() != Some(super::resolve::OMIT));
                    ItemOutcome::new(Status::Ok, TaskResult::from_module(args))
                }
                Ok(_) => failure("include arguments must be a mapping"),
                Err(e) => template_failure(task, &e),
            };
        }
        let rendered;
        let action = if crate::template::is_template(action) {
            rendered = match scope.render_text(action) {
                Ok(a) => a,
                Err(e) => return template_failure(task, &e),
            };
            rendered.as_str()
        } else {
            action
        };
        let Some(module) = modules::find(action) else {
            return failure(format!("unknown module '{action}' (task at {})", task.span));
        };
        let args = match render_args(module, task, frame, scope) {
            Ok(a) => a,
            Err(ArgsError::Template(e)) => return template_failure(task, &e),
            Err(ArgsError::Module(e)) => return module_failed(module, e),
        };
        let check = match frame.flag(task, BoolKey::CheckMode, scope, self.options.check) {
            Ok(b) => b,
            Err(e) => return template_failure(task, &e),
        };
        let diff = match frame.flag(task, BoolKey::Diff, scope, self.options.diff) {
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
        // A delegated task sees `ansible_delegated_vars`: the delegate's name and connection
        // variables, keyed by its name, as Ansible gives them.
        // Its connection variables are read once, for this and for the connection below.
        let delegate_vars = match &delegate {
            Some(d) => match self.connection_vars(d, host, scope, true) {
                Ok(v) => Some(v),
                Err(e) => return template_failure(task, &e),
            },
            None => None,
        };
        let delegated_scope;
        let scope = match (&delegate, &delegate_vars) {
            (Some(d), Some(v)) => {
                let mut vars = v.clone();
                vars.insert("inventory_hostname".into(), Value::from(d.as_str()));
                let mut by_name = Map::new();
                by_name.insert(d.clone(), Value::Object(vars));
                let mut layer = Map::new();
                layer.insert("ansible_delegated_vars".into(), Value::Object(by_name));
                delegated_scope = Arc::new(scope.child(crate::vars::Level::Magic, layer));
                &delegated_scope
            }
            _ => scope,
        };
        let render = ScopeRender(scope.clone());
        let local_fallback;
        let conn: &dyn crate::connection::Connection;
        let held;
        if module.controller_only() {
            local_fallback = crate::connection::local::Local::new(host);
            conn = &local_fallback;
        } else {
            let mut vars = match delegate_vars {
                Some(v) => v,
                None => match self.connection_vars(&target, host, scope, false) {
                    Ok(v) => v,
                    Err(e) => return template_failure(task, &e),
                },
            };
            if let Err(e) = connection_keywords(task, frame, scope, delegate.is_some(), &mut vars) {
                return template_failure(task, &e);
            }
            match self.conns.get(&target, &vars).await {
                Ok(c) => {
                    held = c;
                    conn = held.as_ref();
                }
                Err(e) => return unreachable(e.to_string()),
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
        let (timeout, job) = match (self.task_timeout(task, frame, scope), self.job_keywords(task, scope)) {
            (Ok(t), Ok(j)) => (t, j),
            (Err(e), _) | (_, Err(e)) => return template_failure(task, &e),
        };
        // A job waited for has its own limit; `timeout` stops the action (Ansible's alarm).
        let limit = match job {
            Some(j) if j.poll > 0 && !check => Some(j.limit),
            _ => timeout,
        };
        let deadline = limit.map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
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
            no_log: self.no_log(task, frame, scope).0,
            render: &render,
            search: self.search_dirs(task, frame),
            escalate,
            env,
            read_ahead: self.read_ahead.then(|| ReadAhead {
                cache: &self.prefetch,
                task: task.id,
                next: lookahead.as_ref().map(|l| l as &dyn Lookahead),
            }),
            deadline,
        };
        if let Some(line) = module.announce(&args) {
            self.reporter.line(&line);
        }
        let run = async {
            match job {
                // Check mode runs the module in the foreground: it changes nothing.
                Some(j) if !check => self.run_job(module, &cx, &args, check, diff, j).await,
                _ => self.within_timeout(timeout, deadline, self.query_apply(module, &cx, &args, check, diff)).await,
            }
        };
        let (mut out, warnings) = modules::args::gather_warnings(run).await;
        out.result.add_warnings(warnings);
        if let Some(f) = &out.facts {
            if out.status != Status::Failed && task.kind == ActionKind::Setup {
                out.result.show_facts(f);
            }
        }
        out
    }

    /// The module's query, then its apply when something differs and this is not check mode.
    pub(super) async fn query_apply(
        &self,
        module: &dyn modules::Module,
        cx: &Ctx<'_>,
        args: &Map,
        check: bool,
        diff: bool,
    ) -> ItemOutcome {
        match module.query(cx, args).await {
            Ok(q) => self.settle(module, cx, args, q, check, diff).await,
            Err(e) => module_failed(module, e),
        }
    }

    /// What follows a query: its apply when something differs and this is not check mode.
    pub(super) async fn settle(
        &self,
        module: &dyn modules::Module,
        cx: &Ctx<'_>,
        args: &Map,
        mut query: modules::Query,
        check: bool,
        diff: bool,
    ) -> ItemOutcome {
        // Only the query sets these; `apply` never reads them.
        let facts = query.facts.take();
        let cacheable = query.cacheable;
        let include_vars = query.include_vars.take();
        let diff_out = if diff { query.diff.take() } else { None };
        let step = query.step(check);
        let (status, values) = match step {
            Step::Skipped | Step::CheckSkipped => (Status::Skipped, query.result),
            Step::Unchanged => (Status::Ok, query.result),
            Step::WouldChange => (Status::Changed, query.result),
            Step::Apply => {
                self.prefetch.note_write();
                match module.apply(cx, args, query).await {
                    Ok(r) => (Status::Changed, r),
                    Err(e) => return module_failed(module, e),
                }
            }
        };
        let mut result = TaskResult::from_module(values);
        if step == Step::CheckSkipped {
            // Ansible's result is the module's own (command: `cmd`, `msg`, `rc`...), marked skipped.
            result.check_skipped(module.name());
        }
        result.changed = Some(status == Status::Changed);
        result.diff = diff_out;
        ItemOutcome { status, result, facts, cacheable, include_vars }
    }
}

/// A module (not a controller action) reports a failure with its error detail.
fn module_failed(module: &dyn modules::Module, e: modules::ModuleError) -> ItemOutcome {
    let mut out = module_failure(e);
    if !module.controller_only() {
        out.result.module_exception();
    }
    out
}
