//! The `min` facts: platform, distribution, user, Python, date and time, DNS, service and
//! package managers, and the environment.

use super::{text, unquote, Lines};
use crate::value::{Map, Value};

/// Prints `key=value` lines; [`parse`] turns them into Ansible's fact names.
pub const SCRIPT: &str = r#"n=$(uname -n); echo "nodename=$n"
echo "fqdn=$(hostname -f 2>/dev/null || echo "$n")"
echo "uname=$(uname -s)|$(uname -r)|$(uname -m)|$(uname -v)"
u=$(id -un 2>/dev/null); echo "user=$u"
sed -n 's/^Uid:/uid=/p;s/^Gid:/gid=/p' /proc/self/status 2>/dev/null
{ getent passwd "$u" 2>/dev/null || grep "^$u:" /etc/passwd 2>/dev/null; } | sed -n '1s/^/passwd=/p'
[ -r /etc/os-release ] && sed 's/^/os_/' /etc/os-release
[ -r /etc/debian_version ] && echo "debian_version=$(cat /etc/debian_version)"
[ -r /etc/lsb-release ] && sed 's/^/lsb_/' /etc/lsb-release
echo "init=$(cat /proc/1/comm 2>/dev/null)"
[ -d /run/systemd/system ] && echo "systemd=1" && systemctl --version 2>/dev/null | sed -n '1s/^systemd \([0-9]*\).*/systemd_version=\1/p;2s/^/systemd_features=/p'
[ -x /sbin/openrc ] && echo "openrc=1"
for m in apt-get dnf5 dnf yum zypper apk pacman; do if command -v $m >/dev/null 2>&1; then echo "pkg=$m"; break; fi; done
py=; for p in python3.14 python3.13 python3.12 python3.11 python3.10 python3.9 python3.8 /usr/bin/python3 python3 python; do if command -v $p >/dev/null 2>&1; then py=$p; break; fi; done
[ -n "$py" ] && "$py" -c 'import sys; v = sys.version_info; print("python=%s|%d|%d|%d|%s|%d|%s" % (sys.executable, v[0], v[1], v[2], v[3], v[4], sys.implementation.name))' 2>/dev/null
date '+date=%Y|%m|%d|%H|%M|%S|%s|%N|%Z|%z|%A|%w|%W'
read -r up _ 2>/dev/null </proc/uptime && echo "uptime=$up"
read -r l1 l5 l15 _ 2>/dev/null </proc/loadavg && echo "loadavg=$l1 $l5 $l15"
read -r mid 2>/dev/null </etc/machine-id && echo "machine_id=$mid"
read -r fips 2>/dev/null </proc/sys/crypto/fips_enabled && echo "fips=$fips"
read -r cl 2>/dev/null </proc/cmdline && echo "cmdline=$cl"
sed -n 's/^\(nameserver\|search\|domain\|options\)[[:space:]]\{1,\}/dns_\1=/p' /etc/resolv.conf 2>/dev/null
[ -d /sys/kernel/security/apparmor ] && echo "apparmor=enabled"
[ -r /sys/fs/selinux/enforce ] && echo "selinux=$(cat /sys/fs/selinux/enforce)"
for k in /etc/ssh/ssh_host_*_key.pub; do [ -r "$k" ] && read -r kt kv _ < "$k" && echo "sshkey=${k#/etc/ssh/ssh_host_} $kt $kv"; done
"#;

/// (os-release ID, distribution, os_family).
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

