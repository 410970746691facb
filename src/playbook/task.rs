//! Task lists: tasks, blocks, and the static imports resolved while loading.

use std::sync::Arc;

use super::args::{check_args, merge_args, module_args};
use super::convert::{self, conditions, float, mapping, number_or_template, opt_string, string, string_list};
use super::error::{LoadError, LoadErrorKind};
use super::freeform::{parse_kv, split_args, COMMAND_MODULES};
use super::keywords::{allowed, closest, did_you_mean, loop_with, names, on, unsupported_reason};
use super::load::Ctx;
use super::model::{next_id, ActionKind, Block, Item, LoopControl, Task};
use super::{attrs, imports};
use crate::value::{Map, Value};
use crate::yaml::{Kind, Node};

/// Common module names, offered as "did you mean" when they are known to `known_action`.
const HINT_NAMES: &[&str] = &[
    "debug",
    "command",
    "shell",
    "file",
    "copy",
    "template",
    "set_fact",
    "assert",
    "stat",
    "fail",
    "include_vars",
    "pause",
    "meta",
    "setup",
    "gather_facts",
    "lineinfile",
    "blockinfile",
    "service",
    "systemd",
    "systemd_service",
    "apt",
    "dnf",
    "yum",
    "package",
    "user",
    "group",
    "get_url",
    "uri",
    "unarchive",
    "wait_for",
    "script",
    "raw",
    "replace",
    "find",
    "slurp",
    "fetch",
    "ping",
];

/// Load a list of tasks and blocks (`tasks:`, a tasks file, `block:`...).
pub fn load_items(node: &Node, ctx: &Ctx, what: &str) -> Result<Vec<Item>, LoadError> {
    convert::list(node, what)?.iter().map(|n| load_item(n, ctx)).collect()
}

fn load_item(node: &Node, ctx: &Ctx) -> Result<Item, LoadError> {
    let entries = mapping(node, "a task")?;
    let is_block = entries.iter().any(|(k, _)| matches!(k.as_str(), Some("block" | "rescue" | "always")));
    // A handlers list's own blocks are implicit blocks; a block inside one is refused, as Ansible.
    if is_block && ctx.handlers && ctx.blocks > 0 {
        return Err(LoadError::unsupported(&node.span, "Using a block as a handler is not supported."));
    }
    if is_block {
        load_block(node, entries, ctx)
    } else {
        load_task(node, entries, ctx)
    }
}

fn load_block(node: &Node, entries: &[(Node, Node)], ctx: &Ctx) -> Result<Item, LoadError> {
    ctx.check_depth(&node.span)?;
    let mut inner = ctx.clone();
    inner.blocks += 1;
    let ctx = &inner;
    let mut b = Block { id: next_id(), span: node.span.clone(), ..Default::default() };
    for (k, v) in entries {
        let key = k.key_string();
        match key.as_str() {
            "block" => b.block = load_items(v, ctx, "`block`")?,
            "rescue" => b.rescue = load_items(v, ctx, "`rescue`")?,
            "always" => b.always = load_items(v, ctx, "`always`")?,
            "name" => b.name = opt_string(v, "name")?,
            _ if allowed(on::BLOCK, &key) && attrs::set(&mut b.attrs, &key, v)? => {}
            _ => return Err(not_for_block(k, &key)),
        }
    }
    Ok(Item::Block(Arc::new(b)))
}

fn not_for_block(k: &Node, key: &str) -> LoadError {
    if let Some(reason) = unsupported_reason(key) {
        return LoadError::unsupported(&k.span, format!("`{key}`: {reason}"));
    }
    if allowed(on::TASK, key) || key.starts_with("with_") {
        return LoadError::new(LoadErrorKind::UnknownKey, &k.span, format!("`{key}` cannot be used on a block"))
            .with_hint("put it on the tasks inside the block");
    }
    LoadError::new(LoadErrorKind::UnknownKey, &k.span, format!("`{key}` is not a valid block keyword"))
        .maybe_hint(did_you_mean(key, names(on::BLOCK)))
}

/// `ansible.builtin.copy` and `ansible.legacy.copy` are `copy`.
pub fn canonical(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.").or_else(|| name.strip_prefix("ansible.legacy.")).unwrap_or(name)
}

fn is_known(name: &str, ctx: &Ctx) -> bool {
    ActionKind::engine(name).is_some() || (ctx.opts.known_action)(name)
}

