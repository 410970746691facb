//! The ansible.posix, community.general and community.crypto modules troupe implements, on
//! testbed hosts through `support::module_e2e` (`--check` proven harmless, twice for
//! idempotence, key result fields and host state compared with ansible-playbook's when
//! ansible-core and the collections are installed — see scripts/test.sh).

use crate::support::module_e2e::ModuleE2e;
use crate::support::testbed::testbed;

#[test]
fn ini_file_sets_an_option_once() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new(
        "community.general.ini_file",
        "{path: /tmp/troupe-e2e-ini/app.ini, section: main, option: port, value: '8080', mode: '0640'}",
    )
    .reset("rm -rf /tmp/troupe-e2e-ini; mkdir /tmp/troupe-e2e-ini; printf '[main]\\n# port = 1\\nname = x\\n' > /tmp/troupe-e2e-ini/app.ini")
    .probe("stat -c %a /tmp/troupe-e2e-ini/app.ini; cat /tmp/troupe-e2e-ini/app.ini")
    .compare(&["changed", "msg", "path"])
    .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["msg"], "option changed");
    assert_eq!(seen.second["msg"], "OK");
}

#[test]
fn sysctl_writes_its_file_and_reloads_it() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    // net.* is writable inside an nspawn host with its own network namespace; most of /proc/sys is not.
    let file = "/tmp/troupe-e2e-sysctl.conf";
    let seen = ModuleE2e::new(
        "ansible.posix.sysctl",
        "{name: net.ipv4.conf.all.forwarding, value: '1', sysctl_file: /tmp/troupe-e2e-sysctl.conf, sysctl_set: true}",
    )
    .reset("printf '# troupe\\nnet.ipv4.conf.all.forwarding = 0\\n' > /tmp/troupe-e2e-sysctl.conf; sysctl -qw net.ipv4.conf.all.forwarding=0")
    .probe("cat /tmp/troupe-e2e-sysctl.conf; sysctl -n net.ipv4.conf.all.forwarding")
    .compare(&["changed"])
    .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["changed"], true);
    assert_eq!(tb.ok(&tb.hosts[0], &format!("cat {file}")).trim_end(), "# troupe\nnet.ipv4.conf.all.forwarding=1");
    assert_eq!(tb.ok(&tb.hosts[0], "sysctl -n net.ipv4.conf.all.forwarding").trim(), "1");
}

#[test]
fn authorized_key_adds_a_key_with_options() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new(
        "ansible.posix.authorized_key",
        "{user: troupe-ak, key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGe2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2 e2e@troupe', key_options: 'no-pty,from=\"10.0.0.1\"'}",
    )
    .reset("id troupe-ak >/dev/null 2>&1 || useradd -m troupe-ak; rm -rf ~troupe-ak/.ssh; mkdir -m 0755 ~troupe-ak/.ssh; printf '# mine\\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQold old@x\\n' > ~troupe-ak/.ssh/authorized_keys")
    .probe("stat -c '%a %U' ~troupe-ak/.ssh ~troupe-ak/.ssh/authorized_keys; cat ~troupe-ak/.ssh/authorized_keys")
    .compare(&["changed", "user", "key", "key_options", "exclusive", "manage_dir", "keyfile", "state"])
    .run(tb, &tb.hosts[0]);
    assert!(seen.first["keyfile"].as_str().is_some_and(|k| k.ends_with("/troupe-ak/.ssh/authorized_keys")));
}

#[test]
fn openssl_privatekey_generates_once() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new("community.crypto.openssl_privatekey", "{path: /tmp/troupe-e2e-pk/k.pem, size: 2048}\n      diff: false")
        .reset("rm -rf /tmp/troupe-e2e-pk; mkdir /tmp/troupe-e2e-pk")
        .probe("stat -c %a /tmp/troupe-e2e-pk/k.pem 2>/dev/null; head -1 /tmp/troupe-e2e-pk/k.pem 2>/dev/null; openssl rsa -in /tmp/troupe-e2e-pk/k.pem -noout -text 2>/dev/null | head -1; true")
        .compare(&["changed", "filename", "type", "size"])
        .present(&["fingerprint"])
        .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["type"], "RSA");
}

/// A key and a CA made with the host's openssl; the CSR and the certificate by the modules.
const PKI: &str = "rm -rf /tmp/troupe-e2e-pki; mkdir /tmp/troupe-e2e-pki; cd /tmp/troupe-e2e-pki; \
    openssl genrsa -out m.key 2048 2>/dev/null; openssl genrsa -out ca.key 2048 2>/dev/null; \
    openssl req -x509 -new -key ca.key -subj /CN=troupe-ca -days 30 -out ca.crt 2>/dev/null";

