//! Patterns found in public etcd playbooks and roles (Pigsty, kubespray, autobase and others,
//! loaded side by side with ansible-playbook 2.19), reduced to a few lines each. Every run is
//! compared with ansible-playbook's when ansible-core is installed.

use std::path::Path;

use crate::support::compare::ansible;
use crate::support::run::{ansible_playbook, scratch, Done, Run};

const INV: &str = "[etcd]\ne1 ansible_connection=local\ne2 ansible_connection=local\n\
                   [all:vars]\nansible_python_interpreter={{ ansible_playbook_python }}\n";

/// troupe's run, and ansible-playbook's stdout, stderr and exit code when it is installed.
fn both(dir: &Path, args: &[&str], code: i32) -> (Done, Option<(String, String, i32)>) {
    let ours = Run::new().in_dir(dir).args(args).code(code);
    let theirs = ansible_playbook().map(|ap| {
        let out = ansible(&ap, dir, args, &[]);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (text(&out.stdout), text(&out.stderr), out.status.code().unwrap_or(-1))
    });
    (ours, theirs)
}

/// The lines of a listing or a run that name plays and tasks.
fn outline(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.contains("play #") || l.starts_with("PLAY [") || l.starts_with("TASK [") || l.contains("\tTAGS:"))
        .map(|l| l.trim_end_matches([' ', '*']).to_string())
        .collect()
}

#[test]
fn a_play_s_hosts_template_sees_groups_and_lists_rendered() {
    // etcd-member-replace style: `hosts: "{{ groups['etcd'][0] }}"`, and a variable from -e.
    let pb = r#"
- hosts: "{{ groups['etcd'][0] }}"
  gather_facts: false
  tasks:
    - debug: msg=first
- name: replace
  hosts: "{{ target | default(groups['etcd'][1]) }}"
  gather_facts: false
  tasks:
    - debug: msg=second
"#;
    let dir = scratch(&[("inv", INV), ("pb.yml", pb)]);
    for args in [
        &["-i", "inv", "pb.yml", "--list-tasks"][..],
        &["-i", "inv", "pb.yml", "--list-hosts", "-e", "target=e1"],
        &["-i", "inv", "pb.yml"],
    ] {
        let (ours, theirs) = both(dir.path(), args, 0);
        let ours = outline(&ours.stdout);
        assert!(ours.iter().any(|l| l.contains("play #1 (e1): e1") || l == "PLAY [e1]"), "{args:?}: {ours:?}");
        if let Some((out, err, code)) = theirs {
            assert_eq!((ours, code), (outline(&out), 0), "{args:?}: ansible-playbook:\n{out}\n{err}");
        }
    }
}

#[test]
fn an_undefined_variable_in_hosts_is_ansible_s_keyword_error() {
    let pb = "- name: p\n  hosts: \"{{ target }}\"\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n";
    let dir = scratch(&[("inv", INV), ("pb.yml", pb)]);
    for mode in ["--list-tasks", "--syntax-check"] {
        let (ours, theirs) = both(dir.path(), &["-i", "inv", "pb.yml", mode], 4);
        ours.stderr_has("Error processing keyword 'hosts': 'target' is undefined").stderr_has("pb.yml:1:3");
        if let Some((_, err, code)) = theirs {
            assert_eq!(code, 4, "{err}");
            assert!(err.contains("Error processing keyword 'hosts': 'target' is undefined"), "{err}");
        }
    }
}

#[test]
fn a_named_include_role_inside_a_role_has_no_role_prefix() {
    let dir = scratch(&[
        ("inv", INV),
        ("pb.yml", "- hosts: e1\n  gather_facts: false\n  roles: [outer]\n"),
        (
            "roles/outer/tasks/main.yml",
            "- name: plain task\n  debug: msg=a\n- name: pull in inner\n  include_role:\n    name: inner\n\
             - include_role:\n    name: inner\n- name: import inner\n  import_role:\n    name: inner\n",
        ),
        ("roles/inner/tasks/main.yml", "- name: inner task\n  debug: msg=b\n"),
    ]);
    for args in [&["-i", "inv", "pb.yml", "--list-tasks"][..], &["-i", "inv", "pb.yml"]] {
        let (ours, theirs) = both(dir.path(), args, 0);
        let ours = outline(&ours.stdout);
        assert!(ours.iter().any(|l| l.contains("pull in inner") && !l.contains("outer : pull")), "{ours:?}");
        // Unnamed, it lists as its action and runs as `include_role : inner`.
        let unnamed = if args.len() == 4 { "      include_role\tTAGS: []" } else { "TASK [include_role : inner]" };
        assert!(ours.iter().any(|l| l == unnamed), "{ours:?}");
        if let Some((out, err, code)) = theirs {
            assert_eq!((ours, code), (outline(&out), 0), "{args:?}: ansible-playbook:\n{out}\n{err}");
        }
    }
}

