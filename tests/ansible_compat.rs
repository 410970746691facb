//! `--list-hosts`, `--list-tasks` and `--list-tags` print what ansible-playbook prints, for the
//! fixture playbooks and inventories. Needs ansible-core: `TROUPE_ANSIBLE_PLAYBOOK` (set by
//! scripts/test.sh, which installs it into a venv) or `ansible-playbook` on PATH.

use std::process::Command;

use crate::support::run::{ansible_playbook as ansible, repo, scratch, Run};

/// Ansible prints a play's hosts in set order; compare them sorted.
fn normalize(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut hosts: Vec<String> = Vec::new();
    let mut in_hosts = false;
    for line in text.lines().filter(|l| !l.starts_with("[WARNING]")) {
        if in_hosts && line.starts_with("      ") && !line.contains('\t') {
            hosts.push(line.to_string());
            continue;
        }
        if in_hosts {
            hosts.sort();
            out.append(&mut hosts);
        }
        in_hosts = line.trim_start().starts_with("hosts (");
        out.push(line.to_string());
    }
    hosts.sort();
    out.append(&mut hosts);
    out.join("\n")
}

fn compare(dir: &std::path::Path, args: &[&str]) {
    let Some(ap) = ansible() else {
        eprintln!("skipped: needs ansible-core (run scripts/test.sh, or set TROUPE_ANSIBLE_PLAYBOOK)");
        return;
    };
    let theirs = Command::new(&ap)
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-playbook runs");
    assert!(theirs.status.success(), "ansible-playbook {args:?}: {}", String::from_utf8_lossy(&theirs.stderr));
    let ours = Run::new().in_dir(dir).args(args).succeeds();
    let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
    assert_eq!(normalize(&ours.stdout), normalize(&theirs), "troupe {args:?} differs from ansible-playbook");
}

#[test]
fn listings_match_ansible_for_fixture_playbooks() {
    let dir = repo().join("tests/fixtures/playbooks");
    let ini = "../inventory/ini/hosts.ini";
    for pb in ["site.yml", "deploy.yml", "maintenance.yml"] {
        for mode in [
            &["--list-tasks", "--list-hosts"][..],
            &["--list-tags"],
            &["--list-tasks", "-t", "deploy,never"],
            &["--list-tasks", "--skip-tags", "always", "-t", "tagged"],
            &["--list-tags", "-t", "api"],
        ] {
            let mut args = vec!["-i", ini, pb];
            args.extend_from_slice(mode);
            compare(&dir, &args);
        }
        // The YAML form of the same inventory gives the same hosts.
        compare(&dir, &["-i", "../inventory/yaml/hosts.yml", pb, "--list-hosts"]);
    }
}

#[test]
fn every_limit_form_matches_ansible() {
    let inv = repo().join("tests/fixtures/inventory/ini/hosts.ini");
    let p =
        scratch(&[("pb.yml", "- hosts: all\n  gather_facts: false\n  tasks: []\n- hosts: prod:!web\n  tasks: []\n")]);
    let inv = inv.display().to_string();
    for limit in [
        "etcd,web",
        "etcd:web",
        "prod:!etcd",
        "backend:&db",
        "web*",
        "~web0[12]",
        "etcd[0]",
        "etcd[1:]",
        "etcd[-1]",
        "all:!db",
        "web-canary.example.com",
        "etcd1:db",
    ] {
        compare(p.path(), &["-i", &inv, "pb.yml", "--list-hosts", "-l", limit]);
    }
}
