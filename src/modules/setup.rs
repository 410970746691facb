//! `setup`: a small set of host facts gathered by one shell command.

use async_trait::async_trait;

use crate::connection::Cmd;
use crate::value::Value;

use super::args::IGNORED;
use super::args::{ArgSpec, Args, Opt};
use super::script_out::run_ok;
use super::{Ctx, Map, Module, ModuleError, Query};
use crate::glob::matches as glob_match;

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::list("gather_subset", "accepted; troupe gathers its one set of facts").default("all"),
        Opt::list("filter", "only facts whose names match these shell-style patterns"),
        Opt::int("gather_timeout", IGNORED).default("10"),
        Opt::path("fact_path", IGNORED),
    ]],
    ..ArgSpec::NONE
};

pub struct Setup;

/// Prints `key=value` lines; [`parse_facts`] turns them into Ansible's fact names.
pub const SCRIPT: &str = r#"n=$(uname -n); echo "nodename=$n"
echo "fqdn=$(hostname -f 2>/dev/null || echo "$n")"
echo "system=$(uname -s)"
echo "kernel=$(uname -r)"
echo "machine=$(uname -m)"
echo "user=$(id -un 2>/dev/null)"
echo "vcpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null)"
sed -n 's/^MemTotal: *\([0-9]*\).*/memtotal_kb=\1/p' /proc/meminfo 2>/dev/null
[ -r /etc/os-release ] && sed 's/^/os_/' /etc/os-release
[ -r /etc/debian_version ] && echo "debian_version=$(cat /etc/debian_version)"
echo "init=$(cat /proc/1/comm 2>/dev/null)"
[ -d /run/systemd/system ] && echo "systemd=1"
[ -x /sbin/openrc ] && echo "openrc=1"
for m in apt-get dnf5 dnf yum zypper apk pacman; do if command -v $m >/dev/null 2>&1; then echo "pkg=$m"; break; fi; done
echo "route=$(ip -4 route get 1 2>/dev/null | head -n 1)"
ip -4 -o addr show 2>/dev/null | sed 's/^/addr=/'
awk '$2 == "00000000" { print "procroute=" $1 " " $3; exit }' /proc/net/route 2>/dev/null
exit 0
"#;

/// (name, os_family) for `/etc/os-release` IDs.
const DISTROS: [(&str, &str, &str); 16] = [
    ("debian", "Debian", "Debian"),
    ("ubuntu", "Ubuntu", "Debian"),
    ("linuxmint", "Linux Mint", "Debian"),
    ("kali", "Kali", "Debian"),
    ("raspbian", "Debian", "Debian"),
    ("rhel", "RedHat", "RedHat"),
    ("centos", "CentOS", "RedHat"),
    ("fedora", "Fedora", "RedHat"),
    ("rocky", "Rocky", "RedHat"),
    ("almalinux", "AlmaLinux", "RedHat"),
    ("ol", "OracleLinux", "RedHat"),
    ("amzn", "Amazon", "RedHat"),
    ("sles", "SLES", "Suse"),
    ("opensuse-leap", "openSUSE Leap", "Suse"),
    ("alpine", "Alpine", "Alpine"),
    ("arch", "Archlinux", "Archlinux"),
];

fn unquote(v: &str) -> String {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v)
        .to_string()
}

/// The word after `key` in a whitespace-separated line (`dev eth0` → `eth0`).
fn word_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let mut it = line.split_whitespace();
    while let Some(w) = it.next() {
        if w == key {
            return it.next();
        }
    }
    None
}

fn ipv4(text: &str) -> Option<[u8; 4]> {
    let p: Vec<u8> = text.split('.').filter_map(|x| x.parse().ok()).collect();
    <[u8; 4]>::try_from(p).ok()
}