#[test]
fn openssl_csr_writes_a_request_once() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new(
        "community.crypto.openssl_csr",
        "{path: /tmp/troupe-e2e-pki/m.csr, privatekey_path: /tmp/troupe-e2e-pki/m.key, common_name: etcd-1, organization_name: troupe, subject_alt_name: ['IP:127.0.0.1', 'DNS:localhost']}",
    )
    .reset(PKI)
    .probe("openssl req -in /tmp/troupe-e2e-pki/m.csr -noout -subject 2>/dev/null || echo no CSR; openssl req -in /tmp/troupe-e2e-pki/m.csr -noout -text 2>/dev/null | grep -A1 'Alternative Name' | tail -1")
    .compare(&["changed", "filename", "privatekey", "subject", "subjectAltName", "keyUsage", "extendedKeyUsage", "basicConstraints"])
    .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["subject"], serde_json::json!([["O", "troupe"], ["CN", "etcd-1"]]));
}

#[test]
fn x509_certificate_issues_from_its_ca_once() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let reset = format!(
        "{PKI}; openssl req -new -key m.key -subj /CN=etcd-1 -addext subjectAltName=IP:127.0.0.1 -out m.csr 2>/dev/null"
    );
    let seen = ModuleE2e::new(
        "community.crypto.x509_certificate",
        "{path: /tmp/troupe-e2e-pki/m.crt, csr_path: /tmp/troupe-e2e-pki/m.csr, provider: ownca, ownca_path: /tmp/troupe-e2e-pki/ca.crt, ownca_privatekey_path: /tmp/troupe-e2e-pki/ca.key, mode: '0644'}",
    )
    .reset(&reset)
    .probe("stat -c %a /tmp/troupe-e2e-pki/m.crt 2>/dev/null; openssl verify -CAfile /tmp/troupe-e2e-pki/ca.crt /tmp/troupe-e2e-pki/m.crt 2>/dev/null; openssl x509 -in /tmp/troupe-e2e-pki/m.crt -noout -subject -issuer 2>/dev/null || echo no certificate")
    .compare(&["changed", "filename", "csr", "ca_cert", "ca_privatekey"])
    .present(&["notBefore", "notAfter", "serial_number"])
    .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["changed"], true);
    assert!(tb
        .ok(&tb.hosts[0], "openssl verify -CAfile /tmp/troupe-e2e-pki/ca.crt /tmp/troupe-e2e-pki/m.crt")
        .contains("OK"));
}

#[test]
fn timezone_is_set_through_timedatectl() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.exclusive();
    let host = &tb.hosts[0];
    let seen = ModuleE2e::new("community.general.timezone", "{name: Asia/Tokyo}")
        .reset("timedatectl set-timezone Etc/UTC")
        .probe("readlink /etc/localtime; timedatectl status | grep 'Time zone'")
        .compare(&["changed", "diff"])
        .run(tb, host);
    assert_eq!(seen.first["diff"]["after"]["name"], "Asia/Tokyo");
    assert!(tb.ok(host, "readlink /etc/localtime").contains("Asia/Tokyo"));
    tb.ok(host, "timedatectl set-timezone Etc/UTC");
}

#[test]
fn locale_gen_compiles_a_locale_once() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[1.min(tb.hosts.len() - 1)];
    let reset = "sed -i 's/^de_CH.UTF-8 UTF-8/# de_CH.UTF-8 UTF-8/' /etc/locale.gen; grep -q 'de_CH.UTF-8 UTF-8' /etc/locale.gen || echo '# de_CH.UTF-8 UTF-8' >> /etc/locale.gen; locale-gen >/dev/null 2>&1; true";
    let seen = ModuleE2e::new("community.general.locale_gen", "{name: de_CH.UTF-8}")
        .reset(reset)
        .probe("locale -a | grep -i de_CH || echo none; grep 'de_CH.UTF-8 UTF-8' /etc/locale.gen")
        .compare(&["changed", "name", "mechanism"])
        .run(tb, host);
    assert!(tb.ok(host, "locale -a").contains("de_CH.utf8"));
    assert_eq!(seen.second["changed"], false);
}

