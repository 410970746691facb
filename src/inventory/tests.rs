//! Whole-inventory tests. Expected values were printed by ansible-core 2.19.14
//! (`ansible -i INV PATTERN --list-hosts`, `-m debug`) for the same inputs.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::error::Diagnose;
use crate::value::Value;

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory").join(rel).display().to_string()
}

fn fixtures() -> Vec<Inventory> {
    ["ini/hosts.ini", "yaml/hosts.yml"].iter().map(|f| Inventory::load(&[fixture(f)]).unwrap()).collect()
}

/// What a play sees from the inventory alone: the four layers in precedence order.
fn merged(inv: &Inventory, host: &str) -> Map {
    let l = inv.host_layers(host);
    let mut out = Map::new();
    for layer in [l.group_inventory, l.group_files, l.host_inventory, l.host_files] {
        extend(&mut out, &layer);
    }
    out
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn load_text(name: &str, text: &str) -> Result<Inventory, InventoryError> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, text);
    Inventory::load(&[path.display().to_string()])
}

fn sel(inv: &Inventory, pattern: &str) -> Vec<String> {
    inv.select(pattern).unwrap()
}

#[test]
fn fixture_groups_match_ansible() {
    for inv in fixtures() {
        let groups = inv.groups_map();
        let keys: Vec<&str> = groups.keys().map(String::as_str).collect();
        assert_eq!(keys, ["all", "ungrouped", "etcd", "web", "db", "backend", "prod"]);
        assert_eq!(
            groups["all"],
            ["bastion", "web01", "web02", "web03", "web-canary.example.com", "dba", "dbb", "etcd1", "etcd2", "etcd3"]
        );
        assert_eq!(groups["ungrouped"], ["bastion"]);
        assert_eq!(groups["backend"], ["dba", "dbb", "etcd1", "etcd2", "etcd3"]);
        assert_eq!(
            groups["prod"],
            ["web01", "web02", "web03", "web-canary.example.com", "dba", "dbb", "etcd1", "etcd2", "etcd3"]
        );
        assert_eq!(inv.group_names("etcd1"), ["backend", "db", "etcd", "prod"]);
        assert_eq!(inv.group_names("bastion"), ["ungrouped"]);
        assert_eq!(inv.group_names("localhost"), Vec::<String>::new());
    }
}

#[test]
fn fixture_vars_follow_ansible_precedence() {
    for inv in fixtures() {
        let etcd1 = merged(&inv, "etcd1");
        // group_vars/all.yml beats inventory `prod:vars` (files come after inventory groups).
        assert_eq!(etcd1["env"], json!("from_group_vars_all"));
        // db and etcd have equal depth: by name, so db's `level` is last to be set.
        assert_eq!(etcd1["level"], json!("db"));
        assert_eq!(etcd1["level_file"], json!("db"));
        assert_eq!(etcd1["backend_file"], json!(2), "folder files merge in sorted order");
        assert_eq!(etcd1["replicas"], json!(3));
        assert_eq!(etcd1["etcd_member"], json!(false), "host_vars file beats inventory host var");
        assert_eq!(etcd1["host_file"], json!("etcd1"));
        assert_eq!(etcd1["ansible_host"], json!("10.0.0.1"));
        let canary = merged(&inv, "web-canary.example.com");
        assert_eq!(canary["level"], json!("prod"));
        assert_eq!(canary["weight"], json!(0.5));
        assert_eq!(canary["role_tag"], json!("canary"));
        let bastion = merged(&inv, "bastion");
        assert_eq!(bastion["ansible_port"], json!(2222));
        assert_eq!(bastion["ntp_server"], json!("ntp.example.com"));
        assert!(
            bastion["inventory_file"].as_str().unwrap().ends_with("hosts.ini")
                || bastion["inventory_file"].as_str().unwrap().ends_with("hosts.yml")
        );
        let local = merged(&inv, "localhost");
        assert!(inv.is_implicit("localhost"));
        assert_eq!(local["from_localhost_file"], json!(true));
        assert_eq!(local["shared"], json!("from_group_vars_all"));
    }
}

