//! Playbook files and plays; `import_playbook` is expanded in place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::attrs;
use super::convert::{self, boolean, flag, float, mapping, opt_string, string};
use super::error::{LoadError, LoadErrorKind};
use super::keywords::{allowed, did_you_mean, names, on, unsupported_reason};
use super::load::{parent_dir, read_yaml, Ctx, LoadOptions, PlayState};
use super::model::{Flag, Item, Play};
use super::role;
use crate::limits::MAX_NESTING;
use crate::value::Value;
use crate::yaml::{Kind, Node, Span};

const IMPORT_PLAYBOOK_KEYS: &[&str] = &["import_playbook", "name", "vars", "tags", "when"];

/// The plays of one playbook file (imports expanded); `chain` holds the files above it.
pub fn load_playbook_file(
    path: &Path,
    dir: &Path,
    opts: &LoadOptions,
    at: Option<&Span>,
    chain: &mut Vec<PathBuf>,
) -> Result<Vec<Play>, LoadError> {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if chain.contains(&canonical) {
        let span = at.cloned().unwrap_or_else(|| Span::unknown(path));
        return Err(LoadError::invalid(&span, format!("{} imports itself (an import cycle)", path.display())));
    }
    if chain.len() >= MAX_NESTING {
        let span = at.cloned().unwrap_or_else(|| Span::unknown(path));
        let msg = format!("import_playbook nests deeper than {MAX_NESTING} levels (maximum recursion depth exceeded)");
        return Err(LoadError::invalid(&span, msg));
    }
    let node = read_yaml(path, at)?;
    // As Ansible: an empty file or list is an error, not a run that does nothing.
    if node.is_null() {
        return Err(LoadError::invalid(&node.span, format!("Empty playbook, nothing to do: {}", path.display())));
    }
    if node.as_seq().is_some_and(<[Node]>::is_empty) {
        let msg = format!("A playbook must contain at least one play: {}", path.display());
        return Err(LoadError::invalid(&node.span, msg));
    }
    let entries = match &node.kind {
        Kind::Seq(items) => items,
        _ => {
            return Err(LoadError::invalid(
                &node.span,
                format!("a playbook must be a list of plays, not {}", node.type_name()),
            )
            .with_hint("start each play with `- hosts: ...`"));
        }
    };
    chain.push(canonical);
    let mut plays = Vec::new();
    for entry in entries {
        mapping(entry, "a play")?;
        let import = entry.as_map().unwrap_or_default().iter().find(|(k, _)| {
            matches!(
                k.as_str(),
                Some("import_playbook" | "ansible.builtin.import_playbook" | "ansible.legacy.import_playbook")
            )
        });
        match import {
            Some((_, file)) => plays.extend(import_playbook(entry, file, path, opts, chain)?),
            None => plays.push(load_play(entry, path, dir, opts)?),
        }
    }
    chain.pop();
    Ok(plays)
}

