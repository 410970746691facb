//! Modules of ansible.posix, community.general and community.crypto that troupe implements:
//! playbooks using them load and list as ansible-core lists them (with the collections
//! installed: `support::run::ansible_collections`).

use std::process::Command;

use crate::support::run::{ansible_collections, ansible_playbook, repo, Run};

/// `--list-tasks` of troupe and of ansible-playbook (with the collections) on the same input.
fn same_listing(dir: &std::path::Path, args: &[&str]) {
    let Some(ap) = ansible_playbook() else {
        eprintln!("skipped: needs ansible-core (run scripts/test.sh, or set TROUPE_ANSIBLE_PLAYBOOK)");
        return;
    };
    let colls = ansible_collections()
        .expect("ansible-core is here but not the collections: run scripts/test.sh or set TROUPE_ANSIBLE_COLLECTIONS");
    let theirs = Command::new(&ap)
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_COLLECTIONS_PATH", &colls)
        .output()
        .expect("ansible-playbook runs");
    assert!(theirs.status.success(), "ansible-playbook {args:?}: {}", String::from_utf8_lossy(&theirs.stderr));
    let ours = Run::new().in_dir(dir).args(args).succeeds();
    assert_eq!(ours.stdout, String::from_utf8_lossy(&theirs.stdout), "troupe {args:?} differs from ansible-playbook");
}

/// The shape of Pigsty's etcd.yml (see tests/fixtures/pigsty/README.md) loads and lists as
/// ansible-core lists it, whole and with tags.
#[test]
fn pigsty_etcd_lists_as_ansible_lists_it() {
    let dir = repo().join("tests/fixtures/pigsty");
    for extra in [&[][..], &["-t", "etcd_cert"], &["--skip-tags", "id"], &["-t", "etcd_config,etcd_launch"]] {
        let mut args = vec!["-i", "inventory.yml", "etcd.yml", "--list-tasks"];
        args.extend_from_slice(extra);
        same_listing(&dir, &args);
    }
    let out = Run::new().in_dir(&dir).args(["-i", "inventory.yml", "etcd.yml", "--list-tasks"]).succeeds();
    assert!(out.stdout.contains("etcd : member certificate\tTAGS: [etcd_cert, etcd_cert_issue, etcd_config]"));
}
