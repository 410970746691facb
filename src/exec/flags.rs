//! Boolean keywords resolved for one host: a literal as written, or a template rendered in
//! the task's scope on that host (Ansible templates keywords per host at run time).

use std::sync::Arc;

use crate::playbook::flag::{describe, strict_bool};
use crate::playbook::{Attrs, Flag, Task};
use crate::template::TemplateError;
use crate::vars::Scope;

use super::frame::Frame;

/// The boolean keywords that are resolved per host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolKey {
    Become,
    NoLog,
    IgnoreErrors,
    IgnoreUnreachable,
    CheckMode,
    Diff,
    RunOnce,
    AnyErrorsFatal,
    DelegateFacts,
}

impl BoolKey {
    /// The keyword as written in a playbook.
    pub fn name(self) -> &'static str {
        match self {
            BoolKey::Become => "become",
            BoolKey::NoLog => "no_log",
            BoolKey::IgnoreErrors => "ignore_errors",
            BoolKey::IgnoreUnreachable => "ignore_unreachable",
            BoolKey::CheckMode => "check_mode",
            BoolKey::Diff => "diff",
            BoolKey::RunOnce => "run_once",
            BoolKey::AnyErrorsFatal => "any_errors_fatal",
            BoolKey::DelegateFacts => "delegate_facts",
        }
    }

    fn pick(self, a: &Attrs) -> Option<&Flag> {
        match self {
            BoolKey::Become => a.become_.as_ref(),
            BoolKey::NoLog => a.no_log.as_ref(),
            BoolKey::IgnoreErrors => a.ignore_errors.as_ref(),
            BoolKey::IgnoreUnreachable => a.ignore_unreachable.as_ref(),
            BoolKey::CheckMode => a.check_mode.as_ref(),
            BoolKey::Diff => a.diff.as_ref(),
            BoolKey::RunOnce => a.run_once.as_ref(),
            BoolKey::AnyErrorsFatal => a.any_errors_fatal.as_ref(),
            BoolKey::DelegateFacts => a.delegate_facts.as_ref(),
        }
    }
}

/// The value of `flag` on the host of `scope`; a template must render to a boolean.
pub fn resolve(flag: &Flag, key: &str, scope: &Arc<Scope>) -> Result<bool, TemplateError> {
    let template = match flag {
        Flag::Literal(b) => return Ok(*b),
        Flag::Template(t) => t,
    };
    let value = scope.render_str(template).map_err(|mut e| {
        e.message = format!("Error processing keyword '{key}': {}", e.message);
        e
    })?;
    strict_bool(&value).ok_or_else(|| {
        TemplateError::new(
            template,
            format!(
                "Error processing keyword '{key}': the value {} (from \"{template}\") could not be converted to a boolean",
                describe(&value)
            ),
        )
    })
}

impl Frame {
    /// A boolean keyword for `task` on the host of `scope`: the innermost setting (task, blocks,
    /// play), or `default` when none is set.
    /// A level whose template renders to `omit` counts as unset: the next level out decides,
    /// as in Ansible (`become: "{{ omit }}"` inherits the play's `become`).
    pub fn flag(&self, task: &Task, key: BoolKey, scope: &Arc<Scope>, default: bool) -> Result<bool, TemplateError> {
        let levels = std::iter::once(&task.attrs).chain(self.attrs.iter().rev().map(|a| a.as_ref()));
        for f in levels.filter_map(|a| key.pick(a)) {
            if let Flag::Template(t) = f {
                if matches!(scope.render_str(t), Ok(crate::value::Value::String(s)) if s == super::resolve::OMIT) {
                    continue;
                }
            }
            return resolve(f, key.name(), scope);
        }
        Ok(default)
    }

    /// Whether a keyword is set anywhere around `task` (without resolving it).
    pub fn has_flag(&self, task: &Task, key: BoolKey) -> bool {
        self.get(Some(task), |a| key.pick(a).map(|_| ())).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Engine;
    use crate::value::Value;
    use crate::vars::Level;
    use serde_json::json;

    fn scope(vars: Value) -> Arc<Scope> {
        let Value::Object(m) = vars else { return Arc::new(Scope::new(Arc::new(Engine::new()))) };
        Arc::new(Scope::new(Arc::new(Engine::new())).layer(Level::PlayVars, Arc::new(m)))
    }

    fn tpl(t: &str) -> Flag {
        Flag::Template(t.into())
    }

    #[test]
    fn templates_render_per_scope() {
        let s = scope(json!({"use_sudo": true, "word": "no", "n": 1}));
        assert!(resolve(&tpl("{{ use_sudo }}"), "become", &s).unwrap());
        assert!(!resolve(&tpl("{{ word }}"), "become", &s).unwrap());
        assert!(resolve(&tpl("{{ n }}"), "become", &s).unwrap());
        assert!(!resolve(&Flag::Literal(false), "become", &s).unwrap());
    }

    #[test]
    fn non_booleans_name_keyword_and_value() {
        let s = scope(json!({"x": "maybe", "two": 2}));
        let e = resolve(&tpl("{{ x }}"), "become", &s).unwrap_err();
        assert!(e.message.contains("'become'") && e.message.contains("'maybe'"), "{}", e.message);
        let e = resolve(&tpl("{{ two }}"), "no_log", &s).unwrap_err();
        assert!(e.message.contains("'no_log'") && e.message.contains("value 2 "), "{}", e.message);
        let e = resolve(&tpl("{{ nope }}"), "ignore_errors", &s).unwrap_err();
        assert!(e.message.contains("'ignore_errors'") && e.message.contains("'nope'"), "{}", e.message);
    }

    #[test]
    fn innermost_setting_wins_and_default_applies() {
        let s = scope(json!({"t": true}));
        let play = Attrs { no_log: Some(Flag::Literal(false)), ..Default::default() };
        let frame = Frame { attrs: vec![Arc::new(play)], ..Default::default() };
        let mut task = Task::default();
        assert!(!frame.flag(&task, BoolKey::NoLog, &s, true).unwrap());
        assert!(frame.flag(&task, BoolKey::Become, &s, true).unwrap(), "unset falls back to the default");
        task.attrs.no_log = Some(tpl("{{ t }}"));
        assert!(frame.flag(&task, BoolKey::NoLog, &s, false).unwrap());
        assert!(frame.has_flag(&task, BoolKey::NoLog) && !frame.has_flag(&task, BoolKey::RunOnce));
    }
}
