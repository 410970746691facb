//! Module arguments: the module key's value, the `args` keyword, and per-action rules.

use super::error::{LoadError, LoadErrorKind};
use super::freeform::{parse_kv, COMMAND_MODULES};
use super::keywords::did_you_mean;
use super::model::Task;
use crate::value::{Map, Value};
use crate::yaml::{Kind, Node};

/// Actions whose free-form text is kept as `_raw_params` (Ansible's RAW_PARAM_MODULES).
const RAW_PARAM_ACTIONS: &[&str] = &[
    "command",
    "shell",
    "raw",
    "script",
    "include_vars",
    "include_tasks",
    "include_role",
    "import_tasks",
    "import_role",
    "add_host",
    "group_by",
    "set_fact",
    "meta",
];

/// Arguments written as the module key's value: a mapping, free-form text, or nothing.
pub fn module_args(name: &str, v: &Node) -> Result<Map, LoadError> {
    match &v.kind {
        Kind::Null => Ok(Map::new()),
        Kind::Map(_) => match v.to_value() {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        },
        Kind::Str(s) => parse_kv(s, COMMAND_MODULES.contains(&name)).map_err(|e| LoadError::invalid(&v.span, e)),
        Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) => {
            Ok(Map::from_iter([("_raw_params".to_string(), Value::String(crate::value::to_text(&v.to_value())))]))
        }
        Kind::Seq(_) => Err(LoadError::invalid(
            &v.span,
            format!("the arguments of `{name}` must be a mapping or a string, not a list"),
        )),
    }
}

/// The `args:` keyword gives defaults; the module's own arguments win.
pub fn merge_args(keywords: &[(&Node, &Node, String)], module: Map) -> Result<Map, LoadError> {
    let mut out = Map::new();
    if let Some((_, v, _)) = keywords.iter().find(|(_, _, k)| k == "args") {
        match &v.kind {
            Kind::Null => {}
            Kind::Map(_) => {
                if let Value::Object(m) = v.to_value() {
                    out = m;
                }
            }
            Kind::Str(s) if s.contains("{{") => {
                out.insert("_variable_params".into(), Value::String(s.clone()));
            }
            _ => {
                return Err(LoadError::invalid(
                    &v.span,
                    "the task `args` keyword must be a mapping (or a template giving one)",
                ));
            }
        }
    }
    out.extend(module);
    Ok(out)
}

/// Where free-form text given to an action that takes none waits for the run, which fails
/// the task with Ansible's message.
pub const REFUSED_RAW_PARAMS: &str = "_troupe_refused_raw_params";

/// Action-specific argument rules: raw params, include/import file names.
pub fn check_args(task: &mut Task, key: &Node) -> Result<(), LoadError> {
    let action = task.action.clone();
    if let Some(arg) = task.args.keys().find(|k| k.starts_with("_ansible_")) {
        // Named as written (`ansible.builtin.debug` stays so), as in Ansible's message.
        let action = key.as_str().unwrap_or(&action);
        return Err(LoadError::new(
            LoadErrorKind::Reserved,
            &key.span,
            format!(
                "Invalid parameter specified beginning with keyword '_ansible_' for action '{action}': '{arg}'. \
                 The prefix '_ansible_' is reserved for internal use only."
            ),
        ));
    }
    if !RAW_PARAM_ACTIONS.contains(&action.as_str()) {
        if let Some(Value::String(raw)) = task.args.get("_raw_params") {
            if crate::template::single_expression(raw).is_some() {
                // `assert: "{{ item }}"`: the whole arguments come from one template, rendered
                // per host and item to a mapping (Ansible's `_variable_params`).
                let raw = raw.clone();
                task.args.remove("_raw_params");
                task.args.insert("_variable_params".into(), Value::String(raw));
            } else if !raw.trim_start().starts_with("{{") {
                // Ansible refuses them when the task runs (a failure `ignore_errors` can catch).
                let raw = raw.clone();
                task.args.remove("_raw_params");
                task.args.insert(REFUSED_RAW_PARAMS.into(), Value::String(raw));
            }
        }
    }
    match action.as_str() {
        "include_tasks" | "import_tasks" => {
            let allowed: &[&str] =
                if action == "include_tasks" { &["file", "_raw_params", "apply"] } else { &["file", "_raw_params"] };
            bad_options(task, key, allowed)?;
            let raw = task.args.remove("_raw_params");
            if let Some(raw) = raw {
                task.args.insert("file".into(), raw);
            }
            match task.args.get("file") {
                Some(Value::String(f)) if !f.trim().is_empty() => {}
                _ => {
                    let written = key.key_string();
                    return Err(LoadError::invalid(&task.span, format!("No file specified for {written}"))
                        .with_hint(format!("write `{action}: file.yml`")));
                }
            }
            if !matches!(task.args.get("apply"), None | Some(Value::Object(_))) {
                return Err(LoadError::invalid(&key.span, "`apply` must be a mapping of keywords"));
            }
        }
        "include_role" | "import_role" => {
            let mut allowed = vec![
                "name",
                "role",
                "tasks_from",
                "vars_from",
                "defaults_from",
                "handlers_from",
                "public",
                "allow_duplicates",
                "rolespec_validate",
            ];
            if action == "include_role" {
                allowed.push("apply");
            }
            bad_options(task, key, &allowed)?;
            // `role` names the role too; `name` wins (Ansible's IncludeRole).
            if let Some(role) = task.args.remove("role") {
                task.args.entry("name").or_insert(role);
            }
            if !matches!(task.args.get("name"), Some(Value::String(n)) if !n.trim().is_empty()) {
                return Err(LoadError::invalid(&key.span, format!("'name' is a required field for {action}")));
            }
            for from in ["tasks_from", "vars_from", "defaults_from", "handlers_from"] {
                let kind = match task.args.get(from) {
                    None | Some(Value::String(_)) => continue,
                    Some(Value::Array(_)) => "a list",
                    Some(Value::Object(_)) => "a mapping",
                    Some(_) => "no string",
                };
                return Err(LoadError::invalid(
                    &key.span,
                    format!("Expected a string for {from} but got {kind} instead"),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn bad_options(task: &Task, key: &Node, allowed: &[&str]) -> Result<(), LoadError> {
    let bad: Vec<&str> = task.args.keys().map(String::as_str).filter(|k| !allowed.contains(k)).collect();
    if bad.is_empty() {
        return Ok(());
    }
    let hint = did_you_mean(bad[0], allowed.iter().copied().filter(|a| !a.starts_with('_'))).unwrap_or_else(|| {
        format!(
            "valid options: {}",
            allowed.iter().filter(|a| !a.starts_with('_')).copied().collect::<Vec<_>>().join(", ")
        )
    });
    Err(LoadError::invalid(&key.span, format!("Invalid options for {}: {}", task.action, bad.join(",")))
        .with_hint(hint))
}
