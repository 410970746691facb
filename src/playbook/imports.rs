//! `import_tasks` and `import_role`: resolved while loading, into blocks whose keywords flow down.

use std::path::PathBuf;
use std::sync::Arc;

use super::error::{LoadError, LoadErrorKind};
use super::load::{read_yaml, Ctx, RoleSpec};
use super::model::{next_id, ActionKind, Block, Item, Task};
use super::role;
use crate::value::{to_text, Value};

/// Replace an import task by the block it stands for.
pub fn expand(task: Task, ctx: &Ctx) -> Result<Item, LoadError> {
    if task.kind == ActionKind::ImportRole {
        import_role(task, ctx)
    } else {
        import_tasks(task, ctx)
    }
}

fn arg(task: &Task, key: &str) -> Option<String> {
    task.args.get(key).map(to_text).filter(|s| !s.is_empty())
}

/// A templated import argument, rendered with what is known while loading (play vars, `-e`,
/// `role_path`, role vars): Ansible resolves imports before any host variable exists.
fn render_template(task: &Task, what: &str, value: String, ctx: &Ctx) -> Result<String, LoadError> {
    // The import's own `vars` count too.
    let rendered = if task.attrs.vars.is_empty() {
        ctx.render_at_load(&value)
    } else {
        let mut known = (*ctx.play_vars).clone();
        known.extend(task.attrs.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        super::load::render_at_load(&value, &known, ctx.opts, &ctx.playbook_dir, ctx.role.as_deref())
    };
    rendered.map_err(|e| {
        let dynamic = task.action.replace("import_", "include_");
        LoadError::unsupported(
            &task.span,
            format!("{}: the {what} '{value}' cannot be resolved while loading: {e}", task.action),
        )
        .with_hint(format!(
            "imports see only play vars, -e, role vars and role_path; use {dynamic} for a {what} from host variables"
        ))
    })
}

fn import_tasks(task: Task, ctx: &Ctx) -> Result<Item, LoadError> {
    let file = render_template(&task, "file name", arg(&task, "file").unwrap_or_default(), ctx)?;
    let candidates = tasks_file_candidates(&file, ctx);
    let Some(path) = candidates.iter().find(|p| p.is_file()).cloned() else {
        let searched: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        return Err(LoadError::new(
            LoadErrorKind::NotFound,
            &task.span,
            format!("import_tasks: cannot find tasks file '{file}'"),
        )
        .with_hint(format!("searched: {}", searched.join(", ")))
        .with_missing(&file));
    };
    let node = read_yaml(&path, Some(&task.span))?;
    let items = ctx
        .enter(&path, Some(&task.span))?
        .items(&node, "a tasks file")
        .map_err(|e| e.with_cause(format!("while importing {} at {}", path.display(), task.span)))?;
    Ok(Item::Block(Arc::new(Block {
        id: next_id(),
        span: task.span.clone(),
        name: task.name.clone(),
        block: items,
        attrs: task.attrs.clone(),
        import: Some(file),
        ..Default::default()
    })))
}

/// Next to the current file first; inside a role also its `tasks/` folder and the role folder;
/// last the playbook's folder (Ansible's `path_dwim_relative` "basedir as last resort").
pub fn tasks_file_candidates(file: &str, ctx: &Ctx) -> Vec<PathBuf> {
    let given = PathBuf::from(file);
    if given.is_absolute() {
        return vec![given];
    }
    let mut out = vec![ctx.base_dir.join(file)];
    if let Some(role) = &ctx.role {
        out.push(role.path.join("tasks").join(file));
        out.push(role.path.join(file));
        if !file.starts_with("tasks/") {
            out.push(ctx.playbook_dir.join("tasks").join(file));
        }
    }
    out.push(ctx.playbook_dir.join(file));
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

fn import_role(task: Task, ctx: &Ctx) -> Result<Item, LoadError> {
    let name = render_template(&task, "role name", arg(&task, "name").unwrap_or_default(), ctx)?;
    // `tasks_from` and the like, rendered while loading when templated.
    let from = |k: &str| -> Result<Option<String>, LoadError> {
        match task.args.get(k).filter(|v| !v.is_null()).map(to_text) {
            Some(t) if crate::template::is_template(&t) => render_template(&task, k, t, ctx).map(Some),
            v => Ok(v),
        }
    };
    let allow_duplicates = match task.args.get("allow_duplicates") {
        None => true,
        Some(Value::String(t)) => {
            let text = render_template(&task, "allow_duplicates", t.clone(), ctx)?;
            crate::value::to_bool(&Value::String(text)) != Some(false)
        }
        Some(v) => crate::value::to_bool(v) != Some(false),
    };
    let spec = RoleSpec {
        params: Default::default(),
        tasks_from: from("tasks_from")?,
        vars_from: from("vars_from")?,
        defaults_from: from("defaults_from")?,
        handlers_from: from("handlers_from")?,
        attrs: task.attrs.clone(),
        // An import_role runs again (its `allow_duplicates` defaults to true, over the role's
        // meta) unless told otherwise.
        allow_duplicates: Some(allow_duplicates),
    };
    let mut block = role::load(&name, spec, &task.span, ctx, true)?;
    block.name = task.name.clone();
    block.import = Some(name);
    Ok(Item::Block(Arc::new(block)))
}