#[test]
fn fixture_patterns_match_ansible() {
    let cases: &[(&str, &[&str])] = &[
        (
            "all",
            &["bastion", "web01", "web02", "web03", "web-canary.example.com", "dba", "dbb", "etcd1", "etcd2", "etcd3"],
        ),
        (
            "*",
            &["bastion", "web01", "web02", "web03", "web-canary.example.com", "dba", "dbb", "etcd1", "etcd2", "etcd3"],
        ),
        ("etcd:web", &["etcd1", "etcd2", "etcd3", "web01", "web02", "web03", "web-canary.example.com"]),
        ("web,etcd", &["web01", "web02", "web03", "web-canary.example.com", "etcd1", "etcd2", "etcd3"]),
        ("prod:!db", &["web01", "web02", "web03", "web-canary.example.com", "etcd2", "etcd3"]),
        ("backend:&etcd", &["etcd1", "etcd2", "etcd3"]),
        ("!etcd", &["bastion", "web01", "web02", "web03", "web-canary.example.com", "dba", "dbb"]),
        ("web0*", &["web01", "web02", "web03"]),
        ("*.example.com", &["web-canary.example.com"]),
        ("db?", &["dba", "dbb"]),
        ("~etcd[12]", &["etcd1", "etcd2"]),
        ("~web0[12]", &["web01", "web02"]),
        ("etcd[0]", &["etcd1"]),
        ("etcd[-1]", &["etcd3"]),
        ("backend[1:]", &["dbb", "etcd1", "etcd2", "etcd3"]),
        ("prod[0:1]", &["web01", "web02"]),
        ("backend[2:3]", &["etcd1", "etcd2"]),
        ("etcd1:db", &["etcd1", "dba", "dbb"]),
        ("bastion,10.0.0.1", &["bastion"]),
        ("localhost", &["localhost"]),
        ("localhost:etcd", &["localhost", "etcd1", "etcd2", "etcd3"]),
        ("127.0.0.1", &["127.0.0.1"]),
        ("nosuch:web01", &["web01"]),
        ("ungrouped", &["bastion"]),
        ("db:&etcd:!etcd1", &[]),
        ("etcd1,etcd1,db", &["etcd1", "dba", "dbb"]),
        ("e*[1]", &["etcd2"]),
        ("*[0:2]", &["bastion", "web01", "web02"]),
    ];
    for inv in fixtures() {
        for (pattern, want) in cases {
            assert_eq!(sel(&inv, pattern), *want, "pattern {pattern}");
        }
        let err = inv.select("etcd[10]").unwrap_err();
        assert!(err.to_string().contains("etcd[10]"));
        assert_eq!(err.exit_code(), crate::error::exit::ERROR);
    }
}

#[test]
fn ini_values_are_python_literals_in_host_lines_and_vars_sections() {
    let inv = load_text(
        "hosts",
        "h1 a=1 b=2.5 c=True d=None e=\"'quoted'\" f=[1,2] g=yes h=\"x y\" j=0644 k={'a':1}\n\
         [g]\nh2\n[g:vars]\nv1=1\nv2=hello world\nv3=\"quoted\"\nv4=True\n",
    )
    .unwrap();
    let h1 = &inv.hosts["h1"].vars;
    assert_eq!(h1["a"], json!(1));
    assert_eq!(h1["b"], json!(2.5));
    assert_eq!(h1["c"], json!(true));
    assert_eq!(h1["d"], Value::Null);
    assert_eq!(h1["e"], json!("quoted"));
    assert_eq!(h1["f"], json!([1, 2]));
    assert_eq!(h1["g"], json!("yes"));
    assert_eq!(h1["h"], json!("x y"));
    assert_eq!(h1["j"], json!("0644"));
    assert_eq!(h1["k"], json!("{a:1}"), "shlex strips the quotes, so this is no dict");
    let g = &inv.groups["g"].vars;
    assert_eq!(g["v1"], json!(1));
    assert_eq!(g["v2"], json!("hello world"));
    assert_eq!(g["v3"], json!("quoted"));
    assert_eq!(g["v4"], json!(true));
}

