//! `add_host` and `group_by`: they change the run's in-memory inventory. Like Ansible's action
//! plugins they only *describe* the change in their result (`add_host: {host_name, groups,
//! host_vars}`, `add_group` + `parent_groups`); the engine applies it between tasks
//! (`exec::dynamic`), so the rest of the run (later tasks' `groups`, later plays' `hosts:`,
//! the new host's connection variables) sees it.
//!
//! `add_host` runs once per batch (Ansible's BYPASS_HOST_LOOP; loop it to add many hosts) and
//! is `changed` when the host, one of its groups or one of its variables is new; `group_by`
//! runs for every host and is `changed` when the host joins the group (Ansible 2.19).

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::{Ctx, Module, ModuleError, Query};
use crate::value::{Map, Value};

pub struct AddHost;
pub struct GroupBy;

const GROUP_BY_SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("key", "the group to put the host in (spaces become `-`)"),
        Opt::raw("parents", "the groups that group is a child of (a name or a list)").default("all"),
    ]],
    ..ArgSpec::NONE
};

/// Keys that are not host variables (Ansible's `special_args`; `host` and `group` are).
const SPECIAL: [&str; 4] = ["name", "hostname", "groupname", "groups"];

/// What `add_host`'s arguments ask for: (host name, groups, host variables).
pub fn plan_add_host(args: &Map) -> Result<(String, Vec<String>, Map), ModuleError> {
    let mut args = args.clone();
    match args.remove("_raw_params") {
        None | Some(Value::Null) => {}
        Some(Value::Object(raw)) => {
            for (k, v) in raw {
                args.entry(k).or_insert(v);
            }
        }
        Some(other) => {
            return Err(ModuleError::failed(format!(
                "Invalid raw parameters passed, requires a dictionary/mapping got a  {}",
                python_type(&other)
            )))
        }
    }
    let given = ["name", "hostname", "host"].iter().find_map(|k| args.get(*k).filter(|v| !v.is_null()));
    let Some(given) = given.map(crate::value::to_text) else {
        return Err(ModuleError::failed("name, host or hostname needs to be provided"));
    };
    let (name, port) = crate::inventory::parse_address(&given, false).unwrap_or((given.clone(), None));
    if let Some(port) = port {
        args.insert("ansible_ssh_port".into(), Value::from(port));
    }
    let groups = ["groupname", "groups", "group"].iter().find_map(|k| args.get(*k).filter(|v| !v.is_null()));
    let listed: Vec<String> = match groups {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(crate::value::to_text).collect(),
        Some(Value::String(s)) => s.split(',').map(String::from).collect(),
        Some(_) => return Err(ModuleError::failed("Groups must be specified as a list.")),
    };
    let mut new_groups: Vec<String> = Vec::new();
    for g in listed {
        let g = g.trim().to_string();
        if !g.is_empty() && !new_groups.contains(&g) {
            new_groups.push(g);
        }
    }
    let host_vars: Map = args.into_iter().filter(|(k, _)| !SPECIAL.contains(&k.as_str())).collect();
    Ok((name, new_groups, host_vars))
}

fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "list",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        _ => "str",
    }
}

/// Whether `host` is listed under `group` in the task's `groups` (which lists a group's
/// descendants' hosts too).
fn member(all: &Option<Value>, group: &str, host: &str) -> bool {
    all.as_ref()
        .and_then(|a| a.get(group))
        .and_then(Value::as_array)
        .is_some_and(|hs| hs.iter().any(|h| h.as_str() == Some(host)))
}

/// Whether adding `name` to `groups` with `vars` changes the inventory the task sees
/// (`groups`, `hostvars`), as Ansible's `add_dynamic_host` decides.
fn add_host_changes(cx: &Ctx<'_>, name: &str, groups: &[String], vars: &Map) -> bool {
    let all = cx.render.eval("groups").ok();
    if !member(&all, "all", name) || groups.iter().any(|g| !member(&all, g, name)) {
        return true;
    }
    if vars.is_empty() {
        return false;
    }
    let literal = serde_json::to_string(name).unwrap_or_default();
    let Ok(known) = cx.render.eval(&format!("hostvars[{literal}]")) else { return true };
    vars.iter().any(|(k, v)| known.get(k) != Some(v))
}