/// Close known action names, for the hint of an unknown module.
fn module_hint(name: &str, ctx: &Ctx) -> Option<String> {
    let registry = crate::modules::names();
    let candidates = HINT_NAMES
        .iter()
        .chain(registry.iter())
        .copied()
        .chain(ActionKind::ENGINE.iter().map(|(n, _)| *n))
        .filter(|n| is_known(n, ctx));
    did_you_mean(canonical(name), candidates)
}

/// A module key of the task, or the module named by `action:` / `local_action:`.
struct Action<'n> {
    name: String,
    key: &'n Node,
    args: Map,
}

fn load_task(node: &Node, entries: &[(Node, Node)], ctx: &Ctx) -> Result<Item, LoadError> {
    let mut modules: Vec<Action> = Vec::new();
    let mut unknown: Vec<&Node> = Vec::new();
    let mut keywords: Vec<(&Node, &Node, String)> = Vec::new();
    for (k, v) in entries {
        let key = k.key_string();
        if allowed(on::TASK, &key) || key.starts_with("with_") {
            keywords.push((k, v, key));
        } else if key == "debugger" && (v.is_null() || v.as_str() == Some("never")) {
            // The default: no debugger, which is what troupe does.
        } else if let Some(reason) = unsupported_reason(&key) {
            return Err(LoadError::unsupported(&k.span, format!("`{key}`: {reason}")));
        } else if matches!(canonical(&key), "import_playbook" | "include") {
            return Err(misplaced(k, canonical(&key)));
        } else if is_known(canonical(&key), ctx) {
            let name = canonical(&key).to_string();
            let args = module_args(&name, v)?;
            modules.push(Action { name, key: k, args });
        } else {
            unknown.push(k);
        }
    }
    for (k, v, key) in &keywords {
        if key == "action" || key == "local_action" {
            modules.push(action_keyword(k, v, ctx)?);
        }
    }
    if modules.len() > 1 {
        return Err(LoadError::new(
            LoadErrorKind::ConflictingModules,
            &node.span,
            format!("conflicting action statements: {}, {}", modules[0].name, modules[1].name),
        )
        .with_hint("a task runs exactly one module; split it into two tasks"));
    }
    if let Some(k) = unknown.first() {
        let key = k.key_string();
        let keyword = closest(&key, names(on::TASK));
        if modules.is_empty() && keyword.is_none() {
            return Err(LoadError::new(LoadErrorKind::UnknownModule, &k.span, format!("unknown module '{key}'"))
                .with_hint(module_hint(&key, ctx).unwrap_or_else(|| crate::bridge::missing_hint(canonical(&key)))));
        }
        let hint = keyword.map(|c| format!("did you mean '{c}'?")).or_else(|| module_hint(&key, ctx));
        return Err(LoadError::new(LoadErrorKind::UnknownKey, &k.span, format!("`{key}` is not a valid task keyword"))
            .maybe_hint(hint));
    }
    let Some(action) = modules.pop() else {
        return Err(LoadError::new(LoadErrorKind::NoModule, &node.span, "no module/action in this task")
            .with_hint("add a module key such as `debug:` or `command:`"));
    };

    let mut task = Task {
        id: next_id(),
        span: node.span.clone(),
        action: action.name.clone(),
        kind: ActionKind::of(&action.name),
        role: ctx.role.clone(),
        base_dir: ctx.base_dir.clone(),
        ..Default::default()
    };
    if keywords.iter().any(|(_, _, k)| k == "local_action") {
        task.attrs.delegate_to = Some("localhost".into());
    }
    task.args = merge_args(&keywords, action.args)?;
    for (k, v, key) in &keywords {
        task_keyword(&mut task, k, v, key, ctx)?;
    }
    check_args(&mut task, action.key)?;
    if matches!(task.kind, ActionKind::Module | ActionKind::Debug | ActionKind::Setup) {
        (ctx.opts.check_args)(&task.action, &task.args)
            .map_err(|e| LoadError::invalid(&action.key.span, format!("{}: {e}", task.action)))?;
    }
    if ctx.handlers && matches!(task.kind, ActionKind::IncludeRole | ActionKind::ImportRole) {
        let action = if task.kind == ActionKind::IncludeRole { "include_role" } else { "import_role" };
        return Err(LoadError::unsupported(&task.span, format!("Using '{action}' as a handler is not supported.")));
    }
    match task.kind {
        ActionKind::IncludeTasks | ActionKind::IncludeRole => {
            let fits =
                |key: &str| allowed(on::INCLUDE, key) || key.starts_with("with_") || (key == "listen" && ctx.handlers);
            if let Some((k, _, key)) = keywords.iter().find(|(_, _, key)| !fits(key)) {
                return Err(LoadError::invalid(&k.span, format!("`{key}` is not a valid keyword for {}", task.action))
                    .with_hint(format!(
                        "put it under `apply:` in the {} arguments, or use the import_ form",
                        task.action
                    )));
            }
            Ok(Item::Task(Arc::new(task)))
        }
        ActionKind::ImportTasks | ActionKind::ImportRole => {
            if let Some((k, _, key)) = keywords.iter().find(|(_, _, key)| !allowed(on::BLOCK, key)) {
                return Err(LoadError::invalid(
                    &k.span,
                    format!("`{key}` cannot be used on {} (it is resolved at load time)", task.action),
                )
                .with_hint(format!("use {} instead", task.action.replace("import_", "include_"))));
            }
            imports::expand(task, ctx)
        }
        _ => Ok(Item::Task(Arc::new(task))),
    }
}

