//! Dynamic includes: `include_tasks` and `include_role`, loaded when a host reaches them and
//! run for the hosts that asked, grouped by what they include.

use std::sync::Arc;

use crate::limits::MAX_INCLUDE_DEPTH;
use crate::playbook::{self, ActionKind, Item, Task};
use crate::value::{to_text, Map, Value};
use crate::vars::Level;

use super::frame::Frame;
use super::walk::PlayCtx;
use super::Runner;

/// Why an include could not be loaded.
enum IncludeError {
    /// The hosts that asked fail (a rescue may catch it).
    Host(String),
    /// The included tasks file does not parse: the run ends, as in Ansible (no rescue).
    Parse(String),
}

impl From<String> for IncludeError {
    fn from(msg: String) -> IncludeError {
        IncludeError::Host(msg)
    }
}

impl From<&str> for IncludeError {
    fn from(msg: &str) -> IncludeError {
        IncludeError::Host(msg.to_string())
    }
}

/// What an include loads: its items, its handlers, the frame they run in, and what its
/// `included:` line names (the file's absolute path, or the role).
type Loaded = (Vec<Item>, Vec<Item>, Frame, String);

impl Runner {
    /// `include_tasks` / `include_role`: load per distinct file and run for the hosts that asked.
    pub(super) async fn run_includes(
        &mut self,
        ctx: &mut PlayCtx<'_>,
        task: &Task,
        frame: &Frame,
        includes: Vec<(String, Map, Map)>,
    ) {
        // Group by what is included and with which vars, keeping first-seen order; a host that
        // includes the same again (a loop) starts a new group, as Ansible's IncludedFile.
        let looped = task.loop_.is_some();
        let mut groups: Vec<(String, Map, Map, Vec<String>)> = Vec::new();
        for (host, args, vars) in includes {
            let key = format!("{}|{}", Value::Object(args.clone()), Value::Object(vars.clone()));
            match groups.iter_mut().find(|(k, _, _, hosts)| *k == key && !hosts.contains(&host)) {
                Some(g) => g.3.push(host),
                None => groups.push((key, args, vars, vec![host])),
            }
        }
        // As Ansible's strategy: every file loads (its `included:` line) before any runs.
        let mut ready: Vec<(Vec<Item>, Frame, Vec<String>)> = Vec::new();
        for (_, args, vars, hosts) in groups {
            let loaded = if frame.includes >= MAX_INCLUDE_DEPTH {
                // Ansible runs into Python's recursion limit here.
                Err(IncludeError::Host(format!(
                    "{}: maximum recursion depth exceeded: more than {MAX_INCLUDE_DEPTH} nested includes \
                     (does it include itself without a condition that stops?) (task at {})",
                    task.action, task.span
                )))
            } else if task.kind == ActionKind::IncludeRole {
                self.load_include_role(task, frame, &args)
            } else {
                self.load_include_tasks(task, frame, &args)
            };
            let (items, mut handlers, role_frame, what) = match loaded {
                Ok(v) => v,
                Err(IncludeError::Parse(rendered)) => {
                    self.reporter.error(&rendered);
                    self.aborted = true;
                    self.end_the_play();
                    return;
                }
                Err(IncludeError::Host(msg)) => {
                    // Ansible shows why before the hosts' failures.
                    self.reporter.error(&format!("[ERROR]: {msg}\n"));
                    let file = include_file(&args);
                    for h in &hosts {
                        self.include_failed(h, file.as_deref(), &msg, !looped);
                    }
                    // As in Ansible, an include that fails to load counts for `any_errors_fatal`.
                    if self.errors_fatal(ctx, task, frame, &hosts) {
                        self.fail_the_others();
                    }
                    continue;
                }
            };
            // Each include that loaded counts ok for its host (one per loop item), as in Ansible.
            for h in &hosts {
                self.reporter.count_ok(h);
            }
            let mut line = format!("included: {what} for {}", hosts.join(", "));
            if let Some(label) = vars.get(super::loops::ITEM_LABEL) {
                line.push_str(&format!(" => (item={})", to_text(label)));
            }
            self.reporter.line(&line);
            // `allow_duplicates: false` on include_role (its default is true, whatever the
            // role's meta says): a role that already ran in this play is not run again.
            if task.kind == ActionKind::IncludeRole {
                let name = args.get("name").or_else(|| args.get("role")).map(to_text).unwrap_or_default();
                let no_dups = args.get("allow_duplicates").is_some_and(|v| crate::value::to_bool(v) == Some(false));
                if !ctx.roles_run.insert(name) && no_dups {
                    continue;
                }
            }
            // Ansible reuses a role it loaded with the same arguments, so including it again
            // (a loop) doesn't add a second copy of its handlers.
            if ctx.included_roles.insert(Value::Object(args.clone()).to_string()) {
                ctx.handlers.append(&mut handlers);
            }
            // `public: true`: the role's defaults and vars stay visible to the rest of the play.
            if task.kind == ActionKind::IncludeRole
                && args.get("public").is_some_and(|v| crate::value::to_bool(v) == Some(true))
            {
                if let Some(Item::Block(b)) = items.first() {
                    if let Some(role) = &b.role {
                        Arc::make_mut(&mut ctx.vars.role_defaults).extend(role.defaults.clone());
                        Arc::make_mut(&mut ctx.vars.role_vars).extend(role.vars.clone());
                    }
                }
            }
            let mut f = role_frame;
            f.dynamic = true;
            f.includes = frame.includes + 1;
            let mut layer = vars;
            for (k, v) in task.attrs.vars.iter() {
                layer.insert(k.clone(), v.clone());
            }
            if !layer.is_empty() {
                f.extra.push((Level::IncludeParams, Arc::new(layer)));
            }
            ready.push((items, f, hosts));
        }
        for (items, f, hosts) in ready {
            Box::pin(self.run_items(ctx, &items, &f, &hosts)).await;
        }
    }

