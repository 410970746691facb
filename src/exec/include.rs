//! Dynamic includes: `include_tasks` and `include_role`, loaded when a host reaches them and
//! run for the hosts that asked, grouped by what they include.

use std::sync::Arc;

use crate::limits::MAX_INCLUDE_DEPTH;
use crate::playbook::{self, ActionKind, Attrs, Item, Task};
use crate::value::{to_text, Map, Value};
use crate::vars::Level;

use super::frame::Frame;
use super::walk::PlayCtx;
use super::Runner;

impl Runner {
    /// `include_tasks` / `include_role`: load per distinct file and run for the hosts that asked.
    pub(super) async fn run_includes(
        &mut self,
        ctx: &mut PlayCtx<'_>,
        task: &Task,
        frame: &Frame,
        includes: Vec<(String, Map, Map)>,
    ) {
        // Group by what is included and with which vars, keeping first-seen order.
        let mut groups: Vec<(String, Map, Map, Vec<String>)> = Vec::new();
        for (host, args, vars) in includes {
            let key = format!("{}|{}", Value::Object(args.clone()), Value::Object(vars.clone()));
            match groups.iter_mut().find(|(k, ..)| *k == key) {
                Some(g) => g.3.push(host),
                None => groups.push((key, args, vars, vec![host])),
            }
        }
        for (_, args, vars, hosts) in groups {
            let loaded = if frame.includes >= MAX_INCLUDE_DEPTH {
                // Ansible runs into Python's recursion limit here.
                Err(format!(
                    "{}: maximum recursion depth exceeded: more than {MAX_INCLUDE_DEPTH} nested includes \
                     (does it include itself without a condition that stops?) (task at {})",
                    task.action, task.span
                ))
            } else if task.kind == ActionKind::IncludeRole {
                self.load_include_role(task, frame, &args)
            } else {
                self.load_include_tasks(task, frame, &args)
            };
            let (items, mut handlers, role_frame) = match loaded {
                Ok(v) => v,
                Err(msg) => {
                    for h in &hosts {
                        self.fail_host(h, msg.clone());
                    }
                    // As in Ansible, an include that fails to load counts for `any_errors_fatal`.
                    if self.errors_fatal(ctx, task, frame, &hosts) {
                        self.fail_the_others();
                    }
                    continue;
                }
            };
            // Ansible reuses a role it loaded with the same arguments, so including it again
            // (a loop) doesn't add a second copy of its handlers.
            if ctx.included_roles.insert(Value::Object(args.clone()).to_string()) {
                ctx.handlers.append(&mut handlers);
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
            Box::pin(self.run_items(ctx, &items, &f, &hosts)).await;
        }
    }

    /// `any_errors_fatal` of an include task, for the first of the hosts that ran it.
    fn errors_fatal(&self, ctx: &PlayCtx<'_>, task: &Task, frame: &Frame, hosts: &[String]) -> bool {
        let world = super::world::World::new(ctx.vars.clone(), self.states.clone());
        match hosts.first().and_then(|h| super::resolve::task_scope(&world, task, frame, h)) {
            Some(scope) => self.flag_or_warn(task, frame, super::flags::BoolKey::AnyErrorsFatal, &scope, true),
            None => false,
        }
    }

    fn load_include_tasks(
        &self,
        task: &Task,
        frame: &Frame,
        args: &Map,
    ) -> Result<(Vec<Item>, Vec<Item>, Frame), String> {
        let file = args
            .get("file")
            .or_else(|| args.get("_raw_params"))
            .map(to_text)
            .ok_or("include_tasks needs a file name")?;
        let role = frame.role_of(task).cloned();
        let mut candidates = Vec::new();
        if let Some(r) = &role {
            candidates.push(r.path.join("tasks").join(&file));
        }
        candidates.push(task.base_dir.join(&file));
        candidates.push(self.playbook_dir.join(&file));
        let path = candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
            format!(
                "include_tasks: cannot find '{file}' (looked in {}) (task at {})",
                candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
                task.span
            )
        })?;
        let items = playbook::load_tasks_file(&path, role, &self.load_opts).map_err(|e| e.to_string())?;
        let mut f = frame.clone();
        f.attrs.push(Arc::new(Attrs { when: Vec::new(), tags: Vec::new(), vars: Map::new(), ..task.attrs.clone() }));
        Ok((items, Vec::new(), apply(task, args, f)?))
    }

    fn load_include_role(
        &self,
        task: &Task,
        frame: &Frame,
        args: &Map,
    ) -> Result<(Vec<Item>, Vec<Item>, Frame), String> {
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
            playbook::load_role(&name, &self.playbook_dir, spec, &self.load_opts).map_err(|e| e.to_string())?;
        Ok((vec![item], handlers, apply(task, args, frame.clone())?))
    }
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