pub fn parse(l: &Lines, f: &mut Map) {
    let mut put = |k: &str, v: Value| {
        f.insert(format!("ansible_{k}"), v);
    };
    let nodename = l.get("nodename").unwrap_or_default();
    let short = nodename.split('.').next().unwrap_or_default().to_string();
    let fqdn = l.get("fqdn").filter(|s| !s.is_empty()).unwrap_or_else(|| nodename.clone());
    put("domain", text(fqdn.split_once('.').map(|(_, d)| d).unwrap_or_default()));
    put("hostname", text(short));
    put("nodename", text(nodename.clone()));
    put("fqdn", text(fqdn));
    let uname = l.get("uname").unwrap_or_default();
    let mut un = uname.splitn(4, '|');
    let system = un.next().unwrap_or_default().to_string();
    let kernel = un.next().unwrap_or_default().to_string();
    let machine = un.next().unwrap_or_default().to_string();
    put("system", text(system.clone()));
    put("kernel", text(kernel));
    put("kernel_version", text(un.next().unwrap_or_default()));
    put("architecture", text(machine.clone()));
    put("machine", text(machine.clone()));
    put("userspace_architecture", text(machine.clone()));
    put("userspace_bits", text(if machine.ends_with("64") || machine == "s390x" { "64" } else { "32" }));
    if let Some(id) = l.get("machine_id") {
        put("machine_id", text(id));
    }

    // The user running the module, from /proc/self/status and the passwd entry.
    put("user_id", text(l.get("user").unwrap_or_default()));
    let ids = |k: &str| -> Vec<u64> {
        l.get(k).unwrap_or_default().split_whitespace().filter_map(|n| n.parse().ok()).collect()
    };
    let (uid, gid) = (ids("uid"), ids("gid"));
    if let (Some(ru), Some(eu), Some(rg), Some(eg)) = (uid.first(), uid.get(1), gid.first(), gid.get(1)) {
        put("real_user_id", (*ru).into());
        put("effective_user_id", (*eu).into());
        put("real_group_id", (*rg).into());
        put("effective_group_id", (*eg).into());
    }
    if let Some(pw) = l.get("passwd") {
        let p: Vec<&str> = pw.split(':').collect();
        if p.len() >= 7 {
            put("user_uid", p[2].parse::<u64>().map_or(Value::Null, Value::from));
            put("user_gid", p[3].parse::<u64>().map_or(Value::Null, Value::from));
            put("user_gecos", text(p[4]));
            put("user_dir", text(p[5]));
            put("user_shell", text(p[6]));
        }
    }
    distribution(l, &system, &mut put);
    managers(l, &mut put);
    python(l, &mut put);
    date_time(l, &mut put);
    misc(l, &mut put);
}

