//! Entry points of the loader and the context shared while loading one play.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{LoadError, LoadErrorKind};
use super::model::{ActionKind, Attrs, Item, Playbook, Role};
use super::{play, role, task};
use crate::limits::MAX_NESTING;
use crate::value::Map;
use crate::yaml::{self, Node, Span};

/// How to load: where roles live and which action names exist.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Extra role folders (`ANSIBLE_ROLES_PATH`, `roles_path` in ansible.cfg), searched in order.
    pub roles_path: Vec<PathBuf>,
    /// Whether a (canonical) action name is a module or engine action troupe runs.
    pub known_action: fn(&str) -> bool,
    /// Check a module's literal arguments against its spec (types, choices) at load time.
    pub check_args: fn(&str, &Map) -> Result<(), String>,
    /// `playbook_dir` for `load_tasks_file` at run time (where `roles/` is searched); when
    /// unset, the tasks file's own folder is used.
    pub playbook_dir: Option<PathBuf>,
    /// `-e` variables: known while loading, for templated import paths.
    pub extra_vars: Map,
    /// The `vars` of the `import_playbook`s around the file being loaded: they become play
    /// vars of its plays, so its imports may use them.
    pub import_vars: Map,
}

fn default_known_action(name: &str) -> bool {
    crate::modules::find(name).is_some() || ActionKind::engine(name).is_some()
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            roles_path: Vec::new(),
            known_action: default_known_action,
            check_args: crate::modules::check_literal_args,
            playbook_dir: None,
            extra_vars: Map::new(),
            import_vars: Map::new(),
        }
    }
}

/// How a role is used: from `roles:`, `import_role`, a dependency, or `include_role` at run time.
#[derive(Debug, Clone, Default)]
pub struct RoleSpec {
    /// Role parameters (high precedence variables).
    pub params: Map,
    pub tasks_from: Option<String>,
    pub vars_from: Option<String>,
    pub defaults_from: Option<String>,
    pub handlers_from: Option<String>,
    /// Keywords on the role's block (`tags`, `when`, `vars`, `become`, ...).
    pub attrs: Attrs,
    /// `allow_duplicates` given where the role is used (it wins over the role's meta).
    pub allow_duplicates: Option<bool>,
}

/// Load a playbook file: its plays, with `import_playbook` expanded in place.
pub fn load_playbook(path: &Path, opts: &LoadOptions) -> Result<Playbook, LoadError> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    let mut plays = play::load_playbook_file(path, &dir, opts, None, &mut Vec::new())?;
    for play in &mut plays {
        super::tags::render_play(play, opts, &dir)?;
    }
    Ok(Playbook { path: path.to_path_buf(), dir, plays })
}

/// Load a tasks file at run time (`include_tasks`), as part of `role` if given. `handlers`:
/// a handler includes it, so its tasks are handlers (`listen` allowed, no nested blocks).
pub fn load_tasks_file(
    path: &Path,
    role: Option<Arc<Role>>,
    handlers: bool,
    opts: &LoadOptions,
) -> Result<Vec<Item>, LoadError> {
    let base = parent_dir(path);
    let state = PlayState::default();
    let ctx = Ctx {
        opts,
        playbook_dir: opts.playbook_dir.clone().unwrap_or_else(|| base.clone()),
        base_dir: base,
        role,
        handlers,
        state: &state,
        files: Vec::new(),
        roles: Vec::new(),
        blocks: 0,
        play_vars: Arc::default(),
    };
    let node = read_yaml(path, None)?;
    ctx.enter(path, None)?.items(&node, "a tasks file")
}

/// Load a role (for `include_role` at run time): its block, dependencies first as nested role
/// blocks, and its handlers. `from_dir` is the playbook folder roles are searched from.
pub fn load_role(
    name: &str,
    from_dir: &Path,
    spec: RoleSpec,
    opts: &LoadOptions,
) -> Result<(Item, Vec<Item>), LoadError> {
    let state = PlayState::default();
    let ctx = Ctx {
        opts,
        playbook_dir: from_dir.to_path_buf(),
        base_dir: from_dir.to_path_buf(),
        role: None,
        handlers: false,
        state: &state,
        files: Vec::new(),
        roles: Vec::new(),
        blocks: 0,
        play_vars: Arc::default(),
    };
    let at = Span::unknown(from_dir);
    let block = role::load(name, spec, &at, &ctx, false)?;
    let handlers = state.handlers.take();
    Ok((Item::Block(Arc::new(block)), handlers))
}

/// What one play collects while its parts load: roles already used (dedup) and role handlers.
#[derive(Default)]
pub(crate) struct PlayState {
    pub seen_roles: RefCell<Vec<role::RoleKey>>,
    pub handlers: RefCell<Vec<Item>>,
}

/// Where we are while loading: the file's folder, the role, and what is being loaded above us.
#[derive(Clone)]
pub(crate) struct Ctx<'a> {
    pub opts: &'a LoadOptions,
    pub playbook_dir: PathBuf,
    /// The folder of the file being loaded (relative paths resolve against it).
    pub base_dir: PathBuf,
    pub role: Option<Arc<Role>>,
    /// Loading a `handlers:` list (`listen` allowed).
    pub handlers: bool,
    pub state: &'a PlayState,
    /// Files being loaded, outermost first (to catch import cycles).
    pub files: Vec<PathBuf>,
    /// Role folders being loaded with their `tasks_from`, outermost first (to catch
    /// dependency cycles).
    pub roles: Vec<(PathBuf, Option<String>)>,
    /// Blocks around the list being loaded.
    pub blocks: usize,
    /// The play's `vars`, known while loading (templated import paths).
    pub play_vars: Arc<Map>,
}

