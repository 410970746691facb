//! What modules are written against: the `Module` trait (query, then apply), the context a
//! module runs in (`Ctx`: connection, become, environment, templating, facts), its typed change
//! and errors, and the helpers modules share (arguments, content, modes, file writes, script
//! output). The modules themselves are in `src/modules/`, one per file.
//!
//! Each module first *queries* the host and says what differs; the engine then calls *apply*
//! only when something differs and the run is not in check mode. So check mode, `--diff` and
//! `changed` come from one place (the engine), not from each module.

pub mod args;
pub mod argspec;
pub mod clock;
pub mod content;
pub mod file_mode;
pub mod home;
pub mod job;
pub mod local_write;
pub mod remote_file;
pub mod script_out;
#[cfg(test)]
pub(crate) mod testutil;

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::connection::{Cmd, Connection, ConnectionError, Output};
use crate::value::{Map, Value};

/// Before/after text for `--diff`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    pub path: String,
    pub before: String,
    pub after: String,
}

/// The change a query found, in the module's own type (a script, a write plan), for `apply`
/// to carry out. Typed, so `apply` never indexes JSON: a query that stored none, or another
/// type, makes `apply` fail loudly instead of running an empty script.
#[derive(Default)]
pub struct Change(Option<Box<dyn std::any::Any + Send + Sync>>);

impl Change {
    pub fn new<T: std::any::Any + Send + Sync>(value: T) -> Change {
        Change(Some(Box::new(value)))
    }

    /// The query stored a change of this type.
    pub fn is<T: std::any::Any>(&self) -> bool {
        self.0.as_ref().is_some_and(|b| b.is::<T>())
    }

    /// The change as `module`'s query stored it.
    pub fn take<T: std::any::Any>(&mut self, module: &str) -> Result<T, ModuleError> {
        match self.0.take().map(|b| b.downcast::<T>()) {
            Some(Ok(value)) => Ok(*value),
            _ => Err(ModuleError::failed(format!(
                "internal error in {module}: its query left no change of the kind its apply needs"
            ))),
        }
    }
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Change(..)" } else { "Change(none)" })
    }
}

/// What a query found.
#[derive(Debug, Default)]
pub struct Query {
    /// Something on the host differs from what the arguments ask for.
    pub changed: bool,
    /// Return values (`rc`, `stdout`, `stat`, `msg`, ...) known after the query; apply may add more.
    pub result: Map,
    pub diff: Option<Diff>,
    /// What `apply` is to do (what to write, which command to run), in the module's own type.
    pub change: Change,
    /// The module can't tell in check mode what would happen (command/shell): report `skipped`.
    pub check_skip: bool,
    /// Variables to set on the host at `set_fact` precedence (`set_fact`, `setup` facts).
    pub facts: Option<Map>,
    /// `set_fact: cacheable=true`: the facts go to the fact cache too.
    pub cacheable: bool,
    /// Variables to set on the host at `include_vars` precedence.
    pub include_vars: Option<Map>,
}

impl Query {
    pub fn ok() -> Query {
        Query::default()
    }
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Query {
        self.result.insert(key.to_string(), value.into());
        self
    }
    /// Facts a module returns (`setup`, `getent`, `*_facts`): shown as `ansible_facts` in its
    /// result and set on the host.
    pub fn with_facts(mut self, facts: Map) -> Query {
        self.result.insert("ansible_facts".into(), Value::Object(facts.clone()));
        self.facts = Some(facts);
        self
    }
}

/// What follows a query: the one place these rules live (the engine and the test harness
/// both ask here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The module skipped itself (debug below its `verbosity`) by answering `skipped: true`.
    Skipped,
    /// Check mode, and the module can't tell what would happen (command/shell).
    CheckSkipped,
    /// Nothing differs.
    Unchanged,
    /// Something differs; check mode reports it without changing it.
    WouldChange,
    /// Something differs: run `apply`.
    Apply,
}