/// `import_playbook` inside a task list, or the removed `include`.
fn misplaced(k: &Node, name: &str) -> LoadError {
    if name == "include" {
        return LoadError::invalid(&k.span, "`include` was removed from Ansible")
            .with_hint("use include_tasks (at run time) or import_tasks (at load time)");
    }
    LoadError::invalid(&k.span, "import_playbook can only be used at the top level of a playbook")
        .with_hint("move it next to the plays, outside `tasks:`")
}

/// `action: copy src=a dest=b` (or the old mapping form with `module:`).
fn action_keyword<'n>(k: &'n Node, v: &Node, ctx: &Ctx) -> Result<Action<'n>, LoadError> {
    let (name, mut args) = match &v.kind {
        Kind::Str(s) => {
            let words = split_args(s).map_err(|e| LoadError::invalid(&v.span, e))?;
            let name = words.first().map(|w| w.trim().to_string()).unwrap_or_default();
            let rest = words.get(1..).unwrap_or_default().join(" ");
            let name = canonical(&name).to_string();
            let args = parse_kv(&rest, COMMAND_MODULES.contains(&name.as_str()))
                .map_err(|e| LoadError::invalid(&v.span, e))?;
            (name, args)
        }
        Kind::Map(_) => {
            let Some(module) = v.get("module").and_then(Node::as_str) else {
                return Err(LoadError::invalid(&v.span, "the mapping form of `action` needs a `module` key"));
            };
            let words = split_args(module).map_err(|e| LoadError::invalid(&v.span, e))?;
            let name = canonical(words.first().map(String::as_str).unwrap_or_default()).to_string();
            let mut args = match v.to_value() {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            args.remove("module");
            let rest = words.get(1..).unwrap_or_default().join(" ");
            args.extend(
                parse_kv(&rest, COMMAND_MODULES.contains(&name.as_str()))
                    .map_err(|e| LoadError::invalid(&v.span, e))?,
            );
            (name, args)
        }
        _ => {
            return Err(LoadError::invalid(
                &v.span,
                format!("`{}` must be a string such as `copy src=a dest=b`", k.key_string()),
            ))
        }
    };
    if name.is_empty() {
        return Err(LoadError::new(LoadErrorKind::NoModule, &v.span, "`action` names no module"));
    }
    // A templated module name is found when the task runs (Ansible templates `action`).
    if !is_known(&name, ctx) && !crate::template::is_template(&name) {
        return Err(LoadError::new(LoadErrorKind::UnknownModule, &v.span, format!("unknown module '{name}'"))
            .with_hint(module_hint(&name, ctx).unwrap_or_else(|| crate::bridge::missing_hint(&name))));
    }
    // Nested `args` inside the legacy form are merged like the keyword.
    if let Some(Value::Object(inner)) = args.remove("args") {
        args.extend(inner);
    }
    Ok(Action { name, key: k, args })
}

