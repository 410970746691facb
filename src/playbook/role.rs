//! Roles: finding them, reading their files, dependencies first, and Ansible's dedup rule.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::attrs;
use super::convert::{self, mapping, string};
use super::error::{LoadError, LoadErrorKind};
use super::keywords::{allowed, on, unsupported_reason};
use super::load::{find_yaml, parent_dir, read_yaml, Ctx, RoleSpec};
use super::model::{next_id, Attrs, Block, Item, Role};
use crate::value::Map;
use crate::yaml::{Kind, Node, Span};

/// What makes two uses of a role "the same" for dedup: its folder and how it is used.
pub(crate) type RoleKey = (PathBuf, String);

/// A `roles:` entry or a meta dependency: a name, or a mapping with `role:` (or `name:`),
/// keywords, and any other key as a role parameter.
pub fn entry(node: &Node) -> Result<(String, RoleSpec), LoadError> {
    let mut spec = RoleSpec::default();
    let empty = || LoadError::invalid(&node.span, "role definitions must contain a role name");
    if let Kind::Str(name) = &node.kind {
        if name.trim().is_empty() {
            return Err(empty());
        }
        return Ok((name.clone(), spec));
    }
    let entries = mapping(node, "a role entry")?;
    let mut name = None;
    for (k, v) in entries {
        let key = k.key_string();
        match key.as_str() {
            "role" => name = Some(string(v, "role")?),
            "name" if !entries.iter().any(|(k, _)| k.as_str() == Some("role")) => name = Some(string(v, "name")?),
            _ if allowed(on::ROLE, &key) && attrs::set(&mut spec.attrs, &key, v)? => {}
            _ if key == "name" => {}
            _ => {
                if let Some(reason) = unsupported_reason(&key) {
                    return Err(LoadError::unsupported(&k.span, format!("`{key}`: {reason}")));
                }
                spec.params.insert(key, v.to_value());
            }
        }
    }
    let name = name.ok_or_else(|| {
        LoadError::invalid(&node.span, "a role entry needs `role: <name>`")
            .with_hint("write `- role: my_role` or just `- my_role`")
    })?;
    if name.trim().is_empty() {
        return Err(empty());
    }
    Ok((name, spec))
}

/// Where a role is, and every place looked at. Ansible's order, for plain names and names
/// with `/` (`etcd/config`) alike: `roles/` beside the playbook, `roles_path`, the folder of the
/// role that depends on it, the playbook's folder; then (troupe's addition) `../roles`, for
/// playbooks kept in a `playbooks/` folder. Ansible's last resort is the name as a path from the
/// current directory.
pub fn find(name: &str, ctx: &Ctx) -> Result<PathBuf, Vec<PathBuf>> {
    let mut candidates = vec![ctx.playbook_dir.join("roles").join(name)];
    candidates.extend(ctx.opts.roles_path.iter().map(|p| p.join(name)));
    if let Some(role) = &ctx.role {
        candidates.push(parent_dir(&role.path).join(name));
    }
    candidates.push(ctx.playbook_dir.join(name));
    candidates.push(ctx.playbook_dir.join("..").join("roles").join(name));
    candidates.push(PathBuf::from(name));
    candidates.extend(collection_role(name, ctx));
    let mut unique: Vec<PathBuf> = Vec::new();
    for c in candidates {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    unique.iter().find(|p| p.is_dir()).cloned().ok_or(unique)
}

/// Where a collection role `ns.col.role` may live: the `collections/` folder beside the
/// playbook, then each collections path (with or without its `ansible_collections` part).
fn collection_role(name: &str, ctx: &Ctx) -> Vec<PathBuf> {
    let parts: Vec<&str> = name.split('.').collect();
    let [ns, col, role] = parts[..] else { return Vec::new() };
    if parts.iter().any(|p| p.is_empty() || p.contains('/')) {
        return Vec::new();
    }
    collection_roots(&ctx.playbook_dir).into_iter().map(|r| r.join(ns).join(col).join("roles").join(role)).collect()
}

/// The `ansible_collections/` folders: `collections/` beside the playbook, then the collections
/// path setting (`ANSIBLE_COLLECTIONS_PATH`, ansible.cfg, the defaults).
fn collection_roots(playbook_dir: &Path) -> Vec<PathBuf> {
    let mut roots = vec![playbook_dir.join("collections")];
    roots.extend(crate::template::lookups::paths_setting("COLLECTIONS_PATHS").into_iter().map(PathBuf::from));
    roots
        .into_iter()
        .map(|r| if r.ends_with("ansible_collections") { r } else { r.join("ansible_collections") })
        .collect()
}

/// A playbook named by its collection, as `ansible-playbook ns.coll.site` takes it: the
/// collection's `playbooks/site.yml` (`ns.coll.sub.site` is `playbooks/sub/site.yml`), or
/// `.yaml`. None when `name` is a file or not such a name.
pub fn collection_playbook(name: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = name.split('.').collect();
    let plain = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if Path::new(name).exists() || parts.len() < 3 || !parts.iter().all(plain) {
        return None;
    }
    let rel: PathBuf = parts[2..].iter().collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    collection_roots(&cwd)
        .into_iter()
        .flat_map(|root| {
            let dir = root.join(parts[0]).join(parts[1]).join("playbooks");
            ["yml", "yaml"].map(|ext| dir.join(&rel).with_extension(ext))
        })
        .find(|p| p.is_file())
        .map(|p| std::path::absolute(&p).unwrap_or(p))
}

/// The role's name as Ansible shows it (`role_name`, task prefixes): the name as written, or
/// its last part when only the current-directory fallback found it.
fn display_name(name: &str, path: &Path, ctx: &Ctx) -> String {
    if path == Path::new(name) && !ctx.playbook_dir.join(name).is_dir() {
        return path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| name.to_string());
    }
    name.to_string()
}