impl Query {
    /// The step after this query, in check mode or not.
    pub fn step(&self, check: bool) -> Step {
        if self.result.get("skipped") == Some(&Value::Bool(true)) {
            Step::Skipped
        } else if check && self.check_skip {
            Step::CheckSkipped
        } else if !self.changed {
            Step::Unchanged
        } else if check {
            Step::WouldChange
        } else {
            Step::Apply
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The task failed on this host (bad state, non-zero rc, failed assertion).
    #[error("{msg}")]
    Failed { msg: String, result: Map },
    /// The arguments are wrong: name the argument and what to do.
    #[error("{0}")]
    Args(String),
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// A template inside the module (template module, assert `that`) failed.
    #[error("{0}")]
    Template(String),
}

impl ModuleError {
    pub fn failed(msg: impl Into<String>) -> ModuleError {
        ModuleError::Failed { msg: msg.into(), result: Map::new() }
    }
}

/// Templating and variable access for modules that need it (template, assert, debug var=).
pub trait Render: Send + Sync {
    /// Render a template string with the host's variables.
    fn render(&self, text: &str) -> Result<String, String>;
    /// Render a template file's text; `{% include %}` / `{% import %}` find files in `dirs`.
    fn render_file(&self, text: &str, _dirs: &[PathBuf]) -> Result<String, String> {
        self.render(text)
    }
    /// Evaluate a bare Jinja expression (`that:` entries, `debug: var=`).
    fn eval(&self, expr: &str) -> Result<Value, String>;
    /// A template that stands for an expression, if it yields a trusted one (`Scope::indirect`).
    /// A list variable as written, when the playbook set it (`Scope::raw_list`).
    fn raw_list(&self, _name: &str) -> Option<Vec<Value>> {
        None
    }
    fn indirect(&self, template: &str) -> Result<String, String> {
        Err(format!("untrusted template or expression \"{template}\""))
    }
    /// Every variable the host sees here, templated (an action plugin's `task_vars`); a
    /// variable whose template fails is left out.
    fn vars(&self) -> Map {
        Map::new()
    }
}

/// Everything a module may use while it runs for one host.
pub struct Ctx<'a> {
    pub conn: &'a dyn Connection,
    pub host: &'a str,
    pub check_mode: bool,
    pub diff: bool,
    /// The task's `no_log` (a bridged module is told, as Ansible tells its modules).
    pub no_log: bool,
    pub render: &'a dyn Render,
    /// Folders searched for relative `src` paths, in order (role files/ or templates/, task dir, playbook dir).
    pub search: Vec<PathBuf>,
    /// Become and environment for commands this task sends; [`Ctx::run`] applies them.
    pub escalate: Option<crate::connection::Become>,
    pub env: Vec<(String, String)>,
    /// The run's read-ahead cache of file facts (see [`crate::facts::ahead`]); `None` reads every path
    /// when asked.
    pub read_ahead: Option<crate::facts::ahead::ReadAhead<'a>>,
    /// When the task's `timeout` (or an `async` job's time limit) runs out: every command is
    /// stopped then (see [`Ctx::run`]).
    pub deadline: Option<std::time::Instant>,
}

impl Ctx<'_> {
    /// Run a script with the task's become and environment.
    pub async fn run(&self, mut cmd: Cmd) -> Result<Output, ConnectionError> {
        if cmd.escalate.is_none() {
            cmd.escalate = self.escalate.clone();
        }
        if let Some(d) = self.deadline {
            let left = d.saturating_duration_since(std::time::Instant::now());
            cmd.timeout = Some(cmd.timeout.map_or(left, |t| t.min(left)));
        }
        let mut env = self.env.clone();
        env.append(&mut cmd.env);
        cmd.env = env;
        if let (Some(ra), false) = (self.read_ahead, cmd.read_only) {
            ra.cache.note_write();
        }
        self.conn.exec(&cmd).await
    }

