//! Hardware facts (memory, processors, mounts, DMI) and virtualization.

use super::{text, Lines};
use crate::value::{Map, Value};

pub const SCRIPT: &str = r#"sed -n 's/^\(MemTotal\|MemFree\|Buffers\|Cached\|SwapTotal\|SwapFree\|SwapCached\): *\([0-9]*\).*/mem_\1=\2/p' /proc/meminfo 2>/dev/null
echo "nproc=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null)"
sed -n 's/^\(processor\|vendor_id\|model name\|physical id\|core id\|cpu cores\|siblings\)[[:space:]]*: */cpu=\1|/p' /proc/cpuinfo 2>/dev/null
( set --; while read -r d p t o x y; do case $d in /*|*:/*) [ "$t" = none ] || { echo "mount=$d|$p|$t|$o|$x|$y"; set -- "$@" "$p"; } ;; esac; done </proc/mounts
  [ $# -gt 0 ] && stat -f -c 'statfs=%s|%S|%b|%a|%f|%c|%d|%n' "$@" 2>/dev/null )
for k in bios_date bios_vendor bios_version board_asset_tag board_name board_serial board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version product_name product_serial product_uuid product_version sys_vendor; do v=; read -r v 2>/dev/null </sys/class/dmi/id/$k; echo "dmi_$k=$v"; done
"#;

/// The container checks of Ansible's Linux collector, in its order (the first found is the type).
pub const VIRTUAL_SCRIPT: &str = r#"grep -q -E '/docker(/|-[0-9a-f]+\.scope)' /proc/1/cgroup 2>/dev/null && echo "virt=docker"
grep -q -E '/lxc/|/machine.slice/machine-lxc' /proc/1/cgroup 2>/dev/null && echo "virt=lxc"
grep -q '/system.slice/containerd.service' /proc/1/cgroup 2>/dev/null && echo "virt=containerd"
tr '\0' '\n' </proc/1/environ 2>/dev/null | sed -n 's/^container=lxc.*/virt=lxc/p;s/^container=podman.*/virt=podman/p;s/^container=.*/virt=container/p'
read -r c 2>/dev/null </run/systemd/container && [ -n "$c" ] && echo "virt=$c"
[ -f /.dockerenv ] || [ -f /.dockerinit ] && echo "virt=docker"
"#;

pub fn parse(l: &Lines, f: &mut Map) {
    let kb = |k: &str| l.get(&format!("mem_{k}")).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let mb = |k: &str| kb(k) / 1024;
    let (total, free, buffers, cached) = (mb("MemTotal"), mb("MemFree"), mb("Buffers"), mb("Cached"));
    let (stotal, sfree) = (mb("SwapTotal"), mb("SwapFree"));
    f.insert("ansible_memtotal_mb".into(), total.into());
    f.insert("ansible_memfree_mb".into(), free.into());
    f.insert("ansible_swaptotal_mb".into(), stotal.into());
    f.insert("ansible_swapfree_mb".into(), sfree.into());
    let obj =
        |pairs: &[(&str, u64)]| Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect());
    let nocache_free = free + buffers + cached;
    let mut memory = Map::new();
    memory.insert("nocache".into(), obj(&[("free", nocache_free), ("used", total.saturating_sub(nocache_free))]));
    memory.insert("real".into(), obj(&[("free", free), ("total", total), ("used", total.saturating_sub(free))]));
    memory.insert(
        "swap".into(),
        obj(&[
            ("cached", mb("SwapCached")),
            ("free", sfree),
            ("total", stotal),
            ("used", stotal.saturating_sub(sfree)),
        ]),
    );
    f.insert("ansible_memory_mb".into(), Value::Object(memory));
    processors(l, f);
    mounts(l, f);
    for key in [
        "bios_date",
        "bios_vendor",
        "bios_version",
        "board_asset_tag",
        "board_name",
        "board_serial",
        "board_vendor",
        "board_version",
        "chassis_asset_tag",
        "chassis_serial",
        "chassis_vendor",
        "chassis_version",
        "product_name",
        "product_serial",
        "product_uuid",
        "product_version",
    ] {
        let v = l.get(&format!("dmi_{key}")).filter(|v| !v.is_empty()).unwrap_or_else(|| "NA".into());
        f.insert(format!("ansible_{key}"), text(v));
    }
    let vendor = l.get("dmi_sys_vendor").filter(|v| !v.is_empty()).unwrap_or_else(|| "NA".into());
    f.insert("ansible_system_vendor".into(), text(vendor));
}

