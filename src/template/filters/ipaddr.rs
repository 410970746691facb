//! `ansible.utils.ipaddr`, `ipv4`, `ipv6` and `ipwrap`: the queries roles use, computed as
//! ansible.utils does with netaddr (an address is a one-address network; a query that does
//! not apply gives `None`, an invalid value `False`; a list keeps the items that pass).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error};

use super::convert::{fail, require_defined};

pub fn register(env: &mut Environment<'static>) {
    for prefix in ["", "ansible.utils.", "ansible.netcommon."] {
        env.add_filter(format!("{prefix}ipaddr"), |v: Value, q: Option<Value>| filter("ipaddr", v, q, None));
        env.add_filter(format!("{prefix}ipv4"), |v: Value, q: Option<Value>| filter("ipv4", v, q, Some(4)));
        env.add_filter(format!("{prefix}ipv6"), |v: Value, q: Option<Value>| filter("ipv6", v, q, Some(6)));
        env.add_filter(format!("{prefix}ipwrap"), |v: Value, q: Option<Value>| ipwrap(v, q));
    }
}

/// An address with its prefix (netaddr's `IPNetwork`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Net {
    ip: u128,
    prefix: u32,
    v6: bool,
}

impl Net {
    fn bits(&self) -> u32 {
        if self.v6 {
            128
        } else {
            32
        }
    }
    fn host_bits(&self) -> u32 {
        self.bits() - self.prefix
    }
    fn size(&self) -> u128 {
        if self.host_bits() >= 128 {
            u128::MAX
        } else {
            1u128 << self.host_bits()
        }
    }
    fn hostmask(&self) -> u128 {
        if self.host_bits() >= 128 {
            u128::MAX
        } else {
            (1u128 << self.host_bits()) - 1
        }
    }
    fn netmask(&self) -> u128 {
        let all = if self.v6 { u128::MAX } else { u128::from(u32::MAX) };
        all & !self.hostmask()
    }
    fn network(&self) -> u128 {
        self.ip & self.netmask()
    }
    fn last(&self) -> u128 {
        self.network() | self.hostmask()
    }
    /// netaddr has no broadcast for networks of one or two addresses.
    fn broadcast(&self) -> Option<u128> {
        (self.host_bits() > 1).then(|| self.last())
    }
    fn text(&self, n: u128) -> String {
        if self.v6 {
            Ipv6Addr::from(n).to_string()
        } else {
            Ipv4Addr::from(n as u32).to_string()
        }
    }
    fn cidr(&self, n: u128) -> String {
        format!("{}/{}", self.text(n), self.prefix)
    }
    fn within(&self, other: &Net) -> bool {
        self.v6 == other.v6 && self.prefix >= other.prefix && (self.ip & other.netmask()) == other.network()
    }
    fn in_any(&self, nets: &[&str]) -> bool {
        nets.iter().filter_map(|n| parse(n)).any(|n| self.within(&n))
    }
    fn address(&self) -> Net {
        Net { prefix: self.bits(), ..*self }
    }
}

/// netaddr's `IPNetwork(text)`: `addr`, `addr/prefix` or `addr/netmask`.
fn parse(text: &str) -> Option<Net> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let ip: IpAddr = addr.trim().parse().ok()?;
    let (ip, v6) = match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), false),
        IpAddr::V6(a) => (u128::from(a), true),
    };
    let bits = if v6 { 128 } else { 32 };
    let prefix = match prefix {
        None => bits,
        Some(p) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => p.parse().ok().filter(|n| *n <= bits)?,
        Some(p) if !v6 => {
            let mask = u32::from(p.parse::<Ipv4Addr>().ok()?);
            (mask.leading_ones() + mask.trailing_zeros() == 32).then(|| mask.leading_ones())?
        }
        Some(_) => return None,
    };
    Some(Net { ip, prefix, v6 })
}

/// The value as ansible.utils reads it: its net, and whether it was written as a network.
fn read(value: &Value) -> Option<(Net, bool)> {
    if value.kind() == ValueKind::Number
        || value.as_str().is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    {
        let n: u128 = value.to_string().parse().ok()?;
        let v6 = n > u128::from(u32::MAX);
        return Some((Net { ip: n, prefix: if v6 { 128 } else { 32 }, v6 }, false));
    }
    let text = value.as_str()?;
    Some((parse(text)?, text.contains('/')))
}