#[test]
fn ini_children_may_be_declared_later() {
    let inv = load_text("hosts", "[top:children]\nmid\n[mid:children]\nleaf\n[leaf]\nh1\n").unwrap();
    assert_eq!(inv.groups_map()["top"], ["h1"]);
    assert_eq!(inv.groups["leaf"].depth, 3);
    assert_eq!(inv.group_names("h1"), ["leaf", "mid", "top"]);
}

#[test]
fn ini_errors_name_the_line() {
    let cases = [
        ("[g]\nh1 novalue\n", 2, "key=value"),
        ("[g:vars]\nx=1\n", 1, "not defined"),
        ("[p:children]\nmissing\n", 2, "undefined group 'missing'"),
        ("\n[g:bogus]\n", 2, "unknown type"),
        ("[a b]\n", 1, "invalid section"),
        ("[g]\nh1:\n", 2, "ending in ':'"),
        ("[a:children]\nb\n[b:children]\na\n", 4, "recursive"),
    ];
    for (text, line, needle) in cases {
        let err = load_text("inv.ini", text).unwrap_err();
        match &err {
            InventoryError::Parse { span, message, .. } => {
                assert_eq!(span.line, line, "{text:?}: {message}");
                assert!(message.contains(needle), "{text:?}: {message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
        assert_eq!(err.exit_code(), crate::error::exit::UNREACHABLE_OR_PARSE);
        let shown = err.diagnostic().render();
        assert!(shown.contains(&format!("inv.ini:{line}:1")), "{shown}");
        assert!(shown.contains("hint:"), "{shown}");
    }
}

#[test]
fn yaml_inventory_keeps_yaml_types_and_shorthands() {
    let inv = load_text(
        "inv.yml",
        "all:\n  children:\n    web:\n      hosts: w1\n      vars: {on_flag: on, mode: 0644, s: '1'}\n    db:\n      hosts:\n        d[1:2]:2222:\n",
    )
    .unwrap();
    assert_eq!(inv.groups_map()["web"], ["w1"]);
    let v = &inv.groups["web"].vars;
    assert_eq!(v["on_flag"], json!(true));
    assert_eq!(v["mode"], json!(420));
    assert_eq!(v["s"], json!("1"));
    assert_eq!(inv.hosts["d2"].vars["ansible_port"], json!(2222));
    assert_eq!(inv.groups_map()["ungrouped"], Vec::<String>::new());
}

#[test]
fn yaml_errors_carry_positions() {
    let err = load_text("inv.yml", "all:\n  hosts: [a, b\n").unwrap_err();
    let InventoryError::Parse { span, .. } = &err else { panic!("{err:?}") };
    assert!(span.line >= 2);
    let err = load_text("inv.yml", "all:\n  hosts:\n    - a\n").unwrap_err();
    let InventoryError::Parse { span, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!((span.line, span.col), (3, 5), "{message}");
    let err = load_text("inv.yml", "web:\n  hosts:\n    12:\n").unwrap_err();
    assert!(err.to_string().contains("must be a string"));
}

#[test]
fn files_without_extension_can_be_yaml() {
    let inv = load_text("hosts", "web:\n  hosts:\n    w1:\n").unwrap();
    assert_eq!(inv.groups_map()["web"], ["w1"]);
}

#[test]
fn inline_lists_and_missing_sources() {
    let inv = Inventory::load(&["h1, h2:2222,".to_string()]).unwrap();
    assert_eq!(inv.groups_map()["ungrouped"], ["h1", "h2"]);
    assert_eq!(inv.hosts["h2"].vars["ansible_port"], json!(2222));
    assert_eq!(inv.hosts["h1"].vars["inventory_file"], json!("h1, h2:2222,"));
    // As Ansible: a missing source is a warning, and no source at all leaves the implicit localhost.
    let inv = Inventory::load(&["/nonexistent/inventory".to_string()]).unwrap();
    assert_eq!(
        inv.warnings,
        [
            "Unable to parse /nonexistent/inventory as an inventory source",
            "No inventory was parsed, only implicit localhost is available"
        ]
    );
    assert!(inv.hosts.is_empty());
}

#[test]
fn folders_skip_ignored_entries_and_read_the_rest_sorted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "10-web.ini", "[web]\nw1\n");
    write(dir.path(), "20-db.yml", "db:\n  hosts:\n    d1:\n");
    write(dir.path(), "README.md", "not inventory");
    write(dir.path(), "old.retry", "x");
    write(dir.path(), ".hidden", "[bad\n");
    write(dir.path(), "group_vars/web.yml", "gv: 1\n");
    write(dir.path(), "sub/30-app", "[app]\na1\n");
    let inv = Inventory::load(&[dir.path().display().to_string()]).unwrap();
    assert_eq!(inv.groups_map()["all"], ["w1", "d1", "a1"]);
    assert_eq!(inv.groups["web"].file_vars["gv"], json!(1));
}

#[test]
fn playbook_vars_dirs_win_and_keep_ansible_order() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = write(dir.path(), "inv/hosts", "[parent:children]\nchild\n[child]\nh1\n[parent:vars]\nx=inv\n");
    write(dir.path(), "inv/group_vars/all.yml", "a: inv_all\nb: inv_all\n");
    write(dir.path(), "inv/group_vars/child.yml", "c: inv_child\n");
    write(dir.path(), "inv/host_vars/h1.yml", "h: inv\nk: inv\n");
    write(dir.path(), "pb/group_vars/all.yml", "b: pb_all\n");
    write(dir.path(), "pb/group_vars/parent.yml", "c: pb_parent\n");
    write(dir.path(), "pb/host_vars/h1/main.yml", "h: pb\n");
    write(dir.path(), "pb/host_vars/h1/.hidden.yml", "h: hidden\n");
    let mut inv = Inventory::load(&[inv_path.display().to_string()]).unwrap();
    inv.add_vars_dir(&dir.path().join("pb")).unwrap();
    let l = inv.host_layers("h1");
    assert_eq!(l.group_inventory, json!({"x": "inv"}).as_object().unwrap().clone());
    // all (inventory dir, playbook dir), then groups: every inventory dir before every playbook dir.
    assert_eq!(l.group_files, json!({"a": "inv_all", "b": "pb_all", "c": "pb_parent"}).as_object().unwrap().clone());
    assert_eq!(l.host_files, json!({"h": "pb", "k": "inv"}).as_object().unwrap().clone());
    assert_eq!(inv.hosts["h1"].file_vars["h"], json!("pb"));
}

#[test]
fn group_priority_and_depth_order_group_vars() {
    let inv = load_text(
        "inv.yml",
        "a:\n  hosts: {h1: }\n  vars: {x: a, ansible_group_priority: 10}\nb:\n  hosts: {h1: }\n  vars: {x: b}\n\
         top:\n  children:\n    deep:\n      hosts: {h1: }\n      vars: {y: deep}\n  vars: {y: top}\n",
    )
    .unwrap();
    let l = inv.host_layers("h1");
    assert_eq!(l.group_inventory["x"], json!("a"), "priority 10 sorts after b");
    assert_eq!(l.group_inventory["y"], json!("deep"), "children beat parents");
    assert!(!inv.groups["a"].vars.contains_key("ansible_group_priority"));
}

#[test]
fn vars_file_errors_point_at_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = write(dir.path(), "hosts", "h1\n");
    write(dir.path(), "host_vars/h1.yml", "- not\n- a mapping\n");
    let err = Inventory::load(&[inv_path.display().to_string()]).unwrap_err();
    let InventoryError::Parse { span, .. } = &err else { panic!("{err:?}") };
    assert!(span.file.ends_with("host_vars/h1.yml"));
}

