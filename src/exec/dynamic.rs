//! The inventory changes `add_host` and `group_by` describe in their results, applied between
//! tasks as Ansible's strategy does (`add_dynamic_host`, `add_dynamic_group`): the rest of the
//! play sees them through `groups`, `group_names`, `hostvars` and the hosts' inventory
//! variables (`ansible_host`, `ansible_port` choose the new host's connection), and later
//! plays resolve their `hosts:` against the changed inventory.

use std::sync::Arc;

use crate::inventory::Inventory;
use crate::report::Status;
use crate::value::{to_text, Map, Value};

use super::outcome::HostOutcome;
use super::walk::PlayCtx;
use super::world::InventoryLayers;
use super::Runner;

/// One change, read from a result (or a loop item's).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Dynamic {
    Host { name: String, groups: Vec<String>, vars: Map },
    Group { host: String, name: String, parents: Vec<String> },
}

/// The changes in one host's outcome: the result's own, or each loop item's that did not fail
/// and was not skipped.
fn changes(o: &HostOutcome) -> Vec<Dynamic> {
    if matches!(o.status, Status::Failed | Status::Skipped | Status::Unreachable) {
        return Vec::new();
    }
    // Read the typed result in place: this runs for every host after every task.
    let items: Vec<&Map> = match &o.result.results {
        Some(items) => items.iter().filter_map(Value::as_object).collect(),
        None if o.result.failed == Some(true) || o.result.skipped == Some(true) => return Vec::new(),
        None => vec![&o.result.extra],
    };
    let flag = |m: &Map, k: &str| m.get(k) == Some(&Value::Bool(true));
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array).map(|a| a.iter().map(to_text).collect()).unwrap_or_default()
    };
    let mut out = Vec::new();
    for item in items.into_iter().filter(|m| !flag(m, "failed") && !flag(m, "skipped")) {
        if let Some(Value::Object(add)) = item.get("add_host") {
            let Some(name) = add.get("host_name").map(to_text) else { continue };
            let vars = add.get("host_vars").and_then(Value::as_object).cloned().unwrap_or_default();
            out.push(Dynamic::Host { name, groups: strings(add.get("groups")), vars });
        } else if let Some(group) = item.get("add_group") {
            let parents = strings(item.get("parent_groups"));
            out.push(Dynamic::Group { host: o.host.clone(), name: to_text(group), parents });
        }
    }
    out
}

/// Apply changes to the inventory; returns the hosts whose groups or variables changed.
fn apply(inv: &mut Inventory, changes: Vec<Dynamic>) -> Vec<String> {
    let mut touched = Vec::new();
    for change in changes {
        match change {
            Dynamic::Host { name, groups, vars } => {
                inv.add_host(&name, None, None, None);
                for g in &groups {
                    inv.add_host(&name, Some(g), None, None);
                }
                for (k, v) in vars {
                    inv.set_host_var(&name, &k, v);
                }
                touched.push(name);
            }
            Dynamic::Group { host, name, parents } => {
                inv.add_group(&name);
                for p in &parents {
                    inv.add_group(p);
                    // A cycle (a group made its own ancestor) is refused, as the inventory does.
                    let _ = inv.add_child_group(p, &name);
                }
                if inv.hosts.contains_key(&host) {
                    inv.add_host(&host, Some(&name), None, None);
                    touched.push(host);
                }
            }
        }
    }
    inv.reconcile();
    touched
}

impl Runner {
    /// After a task: apply the inventory changes its results describe.
    pub(super) fn apply_dynamic_inventory(&mut self, ctx: &mut PlayCtx<'_>, outcomes: &[HostOutcome]) {
        let found: Vec<Dynamic> = outcomes.iter().flat_map(changes).collect();
        if found.is_empty() {
            return;
        }
        self.dynamic_log.extend(found.iter().cloned());
        let inv = Arc::make_mut(&mut self.inventory);
        let touched = apply(inv, found);
        self.inventory_now(ctx, |h, st| touched.contains(h) || st.inventory.host_inventory.is_empty());
    }

    /// `meta: refresh_inventory`: read the inventory sources again (and the playbook's
    /// `group_vars`/`host_vars`), keeping what `add_host`/`group_by` added, as Ansible does.
    pub(super) fn refresh_inventory(&mut self, ctx: &mut PlayCtx<'_>) -> Result<(), String> {
        let mut inv = Inventory::load(&self.options.inventory_sources).map_err(|e| e.to_string())?;
        inv.add_vars_dir(&self.playbook_dir).map_err(|e| e.to_string())?;
        apply(&mut inv, self.dynamic_log.clone());
        self.inventory = Arc::new(inv);
        self.inventory_now(ctx, |_, _| true);
        Ok(())
    }

    /// The changed inventory reaches hosts' variables (those `stale` says), `groups`, and the
    /// `hosts:` of later plays.
    fn inventory_now(&mut self, ctx: &mut PlayCtx<'_>, stale: impl Fn(&String, &super::world::HostState) -> bool) {
        let inv = self.inventory.clone();
        // Group membership changes group variables, of these hosts and of any in a new group.
        for h in inv.hosts.keys() {
            let st = self.states.entry(h.clone()).or_default();
            if stale(h, st) {
                st.inventory = Arc::new(InventoryLayers::of(&inv, h));
            }
        }
        Arc::make_mut(&mut ctx.vars.magic).insert("groups".into(), inv.groups_value());
        ctx.vars.groups = inv;
        self.inventory_changed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(host: &str, status: Status, result: Value) -> HostOutcome {
        let Value::Object(m) = result else { panic!() };
        HostOutcome::new(host, status, super::super::result::TaskResult::from_module(m))
    }

    #[test]
    fn add_host_and_group_by_change_the_inventory() {
        let mut inv = Inventory::new();
        inv.add_host("h1", None, None, None);
        inv.reconcile();
        let add = outcome(
            "h1",
            Status::Changed,
            json!({"results": [
                {"add_host": {"host_name": "n1", "groups": ["web"], "host_vars": {"ansible_host": "10.0.0.9"}}},
                {"add_host": {"host_name": "n2", "groups": [], "host_vars": {}}, "failed": true},
            ]}),
        );
        let by = outcome("h1", Status::Ok, json!({"add_group": "os-debian", "parent_groups": ["linux"]}));
        let found: Vec<Dynamic> = [add, by].iter().flat_map(changes).collect();
        assert_eq!(found.len(), 2);
        let touched = apply(&mut inv, found);
        assert_eq!(touched, ["n1", "h1"]);
        let groups = inv.groups_map();
        assert_eq!(groups["web"], ["n1"]);
        assert_eq!(groups["linux"], ["h1"]);
        assert_eq!(groups["os-debian"], ["h1"]);
        assert!(!groups["all"].contains(&"n2".to_string()));
        assert_eq!(groups["ungrouped"], Vec::<String>::new());
        assert_eq!(inv.hosts["n1"].vars["ansible_host"], "10.0.0.9");
        let skipped = outcome("h1", Status::Skipped, json!({"add_group": "x", "parent_groups": []}));
        assert!(changes(&skipped).is_empty());
    }
}
