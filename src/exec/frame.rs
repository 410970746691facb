//! What a task inherits from the play, roles, blocks and includes around it.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::playbook::{Attrs, Role, Task};
use crate::value::Map;
use crate::vars::Level;

#[derive(Clone, Default)]
pub struct Frame {
    /// Keyword sources, outermost (the play) first.
    pub attrs: Vec<Arc<Attrs>>,
    pub block_vars: Vec<Arc<Map>>,
    pub role: Option<Arc<Role>>,
    /// Tags inherited from enclosing play, roles, blocks and imports.
    pub tags: BTreeSet<String>,
    /// Extra layers from dynamic includes (their vars, loop item).
    pub extra: Vec<(Level, Arc<Map>)>,
    /// Inside a dynamic include: tasks are selected by tags at run time, not by the plan.
    pub dynamic: bool,
    /// Dynamic includes around this frame (an include that includes itself must stop).
    pub includes: usize,
    /// Running handlers: what they include runs as handlers too (`RUNNING HANDLER`).
    pub handler: bool,
}

impl Frame {
    /// A child frame for a block or role body.
    pub fn enter(&self, attrs: &Attrs, role: Option<&Arc<Role>>) -> Frame {
        let mut f = self.clone();
        f.attrs.push(Arc::new(attrs.clone()));
        if !attrs.vars.is_empty() {
            f.block_vars.push(Arc::new(attrs.vars.clone()));
        }
        f.tags.extend(attrs.tags.iter().cloned());
        if let Some(r) = role {
            f.role = Some(r.clone());
        }
        f
    }

    /// The innermost value of a keyword: the task's own, then its blocks', then the play's.
    pub fn get<T: Clone>(&self, task: Option<&Task>, pick: impl Fn(&Attrs) -> Option<T>) -> Option<T> {
        if let Some(v) = task.and_then(|t| pick(&t.attrs)) {
            return Some(v);
        }
        self.attrs.iter().rev().find_map(|a| pick(a))
    }

    /// The `module_defaults` entries that apply to a task, by module name: the play's first,
    /// each inner level's entry replacing an outer one of the same name (Ansible's merge).
    pub fn module_defaults(&self, task: &Task) -> Map {
        let mut merged = Map::new();
        for a in self.attrs.iter().map(|a| a.as_ref()).chain(std::iter::once(&task.attrs)) {
            for d in &a.module_defaults {
                merged.extend(d.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        merged
    }

    /// Every `when` that applies to a task: its blocks' and imports', then its own.
    pub fn conditions<'a>(&'a self, task: &'a Task) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for a in &self.attrs {
            out.extend(a.when.iter().map(String::as_str));
        }
        out.extend(task.attrs.when.iter().map(String::as_str));
        out
    }

    /// The role of a task: its own, or the frame's.
    pub fn role_of<'a>(&'a self, task: &'a Task) -> Option<&'a Arc<Role>> {
        task.role.as_ref().or(self.role.as_ref())
    }
}
