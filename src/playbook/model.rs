//! The playbook language as loaded: plays, roles, blocks and tasks, each with its source span.
//! Loading resolves static things (imports, roles, free-form args); templates stay raw strings
//! and are rendered per host at run time.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub use super::flag::Flag;
use crate::value::{Map, Value};
use crate::yaml::Span;

/// A unique id for every task and block loaded in this process (plan nodes refer to it).
pub fn next_id() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug, Clone)]
pub struct Playbook {
    pub path: PathBuf,
    /// The folder of the top playbook: `playbook_dir`, where `group_vars/` and `roles/` are looked up.
    pub dir: PathBuf,
    /// Plays in order, with `import_playbook` expanded in place.
    pub plays: Vec<Play>,
}

#[derive(Debug, Clone, Default)]
pub struct Play {
    pub span: Span,
    pub name: String,
    /// The host pattern as written (a list is joined with `,`).
    pub hosts: String,
    /// The playbook file this play came from (imported playbooks have their own).
    pub file: PathBuf,
    pub vars: Map,
    /// `vars_files` entries, raw (may hold templates); relative to the play's file folder (or its
    /// `vars/`). An entry given as a list holds alternatives: the first that exists is loaded.
    pub vars_files: Vec<Vec<String>>,
    /// Rendered with play vars and extra vars when the play starts (a template may use them).
    pub gather_facts: Flag,
    /// `gather_subset` and `gather_timeout`, passed to the fact gathering `setup` call.
    pub gather_subset: Option<Value>,
    pub gather_timeout: Option<Value>,
    pub serial: Vec<Value>,
    pub max_fail_percentage: Option<f64>,
    pub strategy: Option<String>,
    /// `order`: inventory, reverse_inventory, sorted, reverse_sorted, shuffle.
    pub order: Option<String>,
    pub force_handlers: Option<bool>,
    /// Keywords shared with blocks and tasks (become, tags, environment, ...). On a play,
    /// `attrs.when` holds the conditions of the `import_playbook` that brought it in: they
    /// apply to fact gathering and every task of the play, not to handlers (as in Ansible).
    pub attrs: Attrs,
    pub pre_tasks: Vec<Item>,
    /// One `Item::Block` per role (with `role` set), dependencies first.
    pub roles: Vec<Item>,
    pub tasks: Vec<Item>,
    pub post_tasks: Vec<Item>,
    /// The handlers of its roles (`roles:` then `import_role`, dependencies first), then the
    /// play's own handlers: Ansible's order.
    pub handlers: Vec<Item>,
}

#[derive(Debug, Clone)]
pub enum Item {
    Task(Arc<Task>),
    Block(Arc<Block>),
}

impl Item {
    pub fn span(&self) -> &Span {
        match self {
            Item::Task(t) => &t.span,
            Item::Block(b) => &b.span,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Block {
    pub id: usize,
    pub span: Span,
    pub name: Option<String>,
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
    pub attrs: Attrs,
    /// Set when this block is a role's body (from `roles:`, `import_role`, a dependency).
    pub role: Option<Arc<Role>>,
    /// Set when this block stands for an `import_tasks`/`import_role` (its attrs flow down).
    pub import: Option<String>,
    /// A role block that repeats an earlier use of the same role in this play (same params,
    /// tags, when, vars; meta without `allow_duplicates`). Ansible lists its tasks
    /// (`--list-tasks`) but skips them at run time, on hosts where the role already ran.
    pub duplicate_role: bool,
}

/// What kind of action a task runs, resolved once when it is loaded, so the engine matches
/// on this instead of comparing module names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActionKind {
    /// A module from the registry (`modules::find`).
    #[default]
    Module,
    /// `setup` (and its alias `gather_facts`): a module whose facts replace the host's facts.
    Setup,
    /// `debug`: a module whose ok result is printed whole without `-v`.
    Debug,
    /// `include_tasks`: tasks loaded when a host reaches it.
    IncludeTasks,
    /// `include_role`: a role loaded when a host reaches it.
    IncludeRole,
    /// `import_tasks`/`import_role`: expanded while loading; never reaches the engine.
    ImportTasks,
    ImportRole,
    /// `meta:`: acts on the run (flush_handlers, end_play...), not on a host.
    Meta,
}

impl ActionKind {
    /// Actions the engine runs itself, with their names (not modules in the registry).
    pub const ENGINE: &'static [(&'static str, ActionKind)] = &[
        ("include_tasks", ActionKind::IncludeTasks),
        ("include_role", ActionKind::IncludeRole),
        ("import_tasks", ActionKind::ImportTasks),
        ("import_role", ActionKind::ImportRole),
        ("meta", ActionKind::Meta),
    ];

