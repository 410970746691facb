//! Loops and retries: a task's loop items with their loop variables, `until` retries, and
//! `changed_when`/`failed_when` on each result.

use std::sync::Arc;

use crate::plan::task_name;
use crate::playbook::{ActionKind, Conditions, Task};
use crate::report::{dump_result, Status};
use crate::template::TemplateError;
use crate::value::{to_text, Map, Value};
use crate::vars::{Level, Scope};

use super::flags::BoolKey;
use super::host::TaskCall;
use super::outcome::{failure, template_failure, when_skipped, Guarded, HostOutcome, ItemOutcome};
use super::result::{LoopSummary, TaskResult};
use super::Runner;

/// Where `with_<lookup>` hands its terms to the lookup.
const TERMS_VAR: &str = "__troupe_terms";

/// A looped include's vars hold its item's label under this name, as Ansible's.
pub(super) const ITEM_LABEL: &str = "_ansible_item_label";

impl Runner {
    /// The task on one host: once, or once per loop item, with the lines it reports.
    pub(super) async fn run_in_scope(&self, call: &TaskCall<'_>) -> HostOutcome {
        let TaskCall { task, frame, host, scope, .. } = call;
        let Some(loop_value) = &task.loop_ else {
            let Guarded { out, ignore, no_log, secrets } = self.guarded_item(call).await;
            let mut o = self.finish(host, out);
            o.secrets = secrets;
            o.ignored = o.status == Status::Failed && ignore;
            let diff = o.result.diff.take();
            self.report(call, &o, None, diff, no_log, true);
            if task.kind.is_include() && o.status == Status::Ok {
                o.includes.push((o.result.to_map(), Map::new()));
            }
            return o;
        };

        // Loops: render the list, then run each item with its loop variable set.
        let items = match self.loop_items(call, loop_value) {
            Ok(items) => items,
            Err(e) => {
                let (no_log, _) = self.no_log(task, frame, scope);
                // As Ansible: a loop over an undefined variable fails only if `when` holds.
                if e.variable.is_some() {
                    if let Ok(Some(condition)) = self.false_condition(task, frame, scope) {
                        let o = self.finish(host, when_skipped(condition));
                        self.report(call, &o, None, None, no_log, true);
                        return o;
                    }
                }
                let mut o = self.finish(host, template_failure(task, &e));
                o.ignored = frame.flag(task, BoolKey::IgnoreErrors, scope, false).unwrap_or(false);
                self.report(call, &o, None, None, no_log, true);
                return o;
            }
        };
        let lc = &task.loop_control;
        let loop_var = match &lc.loop_var {
            None => "item".to_string(),
            Some(v) if crate::template::is_template(v) => match scope.render_text(v) {
                Ok(name) => name,
                Err(e) => {
                    let o = self.finish(host, template_failure(task, &e));
                    self.report(call, &o, None, None, false, true);
                    return o;
                }
            },
            Some(v) => v.clone(),
        };
        let mut results = Vec::new();
        let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
        // The loop's own line is hidden if any item was; a failure is ignored if every failed item was.
        let (mut any_no_log, mut all_ignored) = (false, true);
        let mut facts: Option<Map> = None;
        let mut cacheable = false;
        let mut include_vars: Option<Map> = None;
        let mut includes = Vec::new();
        let total = items.len();
        if total == 0 {
            // Ansible skips a task whose loop has no items, with its own reason.
            let o = HostOutcome::new(host, Status::Skipped, TaskResult::no_items());
            let (no_log, _) = self.no_log(task, frame, scope);
            let mut line = o.clone();
            line.result.results = None;
            self.report(call, &line, None, None, no_log, true);
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
                vars.insert("ansible_loop".into(), extended_loop(&items, index, !lc.no_allitems));
            }
            let mut item_scope = scope.child(Level::TaskVars, vars.clone());
            // Each item sees the facts the items before it set (Ansible updates the loop's
            // variables with every item's `ansible_facts`).
            if task.kind != ActionKind::Setup {
                if let Some(f) = &facts {
                    item_scope = item_scope.layer(Level::SetFact, Arc::new(f.clone()));
                }
            }
            if let Some(v) = &include_vars {
                item_scope = item_scope.layer(Level::IncludeVars, Arc::new(v.clone()));
            }
            let item_scope = Arc::new(item_scope);
            let Guarded { mut out, ignore, no_log, secrets } =
                self.guarded_item(&call.with_scope(item_scope.clone())).await;
            // As Ansible: the label is rendered after the item ran, with its result registered;
            // one that can't be rendered fails the item.
            let label = match &lc.label {
                Some(l) => match self.bind_result(task, &item_scope, &out.result).render_text(l) {
                    Ok(label) => label,
                    Err(e) => {
                        let bound = self.bind_result(task, &item_scope, &out.result);
                        let why = missing_attribute(&bound, &e).unwrap_or(e.message);
                        out.status = Status::Failed;
                        out.result.failed = Some(true);
                        out.result.msg = Some(Value::from(format!("Failed to template loop_control.label: {why}")));
                        "None".to_string()
                    }
                },
                None => label_of(item),
            };
            any_no_log |= no_log;
            if out.status == Status::Failed && !ignore {
                all_ignored = false;
            }
            // An include's arguments, before the loop variables join its result.
            let include_args = (task.kind.is_include() && out.status == Status::Ok).then(|| out.result.to_map());
            // The loop variables go into the item's result, as in Ansible.
            for (k, v) in &vars {
                out.result.set(k.clone(), v.clone());
            }
            let mut item_o = HostOutcome::new(host, out.status, out.result.clone());
            item_o.secrets = secrets;
            self.report(call, &item_o, Some(label.clone()), out.result.diff.take(), no_log, false);
            // Ansible moves the items' warnings to the loop's result.
            warnings.extend(out.result.take_warnings());
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
            cacheable |= out.cacheable;
            if let Some(v) = out.include_vars {
                include_vars.get_or_insert_with(Map::new).extend(v);
            }
            if let Some(args) = include_args {
                // The loop variables are the include's vars, not arguments (nor role params);
                // the item's label too, as Ansible's `_ansible_item_label` (its `included:` line).
                let mut vars = vars;
                vars.insert(ITEM_LABEL.into(), Value::from(label.clone()));
                includes.push((args, vars));
            }
            results.push(Value::Object(out.result.to_map()));
            if let Some(cond) = &lc.break_when {
                // As Ansible: the item's variables and its result under the `register` name.
                let bound = self.bind_result(task, &item_scope, &out.result);
                match conditions_hold(cond, &bound) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        let mut o = self.finish(host, template_failure(task, &e));
                        o.ignored = frame.flag(task, BoolKey::IgnoreErrors, scope, false).unwrap_or(false);
                        self.report(call, &o, None, None, any_no_log, true);
                        return o;
                    }
                }
            }
            if let Some(p) = lc.pause {
                // Checked when the task was loaded.
                tokio::time::sleep(crate::limits::wait(p).unwrap_or_default()).await;
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
        let summary = LoopSummary { changed: any_changed, failed: any_failed, all_skipped, warnings, results };
        let mut o = HostOutcome::new(host, status, summary.into_result());
        o.facts = facts;
        o.cacheable = cacheable;
        o.include_vars = include_vars;
        o.includes = includes;
        o.ignored = any_failed && all_ignored;
        if any_failed {
            self.report(call, &o, None, None, any_no_log, true);
        } else if all_skipped {
            // Ansible ends a loop whose items all skipped with one `skipping: [host]` line.
            let mut line = o.clone();
            line.result.results = None;
            self.report(call, &line, None, None, any_no_log, true);
        } else if !task.kind.is_include() {
            // A looped include counts once per file it loads (see `run_includes`).
            self.count(host, &o);
        }
        o
    }

    fn loop_items(&self, call: &TaskCall<'_>, value: &Value) -> Result<Vec<Value>, TemplateError> {
        let TaskCall { task, frame, scope, .. } = call;
        let with = task.loop_with.as_deref();
        let rendered = match with {
            // Ansible's first_found, run by `with_`, drops its undefined terms and moves on.
            Some("first_found") => defined_only(scope, value).map(|v| v.unwrap_or(Value::Null)),
            _ => scope.render_value(value),
        };
        // Ansible's words first: `Task failed: 'x' is undefined`, `Error rendering template: ...`.
        let rendered = rendered.map_err(|e| {
            let frame = if e.reason().ends_with(" is undefined") { "Task failed: " } else { "" };
            e.framed(frame)
        })?;
        if with == Some("fileglob") {
            let terms = match rendered {
                Value::Array(terms) => terms,
                Value::Null => Vec::new(),
                one => vec![one],
            };
            return Ok(super::fileglob::expand(&terms, &self.search_dirs(task, frame)));
        }
        if let Some(name) = with.filter(|w| !matches!(*w, "items" | "list" | "dict")) {
            return self.lookup_items(call, name, rendered);
        }
        let list = match (with, rendered) {
            (Some("dict"), terms) => return dict_items(value, terms),
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

    /// `with_<name>`: the rendered value (one term unless a list) through the lookup, as
    /// `query('<name>', ...)` with the task's search folders for relative files.
    fn lookup_items(&self, call: &TaskCall<'_>, name: &str, rendered: Value) -> Result<Vec<Value>, TemplateError> {
        let TaskCall { task, frame, scope, .. } = call;
        let terms = match rendered {
            Value::Array(terms) => terms,
            Value::String(s) => vec![Value::String(s.trim().to_string())],
            one => vec![one],
        };
        let dirs = self.search_dirs(task, frame).iter().map(|d| Value::String(d.display().to_string())).collect();
        let mut vars = Map::new();
        vars.insert(TERMS_VAR.into(), Value::Array(terms));
        vars.insert(crate::template::lookups::SEARCH_VAR.into(), Value::Array(dirs));
        vars.insert(crate::template::lookups::SUBDIR_VAR.into(), Value::from(loop_subdir(&task.action)));
        let inner = Arc::new(scope.child(Level::Magic, vars));
        let expr = format!("query('{name}', *{TERMS_VAR})");
        let items = inner.eval(&expr).map_err(|mut e| {
            // Name what the user wrote, not the expression built here.
            e.template = format!("with_{name}");
            e.message = e.message.replace(&expr, &e.template);
            e
        })?;
        match items {
            Value::Array(items) => Ok(items),
            other => Ok(vec![other]),
        }
    }

    /// One module call (one loop item), with `until` retries and result conditions.
    pub(super) async fn run_item(&self, call: &TaskCall<'_>) -> ItemOutcome {
        let TaskCall { task, scope, .. } = call;
        let retries = match &task.retries {
            Some(v) => match scope.render_value(v).map(|v| to_text(&v).parse::<u32>()) {
                Ok(Ok(n)) => n,
                _ => return failure(format!("`retries` must be a whole number (task at {})", task.span)),
            },
            None if task.until.is_some() => 3,
            None => 0,
        };
        // As Ansible: any retries make a retry loop; without `until` it runs until the task
        // succeeds.
        let looping = retries > 0;
        let delay = match &task.delay {
            Some(v) => scope.render_value(v).ok().and_then(|v| to_text(&v).parse::<f64>().ok()).unwrap_or(5.0),
            None => 5.0,
        };
        // Ansible waits 1 s for a negative delay.
        let delay = match crate::limits::wait(if delay < 0.0 { 1.0 } else { delay }) {
            Ok(d) => d,
            Err(e) => return failure(format!("`delay` {e} (task at {})", task.span)),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut out = self.call_module(call).await;
            if out.status == Status::Unreachable {
                return out;
            }
            // `attempts` is in the result before `changed_when`/`failed_when` see it (Ansible).
            if looping {
                out.result.attempts = Some(attempt);
            }
            if let Err(e) = self.apply_conditions(task, scope, &mut out) {
                return template_failure(task, &e);
            }
            if !looping {
                return out;
            }
            let done = match &task.until {
                Some(until) => match conditions_hold(until, &self.bind_result(task, scope, &out.result)) {
                    Ok(b) => b,
                    Err(e) => return template_failure(task, &e),
                },
                None => out.status != Status::Failed,
            };
            if done {
                return out;
            }
            if attempt > retries {
                // Out of retries, Ansible records `attempts` as the retries asked for and marks
                // the result failed; with `failed_when`, its result decides the task's status.
                out.result.attempts = Some(retries);
                if task.failed_when.is_none() {
                    out.status = Status::Failed;
                    out.result.set_failed(true, "the `until` condition never held");
                } else {
                    out.result.failed = Some(true);
                }
                return out;
            }
            self.report_retry(call, &out.result, retries + 1 - attempt);
            tokio::time::sleep(delay).await;
        }
    }

    /// Ansible's retry line, printed at every verbosity; from -vv on with the result (unless
    /// the task is `no_log`).
    fn report_retry(&self, call: &TaskCall<'_>, result: &TaskResult, left: u32) {
        let TaskCall { task, frame, host, scope, .. } = call;
        let mut line = format!("FAILED - RETRYING: [{host}]: {} ({left} retries left).", task_name(task));
        if self.reporter.verbosity() >= 2 && !self.no_log(task, frame, scope).0 {
            line.push_str("Result was: ");
            line.push_str(&dump_result(&result.to_map(), self.reporter.verbosity(), false));
        }
        self.reporter.line(&line);
    }

    /// A scope where the result is visible under the `register` name (for `*_when`, `until`).
    fn bind_result(&self, task: &Task, scope: &Arc<Scope>, result: &TaskResult) -> Arc<Scope> {
        let mut vars = Map::new();
        if let Some(name) = &task.register {
            vars.insert(name.clone(), Value::Object(result.to_map()));
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
                let Some(changed) = condition_or_fail(c, &bound, "changed", out) else { return Ok(()) };
                if out.status != Status::Failed {
                    out.status = if changed { Status::Changed } else { Status::Ok };
                }
                out.result.changed = Some(changed);
            }
        }
        if let Some(c) = &task.failed_when {
            if out.status != Status::Skipped {
                let Some(failed) = condition_or_fail(c, &bound, "failed", out) else { return Ok(()) };
                out.result.set_failed(failed, "failed_when condition was true");
                out.result.set("failed_when_result".into(), Value::Bool(failed));
                if !failed {
                    out.result.suppress_exception();
                }
                if failed {
                    out.status = Status::Failed;
                } else if out.status == Status::Failed {
                    let changed = out.result.changed.unwrap_or(false);
                    out.status = if changed { Status::Changed } else { Status::Ok };
                }
            }
        }
        Ok(())
    }
}