/// `/proc/cpuinfo`: the processor list, sockets, cores and threads, as Ansible counts them.
fn processors(l: &Lines, f: &mut Map) {
    let mut list = Vec::new();
    let mut sockets: Vec<String> = Vec::new();
    let (mut cores, mut siblings, mut count) = (None, None, 0u64);
    for line in l.all("cpu") {
        let (k, v) = line.split_once('|').unwrap_or((line, ""));
        let v = v.trim();
        match k {
            "processor" => {
                count += 1;
                list.push(text(v));
            }
            "vendor_id" | "model name" => list.push(text(v)),
            "physical id" if !sockets.iter().any(|s| s == v) => sockets.push(v.to_string()),
            "cpu cores" => cores = cores.or(v.parse::<u64>().ok()),
            "siblings" => siblings = siblings.or(v.parse::<u64>().ok()),
            _ => {}
        }
    }
    if count == 0 {
        return;
    }
    let sockets_n = if sockets.is_empty() { count } else { sockets.len() as u64 };
    let cores_n = cores.unwrap_or(1).max(1);
    let threads = siblings.map_or(1, |s| (s as f64 / cores_n as f64).round() as u64).max(1);
    f.insert("ansible_processor".into(), Value::from(list));
    f.insert("ansible_processor_count".into(), sockets_n.into());
    f.insert("ansible_processor_cores".into(), cores_n.into());
    f.insert("ansible_processor_threads_per_core".into(), threads.into());
    f.insert("ansible_processor_vcpus".into(), (threads * sockets_n * cores_n).into());
    let nproc = l.get("nproc").and_then(|n| n.parse::<u64>().ok()).unwrap_or(count);
    f.insert("ansible_processor_nproc".into(), nproc.into());
}

/// Mounted block devices (Ansible skips pseudo file systems) with their `statvfs` sizes.
fn mounts(l: &Lines, f: &mut Map) {
    let mut out: Vec<(String, Value)> = Vec::new();
    for m in l.all("mount") {
        let p: Vec<&str> = m.split('|').collect();
        let [device, mount, fstype, options, dump, passno] = p[..] else { continue };
        let mount = unescape(mount);
        let mut e = Map::new();
        e.insert("device".into(), text(unescape(device)));
        e.insert("dump".into(), dump.parse::<u64>().unwrap_or(0).into());
        e.insert("fstype".into(), text(fstype));
        e.insert("mount".into(), text(mount.clone()));
        e.insert("options".into(), text(options));
        e.insert("passno".into(), passno.parse::<u64>().unwrap_or(0).into());
        e.insert("uuid".into(), text("N/A"));
        if let Some(st) = l.all("statfs").find(|s| s.splitn(8, '|').nth(7) == Some(mount.as_str())) {
            let n: Vec<u64> = st.split('|').take(7).map(|x| x.parse().unwrap_or(0)).collect();
            if let [bsize, frsize, blocks, bavail, _bfree, files, ffree] = n[..] {
                e.insert("block_available".into(), bavail.into());
                e.insert("block_size".into(), bsize.into());
                e.insert("block_total".into(), blocks.into());
                e.insert("block_used".into(), blocks.saturating_sub(bavail).into());
                e.insert("inode_available".into(), ffree.into());
                e.insert("inode_total".into(), files.into());
                e.insert("inode_used".into(), files.saturating_sub(ffree).into());
                e.insert("size_available".into(), (frsize * bavail).into());
                e.insert("size_total".into(), (frsize * blocks).into());
            }
        }
        // One entry per mount point: a later line replaces an earlier one in its place
        // (Ansible keys its results by mount point).
        match out.iter_mut().find(|(m, _)| *m == mount) {
            Some(slot) => slot.1 = Value::Object(e),
            None => out.push((mount, Value::Object(e))),
        }
    }
    f.insert("ansible_mounts".into(), Value::from(out.into_iter().map(|(_, e)| e).collect::<Vec<_>>()));
}

/// `/proc/mounts` writes spaces and tabs as octal escapes (`\040`).
fn unescape(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1..i + 4).is_some_and(|o| o.iter().all(|c| (b'0'..=b'7').contains(c))) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `ansible_virtualization_*` for containers, as Ansible's Linux collector detects them.
pub fn virtualization(l: &Lines, f: &mut Map) {
    let found: Vec<String> = l.all("virt").map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
    let first = found.first().cloned();
    let mut guest = found;
    if !guest.is_empty() {
        guest.push("container".into());
    }
    guest.sort();
    guest.dedup();
    f.insert("ansible_virtualization_role".into(), text(if first.is_some() { "guest" } else { "NA" }));
    f.insert("ansible_virtualization_type".into(), text(first.unwrap_or_else(|| "NA".into())));
    f.insert("ansible_virtualization_tech_guest".into(), Value::from(guest.into_iter().map(text).collect::<Vec<_>>()));
    f.insert("ansible_virtualization_tech_host".into(), Value::from(Vec::<Value>::new()));
}
