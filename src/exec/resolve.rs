//! Per-host resolution of what a task needs before its module runs: the task's scope and
//! arguments, `when`, `no_log`, become, environment, connection variables, search folders.

use std::sync::Arc;

use crate::connection::pool::CONNECTION_VARS;
use crate::connection::Become;
use crate::modules;
use crate::playbook::Task;
use crate::template::TemplateError;
use crate::value::{to_text, Map, Value};
use crate::vars::{Level, Scope};

use super::flags::BoolKey;
use super::frame::Frame;
use super::world::World;
use super::Runner;

/// The placeholder `omit` renders to; arguments equal to it are dropped.
pub const OMIT: &str = "__omit_place_holder__troupe";

impl Runner {
    /// A boolean keyword for this host; an error is reported as a warning and gives `on_error`.
    pub(super) fn flag_or_warn(
        &self,
        task: &Task,
        frame: &Frame,
        key: BoolKey,
        scope: &Arc<Scope>,
        on_error: bool,
    ) -> bool {
        frame.flag(task, key, scope, false).unwrap_or_else(|e| {
            self.reporter.warn(&format!("{} (task at {}); using {on_error}", e.message, task.span));
            on_error
        })
    }

    /// `no_log` fails safe: a value that can't be evaluated hides the output (as in Ansible)
    /// and comes back as the error that fails the task.
    pub(super) fn no_log(&self, task: &Task, frame: &Frame, scope: &Arc<Scope>) -> (bool, Option<TemplateError>) {
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

    /// Connection variables of the target, templated in the target's own scope.
    pub(super) fn connection_vars(
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
        // The `ansible_become*` variables win over the keywords (Ansible's play context).
        let var = |name: &str| -> Result<Option<Value>, TemplateError> {
            if scope.contains(name) {
                scope.get(name)
            } else {
                Ok(None)
            }
        };
        let on = match var("ansible_become")? {
            Some(v) => crate::playbook::flag::strict_bool(&v).ok_or_else(|| {
                TemplateError::new(
                    "ansible_become",
                    format!("the variable ansible_become must be a boolean, got {}", to_text(&v)),
                )
            })?,
            None => frame.flag(task, BoolKey::Become, scope, self.options.become_.escalate)?,
        };
        if !on {
            return Ok(None);
        }
        let user = match var("ansible_become_user")? {
            Some(u) => to_text(&u),
            None => match frame.get(Some(task), |a| a.become_user.clone()).or(self.options.become_.user.clone()) {
                Some(u) => scope.render_text(&u)?,
                None => "root".into(),
            },
        };
        let method = match var("ansible_become_method")? {
            Some(m) => to_text(&m),
            None => match frame.get(Some(task), |a| a.become_method.clone()).or(self.options.become_.method.clone()) {
                Some(m) => scope.render_text(&m)?,
                None => "sudo".into(),
            },
        };
        let mut password = self.options.become_.password.clone();
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
        // Each level may be a mapping or a list of mappings (later ones win); `omit` drops a
        // list item or a variable, as in Ansible. Each value is rendered on its own: one that
        // needs the not yet gathered `ansible_env` is left out (Ansible's special case).
        let mut add = |k: String, v: Value| {
            if !matches!(&v, Value::String(s) if s == OMIT) {
                env.retain(|(name, _)| name != &k);
                env.push((k, to_text(&v)));
            }
        };
        let add_map = |m: &Map, add: &mut dyn FnMut(String, Value)| -> Result<(), TemplateError> {
            for (k, v) in m {
                match scope.render_value(v) {
                    Ok(v) => add(k.clone(), v),
                    Err(e) if e.variable.as_deref() == Some("ansible_env") => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        };
        for source in sources.flatten() {
            let items = match source {
                Value::Array(items) => items.as_slice(),
                one => std::slice::from_ref(one),
            };
            for item in items {
                match item {
                    Value::Object(m) => add_map(m, &mut add)?,
                    other => match scope.render_value(other)? {
                        Value::Object(m) => m.into_iter().for_each(|(k, v)| add(k, v)),
                        Value::Array(list) => {
                            for rendered in list {
                                match rendered {
                                    Value::Object(m) => m.into_iter().for_each(|(k, v)| add(k, v)),
                                    Value::String(s) if s == OMIT => {}
                                    Value::Null => {}
                                    bad => return Err(not_a_mapping(other, &bad)),
                                }
                            }
                        }
                        Value::String(s) if s == OMIT => {}
                        Value::Null => {}
                        bad => return Err(not_a_mapping(other, &bad)),
                    },
                }
            }
        }
        Ok(env)
    }

    pub(super) fn search_dirs(&self, task: &Task, frame: &Frame) -> Vec<std::path::PathBuf> {
        let mut dirs = Vec::new();
        if let Some(role) = frame.role_of(task) {
            dirs.push(role.path.clone());
        }
        dirs.push(task.base_dir.clone());
        dirs.push(self.playbook_dir.clone());
        dirs
    }
}

/// The keywords that say how to reach the host, merged into its connection variables `vars`.
/// `connection` wins over the variables; `remote_user` and `port` count only where the
/// variables don't say (Ansible: variables beat keywords, keywords beat `-u`). For a delegate,
/// only `remote_user` carries over, as in Ansible.
pub(super) fn connection_keywords(
    task: &Task,
    frame: &Frame,
    scope: &Arc<Scope>,
    delegated: bool,
    vars: &mut Map,
) -> Result<(), TemplateError> {
    let has = |vars: &Map, names: [&str; 2]| names.iter().any(|n| vars.get(*n).is_some_and(|v| !v.is_null()));
    if !delegated {
        if let Some(kind) = frame.get(Some(task), |a| a.connection.clone()) {
            vars.insert("ansible_connection".into(), Value::from(kind));
        }
        if !has(vars, ["ansible_port", "ansible_ssh_port"]) {
            if let Some(port) = frame.get(Some(task), |a| a.port.clone()) {
                vars.insert("ansible_port".into(), scope.render_value(&port)?);
            }
        }
    }
    if !has(vars, ["ansible_user", "ansible_ssh_user"]) {
        if let Some(user) = frame.get(Some(task), |a| a.remote_user.clone()) {
            vars.insert("ansible_user".into(), Value::from(scope.render_text(&user)?));
        }
    }
    Ok(())
}

/// Why a task's arguments could not be rendered.
#[derive(Debug)]
pub(super) enum ArgsError {
    Template(TemplateError),
    /// The module refuses what a template gave (a `set_fact` name that is not a string).
    Module(modules::ModuleError),
}

impl From<TemplateError> for ArgsError {
    fn from(e: TemplateError) -> ArgsError {
        ArgsError::Template(e)
    }
}

/// An action's name as Ansible's messages give it (`ansible.builtin.debug`).
fn fqcn(action: &str) -> String {
    match action.contains('.') {
        true => action.to_string(),
        false => format!("ansible.builtin.{action}"),
    }
}

/// A task's arguments for `module`, rendered, except those the module evaluates itself.
pub(super) fn render_args(
    module: &dyn modules::Module,
    task: &Task,
    frame: &Frame,
    scope: &Arc<Scope>,
) -> Result<Map, ArgsError> {
    if task.args.contains_key(crate::playbook::REFUSED_RAW_PARAMS) {
        let msg = format!("Task failed: Action '{}' does not support raw params.", fqcn(&task.action));
        return Err(ArgsError::Module(modules::ModuleError::failed(msg)));
    }
    let mut args = default_args(module, task, frame, scope)?;
    // Arguments given as one template (`assert: "{{ item }}"`, `args: "{{ opts }}"`) are the
    // base; the arguments written beside them win.
    if let Some(Value::String(t)) = task.args.get("_variable_params") {
        match scope.render_str(t)? {
            // Omitted values (and an omitted whole) drop out, as in Ansible.
            Value::Object(m) => args.extend(m.into_iter().filter(|(_, v)| v.as_str() != Some(OMIT))),
            Value::String(s) if s == OMIT => {}
            other => {
                let fqcn = fqcn(&task.action);
                return Err(TemplateError::new(
                    t,
                    format!(
                        "Finalization of task args for '{fqcn}' failed: the arguments given as '{t}' must be a mapping, not {}",
                        crate::vars::type_name(&other)
                    ),
                )
                .into());
            }
        }
    }
    for (k, v) in &task.args {
        if k == "_variable_params" {
            continue;
        }
        if module.raw_args().contains(&k.as_str()) {
            // Evaluated by the module itself, but `{{ omit }}` still leaves it out.
            if v.as_str().and_then(crate::template::single_expression) != Some("omit") {
                args.insert(k.clone(), v.clone());
            }
            continue;
        }
        // `set_fact` names may be templates too (`"{{ prefix }}_port": 1`), as in Ansible.
        let key = match module.name() {
            "set_fact" if crate::template::is_template(k) => match scope.render_str(k)? {
                Value::String(s) => s,
                // The module sees only text names: what is not text fails here, with its type.
                other => {
                    let msg = modules::set_fact::invalid_name(&other);
                    return Err(ArgsError::Module(modules::set_fact::raised(msg)));
                }
            },
            _ => k.clone(),
        };
        let frame = || {
            format!(
                "Task failed: Finalization of task args for '{}' failed: Error while resolving value for '{key}': ",
                fqcn(&task.action)
            )
        };
        match scope.render_value(v).map_err(|e| e.framed(&frame()))? {
            Value::String(s) if s == OMIT => {}
            v => {
                args.insert(key, v);
            }
        }
    }
    Ok(args)
}

/// The variables `task` sees on `host`: the host's layers, block and include vars, task vars.
pub(super) fn task_scope(world: &World, task: &Task, frame: &Frame, host: &str) -> Option<Arc<Scope>> {
    let role = frame.role_of(task).map(|r| r.as_ref());
    let scope = world.task_scope(host, role, &frame.block_vars, &frame.extra)?;
    // The folders `lookup('file'|'first_found'|...)` search relative names in, as Ansible's
    // `ansible_search_path`: the role, the task's own folder, then the playbook's.
    let mut dirs: Vec<Value> = role.map(|r| Value::from(r.path.display().to_string())).into_iter().collect();
    dirs.push(Value::from(task.base_dir.display().to_string()));
    if let Some((_, Value::String(pb))) = scope.raw("playbook_dir") {
        dirs.push(Value::String(pb.clone()));
    }
    // Users see them too, under Ansible's name.
    let search = Map::from_iter([
        ("ansible_search_path".to_string(), Value::Array(dirs.clone())),
        (crate::template::lookups::SEARCH_VAR.to_string(), Value::Array(dirs)),
    ]);
    let scope = scope.layer(Level::Magic, Arc::new(search));
    Some(Arc::new(scope.layer(Level::TaskVars, Arc::new(task.attrs.vars.clone()))))
}

/// The `module_defaults` for this module, rendered: its backend's (`service` runs `systemd`),
/// then its own; the task's arguments go on top (Ansible's order).
fn default_args(
    module: &dyn modules::Module,
    task: &Task,
    frame: &Frame,
    scope: &Arc<Scope>,
) -> Result<Map, TemplateError> {
    let all = frame.module_defaults(task);
    let mut out = Map::new();
    if all.is_empty() {
        return Ok(out);
    }
    let mut names: Vec<&str> = module.backend().into_iter().collect();
    names.push(module.name());
    if task.action != module.name() {
        names.push(task.action.as_str());
    }
    for name in names {
        let Some(v) = all.get(name) else { continue };
        let defaults = match scope.render_value(v)? {
            Value::Object(m) => m,
            Value::Null => continue,
            other => {
                return Err(TemplateError::new(
                    &to_text(v),
                    format!(
                        "the module_defaults of `{name}` must be a mapping, not {}",
                        crate::vars::type_name(&other)
                    ),
                ))
            }
        };
        for (k, v) in defaults {
            match v {
                Value::String(s) if s == OMIT => {}
                v => {
                    out.insert(k, v);
                }
            }
        }
    }
    Ok(out)
}

fn not_a_mapping(source: &Value, got: &Value) -> TemplateError {
    TemplateError::new(
        &to_text(source),
        format!("environment must be a mapping (or a list of mappings), received {}", to_text(got)),
    )
}