fn distribution(l: &Lines, system: &str, put: &mut impl FnMut(&str, Value)) {
    let os = |k: &str| l.get(&format!("os_{k}")).map(|v| unquote(&v)).unwrap_or_default();
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
                system.to_string()
            } else {
                name.clone()
            };
            (if name.is_empty() { system.to_string() } else { name }, family)
        }
    };
    let mut version = os("VERSION_ID");
    if id == "debian" {
        if let Some(dv) = l.get("debian_version").filter(|v| v.starts_with(|c: char| c.is_ascii_digit())) {
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
    let mut parts = version.split('.');
    put("distribution_major_version", text(parts.next().unwrap_or_default()));
    if let Some(minor) = parts.next() {
        put("distribution_minor_version", text(minor));
    }
    if !id.is_empty() {
        put("distribution_file_parsed", Value::Bool(true));
        put("distribution_file_path", text("/etc/os-release"));
        put("distribution_file_variety", text(family.clone()));
    }
    put("distribution", text(name.clone()));
    put("os_family", text(family));
    put("distribution_version", text(version.clone()));
    put("distribution_release", text(release.clone()));
    // `lsb`: /etc/lsb-release when present, else what os-release says.
    let lsb = |k: &str| l.get(&format!("lsb_{k}")).map(|v| unquote(&v));
    let mut m = Map::new();
    if !id.is_empty() {
        let rel = lsb("DISTRIB_RELEASE").unwrap_or_else(|| os("VERSION_ID"));
        m.insert("codename".into(), text(lsb("DISTRIB_CODENAME").unwrap_or(release)));
        m.insert("description".into(), text(lsb("DISTRIB_DESCRIPTION").unwrap_or_else(|| os("PRETTY_NAME"))));
        m.insert("id".into(), text(lsb("DISTRIB_ID").unwrap_or(name)));
        m.insert("major_release".into(), text(rel.split('.').next().unwrap_or_default()));
        m.insert("release".into(), text(rel));
    }
    put("lsb", Value::Object(m));
}

fn managers(l: &Lines, put: &mut impl FnMut(&str, Value)) {
    let service_mgr = if l.get("systemd").is_some() {
        "systemd".to_string()
    } else if l.get("openrc").is_some() {
        "openrc".to_string()
    } else {
        match l.get("init").unwrap_or_default().as_str() {
            "init" => "sysvinit".to_string(),
            "" => "service".to_string(),
            other => other.to_string(),
        }
    };
    if let Some(v) = l.get("systemd_version").and_then(|v| v.parse::<u64>().ok()) {
        let mut m = Map::new();
        m.insert("features".into(), text(l.get("systemd_features").unwrap_or_default()));
        m.insert("version".into(), v.into());
        put("systemd", Value::Object(m));
    }
    put("service_mgr", text(service_mgr));
    let pkg = match l.get("pkg").unwrap_or_default().as_str() {
        "apt-get" => "apt".to_string(),
        "" => "unknown".to_string(),
        other => other.to_string(),
    };
    put("pkg_mgr", text(pkg));
}

/// `ansible_python`: the interpreter Ansible would discover, as its `sys` module describes it.
fn python(l: &Lines, put: &mut impl FnMut(&str, Value)) {
    let Some(p) = l.get("python") else { return };
    let p: Vec<&str> = p.split('|').collect();
    let [exe, major, minor, micro, level, serial, kind] = p[..] else { return };
    let n = |s: &str| s.parse::<u64>().map_or(Value::Null, Value::from);
    let mut version = Map::new();
    version.insert("major".into(), n(major));
    version.insert("micro".into(), n(micro));
    version.insert("minor".into(), n(minor));
    version.insert("releaselevel".into(), text(level));
    version.insert("serial".into(), n(serial));
    let mut m = Map::new();
    m.insert("executable".into(), text(exe));
    m.insert("has_sslcontext".into(), Value::Bool(true));
    m.insert("type".into(), text(kind));
    m.insert("version".into(), Value::Object(version));
    m.insert("version_info".into(), Value::from(vec![n(major), n(minor), n(micro), text(level), n(serial)]));
    put("python", Value::Object(m));
    put("python_version", text(format!("{major}.{minor}.{micro}")));
}

/// `ansible_date_time` from one `date` call; the UTC fields are computed from the epoch.
fn date_time(l: &Lines, put: &mut impl FnMut(&str, Value)) {
    let Some(d) = l.get("date") else { return };
    let p: Vec<&str> = d.split('|').collect();
    let [y, mo, day, h, mi, s, epoch, nanos, tz, off, weekday, wdn, wn] = p[..] else { return };
    let micro = if nanos.len() >= 6 && nanos.bytes().all(|b| b.is_ascii_digit()) { &nanos[..6] } else { "000000" };
    let secs: i64 = epoch.parse().unwrap_or(0);
    let (uy, um, ud) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    let utc = format!("{uy:04}-{um:02}-{ud:02}T{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
    let mut m = Map::new();
    for (k, v) in [
        ("date", format!("{y}-{mo}-{day}")),
        ("day", day.into()),
        ("epoch", epoch.into()),
        ("epoch_int", epoch.into()),
        ("hour", h.into()),
        ("iso8601", format!("{utc}Z")),
        ("iso8601_basic", format!("{y}{mo}{day}T{h}{mi}{s}{micro}")),
        ("iso8601_basic_short", format!("{y}{mo}{day}T{h}{mi}{s}")),
        ("iso8601_micro", format!("{utc}.{micro}Z")),
        ("minute", mi.into()),
        ("month", mo.into()),
        ("second", s.into()),
        ("time", format!("{h}:{mi}:{s}")),
        ("tz", tz.into()),
        ("tz_dst", tz.into()),
        ("tz_offset", off.into()),
        ("weekday", weekday.into()),
        ("weekday_number", wdn.into()),
        ("weeknumber", wn.into()),
        ("year", y.into()),
    ] {
        m.insert(k.into(), Value::String(v));
    }
    put("date_time", Value::Object(m));
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn misc(l: &Lines, put: &mut impl FnMut(&str, Value)) {
    if let Some(up) = l.get("uptime").and_then(|u| u.split('.').next().and_then(|s| s.parse::<u64>().ok())) {
        put("uptime_seconds", up.into());
    }
    if let Some(la) = l.get("loadavg") {
        let v: Vec<f64> = la.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if let [a, b, c] = v[..] {
            let mut m = Map::new();
            m.insert("15m".into(), c.into());
            m.insert("1m".into(), a.into());
            m.insert("5m".into(), b.into());
            put("loadavg", Value::Object(m));
        }
    }
    put("fips", Value::Bool(l.get("fips").as_deref() == Some("1")));
    if let Some(cl) = l.get("cmdline") {
        let mut m = Map::new();
        for word in cl.split_whitespace() {
            match word.split_once('=') {
                Some((k, v)) => m.insert(k.into(), text(v)),
                None => m.insert(word.into(), Value::Bool(true)),
            };
        }
        put("cmdline", Value::Object(m.clone()));
        put("proc_cmdline", Value::Object(m));
    }
    let mut dns = Map::new();
    let ns: Vec<Value> = l.all("dns_nameserver").map(|v| text(v.trim())).collect();
    if !ns.is_empty() {
        dns.insert("nameservers".into(), Value::from(ns));
    }
    if let Some(d) = l.get("dns_domain") {
        dns.insert("domain".into(), text(d));
    }
    if let Some(s) = l.get("dns_search") {
        dns.insert("search".into(), Value::from(s.split_whitespace().map(text).collect::<Vec<_>>()));
    }
    if let Some(o) = l.get("dns_options") {
        let opts: Map = o
            .split_whitespace()
            .map(|w| w.split_once(':').map_or((w.into(), Value::Bool(true)), |(k, v)| (k.into(), text(v))))
            .collect();
        dns.insert("options".into(), Value::Object(opts));
    }
    put("dns", Value::Object(dns));
    let status = |enabled: bool| {
        Value::Object(Map::from_iter([("status".to_string(), text(if enabled { "enabled" } else { "disabled" }))]))
    };
    put("apparmor", status(l.get("apparmor").is_some()));
    let selinux = l.get("selinux");
    let mut se = Map::new();
    se.insert("status".into(), text(if selinux.is_some() { "enabled" } else { "disabled" }));
    if let Some(mode) = selinux {
        se.insert("mode".into(), text(if mode == "1" { "enforcing" } else { "permissive" }));
    }
    put("selinux", Value::Object(se));
    for key in l.all("sshkey") {
        let mut w = key.split_whitespace();
        if let (Some(kind), Some(kt), Some(kv)) = (w.next(), w.next(), w.next()) {
            let kind = kind.trim_end_matches("_key.pub");
            put(&format!("ssh_host_key_{kind}_public"), text(kv));
            put(&format!("ssh_host_key_{kind}_public_keytype"), text(kt));
        }
    }
    put("local", Value::Object(Map::new()));
}

/// `ansible_env` from the `env=` lines at the end of the output (a value may span lines).
pub fn environment(out: &str, f: &mut Map) {
    let mut env = Map::new();
    let mut last: Option<String> = None;
    let Some(start) = out.find("\nenv=").map(|i| i + 1).or_else(|| out.starts_with("env=").then_some(0)) else {
        return;
    };
    for line in out[start..].lines() {
        match line.strip_prefix("env=").and_then(|l| l.split_once('=')) {
            Some((k, v)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
                env.insert(k.to_string(), text(v));
                last = Some(k.to_string());
            }
            _ => {
                if let Some(Value::String(s)) = last.as_ref().and_then(|k| env.get_mut(k)) {
                    s.push('\n');
                    s.push_str(line.strip_prefix("env=").unwrap_or(line));
                }
            }
        }
    }
    f.insert("ansible_env".into(), Value::Object(env));
}
