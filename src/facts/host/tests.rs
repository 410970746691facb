use super::*;
use serde_json::json;

const DEBIAN: &str = "nodename=vm.example.com\nfqdn=vm.example.com\nuname=Linux|6.1.0|x86_64|#1 SMP\n\
user=root\nuid=0\t0\t0\t0\ngid=0\t0\t0\t0\npasswd=root:x:0:0:root:/root:/bin/bash\n\
nproc=2\nmem_MemTotal=24683520\nmem_MemFree=1048576\nmem_Buffers=0\nmem_Cached=1048576\n\
mem_SwapTotal=0\nmem_SwapFree=0\ncpu=processor|0\ncpu=vendor_id|AuthenticAMD\ncpu=model name|AMD EPYC\n\
cpu=processor|1\ncpu=vendor_id|AuthenticAMD\ncpu=model name|AMD EPYC\n\
os_PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n\
os_VERSION_ID=\"12\"\nos_VERSION=\"12 (bookworm)\"\nos_VERSION_CODENAME=bookworm\nos_ID=debian\n\
debian_version=12.11\ninit=systemd\nsystemd=1\nsystemd_version=252\nsystemd_features=+PAM\npkg=apt-get\n\
python=/usr/bin/python3.11|3|11|2|final|0|cpython\n\
date=2026|12|02|15|04|05|1796220245|123456789|CET|+0100|Wednesday|3|48\n\
dns_nameserver=10.0.0.53\ndns_search=example.com lab\n\
route=1.0.0.0 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n\
link=eth0|52:54:00:12:34:56|1500|up|1|0x1003|1000|\nlink=lo|00:00:00:00:00:00|65536|unknown|772|0x9|| \n\
addr=1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n\
addr=1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n\
addr=4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n\
addr=4: eth0    inet 192.0.2.9/24 brd 192.0.2.255 scope global secondary eth0\\       valid_lft forever\n\
mount=/dev/vda|/|ext4|rw,relatime|0|0\nstatfs=4096|4096|1000|400|500|100|60|/\n\
env=HOME=/root\nenv=MULTI=a\nb\nenv=PATH=/usr/bin\n";

#[test]
fn golden_debian() {
    let f = parse(DEBIAN, &Subsets::ALL);
    let get = |k: &str| f.get(k).cloned().unwrap_or_else(|| panic!("no {k}"));
    for (k, want) in [
        ("ansible_hostname", json!("vm")),
        ("ansible_domain", json!("example.com")),
        ("ansible_fqdn", json!("vm.example.com")),
        ("ansible_system", json!("Linux")),
        ("ansible_kernel", json!("6.1.0")),
        ("ansible_kernel_version", json!("#1 SMP")),
        ("ansible_architecture", json!("x86_64")),
        ("ansible_userspace_bits", json!("64")),
        ("ansible_user_id", json!("root")),
        ("ansible_user_dir", json!("/root")),
        ("ansible_user_shell", json!("/bin/bash")),
        ("ansible_effective_user_id", json!(0)),
        ("ansible_processor_vcpus", json!(2)),
        ("ansible_processor_count", json!(2)),
        ("ansible_processor_nproc", json!(2)),
        ("ansible_processor", json!(["0", "AuthenticAMD", "AMD EPYC", "1", "AuthenticAMD", "AMD EPYC"])),
        ("ansible_memtotal_mb", json!(24105)),
        (
            "ansible_memory_mb",
            json!({"nocache": {"free": 2048, "used": 22057}, "real": {"free": 1024, "total": 24105, "used": 23081}, "swap": {"cached": 0, "free": 0, "total": 0, "used": 0}}),
        ),
        ("ansible_distribution", json!("Debian")),
        ("ansible_os_family", json!("Debian")),
        ("ansible_distribution_major_version", json!("12")),
        ("ansible_distribution_minor_version", json!("11")),
        ("ansible_distribution_version", json!("12.11")),
        ("ansible_distribution_release", json!("bookworm")),
        (
            "ansible_lsb",
            json!({"codename": "bookworm", "description": "Debian GNU/Linux 12 (bookworm)", "id": "Debian", "major_release": "12", "release": "12"}),
        ),
        ("ansible_service_mgr", json!("systemd")),
        ("ansible_systemd", json!({"features": "+PAM", "version": 252})),
        ("ansible_pkg_mgr", json!("apt")),
        ("ansible_python_version", json!("3.11.2")),
        (
            "ansible_python",
            json!({"executable": "/usr/bin/python3.11", "has_sslcontext": true, "type": "cpython",
            "version": {"major": 3, "micro": 2, "minor": 11, "releaselevel": "final", "serial": 0},
            "version_info": [3, 11, 2, "final", 0]}),
        ),
        ("ansible_dns", json!({"nameservers": ["10.0.0.53"], "search": ["example.com", "lab"]})),
        ("ansible_all_ipv4_addresses", json!(["192.0.2.2", "192.0.2.9"])),
        ("ansible_all_ipv6_addresses", json!([])),
        ("ansible_interfaces", json!(["eth0", "lo"])),
        ("ansible_env", json!({"HOME": "/root", "MULTI": "a\nb", "PATH": "/usr/bin"})),
    ] {
        assert_eq!(get(k), want, "{k}");
    }
    let dt = get("ansible_date_time");
    assert_eq!(dt["iso8601"], json!("2026-12-02T14:04:05Z"));
    assert_eq!(dt["iso8601_micro"], json!("2026-12-02T14:04:05.123456Z"));
    assert_eq!(dt["iso8601_basic"], json!("20261202T150405123456"));
    assert_eq!(dt["tz_offset"], json!("+0100"));
    assert_eq!(dt["weekday_number"], json!("3"));
    assert_eq!(
        get("ansible_default_ipv4"),
        json!({"address": "192.0.2.2", "broadcast": "192.0.2.255", "netmask": "255.255.255.0",
            "network": "192.0.2.0", "prefix": "24", "interface": "eth0", "alias": "eth0", "gateway": "192.0.2.1",
            "macaddress": "52:54:00:12:34:56", "mtu": 1500, "type": "ether"})
    );
    assert_eq!(
        get("ansible_eth0"),
        json!({"device": "eth0", "macaddress": "52:54:00:12:34:56", "mtu": 1500, "active": true, "type": "ether",
            "speed": 1000, "promisc": false,
            "ipv4": {"address": "192.0.2.2", "broadcast": "192.0.2.255", "netmask": "255.255.255.0", "network": "192.0.2.0", "prefix": "24"},
            "ipv4_secondaries": [{"address": "192.0.2.9", "broadcast": "192.0.2.255", "netmask": "255.255.255.0", "network": "192.0.2.0", "prefix": "24"}]})
    );
    assert_eq!(get("ansible_lo")["ipv6"], json!([{"address": "::1", "prefix": "128", "scope": "host"}]));
    assert_eq!(get("ansible_lo")["ipv4"]["broadcast"], json!(""));
    let mount = &get("ansible_mounts")[0];
    assert_eq!(mount["size_total"], json!(4096 * 1000));
    assert_eq!(mount["size_available"], json!(4096 * 400));
    assert_eq!(mount["block_used"], json!(600));
    assert_eq!(mount["inode_used"], json!(40));
}