    /// The kind of a canonical action name.
    pub fn of(name: &str) -> ActionKind {
        match name {
            "setup" | "gather_facts" => ActionKind::Setup,
            "debug" => ActionKind::Debug,
            _ => Self::ENGINE.iter().find(|(n, _)| *n == name).map(|(_, k)| *k).unwrap_or(ActionKind::Module),
        }
    }

    /// The engine's own action of this name, if it is one.
    pub fn engine(name: &str) -> Option<ActionKind> {
        Self::ENGINE.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    /// `include_tasks` or `include_role`.
    pub fn is_include(self) -> bool {
        matches!(self, ActionKind::IncludeTasks | ActionKind::IncludeRole)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Task {
    pub id: usize,
    pub span: Span,
    pub name: Option<String>,
    /// Canonical module or action name: `ansible.builtin.` / `ansible.legacy.` stripped.
    pub action: String,
    /// What `action` is, resolved at load (see [`Task::with_action`]).
    pub kind: ActionKind,
    /// Module arguments: a mapping; free-form text goes to `_raw_params`.
    pub args: Map,
    pub attrs: Attrs,
    pub register: Option<String>,
    /// `loop`, `with_items`, `with_list`, ... as written (a list or a template string).
    pub loop_: Option<Value>,
    /// Which `with_*` form was used (`items` flattens one level), if any.
    pub loop_with: Option<String>,
    pub loop_control: LoopControl,
    pub changed_when: Option<Conditions>,
    pub failed_when: Option<Conditions>,
    pub until: Option<Conditions>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
    /// `async`: seconds the task may run as a background job on the host (0 or unset: not a job).
    pub async_: Option<Value>,
    /// `poll`: seconds between checks of an `async` job; 0 starts it and moves on.
    pub poll: Option<Value>,
    /// Handler-only: topics this handler listens to (besides its name).
    pub listen: Vec<String>,
    /// troupe extension: this task is destructive and needs these guard tasks (matched by task
    /// name or by tag) in the plan whenever it is selected.
    pub guarded_by: Vec<String>,
    /// The role this task belongs to (for `role : task` names, `role_path`, role vars).
    pub role: Option<Arc<Role>>,
    /// The folder relative paths in this task resolve against (its file's folder).
    pub base_dir: PathBuf,
}

impl Task {
    /// A task running `action` (a canonical name), everything else default.
    pub fn with_action(action: &str) -> Task {
        Task { action: action.to_string(), kind: ActionKind::of(action), ..Default::default() }
    }
}

/// `changed_when` / `failed_when` / `until` / `when`: a list means AND; a bool literal is allowed.
#[derive(Debug, Clone)]
pub enum Conditions {
    Literal(bool),
    Exprs(Vec<String>),
}

#[derive(Debug, Clone, Default)]
pub struct LoopControl {
    pub loop_var: Option<String>,
    pub index_var: Option<String>,
    pub label: Option<String>,
    pub pause: Option<f64>,
    pub extended: bool,
    /// `extended_allitems: false` leaves `allitems` out of `ansible_loop`.
    pub no_allitems: bool,
    /// Checked after each item (with its result registered): the loop stops when they hold.
    pub break_when: Option<Conditions>,
}

/// Keywords that plays, blocks and tasks share; unset (`None`) means inherit.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    /// `when` expressions (AND); on a block or import they apply to every child.
    pub when: Vec<String>,
    pub tags: Vec<String>,
    pub vars: Map,
    pub become_: Option<Flag>,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    pub environment: Option<Value>,
    pub ignore_errors: Option<Flag>,
    pub ignore_unreachable: Option<Flag>,
    pub no_log: Option<Flag>,
    pub check_mode: Option<Flag>,
    pub diff: Option<Flag>,
    pub delegate_to: Option<String>,
    pub delegate_facts: Option<Flag>,
    pub run_once: Option<Flag>,
    pub throttle: Option<Value>,
    pub connection: Option<String>,
    pub remote_user: Option<String>,
    pub any_errors_fatal: Option<Flag>,
    /// Handlers a changed task notifies: its own, or its innermost block's or import's.
    pub notify: Vec<String>,
    /// Connection port (a number or a template).
    pub port: Option<Value>,
    /// `timeout`: seconds the task's action may take before it is stopped and fails.
    pub timeout: Option<Value>,
    /// `module_defaults`: module name (canonical) → its default arguments (a mapping, or a
    /// template of one). Every level adds to its parents'; an inner entry replaces an outer one.
    pub module_defaults: Vec<Map>,
}

#[derive(Debug, Clone, Default)]
pub struct Role {
    pub name: String,
    pub path: PathBuf,
    /// `defaults/main.yml` (lowest precedence).
    pub defaults: Map,
    /// `vars/main.yml` (above play vars_files).
    pub vars: Map,
    /// Parameters given where the role was used (`- role: x` + `foo: 1`), near the top of precedence.
    pub params: Map,
}