fn is_global(n: &Net) -> bool {
    if n.v6 {
        !n.address().in_any(&[
            "::1/128",
            "::/128",
            "::ffff:0:0/96",
            "64:ff9b:1::/48",
            "100::/64",
            "2001::/23",
            "2001:db8::/32",
            "2002::/16",
            "fc00::/7",
            "fe80::/10",
        ])
    } else {
        let a = n.address();
        a.in_any(&["192.0.0.9/32", "192.0.0.10/32"])
            || !a.in_any(&[
                "0.0.0.0/8",
                "10.0.0.0/8",
                "100.64.0.0/10",
                "127.0.0.0/8",
                "169.254.0.0/16",
                "172.16.0.0/12",
                "192.0.0.0/24",
                "192.0.2.0/24",
                "192.168.0.0/16",
                "198.18.0.0/15",
                "198.51.100.0/24",
                "203.0.113.0/24",
                "240.0.0.0/4",
                "255.255.255.255/32",
            ])
    }
}

fn is_multicast(n: &Net) -> bool {
    n.address().in_any(if n.v6 { &["ff00::/8"] } else { &["224.0.0.0/4"] })
}

fn is_loopback(n: &Net) -> bool {
    n.address().in_any(if n.v6 { &["::1/128"] } else { &["127.0.0.0/8"] })
}

/// Contiguous ones from the top (a netmask) or from the bottom (a hostmask).
fn is_mask(n: &Net) -> bool {
    let (x, bits) = (n.ip, n.bits());
    let top = if n.v6 { x.leading_ones() } else { (x as u32).leading_ones() };
    let tz = x.trailing_zeros().min(bits);
    top + tz == bits || (x.count_ones() == x.trailing_ones())
}

fn str_v(s: String) -> Value {
    Value::from(s)
}

/// One value through one query.
fn query(name: &str, value: &Value, q: &str, version: Option<u8>) -> Result<Value, Error> {
    let Some((v, is_net)) = read(value) else { return Ok(Value::from(false)) };
    let value = match value.kind() {
        ValueKind::Number => Value::from(v.text(v.ip)),
        _ => value.clone(),
    };
    let lookup_net = (!q.is_empty() && !KNOWN.contains(&q)).then(|| parse(q)).flatten();
    if version.is_some_and(|ver| (ver == 6) != v.v6) {
        return Ok(Value::from(false));
    }
    let none = Value::from(());
    let (size, ip, network) = (v.size(), v.ip, v.network());
    Ok(match q {
        "" => str_v(if is_net { v.cidr(ip) } else { v.text(ip) }),
        "address" | "ip" => match size {
            1 => str_v(v.text(ip)),
            _ if ip != network || v.broadcast().is_none() || v.v6 => str_v(v.text(ip)),
            _ => none,
        },
        "host" => match size {
            1 => str_v(v.cidr(ip)),
            _ if ip != network || v.broadcast().is_none() => str_v(v.cidr(ip)),
            _ => none,
        },
        "address/prefix" | "host/prefix" | "gateway" | "gw" | "hostnet" | "router" => {
            if size > 2 && (ip == network || Some(ip) == v.broadcast()) {
                Value::from(false)
            } else {
                str_v(v.cidr(ip))
            }
        }
        "ip/prefix" if size == 2 || (size > 1 && ip != network) => str_v(v.cidr(ip)),
        "ip/prefix" => none,
        "bool" => Value::from(true),
        "broadcast" if size > 2 => str_v(v.text(v.last())),
        "broadcast" => none,
        "cidr" => str_v(v.cidr(ip)),
        "network/prefix" | "subnet" => str_v(v.cidr(network)),
        "net" if size > 1 && ip == network => str_v(v.cidr(network)),
        "net" => none,
        "network" | "network_id" => str_v(v.text(network)),
        "netmask" => str_v(v.text(v.netmask())),
        "hostmask" | "wildcard" => str_v(v.text(v.hostmask())),
        "network_netmask" => str_v(format!("{} {}", v.text(network), v.text(v.netmask()))),
        "network_wildcard" => str_v(format!("{} {}", v.text(network), v.text(v.hostmask()))),
        "prefix" => Value::from(v.prefix),
        "size" => Value::from(size),
        "size_usable" => Value::from(match size {
            1 => 0,
            2 => 2,
            s => s - 2,
        }),
        "version" => Value::from(if v.v6 { 6 } else { 4 }),
        "type" if size == 1 || ip != network => Value::from("address"),
        "type" => Value::from("network"),
        "int" if is_net => str_v(format!("{ip}/{}", v.prefix)),
        "int" => Value::from(ip),
        "private" if !is_global(&v) => value,
        "public" if !is_multicast(&v) && is_global(&v) && !is_loopback(&v) && !is_mask(&v.address()) => value,
        "multicast" if is_multicast(&v) => value,
        "unicast" if !is_multicast(&v) => value,
        "loopback" | "lo" if is_loopback(&v) => value,
        "link-local" if v.address().in_any(if v.v6 { &["fe80::/10"] } else { &["169.254.0.0/16"] }) => value,
        "private" | "public" | "multicast" | "unicast" | "loopback" | "lo" | "link-local" => none,
        "wrap" if v.v6 && is_net => str_v(format!("[{}]/{}", v.text(ip), v.prefix)),
        "wrap" if v.v6 => str_v(format!("[{}]", v.text(ip))),
        "wrap" => value,
        "first_usable" | "last_usable" | "next_usable" | "previous_usable" | "range_usable" if !is_net => {
            return Err(fail(name, "Not a network address"))
        }
        "first_usable" | "last_usable" | "next_usable" | "previous_usable" | "range_usable" if size > 1 => {
            let (first, last) = if size == 2 { (network, v.last()) } else { (network + 1, v.last() - 1) };
            match q {
                "first_usable" => str_v(v.text(first)),
                "last_usable" => str_v(v.text(last)),
                "range_usable" => str_v(format!("{}-{}", v.text(first), v.text(last))),
                "next_usable" if ip < last && ip + 1 >= first => str_v(v.text(ip + 1)),
                "previous_usable" if ip > first && ip - 1 <= last => str_v(v.text(ip - 1)),
                _ => none,
            }
        }
        "first_usable" | "last_usable" | "next_usable" | "previous_usable" | "range_usable" => none,
        "ipv4" | "v4" if !v.v6 => value,
        "ipv6" | "v6" if v.v6 => value,
        "ipv4" | "v4" | "ipv6" | "v6" => {
            return Err(fail(name, format!("query '{q}' (converting between IPv4 and IPv6) is not supported yet")))
        }
        _ if q.parse::<i128>().is_ok() => {
            let n = q.parse::<i128>().unwrap_or(0);
            if size == 1 {
                str_v(if is_net { v.cidr(ip) } else { v.text(ip) })
            } else {
                let idx = if n < 0 { size as i128 + n } else { n };
                if idx < 0 || idx as u128 >= size {
                    Value::from(false)
                } else {
                    str_v(v.cidr(network + idx as u128))
                }
            }
        }
        _ => match lookup_net {
            Some(net) if v.within(&net) => value,
            Some(_) => none,
            None => return Err(fail(name, format!("unknown filter type: {q}"))),
        },
    })
}