fn task_keyword(task: &mut Task, k: &Node, v: &Node, key: &str, ctx: &Ctx) -> Result<(), LoadError> {
    match key {
        "action" | "local_action" | "args" => {}
        "name" => task.name = opt_string(v, key)?,
        "loop" => set_loop(task, k, v, None)?,
        "loop_control" => task.loop_control = loop_control(v)?,
        "register" => task.register = register_name(v)?,
        "changed_when" => task.changed_when = conditions(v, key)?,
        "failed_when" => task.failed_when = conditions(v, key)?,
        "until" => task.until = conditions(v, key)?,
        "retries" => task.retries = number_or_template(v, key)?,
        "delay" => task.delay = number_or_template(v, key)?,
        "async" => task.async_ = number_or_template(v, key)?,
        "poll" => task.poll = number_or_template(v, key)?,
        "guarded_by" => task.guarded_by = string_list(v, key)?,
        "listen" if ctx.handlers => task.listen = string_list(v, key)?,
        "listen" => {
            return Err(LoadError::invalid(&k.span, "`listen` is only valid on handlers")
                .with_hint("move this task under `handlers:`, or use `notify` here"));
        }
        _ if key.starts_with("with_") => {
            let with = &key["with_".len()..];
            if !loop_with(with) {
                let known = crate::template::lookups::SUPPORTED.join(", with_");
                return Err(LoadError::unsupported(&k.span, format!("`{key}` is not supported by troupe (yet)"))
                    .with_hint(format!("use `loop:` with a filter, or one of with_fileglob, with_{known}")));
            }
            set_loop(task, k, v, Some(with))?;
        }
        _ => {
            if !attrs::set(&mut task.attrs, key, v)? {
                return Err(LoadError::new(
                    LoadErrorKind::UnknownKey,
                    &k.span,
                    format!("`{key}` is not a valid task keyword"),
                ));
            }
        }
    }
    Ok(())
}

fn set_loop(task: &mut Task, k: &Node, v: &Node, with: Option<&str>) -> Result<(), LoadError> {
    if task.loop_.is_some() {
        return Err(
            LoadError::invalid(&k.span, "this task already has a loop").with_hint("use one of `loop` or `with_*`")
        );
    }
    let fits = match &v.kind {
        Kind::Null if with.is_some() => {
            return Err(LoadError::invalid(&v.span, format!("`{}` needs a value", k.key_string())));
        }
        Kind::Null => return Ok(()),
        Kind::Seq(_) | Kind::Str(_) => true,
        // `with_*` passes a mapping to its lookup as one term (`with_first_found: {files: ..}`).
        Kind::Map(_) => with.is_some(),
        _ => false,
    };
    if !fits {
        return Err(LoadError::invalid(
            &v.span,
            format!("`{}` must be a list or a template, not {}", k.key_string(), v.type_name()),
        ));
    }
    task.loop_ = Some(v.to_value());
    task.loop_with = with.map(str::to_string);
    Ok(())
}

fn loop_control(v: &Node) -> Result<LoopControl, LoadError> {
    let mut lc = LoopControl::default();
    if v.is_null() {
        return Ok(lc);
    }
    const KEYS: &[&str] = &["loop_var", "index_var", "label", "pause", "extended", "extended_allitems", "break_when"];
    for (k, val) in mapping(v, "`loop_control`")? {
        let key = k.key_string();
        match key.as_str() {
            "loop_var" => lc.loop_var = opt_string(val, &key)?,
            "index_var" => lc.index_var = opt_string(val, &key)?,
            "label" => lc.label = Some(string(val, &key)?),
            "pause" => {
                lc.pause = float(val, &key)?;
                if let Some(Err(e)) = lc.pause.map(crate::limits::wait) {
                    return Err(LoadError::invalid(&val.span, format!("`loop_control.pause` {e}")));
                }
            }
            "extended" => lc.extended = super::convert::boolean(val, &key)?.unwrap_or(false),
            "extended_allitems" => lc.no_allitems = !super::convert::boolean(val, &key)?.unwrap_or(true),
            "break_when" => lc.break_when = conditions(val, &key)?,
            _ => {
                return Err(LoadError::new(
                    LoadErrorKind::UnknownKey,
                    &k.span,
                    format!("`{key}` is not a valid loop_control key"),
                )
                .maybe_hint(did_you_mean(&key, KEYS.iter().copied())));
            }
        }
    }
    Ok(lc)
}

/// `register:` names a variable (Ansible refuses `-1`, `a.b`, `{{ x }}` alike).
fn register_name(v: &Node) -> Result<Option<String>, LoadError> {
    match &v.kind {
        Kind::Null => Ok(None),
        Kind::Str(s) if convert::is_identifier(s) => Ok(Some(s.clone())),
        _ => Err(LoadError::invalid(
            &v.span,
            format!(
                "Invalid 'register' specified: Invalid variable name '{}' of type '{}'.",
                v.key_string(),
                python_type(v)
            ),
        )
        .with_hint("variable names are letters, digits and `_`, not starting with a digit")),
    }
}

fn python_type(v: &Node) -> &'static str {
    match v.kind {
        Kind::Int(_) => "int",
        Kind::Float(_) => "float",
        Kind::Bool(_) => "bool",
        Kind::Seq(_) => "list",
        Kind::Map(_) => "dict",
        _ => "str",
    }
}