#[test]
fn implicit_localhost_is_never_in_all() {
    let inv = Inventory::load(&["h1,".to_string()]).unwrap();
    assert_eq!(sel(&inv, "all"), ["h1"]);
    assert_eq!(sel(&inv, "localhost:h1"), ["localhost", "h1"]);
    assert!(inv.is_implicit("localhost"));
    let inv = Inventory::load(&["localhost,h1".to_string()]).unwrap();
    assert!(!inv.is_implicit("localhost"));
    assert_eq!(sel(&inv, "all"), ["localhost", "h1"]);
}

#[test]
fn ini_all_section_ungrouped_cleanup_and_later_vars_win() {
    let inv = load_text(
        "e.ini",
        "[all]\na1 x=1\n[ungrouped]\nu1\n[g1]\nh1 v=1 w=1\n[g2]\nh1 v=2\nu1\n[g3:hosts]\nh3\n\
         [g1:vars]\ns=hello # c\nn=1 # c\nq=\"a b\" \n",
    )
    .unwrap();
    let groups = inv.groups_map();
    assert_eq!(groups["all"], ["a1", "h1", "u1", "h3"]);
    assert_eq!(groups["ungrouped"], ["a1"], "u1 leaves ungrouped once it is in g2");
    assert_eq!(groups["g2"], ["h1", "u1"]);
    assert_eq!(inv.hosts["h1"].vars["v"], json!(2));
    assert_eq!(inv.hosts["h1"].vars["w"], json!(1));
    let g1 = &inv.groups["g1"].vars;
    assert_eq!((&g1["s"], &g1["n"], &g1["q"]), (&json!("hello # c"), &json!(1), &json!("a b")));
    assert_eq!(inv.group_names("a1"), ["ungrouped"]);
}

