//! YAML (and JSON) inventories, as Ansible's `yaml` plugin reads them:
//! top-level keys are groups; each group may have `hosts`, `vars` and `children`.
//! Values keep their YAML 1.1 types.

use super::graph::SourceInfo;
use super::ini::expand_host_pattern;
use super::{Inventory, InventoryError};
use crate::yaml::{Kind, Node};

/// Whether a parsed document is a YAML inventory (a mapping that is not a plugin config).
pub fn is_inventory(doc: &Node) -> bool {
    doc.as_map().is_some() && doc.get("plugin").is_none()
}

pub fn parse(inv: &mut Inventory, doc: &Node, source: &SourceInfo) -> Result<(), InventoryError> {
    let Some(entries) = doc.as_map() else {
        return Err(InventoryError::parse(
            doc.span.clone(),
            format!("a YAML inventory must be a mapping of groups, found {}", doc.type_name()),
            Some("start with `all:` and list `hosts:`, `vars:` and `children:` under it"),
        ));
    };
    for (name, data) in entries {
        group(inv, name, data, source)?;
    }
    Ok(())
}

fn group(inv: &mut Inventory, name_node: &Node, data: &Node, source: &SourceInfo) -> Result<String, InventoryError> {
    let name = name_node.key_string();
    if !matches!(data.kind, Kind::Map(_) | Kind::Null) {
        inv.warnings.push(format!("{}: skipping '{name}' as it is not a valid group definition", data.span));
        return Ok(name);
    }
    inv.add_group(&name);
    let Some(sections) = data.as_map() else {
        return Ok(name);
    };
    for (key, value) in sections {
        let key_name = key.key_string();
        let is_section = matches!(key_name.as_str(), "vars" | "children" | "hosts");
        // A bare string is shorthand for a one-entry mapping (`hosts: web1`).
        let items: Vec<(Node, Node)> = match &value.kind {
            Kind::Map(m) => m.clone(),
            Kind::Null => continue,
            Kind::Str(_) if is_section => vec![(value.clone(), Node { span: value.span.clone(), kind: Kind::Null })],
            _ if is_section => {
                return Err(InventoryError::parse(
                    value.span.clone(),
                    format!(
                        "invalid \"{key_name}\" entry for group '{name}': needs a mapping, found {}",
                        value.type_name()
                    ),
                    Some("write `hosts:` / `children:` entries as `name:` keys (a list is not accepted)"),
                ))
            }
            _ => {
                inv.warnings.push(format!(
                    "{}: skipping key '{key_name}' in group '{name}' as it is not a mapping",
                    value.span
                ));
                continue;
            }
        };
        match key_name.as_str() {
            "vars" => {
                for (k, v) in &items {
                    inv.set_group_var(&name, &k.key_string(), v.to_value())
                        .map_err(|m| InventoryError::parse(v.span.clone(), m, None))?;
                }
            }
            "children" => {
                for (child_name, child_data) in &items {
                    let child = group(inv, child_name, child_data, source)?;
                    inv.add_child_group(&name, &child)
                        .map_err(|m| InventoryError::parse(child_name.span.clone(), m, None))?;
                }
            }
            "hosts" => {
                for (pattern, host_vars) in &items {
                    hosts(inv, &name, pattern, host_vars, source)?;
                }
            }
            _ => inv.warnings.push(format!(
                "{}: skipping unexpected key '{key_name}' in group '{name}'; only vars, children and hosts are valid",
                key.span
            )),
        }
    }
    Ok(name)
}

fn hosts(
    inv: &mut Inventory,
    group: &str,
    pattern: &Node,
    vars: &Node,
    source: &SourceInfo,
) -> Result<(), InventoryError> {
    let Some(text) = pattern.as_str() else {
        return Err(InventoryError::parse(
            pattern.span.clone(),
            format!("host pattern {} must be a string", pattern.key_string()),
            Some("quote host names that look like numbers"),
        ));
    };
    let (names, port) = expand_host_pattern(text).map_err(|m| InventoryError::parse(pattern.span.clone(), m, None))?;
    let vars: Vec<(String, crate::value::Value)> = match &vars.kind {
        Kind::Null => Vec::new(),
        Kind::Map(m) => m.iter().map(|(k, v)| (k.key_string(), v.to_value())).collect(),
        _ => {
            return Err(InventoryError::parse(
                vars.span.clone(),
                format!("vars of host '{text}' must be a mapping, found {}", vars.type_name()),
                Some("write host vars as `key: value` lines under the host name"),
            ))
        }
    };
    for h in names {
        inv.add_host(&h, Some(group), port, Some(source));
        for (k, v) in &vars {
            inv.set_host_var(&h, k, v.clone());
        }
    }
    Ok(())
}
