//! Network facts: interfaces (from /sys/class/net and `ip -o addr`), their addresses, and the
//! default IPv4/IPv6 routes.

use super::{text, Lines};
use crate::value::{Map, Value};

pub const SCRIPT: &str = r#"echo "route=$(ip -4 route get 1 2>/dev/null | head -n 1)"
echo "route6=$(ip -6 route get 2000:: 2>/dev/null | head -n 1)"
ip -o addr show 2>/dev/null | sed 's/^/addr=/'
awk '$2 == "00000000" { print "procroute=" $1 " " $3; exit }' /proc/net/route 2>/dev/null
for i in /sys/class/net/*; do [ -d "$i" ] || continue; a=; m=; o=; t=; fl=; s=
read -r a 2>/dev/null <"$i/address"; read -r m 2>/dev/null <"$i/mtu"; read -r o 2>/dev/null <"$i/operstate"
read -r t 2>/dev/null <"$i/type"; read -r fl 2>/dev/null <"$i/flags"; read -r s 2>/dev/null <"$i/speed"
b=; [ -d "$i/bridge" ] && b=bridge; [ -d "$i/bonding" ] && b=bonding
echo "link=${i##*/}|$a|$m|$o|$t|$fl|$s|$b"; done
"#;

fn ipv4(text: &str) -> Option<[u8; 4]> {
    let p: Vec<u8> = text.split('.').filter_map(|x| x.parse().ok()).collect();
    <[u8; 4]>::try_from(p).ok()
}