#[test]
fn several_sources_merge_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a/hosts", "[web]\nw1 x=a y=a\n");
    let b = write(dir.path(), "b/hosts", "[db]\nw1 x=b\nd1\n");
    write(dir.path(), "a/host_vars/w1.yml", "hv: a\nk: a\n");
    write(dir.path(), "b/host_vars/w1.yml", "hv: b\n");
    let sources = [a.display().to_string(), b.display().to_string(), "extra,w1".to_string()];
    let inv = Inventory::load(&sources).unwrap();
    assert_eq!(sel(&inv, "all"), ["extra", "w1", "d1"]);
    let w1 = merged(&inv, "w1");
    assert_eq!((&w1["x"], &w1["y"], &w1["hv"], &w1["k"]), (&json!("b"), &json!("a"), &json!("b"), &json!("a")));
    assert_eq!(w1["inventory_file"], json!(a.display().to_string()), "the first source that named the host");
    assert_eq!(inv.group_names("w1"), ["db", "web"]);
}

#[test]
fn long_group_chains_load_in_linear_time() {
    // 10,000 chained groups took 10 s (release) and over 3 minutes (debug): every edge
    // re-walked the chain. Written top-down and bottom-up.
    let n = 10_000;
    let links: Vec<String> = (0..n - 1).map(|i| format!("[g{i}:children]\ng{}\n", i + 1)).collect();
    let leaf = format!("[g{}]\nh1\n", n - 1);
    for text in
        [format!("{leaf}{}", links.concat()), format!("{leaf}{}", links.iter().rev().cloned().collect::<String>())]
    {
        let t = std::time::Instant::now();
        let inv = load_text("hosts", &text).unwrap();
        assert_eq!(inv.groups_map()["g0"], ["h1"]);
        assert_eq!(inv.group_names("h1").len(), n);
        assert_eq!(inv.groups[format!("g{}", n - 1).as_str()].depth, n);
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
    }
}
