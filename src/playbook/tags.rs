//! Templated `tags` (`tags: "{{ the_tags }}"`), rendered once the playbook is loaded with what
//! Ansible renders them with: play vars, extra vars and the role's vars (no host variables),
//! so the plan selects and lists the rendered tags.

use std::path::Path;
use std::sync::Arc;

use super::error::LoadError;
use super::load::{load_scope, LoadOptions};
use super::model::{Attrs, Item, Play, Role};
use crate::value::{to_text, Value};
use crate::yaml::Span;

pub fn render_play(play: &mut Play, opts: &LoadOptions, dir: &Path) -> Result<(), LoadError> {
    let vars = play.vars.clone();
    let r = Renderer { vars: &vars, opts, dir };
    let span = play.span.clone();
    r.attrs(&mut play.attrs, &span, None)?;
    for items in [&mut play.pre_tasks, &mut play.roles, &mut play.tasks, &mut play.post_tasks, &mut play.handlers] {
        r.items(items, None)?;
    }
    Ok(())
}

struct Renderer<'a> {
    vars: &'a crate::value::Map,
    opts: &'a LoadOptions,
    dir: &'a Path,
}

impl Renderer<'_> {
    fn items(&self, items: &mut [Item], role: Option<&Arc<Role>>) -> Result<(), LoadError> {
        for item in items {
            match item {
                Item::Task(t) if templated(&t.attrs) => {
                    let t = Arc::make_mut(t);
                    let role = t.role.clone().or_else(|| role.cloned());
                    self.attrs(&mut t.attrs, &t.span.clone(), role.as_deref())?;
                }
                Item::Task(_) => {}
                Item::Block(b) => {
                    if !templated(&b.attrs) && !has_templated(b) {
                        continue;
                    }
                    let b = Arc::make_mut(b);
                    let role = b.role.clone().or_else(|| role.cloned());
                    let span = b.span.clone();
                    self.attrs(&mut b.attrs, &span, role.as_deref())?;
                    for part in [&mut b.block, &mut b.rescue, &mut b.always] {
                        self.items(part, role.as_ref())?;
                    }
                }
            }
        }
        Ok(())
    }

    fn attrs(&self, attrs: &mut Attrs, span: &Span, role: Option<&Role>) -> Result<(), LoadError> {
        if !templated(attrs) {
            return Ok(());
        }
        let scope = load_scope(self.vars, self.opts, self.dir, role);
        let mut out = Vec::new();
        for tag in &attrs.tags {
            if !crate::template::is_template(tag) {
                out.push(tag.clone());
                continue;
            }
            let v = scope.render_value(&Value::from(tag.clone())).map_err(|e| {
                LoadError::unsupported(span, format!("tags: '{tag}' cannot be rendered while loading: {}", e.message))
                    .with_hint("templated tags see play vars, -e and role vars only, as in Ansible")
            })?;
            match v {
                Value::Array(items) => out.extend(items.iter().map(to_text)),
                other => out.extend(to_text(&other).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty())),
            }
        }
        attrs.tags = out;
        Ok(())
    }
}

fn templated(attrs: &Attrs) -> bool {
    attrs.tags.iter().any(|t| crate::template::is_template(t))
}

fn has_templated(b: &super::model::Block) -> bool {
    [&b.block, &b.rescue, &b.always].iter().any(|items| {
        items.iter().any(|i| match i {
            Item::Task(t) => templated(&t.attrs),
            Item::Block(b) => templated(&b.attrs) || has_templated(b),
        })
    })
}
