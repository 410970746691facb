use super::*;
use crate::modules::testutil::Harness;
use serde_json::json;

const DEBIAN: &str = "nodename=vm.example.com\nfqdn=vm.example.com\nsystem=Linux\nkernel=6.1.0\n\
machine=x86_64\nuser=root\nvcpus=2\nmemtotal_kb=24683520\nos_PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n\
os_VERSION_ID=\"12\"\nos_VERSION=\"12 (bookworm)\"\nos_VERSION_CODENAME=bookworm\nos_ID=debian\n\
debian_version=12.11\ninit=systemd\nsystemd=1\npkg=apt-get\n\
route=1.0.0.0 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n\
addr=1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n\
addr=4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n";

#[test]
fn golden_debian() {
    let f = parse_facts(DEBIAN);
    let want = json!({
        "ansible_hostname": "vm", "ansible_nodename": "vm.example.com", "ansible_fqdn": "vm.example.com",
        "ansible_system": "Linux", "ansible_kernel": "6.1.0", "ansible_architecture": "x86_64",
        "ansible_user_id": "root", "ansible_processor_vcpus": 2, "ansible_memtotal_mb": 24105,
        "ansible_distribution": "Debian", "ansible_os_family": "Debian",
        "ansible_distribution_major_version": "12", "ansible_distribution_version": "12.11",
        "ansible_distribution_release": "bookworm", "ansible_service_mgr": "systemd",
        "ansible_pkg_mgr": "apt", "ansible_all_ipv4_addresses": ["192.0.2.2"],
        "ansible_default_ipv4": {"interface": "eth0", "alias": "eth0", "address": "192.0.2.2",
            "network": "192.0.2.0", "netmask": "255.255.255.0", "prefix": "24",
            "broadcast": "192.0.2.255", "gateway": "192.0.2.1"},
    });
    assert_eq!(Value::Object(f), want);
}

#[test]
fn golden_rocky_without_ip() {
    let out = "nodename=db1\nsystem=Linux\nos_ID=\"rocky\"\nos_VERSION_ID=\"9.3\"\n\
               os_VERSION=\"9.3 (Blue Onyx)\"\ninit=systemd\nsystemd=1\npkg=dnf\nroute=\n\
               procroute=ens3 0102A8C0\n";
    let f = parse_facts(out);
    assert_eq!(f["ansible_distribution"], json!("Rocky"));
    assert_eq!(f["ansible_os_family"], json!("RedHat"));
    assert_eq!(f["ansible_distribution_major_version"], json!("9"));
    assert_eq!(f["ansible_distribution_release"], json!("Blue Onyx"));
    assert_eq!(f["ansible_fqdn"], json!("db1"));
    assert_eq!(f["ansible_pkg_mgr"], json!("dnf"));
    assert_eq!(f["ansible_default_ipv4"], json!({"interface": "ens3", "gateway": "192.168.2.1"}));
}

#[test]
fn filter_globs() {
    assert!(glob_match("ansible_distribution*", "ansible_distribution_version"));
    assert!(glob_match("*ipv4*", "ansible_default_ipv4"));
    assert!(!glob_match("ansible_os", "ansible_os_family"));
}

#[tokio::test]
async fn gathers_from_this_machine() {
    let h = Harness::new();
    let q = h
        .query(&Setup, json!({"filter": ["ansible_system", "ansible_user_id", "ansible_distribution*"]}))
        .await
        .unwrap();
    let facts = q.facts.unwrap_or_default();
    assert_eq!(facts.get("ansible_system"), Some(&json!("Linux")));
    assert_eq!(facts.get("ansible_user_id"), Some(&json!("root")));
    assert!(facts.contains_key("ansible_distribution_version"));
    assert!(!facts.contains_key("ansible_kernel"));
    assert_eq!(q.result.get("ansible_facts"), Some(&Value::Object(facts)));
}