    /// Find a controller-side file: absolute, or in the search folders under `sub` then directly.
    pub fn find_file(&self, sub: &str, name: &str) -> Option<PathBuf> {
        let p = Path::new(name);
        if p.is_absolute() {
            return p.exists().then(|| p.to_path_buf());
        }
        for dir in &self.search {
            for candidate in [dir.join(sub).join(name), dir.join(name)] {
                if candidate.exists() {
                    return Some(candidate);
                }
            }
        }
        None
    }
}

/// The facts layer reads the host through the task's context (become, environment, cache).
#[async_trait]
impl crate::facts::Reader for Ctx<'_> {
    async fn read(&self, script: String) -> Result<Output, ConnectionError> {
        self.run(Cmd::new(script).read_only()).await
    }
    fn target(&self) -> &str {
        self.conn.host()
    }
    fn who(&self) -> String {
        let mut s = match &self.escalate {
            Some(b) => format!("{}:{}", b.method, b.user),
            None => String::new(),
        };
        for (k, v) in &self.env {
            s.push_str(&format!("\0{k}={v}"));
        }
        s
    }
    fn read_ahead(&self) -> Option<crate::facts::ahead::ReadAhead<'_>> {
        self.read_ahead
    }
}

impl From<crate::facts::FactsError> for ModuleError {
    fn from(e: crate::facts::FactsError) -> ModuleError {
        match e {
            crate::facts::FactsError::Connection(c) => ModuleError::Connection(c),
            crate::facts::FactsError::Read { msg, out: Some(out) } => script_out::failed_with(msg, &out),
            crate::facts::FactsError::Read { msg, out: None } => ModuleError::failed(msg),
        }
    }
}

/// One module. Implementations live one per file in `src/modules/` and are listed in
/// `src/modules/registry.rs`.
#[async_trait]
pub trait Module: Send + Sync {
    fn name(&self) -> &'static str;

    /// The module's arguments, declared once (`None`: any names, as `set_fact` takes).
    fn args(&self) -> Option<&'static args::ArgSpec> {
        None
    }

    /// Argument names taken as raw expressions, not rendered by the engine (`assert: that`).
    fn raw_args(&self) -> &'static [&'static str] {
        &[]
    }

    /// The module another name stands for here, whose `module_defaults` apply too (`service`
    /// is run by `systemd`, as Ansible's service action picks it on a systemd host).
    fn backend(&self) -> Option<&'static str> {
        None
    }

    /// The module runs on the controller only (debug, set_fact, assert): no connection needed.
    fn controller_only(&self) -> bool {
        false
    }

    /// Run once per play batch, on the first host, instead of on every host (Ansible's
    /// BYPASS_HOST_LOOP: `pause`). Only that host gets the result unless `run_once` is set.
    fn bypass_host_loop(&self) -> bool {
        false
    }

    /// A line the engine prints before the module runs (`Pausing for 5 seconds`).
    fn announce(&self, _args: &Map) -> Option<String> {
        None
    }

    /// The module's query reads its paths through `remote_file::file_facts`, so the engine may
    /// read them ahead, together with an earlier task's (see [`crate::facts::ahead`]).
    fn reads_ahead(&self) -> bool {
        false
    }

    /// The facts the query will ask for first, exactly; `None` when the arguments don't say.
    fn facts_wants(&self, _args: &Map) -> Option<Vec<crate::facts::batch::Want>> {
        None
    }

    /// Read the host's state and say what differs. Must not change anything.
    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError>;

    /// The command `apply` would run for the change `query` found, as one host script a
    /// background job (`async` with `poll: 0`) can run detached; `None`: the module can't hand
    /// its work over, so the engine runs it in the foreground.
    fn job(&self, _query: &mut Query) -> Option<Result<job::Job, ModuleError>> {
        None
    }

    /// Make the change `query` found; returns the final result values.
    /// Called only when `query.changed` and not in check mode.
    async fn apply(&self, _cx: &Ctx<'_>, _args: &Map, query: Query) -> Result<Map, ModuleError> {
        Ok(query.result)
    }
}