fn dotted(n: u32) -> String {
    let b = n.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
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

/// One IPv4 address as Ansible describes it.
fn v4_entry(addr: &str, prefix: u32, brd: Option<&str>) -> Map {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    let mut m = Map::new();
    m.insert("address".into(), text(addr));
    m.insert("broadcast".into(), text(brd.unwrap_or_default()));
    m.insert("netmask".into(), text(dotted(mask)));
    m.insert("network".into(), text(ipv4(addr).map(|ip| dotted(u32::from_be_bytes(ip) & mask)).unwrap_or_default()));
    m.insert("prefix".into(), text(prefix.to_string()));
    m
}

pub fn parse(l: &Lines, f: &mut Map) {
    let mut ifaces: Vec<(String, Map)> = Vec::new();
    for link in l.all("link") {
        let p: Vec<&str> = link.split('|').collect();
        let [dev, mac, mtu, oper, kind, flags, speed, special] = p[..] else { continue };
        let mut m = Map::new();
        m.insert("device".into(), text(dev));
        if !mac.is_empty() && mac != "00:00:00:00:00:00" {
            m.insert("macaddress".into(), text(mac));
        }
        if let Ok(n) = mtu.parse::<u64>() {
            m.insert("mtu".into(), n.into());
        }
        if !oper.is_empty() {
            m.insert("active".into(), Value::Bool(oper != "down"));
        }
        let kind = match (special, kind) {
            ("bridge" | "bonding", _) => special,
            (_, "1") => "ether",
            (_, "32") => "infiniband",
            (_, "512") => "ppp",
            (_, "772") => "loopback",
            (_, "65534") => "tunnel",
            (_, "") => "",
            _ => "unknown",
        };
        if !kind.is_empty() {
            m.insert("type".into(), text(kind));
        }
        if let Ok(n) = speed.parse::<i64>() {
            m.insert("speed".into(), n.into());
        }
        if let Ok(n) = u64::from_str_radix(flags.trim_start_matches("0x"), 16) {
            m.insert("promisc".into(), Value::Bool(n & 0x100 != 0));
        }
        ifaces.push((dev.to_string(), m));
    }
    let mut all4 = Vec::new();
    let mut all6 = Vec::new();
    for line in l.all("addr") {
        let dev = line.split_whitespace().nth(1).unwrap_or_default().trim_end_matches(':');
        let dev = dev.split('@').next().unwrap_or(dev);
        let entry = match ifaces.iter_mut().find(|(d, _)| d == dev) {
            Some((_, m)) => m,
            None => {
                ifaces.push((dev.to_string(), Map::from_iter([("device".to_string(), text(dev))])));
                &mut ifaces.last_mut().expect("just pushed").1
            }
        };
        if let Some(cidr) = word_after(line, "inet") {
            let (addr, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
            let v4 = v4_entry(addr, prefix.parse::<u32>().unwrap_or(32).min(32), word_after(line, "brd"));
            if !addr.starts_with("127.") {
                all4.push(text(addr));
            }
            if entry.contains_key("ipv4") {
                if let Value::Array(list) = entry.entry("ipv4_secondaries").or_insert_with(|| Value::Array(Vec::new()))
                {
                    list.push(Value::Object(v4));
                }
            } else {
                entry.insert("ipv4".into(), Value::Object(v4));
            }
        } else if let Some(cidr) = word_after(line, "inet6") {
            let (addr, prefix) = cidr.split_once('/').unwrap_or((cidr, "128"));
            if addr != "::1" {
                all6.push(text(addr));
            }
            let mut m = Map::new();
            m.insert("address".into(), text(addr));
            m.insert("prefix".into(), text(prefix));
            m.insert("scope".into(), text(word_after(line, "scope").unwrap_or_default()));
            if let Value::Array(list) = entry.entry("ipv6").or_insert_with(|| Value::Array(Vec::new())) {
                list.push(Value::Object(m));
            }
        }
    }
    f.insert("ansible_all_ipv4_addresses".into(), Value::from(all4));
    f.insert("ansible_all_ipv6_addresses".into(), Value::from(all6));
    f.insert("ansible_default_ipv4".into(), Value::Object(default_route(l, "route", &ifaces, true)));
    f.insert("ansible_default_ipv6".into(), Value::Object(default_route(l, "route6", &ifaces, false)));
    f.insert("ansible_interfaces".into(), Value::from(ifaces.iter().map(|(d, _)| text(d.clone())).collect::<Vec<_>>()));
    for (dev, m) in ifaces {
        f.insert(format!("ansible_{}", dev.replace('-', "_")), Value::Object(m));
    }
}

/// The default route's interface with its address details, as `ansible_default_ipv4/6`.
fn default_route(l: &Lines, key: &str, ifaces: &[(String, Map)], v4: bool) -> Map {
    let route = l.get(key).unwrap_or_default();
    let mut def = Map::new();
    let Some(dev) = word_after(&route, "dev") else {
        if v4 {
            // No `ip`: /proc/net/route has the interface and the gateway (hex, little-endian).
            if let Some(pr) = l.get("procroute") {
                let mut it = pr.split_whitespace();
                if let (Some(dev), Some(gw)) = (it.next(), it.next()) {
                    def.insert("interface".into(), text(dev));
                    if let Ok(n) = u32::from_str_radix(gw, 16) {
                        def.insert("gateway".into(), text(dotted(n.swap_bytes())));
                    }
                }
            }
        }
        return def;
    };
    if word_after(&route, "via").is_none() && !v4 {
        return def;
    }
    let iface = ifaces.iter().find(|(d, _)| d == dev).map(|(_, m)| m);
    let src = word_after(&route, "src");
    if v4 {
        if let Some(Value::Object(a)) = iface.and_then(|m| m.get("ipv4")) {
            if src.map_or(true, |s| a.get("address") == Some(&text(s))) {
                def.extend(a.clone());
            }
        }
        if let Some(s) = src {
            def.insert("address".into(), text(s));
        }
    } else if let Some(Value::Array(list)) = iface.and_then(|m| m.get("ipv6")) {
        if let Some(Value::Object(a)) = list.iter().find(|a| a.get("scope") == Some(&text("global"))) {
            def.extend(a.clone());
        }
    }
    def.insert("interface".into(), text(dev));
    def.insert("alias".into(), text(dev));
    if let Some(gw) = word_after(&route, "via") {
        def.insert("gateway".into(), text(gw));
    }
    if let Some(m) = iface {
        for k in ["macaddress", "mtu", "type"] {
            if let Some(v) = m.get(k) {
                def.insert(k.into(), v.clone());
            }
        }
    }
    def
}