fn import_playbook(
    entry: &Node,
    file: &Node,
    from: &Path,
    opts: &LoadOptions,
    chain: &mut Vec<PathBuf>,
) -> Result<Vec<Play>, LoadError> {
    let raw = string(file, "import_playbook")?;
    let mut vars = crate::value::Map::new();
    let mut tags = Vec::new();
    let mut when = Vec::new();
    if let Some((_, v)) = entry.as_map().unwrap_or_default().iter().find(|(k, _)| k.key_string() == "vars") {
        vars = convert::vars(v, false)?;
    }
    // The name sees `-e`, the vars of the imports around it and its own.
    let mut known = opts.import_vars.clone();
    known.extend(vars.clone());
    let name = super::load::render_at_load(&raw, &known, opts, &parent_dir(from), None).map_err(|e| {
        LoadError::unsupported(&file.span, format!("import_playbook: cannot resolve '{raw}' while loading: {e}"))
            .with_hint("an imported playbook's name may use only -e variables, its vars and playbook_dir")
    })?;
    for (k, v) in entry.as_map().unwrap_or_default() {
        let key = k.key_string();
        match key.as_str() {
            // `vars` was read above: the name may use them.
            "vars" => {}
            "tags" => tags = convert::tags(v)?,
            "when" => when = convert::when(v)?,
            _ if IMPORT_PLAYBOOK_KEYS.contains(&key.as_str()) || key.ends_with(".import_playbook") => {}
            _ => {
                return Err(LoadError::new(
                    LoadErrorKind::UnknownKey,
                    &k.span,
                    format!("`{key}` is not valid on import_playbook"),
                )
                .maybe_hint(did_you_mean(&key, IMPORT_PLAYBOOK_KEYS.iter().copied())));
            }
        }
    }
    let path = if Path::new(&name).is_absolute() { PathBuf::from(&name) } else { parent_dir(from).join(&name) };
    if !path.is_file() {
        return Err(LoadError::new(
            LoadErrorKind::NotFound,
            &entry.span,
            format!("import_playbook: cannot find '{name}'"),
        )
        .with_hint(format!("searched: {}", path.display()))
        .with_missing(&path));
    }
    let dir = parent_dir(&path);
    // Ansible adds the plugin folders beside every playbook file it loads, imported ones too.
    crate::bridge::add_plugin_dirs(&dir);
    let mut inner = opts.clone();
    inner.import_vars.extend(vars.clone());
    let mut plays = load_playbook_file(&path, &dir, &inner, Some(&entry.span), chain)
        .map_err(|e| e.with_cause(format!("while importing {} at {}", path.display(), entry.span)))?;
    for play in &mut plays {
        play.vars.extend(vars.clone());
        for t in &tags {
            if !play.attrs.tags.contains(t) {
                play.attrs.tags.push(t.clone());
            }
        }
        // Ansible puts these conditions in front of every task block of the play.
        let mut w = when.clone();
        w.append(&mut play.attrs.when);
        play.attrs.when = w;
    }
    Ok(plays)
}

/// One play. Roles load before the task sections, so role handlers come first (Ansible's order).
pub fn load_play(node: &Node, file: &Path, dir: &Path, opts: &LoadOptions) -> Result<Play, LoadError> {
    let entries = mapping(node, "a play")?;
    let state = PlayState::default();
    let ctx = Ctx {
        opts,
        playbook_dir: dir.to_path_buf(),
        base_dir: parent_dir(file),
        role: None,
        handlers: false,
        state: &state,
        files: vec![file.canonicalize().unwrap_or_else(|_| file.to_path_buf())],
        roles: Vec::new(),
        blocks: 0,
        play_vars: Arc::default(),
    };
    let mut play = Play {
        span: node.span.clone(),
        file: file.to_path_buf(),
        gather_facts: Flag::Literal(true),
        ..Default::default()
    };
    let mut hosts = None;
    for (k, v) in entries {
        let key = k.key_string();
        match key.as_str() {
            "name" => play.name = opt_string(v, "name")?.unwrap_or_default(),
            "hosts" => hosts = Some(host_pattern(v)?),
            "vars" => play.vars.extend(convert::vars(v, true)?),
            "vars_files" => play.vars_files = convert::vars_files(v)?,
            "gather_facts" => play.gather_facts = flag(v, "gather_facts")?.unwrap_or(Flag::Literal(true)),
            "gather_subset" => {
                play.gather_subset = Some(Value::from(convert::string_list(v, &key)?));
            }
            "gather_timeout" => play.gather_timeout = convert::number_or_template(v, &key)?,
            "serial" => play.serial = serial(v)?,
            "max_fail_percentage" => play.max_fail_percentage = float(v, &key)?,
            "strategy" => play.strategy = strategy(v)?,
            "order" => play.order = order(v)?,
            "force_handlers" => play.force_handlers = force_handlers(v)?,
            "pre_tasks" | "roles" | "tasks" | "post_tasks" | "handlers" => {}
            _ if allowed(on::PLAY, &key) && attrs::set(&mut play.attrs, &key, v)? => {}
            _ => return Err(unknown_play_key(k, &key)),
        }
    }
    let mut ctx = ctx;
    let mut known = play.vars.clone();
    known.extend(opts.import_vars.clone());
    ctx.play_vars = Arc::new(known);
    play.hosts = hosts.ok_or_else(|| {
        LoadError::invalid(&node.span, "this play has no `hosts`")
            .with_hint("add `hosts: <pattern>` (e.g. `hosts: all`)")
    })?;
    if let Some(v) = node.get("roles") {
        for r in convert::list(v, "`roles`")? {
            let (name, spec) = role::entry(r)?;
            play.roles.push(Item::Block(Arc::new(role::load(&name, spec, &r.span, &ctx, true)?)));
        }
    }
    let section = |key: &str| -> Result<Vec<Item>, LoadError> {
        match node.get(key) {
            Some(v) => ctx.items(v, &format!("`{key}`")),
            None => Ok(Vec::new()),
        }
    };
    play.pre_tasks = section("pre_tasks")?;
    play.tasks = section("tasks")?;
    play.post_tasks = section("post_tasks")?;
    let mut hctx = ctx.clone();
    hctx.handlers = true;
    let own_handlers = match node.get("handlers") {
        Some(v) => hctx.items(v, "`handlers`")?,
        None => Vec::new(),
    };
    play.handlers = state.handlers.take();
    play.handlers.extend(own_handlers);
    Ok(play)
}