struct Meta {
    allow_duplicates: bool,
    dependencies: Vec<(String, RoleSpec, Span)>,
}

fn meta(path: &Path, at: &Span) -> Result<Meta, LoadError> {
    let mut meta = Meta { allow_duplicates: false, dependencies: Vec::new() };
    let Some(file) = find_yaml(&path.join("meta"), "main") else {
        return Ok(meta);
    };
    let node = read_yaml(&file, Some(at))?;
    if node.is_null() {
        return Ok(meta);
    }
    mapping(&node, "meta/main.yml")?;
    if let Some(v) = node.get("allow_duplicates") {
        meta.allow_duplicates = convert::boolean(v, "allow_duplicates")?.unwrap_or(false);
    }
    if let Some(deps) = node.get("dependencies") {
        for dep in convert::list(deps, "`dependencies`")? {
            let (name, spec) = entry(dep)?;
            meta.dependencies.push((name, spec, dep.span.clone()));
        }
    }
    Ok(meta)
}

/// `defaults/<from or main>` or `vars/<from or main>`: a mapping (missing `main` is empty).
fn vars_file(path: &Path, sub: &str, from: Option<&str>, at: &Span) -> Result<Map, LoadError> {
    let name = from.unwrap_or("main");
    // `defaults/main/` may be a folder of files, merged in name order.
    let folder = path.join(sub).join(name);
    if folder.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(|e| LoadError::new(LoadErrorKind::NotFound, at, format!("cannot read {}: {e}", folder.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yml" || x == "yaml" || x == "json"))
            .collect();
        files.sort();
        let mut out = Map::new();
        for file in files {
            out.extend(vars_of(&file, at)?);
        }
        return Ok(out);
    }
    match find_yaml(&path.join(sub), name) {
        Some(file) => vars_of(&file, at),
        None if from.is_some() => Err(missing_part(at, path, sub, name)),
        None => Ok(Map::new()),
    }
}

fn vars_of(file: &Path, at: &Span) -> Result<Map, LoadError> {
    let node = read_yaml(file, Some(at))?;
    if node.is_null() {
        return Ok(Map::new());
    }
    mapping(&node, &format!("{}", file.display()))?;
    convert::vars(&node, false)
}

fn missing_part(at: &Span, path: &Path, sub: &str, name: &str) -> LoadError {
    LoadError::new(LoadErrorKind::NotFound, at, format!("the role at {} has no {sub}/{name}", path.display()))
        .with_hint(format!("looked for {name}, {name}.yml, {name}.yaml in {}", path.join(sub).display()))
}

/// Load a role into its block: dependencies (nested role blocks) then its tasks. Its handlers
/// go to the play's list. With `dedup`, a role already used the same way in this play is
/// marked `duplicate_role` (its handlers are not added twice) unless its meta says
/// `allow_duplicates: true`.
pub fn load(name: &str, spec: RoleSpec, at: &Span, ctx: &Ctx, dedup: bool) -> Result<Block, LoadError> {
    if name.contains("{{") {
        return Err(LoadError::unsupported(
            at,
            format!("role names are resolved at load time; '{name}' is a template"),
        )
        .with_hint("use include_role for a templated role name"));
    }
    let path = find(name, ctx).map_err(|searched| {
        // Ansible's words: the folders looked in, joined with ':'.
        let mut dirs: Vec<String> = Vec::new();
        for dir in searched.iter().filter_map(|p| p.ancestors().nth(name.split('/').count())) {
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()).display().to_string();
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        LoadError::new(LoadErrorKind::NotFound, at, format!("the role '{name}' was not found in {}", dirs.join(":")))
            .with_hint("add its folder to roles_path if it lives elsewhere")
    })?;
    // Absolute with links resolved, as Ansible's `role_path` (`unfrackpath`), even when found
    // through a relative roles_path.
    let path = path.canonicalize().unwrap_or(path);
    // Its own modules, for the bridge (Ansible adds a role's `library/` when it loads the role).
    crate::bridge::add_plugin_dirs(&path);
    let canonical = path.clone();
    ctx.check_depth(at)?;
    // A role importing another tasks file of its own is not a cycle; the same file again is.
    let entry = (canonical.clone(), spec.tasks_from.clone());
    if ctx.roles.contains(&entry) {
        return Err(LoadError::invalid(at, format!("role '{name}' depends on itself (a dependency cycle)")));
    }
    let meta = meta(&path, at)?;
    let from = [&spec.tasks_from, &spec.vars_from, &spec.defaults_from, &spec.handlers_from];
    let usage = serde_json::json!([spec.params, spec.attrs.when, spec.attrs.tags, spec.attrs.vars, from]);
    let key: RoleKey = (canonical.clone(), usage.to_string());
    let duplicate = {
        let mut seen = ctx.state.seen_roles.borrow_mut();
        let repeated = seen.contains(&key);
        if !repeated {
            seen.push(key);
        }
        repeated && dedup && !spec.allow_duplicates.unwrap_or(meta.allow_duplicates)
    };
    let role_name = display_name(name, &path, ctx);
    let role = Arc::new(Role {
        name: role_name.clone(),
        path: path.clone(),
        defaults: vars_file(&path, "defaults", spec.defaults_from.as_deref(), at)?,
        vars: vars_file(&path, "vars", spec.vars_from.as_deref(), at)?,
        params: inherited_params(ctx, &spec.params),
    });
    let mut inner = ctx.clone();
    inner.roles.push(entry);
    inner.role = Some(role.clone());
    inner.handlers = false;
    let in_role = |e: LoadError| e.with_cause(format!("in role '{role_name}' ({}) used at {at}", path.display()));

    let mut body = Vec::new();
    for (dep, dep_spec, dep_at) in meta.dependencies {
        body.push(Item::Block(Arc::new(load(&dep, dep_spec, &dep_at, &inner, true).map_err(in_role)?)));
    }
    match find_yaml(&path.join("tasks"), spec.tasks_from.as_deref().unwrap_or("main")) {
        Some(file) => {
            let node = read_yaml(&file, Some(at)).map_err(in_role)?;
            body.extend(inner.enter(&file, Some(at))?.items(&node, "a tasks file").map_err(in_role)?);
        }
        None => {
            if let Some(f) = &spec.tasks_from {
                return Err(missing_part(at, &path, "tasks", f));
            }
        }
    }
    match find_yaml(&path.join("handlers"), spec.handlers_from.as_deref().unwrap_or("main")) {
        Some(file) => {
            let node = read_yaml(&file, Some(at)).map_err(in_role)?;
            let mut hctx = inner.enter(&file, Some(at))?;
            hctx.handlers = true;
            let handlers = hctx.items(&node, "a handlers file").map_err(in_role)?;
            if !duplicate {
                // They run with the role's keywords (`become_user` on its `roles:` entry), as
                // Ansible's handler blocks inherit from their role; `when` and tags stay with
                // the role's tasks.
                let attrs = Attrs { when: Vec::new(), tags: Vec::new(), ..spec.attrs.clone() };
                let block = Block {
                    id: next_id(),
                    span: at.clone(),
                    block: handlers,
                    attrs,
                    role: Some(role.clone()),
                    ..Default::default()
                };
                ctx.state.handlers.borrow_mut().push(Item::Block(Arc::new(block)));
            }
        }
        None => {
            if let Some(f) = &spec.handlers_from {
                return Err(missing_part(at, &path, "handlers", f));
            }
        }
    }
    Ok(Block {
        id: next_id(),
        span: at.clone(),
        block: body,
        attrs: spec.attrs,
        role: Some(role),
        duplicate_role: duplicate,
        ..Default::default()
    })
}

/// A role used from inside another (a dependency, an import) also sees the parameters of the
/// roles above it, its own winning (Ansible's inherited vars of the dependency chain).
fn inherited_params(ctx: &Ctx, own: &crate::value::Map) -> crate::value::Map {
    let mut params = ctx.role.as_ref().map(|r| r.params.clone()).unwrap_or_default();
    params.extend(own.clone());
    params
}
