//! Host facts (`setup`, `gather_facts`): one shell script, assembled from the subsets asked for
//! (`gather_subset`), prints `key=value` lines; the parsers here turn them into Ansible's
//! `ansible_*` facts. Gathering stays one round trip whatever the subsets.

mod hardware;
mod network;
mod system;

use crate::value::{Map, Value};

/// Which fact groups to gather: Ansible's `min` facts, then `hardware`, `network`, `virtual`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subsets {
    pub min: bool,
    pub hardware: bool,
    pub network: bool,
    pub virtual_: bool,
}

/// The collectors `min` stands for (they are always gathered unless `!min`).
const MIN_NAMES: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];
const HARDWARE_NAMES: &[&str] = &["hardware", "devices", "dmi", "mounts", "memory", "processor"];
const NETWORK_NAMES: &[&str] = &["network", "interfaces", "default_ipv4", "default_ipv6", "all_ipv4_addresses"];

impl Subsets {
    pub const ALL: Subsets = Subsets { min: true, hardware: true, network: true, virtual_: true };

    /// `gather_subset` as Ansible reads it: `all` (the default), `min`, group or collector
    /// names, and `!name` to leave one out (`!all` keeps `min` and what is named).
    pub fn parse(items: &[String]) -> Result<Subsets, String> {
        if items.is_empty() {
            return Ok(Subsets::ALL);
        }
        let mut named = Subsets { min: true, hardware: false, network: false, virtual_: false };
        let mut all = false;
        let mut excluded: Vec<&str> = Vec::new();
        for item in items {
            let item = item.trim();
            let (not, name) = match item.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, item),
            };
            let known = name == "all"
                || name == "min"
                || name == "virtual"
                || name == "ohai"
                || name == "facter"
                || MIN_NAMES.contains(&name)
                || HARDWARE_NAMES.contains(&name)
                || NETWORK_NAMES.contains(&name);
            if !known {
                return Err(format!(
                    "Bad subset '{name}' given to Ansible. gather_subset options allowed: all, min, hardware, network, \
                     virtual, ohai, facter, {}",
                    MIN_NAMES.join(", ")
                ));
            }
            if not {
                excluded.push(name);
                continue;
            }
            match name {
                "all" => all = true,
                n if HARDWARE_NAMES.contains(&n) => named.hardware = true,
                n if NETWORK_NAMES.contains(&n) => named.network = true,
                "virtual" => named.virtual_ = true,
                _ => {}
            }
        }
        let mut s = if all && !excluded.contains(&"all") { Subsets::ALL } else { named };
        for e in excluded {
            match e {
                "min" => s.min = false,
                n if HARDWARE_NAMES.contains(&n) => s.hardware = false,
                n if NETWORK_NAMES.contains(&n) => s.network = false,
                "virtual" => s.virtual_ = false,
                _ => {}
            }
        }
        Ok(s)
    }

    /// The one script that gathers these subsets.
    pub fn script(&self) -> String {
        let mut out = String::from(system::SCRIPT);
        if self.network {
            out.push_str(network::SCRIPT);
        }
        if self.hardware {
            out.push_str(hardware::SCRIPT);
        }
        if self.virtual_ {
            out.push_str(hardware::VIRTUAL_SCRIPT);
        }
        // The environment last: a value spanning lines continues until the end.
        out.push_str("env 2>/dev/null | sed 's/^/env=/'\nexit 0\n");
        out
    }
}

/// The script's `key=value` lines, in order (a key may repeat: `addr=`, `mount=`...).
pub struct Lines<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Lines<'a> {
    pub fn new(out: &'a str) -> Lines<'a> {
        Lines(out.lines().filter_map(|l| l.split_once('=')).collect())
    }
    /// The first value of `key`, trimmed.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v.trim().to_string())
    }
    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> impl Iterator<Item = &'a str> + '_ {
        let key = key.to_string();
        self.0.iter().filter(move |(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// Turn the script's output into `ansible_*` facts.
pub fn parse(out: &str, subsets: &Subsets) -> Map {
    let lines = Lines::new(out);
    let mut f = Map::new();
    if subsets.min {
        system::parse(&lines, &mut f);
        system::environment(out, &mut f);
    }
    if subsets.network {
        network::parse(&lines, &mut f);
    }
    if subsets.hardware {
        hardware::parse(&lines, &mut f);
    }
    if subsets.virtual_ {
        hardware::virtualization(&lines, &mut f);
    }
    f
}

/// The facts as `ansible_facts` holds them: names without the `ansible_` prefix.
pub fn namespaced(facts: &Map) -> Map {
    facts.iter().map(|(k, v)| (k.strip_prefix("ansible_").unwrap_or(k).to_string(), v.clone())).collect()
}

/// `unquote("\"x\"")` → `x` (os-release values may be quoted either way).
pub(super) fn unquote(v: &str) -> String {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v)
        .to_string()
}

fn text(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