const KNOWN: &[&str] = &[
    "address",
    "ip",
    "host",
    "address/prefix",
    "host/prefix",
    "gateway",
    "gw",
    "hostnet",
    "router",
    "ip/prefix",
    "bool",
    "broadcast",
    "cidr",
    "network/prefix",
    "subnet",
    "net",
    "network",
    "network_id",
    "netmask",
    "hostmask",
    "wildcard",
    "network_netmask",
    "network_wildcard",
    "prefix",
    "size",
    "size_usable",
    "version",
    "type",
    "int",
    "private",
    "public",
    "multicast",
    "unicast",
    "loopback",
    "lo",
    "link-local",
    "wrap",
    "first_usable",
    "last_usable",
    "next_usable",
    "previous_usable",
    "range_usable",
    "ipv4",
    "v4",
    "ipv6",
    "v6",
];

fn filter(name: &str, value: Value, q: Option<Value>, version: Option<u8>) -> Result<Value, Error> {
    require_defined(name, &value)?;
    let q = match q {
        Some(q) if !q.is_none() => q.to_string(),
        _ => String::new(),
    };
    if matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable) {
        let mut out = Vec::new();
        for item in value.try_iter()? {
            let r = query(name, &item, &q, version)?;
            if r.is_true() {
                out.push(r);
            }
        }
        return Ok(Value::from(out));
    }
    if !value.is_true() || value.kind() == ValueKind::Bool {
        return Ok(Value::from(false));
    }
    query(name, &value, &q, version)
}

/// `ipwrap`: IPv6 addresses in brackets; other values (names, IPv4, anything the query
/// rejects) unchanged, in lists too.
fn ipwrap(value: Value, q: Option<Value>) -> Result<Value, Error> {
    require_defined("ipwrap", &value)?;
    let q = q.filter(|q| !q.is_none()).map(|q| q.to_string()).unwrap_or_default();
    let wrap = |v: &Value| filter("ipwrap", v.clone(), Some(Value::from("wrap")), None);
    let passes =
        |v: &Value| filter("ipwrap", v.clone(), Some(Value::from(q.as_str())), None).ok().filter(Value::is_true);
    if matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable) {
        let mut out = Vec::new();
        for item in value.try_iter()? {
            out.push(match passes(&item) {
                Some(_) => wrap(&item).unwrap_or(item),
                None => item,
            });
        }
        return Ok(Value::from(out));
    }
    Ok(match passes(&value) {
        Some(r) => wrap(&r).unwrap_or(value),
        None => value,
    })
}

#[cfg(test)]
#[path = "ipaddr_tests.rs"]
mod tests;