#[test]
fn golden_rocky_without_ip() {
    let out = "nodename=db1\nuname=Linux|5.14|x86_64|#1\nos_ID=\"rocky\"\nos_VERSION_ID=\"9.3\"\n\
               os_VERSION=\"9.3 (Blue Onyx)\"\ninit=systemd\nsystemd=1\npkg=dnf\nroute=\n\
               procroute=ens3 0102A8C0\n";
    let f = parse(out, &Subsets::ALL);
    assert_eq!(f["ansible_distribution"], json!("Rocky"));
    assert_eq!(f["ansible_os_family"], json!("RedHat"));
    assert_eq!(f["ansible_distribution_major_version"], json!("9"));
    assert_eq!(f["ansible_distribution_release"], json!("Blue Onyx"));
    assert_eq!(f["ansible_fqdn"], json!("db1"));
    assert_eq!(f["ansible_pkg_mgr"], json!("dnf"));
    assert_eq!(f["ansible_default_ipv4"], json!({"interface": "ens3", "gateway": "192.168.2.1"}));
    assert!(!f.contains_key("ansible_python"), "no python found, no fact");
}

#[test]
fn subsets_as_ansible_reads_them() {
    let p = |items: &[&str]| Subsets::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(p(&[]).unwrap(), Subsets::ALL);
    assert_eq!(p(&["all"]).unwrap(), Subsets::ALL);
    let min = Subsets { min: true, hardware: false, network: false, virtual_: false };
    assert_eq!(p(&["!all"]).unwrap(), min);
    assert_eq!(p(&["distribution"]).unwrap(), min);
    assert_eq!(p(&["!all", "network"]).unwrap(), Subsets { network: true, ..min });
    assert_eq!(p(&["all", "!hardware"]).unwrap(), Subsets { hardware: false, ..Subsets::ALL });
    assert!(!p(&["!all", "!min"]).unwrap().min);
    assert!(p(&["bogus"]).unwrap_err().contains("Bad subset 'bogus'"));
    // Only the asked parts are gathered; the min facts need no network command.
    assert!(!p(&["!all"]).unwrap().script().contains("ip -o addr"));
    assert!(Subsets::ALL.script().contains("ip -o addr"));
}

#[test]
fn min_excluded_keeps_only_the_asked_groups() {
    let f = parse(DEBIAN, &Subsets { min: false, hardware: true, network: false, virtual_: false });
    assert!(f.contains_key("ansible_memtotal_mb"));
    assert!(!f.contains_key("ansible_distribution"));
    assert!(!f.contains_key("ansible_env"));
}

#[test]
fn civil_dates() {
    assert_eq!(system::civil_from_days(0), (1970, 1, 1));
    assert_eq!(system::civil_from_days(20_789), (2026, 12, 2));
    assert_eq!(system::civil_from_days(-1), (1969, 12, 31));
    assert_eq!(
        namespaced(&Map::from_iter([("ansible_os_family".into(), json!("Debian"))]))["os_family"],
        json!("Debian")
    );
}