fn dotted(n: u32) -> String {
    let b = n.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// Turn the script's output into `ansible_*` facts.
pub fn parse_facts(out: &str) -> Map {
    let mut kv: Vec<(&str, &str)> = Vec::new();
    for line in out.lines() {
        if let Some((k, v)) = line.split_once('=') {
            kv.push((k, v));
        }
    }
    let get = |k: &str| kv.iter().find(|(key, _)| *key == k).map(|(_, v)| v.trim().to_string());
    let os = |k: &str| get(&format!("os_{k}")).map(|v| unquote(&v)).unwrap_or_default();
    let mut f = Map::new();
    let mut put = |k: &str, v: Value| {
        f.insert(format!("ansible_{k}"), v);
    };

    let nodename = get("nodename").unwrap_or_default();
    put("hostname", nodename.split('.').next().unwrap_or_default().into());
    put("nodename", nodename.clone().into());
    put("fqdn", get("fqdn").filter(|s| !s.is_empty()).unwrap_or(nodename).into());
    let system = get("system").unwrap_or_default();
    put("system", system.clone().into());
    put("kernel", get("kernel").unwrap_or_default().into());
    put("architecture", get("machine").unwrap_or_default().into());
    put("user_id", get("user").unwrap_or_default().into());
    if let Some(n) = get("vcpus").and_then(|v| v.parse::<u64>().ok()) {
        put("processor_vcpus", n.into());
    }
    if let Some(kb) = get("memtotal_kb").and_then(|v| v.parse::<u64>().ok()) {
        put("memtotal_mb", (kb / 1024).into());
    }

    // Distribution, from /etc/os-release (plus /etc/debian_version for Debian's point release).
    let id = os("ID");
    let like = os("ID_LIKE");
    let (name, family) = match DISTROS.iter().find(|(i, _, _)| *i == id) {
        Some((_, n, fam)) => (n.to_string(), fam.to_string()),
        None => {
            let name = if id.starts_with("opensuse") {
                os("NAME")
            } else {
                os("NAME").split(' ').next().unwrap_or_default().to_string()
            };
            let family = if like.contains("debian") || like.contains("ubuntu") {
                "Debian".to_string()
            } else if like.contains("rhel") || like.contains("fedora") || like.contains("centos") {
                "RedHat".to_string()
            } else if like.contains("suse") {
                "Suse".to_string()
            } else if name.is_empty() {
                system.clone()
            } else {
                name.clone()
            };
            (if name.is_empty() { system.clone() } else { name }, family)
        }
    };
    let mut version = os("VERSION_ID");
    if id == "debian" {
        if let Some(dv) = get("debian_version").filter(|v| v.starts_with(|c: char| c.is_ascii_digit())) {
            version = dv;
        }
    }
    let release = match os("VERSION_CODENAME") {
        c if !c.is_empty() => c,
        _ => {
            let v = os("VERSION");
            v.split_once('(')
                .and_then(|(_, r)| r.split_once(')'))
                .map(|(r, _)| r.trim().to_string())
                .unwrap_or_default()
        }
    };
    put("distribution", name.into());
    put("os_family", family.into());
    put("distribution_major_version", version.split('.').next().unwrap_or_default().into());
    put("distribution_version", version.into());
    put("distribution_release", release.into());

    let service_mgr = if get("systemd").is_some() {
        "systemd".to_string()
    } else if get("openrc").is_some() {
        "openrc".to_string()
    } else {
        match get("init").unwrap_or_default().as_str() {
            "init" => "sysvinit".to_string(),
            "" => "service".to_string(),
            other => other.to_string(),
        }
    };
    put("service_mgr", service_mgr.into());
    let pkg = match get("pkg").unwrap_or_default().as_str() {
        "apt-get" => "apt".to_string(),
        "" => "unknown".to_string(),
        other => other.to_string(),
    };
    put("pkg_mgr", pkg.into());

    // Addresses: `ip -4 -o addr show` lines; the default route picks the default one.
    let mut all = Vec::new();
    let mut by_iface: Vec<(String, String, u32, Option<String>)> = Vec::new();
    for (_, line) in kv.iter().filter(|(k, _)| *k == "addr") {
        let Some(cidr) = word_after(line, "inet") else {
            continue;
        };
        let (addr, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
        let iface = line.split_whitespace().nth(1).unwrap_or_default().to_string();
        if !addr.starts_with("127.") {
            all.push(Value::from(addr));
        }
        let prefix = prefix.parse::<u32>().unwrap_or(32).min(32);
        by_iface.push((iface, addr.to_string(), prefix, word_after(line, "brd").map(str::to_string)));
    }
    put("all_ipv4_addresses", all.into());
    let route = get("route").unwrap_or_default();
    let mut def = Map::new();
    if let Some(dev) = word_after(&route, "dev") {
        def.insert("interface".into(), dev.into());
        def.insert("alias".into(), dev.into());
        if let Some(src) = word_after(&route, "src") {
            def.insert("address".into(), src.into());
            if let Some((_, _, prefix, brd)) = by_iface.iter().find(|(i, a, _, _)| i == dev && a == src) {
                let mask = if *prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
                if let Some(ip) = ipv4(src) {
                    def.insert("network".into(), dotted(u32::from_be_bytes(ip) & mask).into());
                }
                def.insert("netmask".into(), dotted(mask).into());
                def.insert("prefix".into(), prefix.to_string().into());
                if let Some(b) = brd {
                    def.insert("broadcast".into(), b.clone().into());
                }
            }
        }
        if let Some(gw) = word_after(&route, "via") {
            def.insert("gateway".into(), gw.into());
        }
    } else if let Some(pr) = get("procroute") {
        // No `ip`: /proc/net/route has the interface and the gateway (hex, little-endian).
        let mut it = pr.split_whitespace();
        if let (Some(dev), Some(gw)) = (it.next(), it.next()) {
            def.insert("interface".into(), dev.into());
            if let Ok(n) = u32::from_str_radix(gw, 16) {
                def.insert("gateway".into(), dotted(n.swap_bytes()).into());
            }
        }
    }
    put("default_ipv4", Value::Object(def));
    f
}

#[async_trait]
impl Module for Setup {
    fn name(&self) -> &'static str {
        "setup"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("setup", args, &SPEC)?;
        let filter = a.list("filter")?.unwrap_or_default();
        let out = run_ok(cx, Cmd::new(SCRIPT), "gathering facts failed").await?.stdout_text();
        let mut facts = parse_facts(&out);
        if !filter.is_empty() {
            facts.retain(|k, _| filter.iter().any(|p| glob_match(p, k)));
        }
        let mut q = Query::ok().with("ansible_facts", Value::Object(facts.clone()));
        q.facts = Some(facts);
        Ok(q)
    }
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