#[async_trait]
impl Module for AddHost {
    fn name(&self) -> &'static str {
        "add_host"
    }

    /// Any name is a host variable.
    fn args(&self) -> Option<&'static ArgSpec> {
        None
    }

    fn controller_only(&self) -> bool {
        true
    }

    fn bypass_host_loop(&self) -> bool {
        true
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let (name, groups, host_vars) = plan_add_host(args)?;
        let changed = add_host_changes(cx, &name, &groups, &host_vars);
        let add = serde_json::json!({"host_name": name, "groups": groups, "host_vars": host_vars});
        // The inventory changes whether or not this is check mode, as in Ansible: nothing to apply.
        let mut q = Query::ok().with("add_host", add);
        q.changed = changed;
        Ok(q)
    }
}

#[async_trait]
impl Module for GroupBy {
    fn name(&self) -> &'static str {
        "group_by"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&GROUP_BY_SPEC)
    }

    fn controller_only(&self) -> bool {
        true
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("group_by", args, &GROUP_BY_SPEC)?;
        let Some(key) = a.str("key")? else {
            return Err(ModuleError::failed("the 'key' param is required when using group_by"));
        };
        let parents = a.list("parents")?.unwrap_or_else(|| vec!["all".into()]);
        let parents: Vec<String> = parents.iter().map(|p| p.replace(' ', "-")).collect();
        let key = key.replace(' ', "-");
        // Changed when the host joins the group, or a parent is new to it (Ansible's
        // `add_dynamic_group`), as far as the task's `groups` shows.
        let all = cx.render.eval("groups").ok();
        let changed = std::iter::once(&key).chain(&parents).any(|g| !member(&all, g, cx.host));
        let mut q = Query::ok().with("add_group", key).with("parent_groups", parents);
        q.changed = changed;
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{to_map, Harness, TestRender};
    use serde_json::json;

    #[test]
    fn add_host_arguments_as_ansible_reads_them() {
        let (name, groups, vars) =
            plan_add_host(&to_map(json!({"name": "10.0.0.5:2222", "groups": "web, db,web", "role": "x", "host": "h"})))
                .unwrap();
        assert_eq!(name, "10.0.0.5");
        assert_eq!(groups, ["web", "db"]);
        assert_eq!(Value::Object(vars), json!({"role": "x", "host": "h", "ansible_ssh_port": 2222}));
        let (name, groups, _) = plan_add_host(&to_map(json!({"hostname": "n1", "groupname": ["a"]}))).unwrap();
        assert_eq!((name.as_str(), groups), ("n1", vec!["a".to_string()]));
        let err = plan_add_host(&to_map(json!({"groups": "a"}))).unwrap_err();
        assert_eq!(err.to_string(), "name, host or hostname needs to be provided");
        let err = plan_add_host(&to_map(json!({"name": "a", "groups": 3}))).unwrap_err();
        assert_eq!(err.to_string(), "Groups must be specified as a list.");
    }

    #[tokio::test]
    async fn add_host_is_changed_only_for_something_new() {
        let mut h = Harness::new();
        h.render = TestRender::with(json!({"groups": {"all": ["old"], "web": ["old"]}}));
        let q = h.query(&AddHost, json!({"name": "new", "groups": "web"})).await.unwrap();
        assert!(q.changed);
        assert_eq!(q.result["add_host"], json!({"host_name": "new", "groups": ["web"], "host_vars": {}}));
        let q = h.query(&AddHost, json!({"name": "old", "groups": "web"})).await.unwrap();
        assert!(!q.changed, "{:?}", q.result);
        let q = h.query(&AddHost, json!({"name": "old", "groups": "db"})).await.unwrap();
        assert!(q.changed);
    }

    #[tokio::test]
    async fn group_by_names_the_group_and_parents() {
        let mut h = Harness::new();
        let (changed, r) = h.run(&GroupBy, json!({"key": "os Debian 12", "parents": "linux hosts"})).await.unwrap();
        assert!(changed);
        assert_eq!(
            (r["add_group"].clone(), r["parent_groups"].clone()),
            (json!("os-Debian-12"), json!(["linux-hosts"]))
        );
        let (_, r) = h.run(&GroupBy, json!({"key": "k"})).await.unwrap();
        assert_eq!(r["parent_groups"], json!(["all"]));
        h.render = TestRender::with(json!({"groups": {"all": ["localhost"], "k": ["localhost"]}}));
        let (changed, _) = h.run(&GroupBy, json!({"key": "k"})).await.unwrap();
        assert!(!changed);
        let err = h.run(&GroupBy, json!({"parents": "x"})).await.unwrap_err();
        assert_eq!(err.to_string(), "the 'key' param is required when using group_by");
    }
}