#[test]
fn a_host_pattern_part_that_matches_nothing_is_a_warning() {
    // An empty group is no warning; a name that is neither group nor host is.
    let inv = format!("{INV}[empty]\n");
    let pb = "- hosts: all:nosuch:empty:etcd\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n";
    let dir = scratch(&[("inv", &inv), ("pb.yml", pb)]);
    for args in [&["-i", "inv", "pb.yml", "--list-tasks"][..], &["-i", "inv", "pb.yml"]] {
        let (ours, theirs) = both(dir.path(), args, 0);
        let warnings = |err: &str| -> Vec<String> {
            err.lines().filter(|l| l.contains("Could not match supplied host pattern")).map(String::from).collect()
        };
        let mine = warnings(&ours.stderr);
        assert_eq!(mine, ["[WARNING]: Could not match supplied host pattern, ignoring: nosuch"], "{}", ours.stderr);
        if let Some((_, err, _)) = theirs {
            assert_eq!(mine, warnings(&err), "ansible-playbook:\n{err}");
        }
    }
}

#[test]
fn a_quoted_value_continued_at_its_key_s_column_loads() {
    // kubespray's no_proxy.yml: a double-quoted value whose next line sits at the key's column.
    let pb = "- hosts: e1\n  gather_facts: false\n  tasks:\n    - name: t\n      debug:\n        msg: \"one\n        two\"\n    - debug:\n        msg: \"a\n    b\n  c\"\n";
    let dir = scratch(&[("inv", INV), ("pb.yml", pb)]);
    let (ours, theirs) = both(dir.path(), &["-i", "inv", "pb.yml"], 0);
    let msgs = crate::support::compare::messages(&ours.stdout);
    assert_eq!(msgs, [r#""msg": "one two""#, r#""msg": "a b c""#]);
    if let Some((out, err, code)) = theirs {
        assert_eq!((msgs, code), (crate::support::compare::messages(&out), 0), "ansible-playbook:\n{out}\n{err}");
    }
}

#[test]
fn a_playbook_named_by_its_collection_is_found_on_the_collections_path() {
    // autobase runs `ansible-playbook vitabaks.autobase.etcd_cluster`.
    let dir = scratch(&[
        ("inv", INV),
        (
            "colls/ansible_collections/ns/coll/playbooks/site.yml",
            "- hosts: e1\n  gather_facts: false\n  tasks:\n    - name: hi\n      debug: msg=site\n",
        ),
        (
            "colls/ansible_collections/ns/coll/playbooks/sub/deep.yaml",
            "- hosts: e1\n  gather_facts: false\n  tasks:\n    - name: deep\n      debug: msg=deep\n",
        ),
    ]);
    let colls = dir.path().join("colls").display().to_string();
    for (name, task) in [("ns.coll.site", "hi"), ("ns.coll.sub.deep", "deep")] {
        let args = ["-i", "inv", name, "--list-tasks"];
        let ours = Run::new().in_dir(dir.path()).env("ANSIBLE_COLLECTIONS_PATH", &colls).args(args).succeeds();
        ours.stdout_has("/colls/ansible_collections/ns/coll/playbooks/").stdout_has(&format!("      {task}\tTAGS: []"));
        if let Some(ap) = ansible_playbook() {
            let out = ansible(&ap, dir.path(), &args, &[("ANSIBLE_COLLECTIONS_PATH", &colls)]);
            assert_eq!(String::from_utf8_lossy(&out.stdout), ours.stdout, "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    // A name that is no collection's playbook is a missing playbook, as Ansible says.
    let missing =
        Run::new().in_dir(dir.path()).env("ANSIBLE_COLLECTIONS_PATH", &colls).args(["-i", "inv", "ns.coll.nope"]);
    missing.code(1).stderr_has("the playbook: ns.coll.nope could not be found");
}