impl<'a> Ctx<'a> {
    /// Render a template in an import (`import_tasks`, `import_role`, `import_playbook`) with
    /// what exists while loading: play vars, `-e`, `role_path`, `playbook_dir`.
    pub fn render_at_load(&self, text: &str) -> Result<String, String> {
        render_at_load(text, &self.play_vars, self.opts, &self.playbook_dir, self.role.as_deref())
    }

    /// The context for loading `path`, refusing a file that (indirectly) imports itself.
    pub fn enter(&self, path: &Path, at: Option<&Span>) -> Result<Ctx<'a>, LoadError> {
        self.check_depth(at.unwrap_or(&Span::unknown(path)))?;
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.files.contains(&canonical) {
            let span = at.cloned().unwrap_or_else(|| Span::unknown(path));
            return Err(LoadError::invalid(&span, format!("{} imports itself (an import cycle)", path.display()))
                .with_hint("use include_tasks if the recursion is meant to stop on a condition"));
        }
        let mut next = self.clone();
        next.files.push(canonical);
        next.base_dir = parent_dir(path);
        Ok(next)
    }

    /// Imports, role dependencies and blocks nest by recursion while loading (and running):
    /// past a bound, an error instead of a stack overflow.
    pub fn check_depth(&self, at: &Span) -> Result<(), LoadError> {
        let depth = self.files.len() + self.roles.len() + self.blocks;
        if depth < MAX_NESTING {
            return Ok(());
        }
        Err(LoadError::invalid(
            at,
            format!(
                "imports, roles and blocks nest deeper than {MAX_NESTING} levels (maximum recursion depth exceeded)"
            ),
        )
        .with_hint("flatten the structure; a chain this deep is usually an accidental recursion"))
    }

    pub fn items(&self, node: &Node, what: &str) -> Result<Vec<Item>, LoadError> {
        task::load_items(node, self, what)
    }
}

/// The folder of a file ("." for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Read and parse a YAML file; a missing file is reported at `at` (the referencing position).
pub(crate) fn read_yaml(path: &Path, at: Option<&Span>) -> Result<Node, LoadError> {
    let span = at.cloned().unwrap_or_else(|| Span::unknown(path));
    let bytes = crate::vault::read_file(path).map_err(|e| match e {
        e @ crate::vault::FileError::Read { .. } => {
            LoadError::new(LoadErrorKind::NotFound, &span, e.to_string()).with_missing(path)
        }
        e @ crate::vault::FileError::Vault { .. } => {
            LoadError::invalid(&span, e.to_string()).with_hint(crate::vault::HINT)
        }
    })?;
    Ok(yaml::parse_str(yaml::utf8(&bytes, path)?, path)?)
}

/// The first existing file among `name`, `name.yml`, `name.yaml`, `name.json` in `dir`.
pub(crate) fn find_yaml(dir: &Path, name: &str) -> Option<PathBuf> {
    let has_ext = [".yml", ".yaml", ".json"].iter().any(|e| name.ends_with(e));
    let mut candidates = Vec::new();
    if has_ext {
        candidates.push(dir.join(name));
    } else {
        for ext in ["yml", "yaml", "json"] {
            candidates.push(dir.join(format!("{name}.{ext}")));
        }
        candidates.push(dir.join(name));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Render `text` with the variables known before any host is contacted.
pub(crate) fn render_at_load(
    text: &str,
    play_vars: &Map,
    opts: &LoadOptions,
    playbook_dir: &Path,
    role: Option<&Role>,
) -> Result<String, String> {
    if !crate::template::is_template(text) {
        return Ok(text.to_string());
    }
    load_scope(play_vars, opts, playbook_dir, role).render_text(text).map_err(|e| e.message)
}

/// What a template sees while loading: role defaults and vars, play vars, `playbook_dir`,
/// `role_path`, `role_name` and extra vars.
pub(crate) fn load_scope(
    play_vars: &Map,
    opts: &LoadOptions,
    playbook_dir: &Path,
    role: Option<&Role>,
) -> Arc<crate::vars::Scope> {
    use crate::value::Value;
    use crate::vars::{Level, Scope};
    // Absolute, as in Ansible: the rendered path is then found from any folder.
    let absolute =
        |p: &Path| Value::String(std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string());
    let mut magic = Map::new();
    magic.insert("playbook_dir".into(), absolute(playbook_dir));
    if let Some(role) = role {
        magic.insert("role_path".into(), absolute(&role.path));
        magic.insert("role_name".into(), Value::String(role.name.clone()));
    }
    let (defaults, vars) = role.map(|r| (r.defaults.clone(), r.vars.clone())).unwrap_or_default();
    let scope = Scope::new(Arc::new(crate::template::Engine::new()))
        .layer(Level::RoleDefaults, Arc::new(defaults))
        .layer(Level::RoleVars, Arc::new(vars))
        .layer(Level::PlayVars, Arc::new(play_vars.clone()))
        .layer(Level::Magic, Arc::new(magic))
        .layer(Level::ExtraVars, Arc::new(opts.extra_vars.clone()));
    Arc::new(scope)
}