    /// Ansible's words for a tasks file that is not there, named from the playbook's folder.
    fn not_found(&self, file: impl AsRef<std::path::Path>) -> IncludeError {
        let full = std::path::absolute(self.playbook_dir.join(file)).unwrap_or_default();
        let f = full.display();
        IncludeError::Host(format!(
            "Could not find or access '{f}' on the Ansible Controller: Unable to retrieve file contents.\n\
             Could not find or access '{f}' on the Ansible Controller.\n\
             If you are using a module and expect the file to exist on the remote, see the remote_src \
             option: [Errno 2] No such file or directory: '{f}'"
        ))
    }

    /// `any_errors_fatal` of an include task, for the first of the hosts that ran it.
    fn errors_fatal(&self, ctx: &PlayCtx<'_>, task: &Task, frame: &Frame, hosts: &[String]) -> bool {
        let world = super::world::World::new(ctx.vars.clone(), self.states.clone());
        match hosts.first().and_then(|h| super::resolve::task_scope(&world, task, frame, h)) {
            Some(scope) => self.flag_or_warn(task, frame, super::flags::BoolKey::AnyErrorsFatal, &scope, true),
            None => false,
        }
    }

    fn load_include_tasks(&self, task: &Task, frame: &Frame, args: &Map) -> Result<Loaded, IncludeError> {
        let file = include_file(args).ok_or("include_tasks needs a file name")?;
        let role = frame.role_of(task).cloned();
        let mut candidates = Vec::new();
        if let Some(r) = &role {
            candidates.push(r.path.join("tasks").join(&file));
            // `tasks/x.yml` written from the role's folder (as Ansible's `path_dwim_relative`).
            candidates.push(r.path.join(&file));
        }
        candidates.push(task.base_dir.join(&file));
        candidates.push(self.playbook_dir.join(&file));
        // Ansible names the file from the playbook's folder, wherever it looked.
        let path = candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| self.not_found(&file))?;
        // Absolute, as Ansible names included files (in errors and `ansible_included_file`s).
        let path = std::path::absolute(&path).unwrap_or(path);
        let items =
            playbook::load_tasks_file(&path, role, frame.handler, &self.load_opts).map_err(|e| match &e.missing {
                // A file it imports that is missing fails the host, as Ansible's "Could not find
                // or access" (a rescue may catch it); any other load error ends the run.
                Some(file) if e.kind == playbook::LoadErrorKind::NotFound => self.not_found(file.as_path()),
                // A role that is not found fails the host too, with its message.
                None if e.kind == playbook::LoadErrorKind::NotFound => IncludeError::Host(e.message.clone()),
                _ => IncludeError::Parse(crate::error::Diagnose::diagnostic(&e).render()),
            })?;
        // The include's own keywords (ignore_errors, run_once, no_log, ...) apply to the include
        // only, as in Ansible; `apply:` passes keywords on.
        Ok((items, Vec::new(), apply(task, args, frame.clone())?, path.display().to_string()))
    }

    fn load_include_role(&self, task: &Task, frame: &Frame, args: &Map) -> Result<Loaded, IncludeError> {
        let name = args.get("name").or_else(|| args.get("role")).map(to_text).ok_or("include_role needs `name`")?;
        let text = |k: &str| args.get(k).map(to_text);
        let mut params = Map::new();
        for (k, v) in args {
            if ![
                "name",
                "role",
                "tasks_from",
                "vars_from",
                "defaults_from",
                "handlers_from",
                "apply",
                "public",
                "allow_duplicates",
                "rolespec_validate",
            ]
            .contains(&k.as_str())
            {
                params.insert(k.clone(), v.clone());
            }
        }
        let spec = playbook::RoleSpec {
            params,
            tasks_from: text("tasks_from"),
            vars_from: text("vars_from"),
            defaults_from: text("defaults_from"),
            handlers_from: text("handlers_from"),
            ..Default::default()
        };
        let (item, handlers) =
            playbook::load_role(&name, &self.playbook_dir, spec, &self.load_opts).map_err(|e| match e.kind {
                playbook::LoadErrorKind::NotFound => e.message,
                _ => e.to_string(),
            })?;
        Ok((vec![item], handlers, apply(task, args, frame.clone())?, name))
    }
}

/// The file an include_tasks names (`file:` or free-form); none for include_role.
fn include_file(args: &Map) -> Option<String> {
    args.get("file").or_else(|| args.get("_raw_params")).map(to_text)
}

/// `apply:` wraps what an include loads in a block with these keywords, as in Ansible.
fn apply(task: &Task, args: &Map, frame: Frame) -> Result<Frame, String> {
    match args.get("apply") {
        None | Some(Value::Null) => Ok(frame),
        Some(v) => {
            let attrs =
                playbook::apply_attrs(v, &task.span).map_err(|e| format!("{} (task at {})", e.message, task.span))?;
            Ok(frame.enter(&attrs, None))
        }
    }
}
