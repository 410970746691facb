//! Building the host/group graph and walking it, as Ansible's `InventoryData` and `Group` do.

use std::collections::{HashMap, HashSet};

use super::{Group, Host, Inventory};
use crate::value::Value;

impl Inventory {
    /// Add a group unless it exists.
    pub fn add_group(&mut self, name: &str) {
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_string(), Group::new(name));
        }
    }

    /// Add a host (first time: with `inventory_file`/`inventory_dir` and the port), and
    /// make it a member of `group` when given. `source` is the inventory source text.
    pub fn add_host(&mut self, name: &str, group: Option<&str>, port: Option<u16>, source: Option<&SourceInfo>) {
        if !self.hosts.contains_key(name) {
            let mut host = Host { name: name.to_string(), ..Host::default() };
            if let Some(p) = port {
                host.vars.insert("ansible_port".into(), Value::from(p));
            }
            let (file, dir) = match source {
                Some(s) => (Value::String(s.file.clone()), s.dir.clone().map(Value::String).unwrap_or(Value::Null)),
                None => (Value::Null, Value::Null),
            };
            host.vars.insert("inventory_file".into(), file);
            host.vars.insert("inventory_dir".into(), dir);
            self.hosts.insert(name.to_string(), host);
        }
        if let Some(g) = group {
            self.add_group(g);
            self.add_host_to_group(g, name);
        }
    }

    pub(crate) fn add_host_to_group(&mut self, group: &str, host: &str) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        if !g.hosts.iter().any(|h| h == host) {
            g.hosts.push(host.to_string());
            if let Some(h) = self.hosts.get_mut(host) {
                h.groups.push(group.to_string());
            }
        }
    }

    fn remove_host_from_group(&mut self, group: &str, host: &str) {
        if let Some(g) = self.groups.get_mut(group) {
            g.hosts.retain(|h| h != host);
        }
        if let Some(h) = self.hosts.get_mut(host) {
            h.groups.retain(|g| g != group);
        }
    }

    /// Make `child` a child group of `parent` (both must exist); refuses cycles.
    pub fn add_child_group(&mut self, parent: &str, child: &str) -> Result<(), String> {
        if parent == child {
            return Err(format!("group '{child}' cannot be a child of itself"));
        }
        let (Some(p), Some(_)) = (self.groups.get(parent), self.groups.get(child)) else {
            return Err(format!("'{child}' or '{parent}' is not a known group"));
        };
        if p.children.iter().any(|c| c == child) {
            return Ok(());
        }
        if self.is_ancestor(child, parent) {
            return Err(format!("adding group '{child}' as a child of '{parent}' creates a recursive dependency loop"));
        }
        if let Some(p) = self.groups.get_mut(parent) {
            p.children.push(child.to_string());
        }
        if let Some(c) = self.groups.get_mut(child) {
            if !c.parents.iter().any(|x| x == parent) {
                c.parents.push(parent.to_string());
            }
        }
        Ok(())
    }

    /// Each group's depth: its longest path from a top group (Ansible's `Group.depth`), in one
    /// topological pass once all sources are in (raising it edge by edge was quadratic on
    /// chains written bottom-up).
    fn compute_depths(&mut self) {
        let mut waiting: HashMap<String, usize> =
            self.groups.values().map(|g| (g.name.clone(), g.parents.len())).collect();
        let mut ready: Vec<String> =
            self.groups.values().filter(|g| g.parents.is_empty()).map(|g| g.name.clone()).collect();
        for g in self.groups.values_mut() {
            g.depth = 0;
        }
        while let Some(name) = ready.pop() {
            let Some(g) = self.groups.get(&name) else { continue };
            let (depth, children) = (g.depth + 1, g.children.clone());
            for c in children {
                if let Some(cg) = self.groups.get_mut(&c) {
                    cg.depth = cg.depth.max(depth);
                }
                if let Some(n) = waiting.get_mut(&c) {
                    *n -= 1;
                    if *n == 0 {
                        ready.push(c);
                    }
                }
            }
        }
    }

    /// Is `group` above `below`? A group without children is above nothing and a group without
    /// parents is below nothing, which keeps building long chains linear in either order.
    fn is_ancestor(&self, group: &str, below: &str) -> bool {
        let has =
            |name: &str, pick: fn(&Group) -> &Vec<String>| self.groups.get(name).is_some_and(|g| !pick(g).is_empty());
        if !has(group, |g| &g.children) || !has(below, |g| &g.parents) {
            return false;
        }
        let mut seen = HashSet::new();
        let mut todo: Vec<&str> = vec![below];
        while let Some(g) = todo.pop() {
            for p in self.groups.get(g).map(|g| g.parents.as_slice()).unwrap_or_default() {
                if p == group {
                    return true;
                }
                if seen.insert(p.as_str()) {
                    todo.push(p);
                }
            }
        }
        false
    }

    /// Every group above `group` (not itself).
    pub fn ancestors(&self, group: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut todo: Vec<&str> = vec![group];
        while let Some(g) = todo.pop() {
            for p in self.groups.get(g).map(|g| g.parents.as_slice()).unwrap_or_default() {
                if seen.insert(p.clone()) {
                    todo.push(p);
                }
            }
        }
        seen
    }

    /// Set a group variable; `ansible_group_priority` sets the priority instead.
    pub fn set_group_var(&mut self, group: &str, key: &str, value: Value) -> Result<(), String> {
        let Some(g) = self.groups.get_mut(group) else {
            return Err(format!("unknown group '{group}'"));
        };
        if key == "ansible_group_priority" {
            g.priority = match &value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("ansible_group_priority of group '{group}' must be an integer"))?;
        } else {
            g.vars.insert(key.to_string(), value);
        }
        Ok(())
    }

    pub fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.vars.insert(key.to_string(), value);
        }
    }

    /// After all sources: top-level groups become children of `all`; hosts in no group join
    /// `ungrouped`, and hosts in a real group leave it.
    pub fn reconcile(&mut self) {
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for g in &names {
            if g != "all" && self.groups[g.as_str()].parents.is_empty() {
                let _ = self.add_child_group("all", g);
            }
        }
        let hosts: Vec<String> = self.hosts.keys().cloned().collect();
        for h in hosts {
            let groups = &self.hosts[h.as_str()].groups;
            let real = groups.iter().any(|g| g != "all" && g != "ungrouped");
            if groups.iter().any(|g| g == "ungrouped") {
                if real {
                    self.remove_host_from_group("ungrouped", &h);
                }
            } else if !real {
                self.add_host_to_group("ungrouped", &h);
            }
        }
        self.compute_depths();
    }

    /// Hosts of a group and of its descendants, breadth first, without repeats.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let Some(g) = self.groups.get(group) else {
            return Vec::new();
        };
        let mut order: Vec<&Group> = vec![g];
        let mut seen: HashSet<&str> = HashSet::from([g.name.as_str()]);
        let mut frontier = vec![g];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for f in frontier {
                for c in &f.children {
                    if let Some(cg) = self.groups.get(c.as_str()) {
                        if seen.insert(cg.name.as_str()) {
                            order.push(cg);
                            next.push(cg);
                        }
                    }
                }
            }
            frontier = next;
        }
        let mut hosts = Vec::new();
        let mut seen_hosts = HashSet::new();
        for g in order {
            for h in &g.hosts {
                if seen_hosts.insert(h.as_str()) {
                    hosts.push(h.clone());
                }
            }
        }
        hosts
    }

    /// Every group the host belongs to, directly or through a child group (incl. `all`).
    pub fn host_groups(&self, host: &str) -> Vec<String> {
        let Some(h) = self.hosts.get(host) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        // A set beside the list: `contains` on the list made 10,000 chained groups quadratic.
        let mut seen: HashSet<String> = HashSet::new();
        for g in &h.groups {
            if seen.insert(g.clone()) {
                out.push(g.clone());
            }
            let mut anc: Vec<String> = self.ancestors(g).into_iter().collect();
            anc.sort();
            for a in anc {
                if seen.insert(a.clone()) {
                    out.push(a);
                }
            }
        }
        out
    }
}

/// Where a host was first seen, for `inventory_file` / `inventory_dir`.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub file: String,
    pub dir: Option<String>,
}