/// A `changed_when`/`failed_when` value; one that cannot be evaluated fails the result, which
/// keeps the module's values and says why in `<name>_when_result` (as Ansible does).
fn condition_or_fail(c: &Conditions, scope: &Arc<Scope>, name: &str, out: &mut ItemOutcome) -> Option<bool> {
    match conditions_hold(c, scope) {
        Ok(b) => Some(b),
        Err(e) => {
            out.status = Status::Failed;
            out.result.set(format!("{name}_when_result"), Value::String(e.message.clone()));
            out.result.set_failed(true, &format!("{name}_when: {}", e.message));
            None
        }
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

/// Ansible's words for an undefined `a.b` whose `a` is defined: the attribute is missing.
fn missing_attribute(scope: &Arc<Scope>, e: &TemplateError) -> Option<String> {
    let (parent, attr) = e.variable.as_deref()?.rsplit_once('.')?;
    let value = scope.eval(parent).ok()?;
    let class = match value {
        Value::Object(_) => "dict",
        Value::Array(_) => "list",
        Value::String(_) => "str",
        _ => return None,
    };
    Some(format!("object of type '{class}' has no attribute '{attr}'"))
}

/// `with_dict`: each term (one mapping, or a list of them) as `{key, value}` items; any other
/// term fails as Ansible's `dict` lookup does.
fn dict_items(source: &Value, terms: Value) -> Result<Vec<Value>, TemplateError> {
    let terms = match terms {
        Value::Array(list) => list,
        one => vec![one],
    };
    let mut items = Vec::new();
    for term in terms {
        let Value::Object(m) = term else {
            let shown = crate::value::pyrepr::py_str(&term);
            let class = match &term {
                Value::Null => "NoneType",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_f64() => "float",
                Value::Number(_) => "int",
                Value::String(_) => "str",
                _ => "list",
            };
            return Err(TemplateError::new(
                &to_text(source),
                format!("the 'dict' lookup plugin expects a dictionary, got '{shown}' of type <class '{class}'>)"),
            ));
        };
        items.extend(m.into_iter().map(|(k, v)| serde_json::json!({"key": k, "value": v})));
    }
    Ok(items)
}

/// `ansible_loop` of `loop_control: extended`, as Ansible builds it (with `allitems`).
fn extended_loop(items: &[Value], index: usize, allitems: bool) -> Value {
    let total = items.len();
    let mut l = serde_json::json!({"index": index + 1, "index0": index, "first": index == 0,
        "last": index + 1 == total, "length": total, "revindex": total - index, "revindex0": total - index - 1});
    if let Value::Object(m) = &mut l {
        if allitems {
            m.insert("allitems".into(), Value::Array(items.to_vec()));
        }
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

/// The folder a `with_*` lookup looks in first, from the task's action, as Ansible's task
/// executor gives it to the lookup: `templates` for an action named with "template", `vars`
/// with "var", else `files`.
fn loop_subdir(action: &str) -> &'static str {
    if action.contains("template") {
        "templates"
    } else if action.contains("var") {
        "vars"
    } else {
        "files"
    }
}

/// `value` rendered with whatever renders to an undefined variable left out, at every depth
/// (`None`: all of it is undefined). A `{{ list_var }}` whose own items are templates is
/// rendered item by item, so one undefined item drops alone, as Ansible's lazy templating does.
fn defined_only(scope: &Arc<Scope>, value: &Value) -> Result<Option<Value>, TemplateError> {
    match value {
        Value::String(t) if crate::template::is_template(t) => match scope.render_str(t) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                let raw = crate::template::single_expression(t).and_then(|name| scope.raw_list(name.trim()));
                match raw {
                    Some(items) => defined_only(scope, &Value::Array(items)),
                    None if e.variable.is_some() => Ok(None),
                    None => Err(e),
                }
            }
        },
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(defined_only(scope, item)?);
            }
            Ok(Some(Value::Array(out)))
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if let Some(v) = defined_only(scope, v)? {
                    out.insert(k.clone(), v);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        other => Ok(Some(other.clone())),
    }
}