/// Hosts without SELinux and containers without kernel modules: `selinux` edits its config
/// file and says a reboot is needed; `seboolean` and `modprobe` fail with Ansible's messages.
/// (ansible-playbook is not compared here: its selinux modules first fail on the host's
/// missing Python `selinux` library.)
#[test]
fn selinux_seboolean_and_modprobe_on_a_container() {
    use crate::support::run::{scratch, Run};
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    tb.ok(
        host,
        "rm -f /tmp/troupe-e2e-selinux; printf 'SELINUX=enforcing\\nSELINUXTYPE=targeted\\n' > /tmp/troupe-e2e-selinux",
    );
    let play = "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.posix.selinux: {state: permissive, policy: targeted, configfile: /tmp/troupe-e2e-selinux}\n      register: se\n    - debug: var=se.reboot_required\n    - ansible.posix.seboolean: {name: httpd_can_network_connect, state: true}\n      ignore_errors: true\n    - community.general.modprobe: {name: dummy}\n      ignore_errors: true\n";
    let dir = scratch(&[("site.yml", play)]);
    let inv = tb.inventory.to_string_lossy().into_owned();
    let run = |check: bool| {
        let mut r = Run::new().in_dir(dir.path()).args(["-i", inv.as_str(), "-l", host.name.as_str(), "site.yml"]);
        if check {
            r = r.args(["--check"]);
        }
        r.succeeds()
    };
    let check = run(true);
    assert!(check.stdout.contains("changed: ["), "{}", check.stdout);
    assert_eq!(tb.ok(host, "cat /tmp/troupe-e2e-selinux").trim_end(), "SELINUX=enforcing\nSELINUXTYPE=targeted");
    let first = run(false);
    for msg in ["SELinux is disabled on this host.", "\"se.reboot_required\": true"] {
        assert!(first.stdout.contains(msg), "{msg} missing:\n{}", first.stdout);
    }
    assert!(first.stdout.contains("modprobe"), "{}", first.stdout);
    assert_eq!(tb.ok(host, "cat /tmp/troupe-e2e-selinux").trim_end(), "SELINUX=permissive\nSELINUXTYPE=targeted");
    assert_eq!(first.changed(&host.name), 1, "{}", first.stdout);
    assert_eq!(run(false).changed(&host.name), 0);
}

#[test]
fn key_and_certificate_info_read_what_ansible_reads() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    tb.ok(host, "rm -rf /tmp/troupe-e2e-info; mkdir /tmp/troupe-e2e-info; cd /tmp/troupe-e2e-info; openssl genrsa -out k.pem 2048 2>/dev/null; openssl req -x509 -new -key k.pem -subj /CN=info/O=troupe -addext subjectAltName=DNS:info.example,IP:10.0.0.1 -days 30 -out c.pem 2>/dev/null");
    let key = ModuleE2e::new("community.crypto.openssl_privatekey_info", "{path: /tmp/troupe-e2e-info/k.pem}")
        .first_changed(false)
        .compare(&["changed", "can_load_key", "can_parse_key", "type", "public_key"])
        .run(tb, host);
    assert_eq!(key.first["type"], "RSA");
    // troupe computes md5, sha1 and the sha2 family (not sha3, blake2, shake): those must agree.
    let same_hashes = |ours: &serde_json::Value, theirs: Option<&serde_json::Value>, field: &str| {
        if let Some(theirs) = theirs {
            for h in ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] {
                assert_eq!(ours[field][h], theirs[field][h], "{field}.{h}");
            }
        }
    };
    same_hashes(&key.first, key.ansible.as_ref(), "public_key_fingerprints");
    let cert = ModuleE2e::new("community.crypto.x509_certificate_info", "{path: /tmp/troupe-e2e-info/c.pem}")
        .first_changed(false)
        .compare(&[
            "changed",
            "subject",
            "issuer",
            "not_before",
            "not_after",
            "expired",
            "serial_number",
            "public_key",
            "subject_alt_name",
            "version",
        ])
        .run(tb, host);
    same_hashes(&cert.first, cert.ansible.as_ref(), "fingerprints");
    same_hashes(&cert.first, cert.ansible.as_ref(), "public_key_fingerprints");
    assert_eq!(cert.first["subject"]["commonName"], "info");
}

#[test]
fn openssl_dhparam_makes_parameters_once() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    ModuleE2e::new("community.crypto.openssl_dhparam", "{path: /tmp/troupe-e2e-dh.pem, size: 512}")
        .reset("rm -f /tmp/troupe-e2e-dh.pem")
        .probe("openssl dhparam -in /tmp/troupe-e2e-dh.pem -noout -text 2>/dev/null | head -1; true")
        .compare(&["changed", "size", "filename"])
        .run(tb, &tb.hosts[0]);
}

#[test]
fn mount_writes_fstab_and_mounts_once() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let reset = "umount /tmp/troupe-e2e-mnt 2>/dev/null; rmdir /tmp/troupe-e2e-mnt 2>/dev/null; printf '# test fstab\\n' > /tmp/troupe-e2e-fstab";
    ModuleE2e::new(
        "ansible.posix.mount",
        "{path: /tmp/troupe-e2e-mnt, src: tmpfs, fstype: tmpfs, opts: size=1m, state: mounted, fstab: /tmp/troupe-e2e-fstab}",
    )
    .reset(reset)
    .probe("cat /tmp/troupe-e2e-fstab; awk '$2 == \"/tmp/troupe-e2e-mnt\" {print $1, $3}' /proc/mounts")
    .compare(&["changed", "name", "src", "fstype", "opts", "dump", "passno", "fstab"])
    .run(tb, host);
    assert!(tb.ok(host, "cat /proc/mounts").contains("/tmp/troupe-e2e-mnt"));
    tb.ok(host, reset);
}