fn unknown_play_key(k: &Node, key: &str) -> LoadError {
    if let Some(reason) = unsupported_reason(key) {
        return LoadError::unsupported(&k.span, format!("`{key}`: {reason}"));
    }
    let hint = did_you_mean(key, names(on::PLAY)).or_else(|| {
        matches!(key, "when" | "block" | "register" | "loop" | "notify")
            .then(|| format!("`{key}` belongs on a task or block, not on a play"))
    });
    LoadError::new(LoadErrorKind::UnknownKey, &k.span, format!("'{key}' is not a valid attribute for a Play"))
        .maybe_hint(hint)
}

/// `hosts`: a pattern string, or a list joined with `,`.
fn host_pattern(v: &Node) -> Result<String, LoadError> {
    let parts = convert::string_list(v, "hosts")?;
    let pattern = parts.iter().map(|p| p.trim()).collect::<Vec<_>>().join(",");
    if pattern.is_empty() {
        return Err(LoadError::invalid(&v.span, "`hosts` is empty")
            .with_hint("name a group or host pattern, e.g. `hosts: all`"));
    }
    Ok(pattern)
}

/// `serial`: a count, a percentage, or a list of those (batch sizes).
fn serial(v: &Node) -> Result<Vec<Value>, LoadError> {
    let one = |n: &Node| match &n.kind {
        Kind::Int(_) => Ok(n.to_value()),
        Kind::Str(s) if s.contains("{{") || s.trim().trim_end_matches('%').parse::<f64>().is_ok() => Ok(n.to_value()),
        _ => {
            Err(LoadError::invalid(&n.span, "`serial` must be a number, a percentage like \"30%\", or a list of those"))
        }
    };
    match &v.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Seq(items) => items.iter().map(one).collect(),
        _ => Ok(vec![one(v)?]),
    }
}

/// troupe runs the linear, free and host_pinned strategies; another is refused, not run as
/// linear. A templated one is rendered when the play starts.
fn strategy(v: &Node) -> Result<Option<String>, LoadError> {
    let s = opt_string(v, "strategy")?;
    match s.as_deref() {
        None => Ok(s),
        Some(t) if t.contains("{{") => Ok(s),
        Some(name) if matches!(name.trim_start_matches("ansible.builtin."), "linear" | "free" | "host_pinned") => Ok(s),
        Some(other) => Err(LoadError::unsupported(
            &v.span,
            format!("`strategy: {other}` is not supported by troupe yet (it runs linear, free and host_pinned)"),
        )
        .with_hint("remove `strategy`, or set it to `linear` or `free`")),
    }
}

/// `force_handlers`: handlers also run on hosts that failed (see `flush_handlers`).
fn force_handlers(v: &Node) -> Result<Option<bool>, LoadError> {
    boolean(v, "force_handlers")
}

fn order(v: &Node) -> Result<Option<String>, LoadError> {
    const ORDERS: &[&str] = &["inventory", "reverse_inventory", "sorted", "reverse_sorted", "shuffle"];
    let Some(o) = opt_string(v, "order")? else {
        return Ok(None);
    };
    // A templated order is rendered with the play's hosts (play vars and extra vars).
    if !ORDERS.contains(&o.as_str()) && !o.contains("{{") {
        return Err(LoadError::invalid(&v.span, format!("`order: {o}` is not a host order"))
            .with_hint(format!("one of: {}", ORDERS.join(", "))));
    }
    Ok(Some(o))
}
