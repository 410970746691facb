//! Keywords shared by plays, blocks, tasks and role entries (the `Attrs` struct).

use super::convert::{flag, number_or_template, opt_string, string_list, tags, vars, when};
use super::error::LoadError;
use super::model::Attrs;
use crate::yaml::{Kind, Node};

/// Set `key` on `attrs` if it is a shared keyword; `Ok(false)` if it is not one.
pub fn set(attrs: &mut Attrs, key: &str, v: &Node) -> Result<bool, LoadError> {
    match key {
        "when" => attrs.when.extend(when(v)?),
        "tags" => attrs.tags.extend(tags(v)?),
        "vars" => attrs.vars.extend(vars(v, false)?),
        "become" => attrs.become_ = flag(v, key)?,
        "become_user" => attrs.become_user = opt_string(v, key)?,
        "become_method" => attrs.become_method = opt_string(v, key)?,
        "environment" => attrs.environment = environment(v)?,
        "ignore_errors" => attrs.ignore_errors = flag(v, key)?,
        "ignore_unreachable" => attrs.ignore_unreachable = flag(v, key)?,
        "no_log" => attrs.no_log = flag(v, key)?,
        "check_mode" => attrs.check_mode = flag(v, key)?,
        "diff" => attrs.diff = flag(v, key)?,
        "delegate_to" => attrs.delegate_to = opt_string(v, key)?,
        "delegate_facts" => attrs.delegate_facts = flag(v, key)?,
        "run_once" => attrs.run_once = flag(v, key)?,
        "throttle" => attrs.throttle = number_or_template(v, key)?,
        "connection" => attrs.connection = opt_string(v, key)?,
        "remote_user" => attrs.remote_user = opt_string(v, key)?,
        "any_errors_fatal" => attrs.any_errors_fatal = flag(v, key)?,
        "notify" => attrs.notify = string_list(v, key)?,
        "port" => attrs.port = number_or_template(v, key)?,
        "timeout" => attrs.timeout = number_or_template(v, key)?,
        "module_defaults" => attrs.module_defaults.extend(module_defaults(v)?),
        // Only builtin modules exist in troupe, so the search list changes nothing; check its shape.
        "collections" => {
            string_list(v, key)?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `module_defaults`: a mapping or a list of them, keyed by static module names; only the
/// values may be templates (as in Ansible).
fn module_defaults(v: &Node) -> Result<Vec<crate::value::Map>, LoadError> {
    let dicts: Vec<&Node> = match &v.kind {
        Kind::Null => return Ok(Vec::new()),
        Kind::Seq(items) => items.iter().collect(),
        _ => vec![v],
    };
    let mut out = Vec::new();
    for d in dicts {
        let Some(entries) = d.as_map() else {
            return Err(LoadError::invalid(
                &d.span,
                "`module_defaults` must be a mapping (or a list of mappings) of module names to their default arguments",
            ));
        };
        let mut map = crate::value::Map::new();
        for (k, val) in entries {
            let name = k.key_string();
            if name.starts_with("group/") {
                return Err(LoadError::unsupported(
                    &k.span,
                    format!("`module_defaults` for an action group (`{name}`) is not supported by troupe (yet)"),
                )
                .with_hint("give the defaults for each module by its name"));
            }
            if !matches!(val.kind, Kind::Map(_) | Kind::Str(_) | Kind::Null) {
                return Err(LoadError::invalid(
                    &val.span,
                    format!("the `module_defaults` of `{name}` must be a mapping"),
                ));
            }
            map.insert(super::task::canonical(&name).to_string(), val.to_value());
        }
        out.push(map);
    }
    Ok(out)
}

/// The `apply` of an `include_tasks`/`include_role`: block keywords for what it includes.
pub fn apply(v: &crate::value::Value, span: &crate::yaml::Span) -> Result<Attrs, LoadError> {
    let text = serde_json::to_string(v).unwrap_or_default();
    let node = crate::yaml::parse_str(&text, std::path::Path::new(&span.to_string()))
        .map_err(|e| LoadError::invalid(span, format!("`apply`: {}", e.message)))?;
    let Some(entries) = node.as_map() else {
        return Err(LoadError::invalid(span, "`apply` must be a mapping of block keywords"));
    };
    let mut attrs = Attrs::default();
    for (k, v) in entries {
        let key = k.key_string();
        if !(super::keywords::allowed(super::keywords::on::BLOCK, &key) && set(&mut attrs, &key, v)?) {
            return Err(LoadError::invalid(span, format!("`apply`: `{key}` is not a block keyword")));
        }
    }
    Ok(attrs)
}

/// `environment`: a mapping, a list of mappings, or a template string, kept raw.
fn environment(v: &Node) -> Result<Option<crate::value::Value>, LoadError> {
    match &v.kind {
        Kind::Null => Ok(None),
        Kind::Map(_) | Kind::Str(_) => Ok(Some(v.to_value())),
        Kind::Seq(items) if items.iter().all(|i| i.as_map().is_some() || i.as_str().is_some()) => {
            Ok(Some(v.to_value()))
        }
        _ => Err(LoadError::invalid(&v.span, "`environment` must be a mapping of variable names to values")),
    }
}
