use super::*;
use crate::modules::testutil::Harness;
use serde_json::json;

fn entry(kind: char, path: &str, depth: usize, size: u64, mode: u32) -> Entry {
    Entry {
        kind,
        mode,
        uid: 0,
        gid: 0,
        user: "root".into(),
        group: "0".into(),
        size,
        inode: 1,
        dev: 2,
        nlink: 1,
        atime: 100.0,
        mtime: 100.0,
        ctime: 100.0,
        depth,
        path: path.into(),
    }
}

#[test]
fn listing_is_parsed_per_path() {
    let out =
        b"@troupe-path\t/d\0f\t644\t0\t0\troot\troot\t3\t9\t2049\t1\t1.5\t2.5\t3.5\t1\t/d/a b\0@troupe-skip\t/nope\0";
    let groups = parse_listing(out);
    assert_eq!(groups.len(), 2);
    let Ok((p, entries)) = &groups[0] else { panic!() };
    assert_eq!((p.as_str(), entries.len()), ("/d", 1));
    assert_eq!((entries[0].mode, entries[0].mtime, entries[0].path.as_str()), (0o644, 2.5, "/d/a b"));
    assert_eq!(groups[1], Err("/nope".to_string()));
    let s = list_script(&["/x y".into()], Some(2), true);
    assert!(s.contains("find -L '/x y' -mindepth 1 -maxdepth 2 -printf"), "{s}");
}

#[test]
fn selection_as_the_module_makes_it() {
    let glob = |g: &str| Regex::new(&format!("^(?s:{})$", crate::glob::to_regex(g))).unwrap();
    let mut sel = Select {
        patterns: vec![glob("*.log")],
        excludes: vec![glob("skip*")],
        file_type: "file",
        age: None,
        size: Some(10),
        hidden: false,
        depth: Some(1),
        mode: None,
    };
    assert!(sel.keeps(&entry('f', "/d/a.log", 1, 10, 0o644), 200.0));
    assert!(!sel.keeps(&entry('f', "/d/a.log", 1, 9, 0o644), 200.0), "too small");
    assert!(!sel.keeps(&entry('f', "/d/skip.log", 1, 10, 0o644), 200.0), "excluded");
    assert!(!sel.keeps(&entry('f', "/d/.h.log", 1, 10, 0o644), 200.0), "hidden");
    assert!(!sel.keeps(&entry('f', "/d/x/a.log", 2, 10, 0o644), 200.0), "too deep");
    assert!(!sel.keeps(&entry('d', "/d/b.log", 1, 10, 0o755), 200.0), "a folder");
    sel.age = Some((60, "mtime"));
    assert!(sel.keeps(&entry('f', "/d/a.log", 1, 10, 0o644), 200.0));
    assert!(!sel.keeps(&entry('f', "/d/a.log", 1, 10, 0o644), 150.0), "too new");
    sel.mode = Some((0o600, true));
    assert!(!sel.keeps(&entry('f', "/d/a.log", 1, 10, 0o644), 200.0));
    assert_eq!(with_unit("-2d", &[('d', 86400)]), Some(-172800));
    assert_eq!(with_unit("3x", &[('d', 86400)]), None);
    let info = stat_info(&entry('f', "/d/a", 1, 3, 0o4755));
    assert_eq!(
        (info["mode"].clone(), info["isuid"].clone(), info["gr_name"].clone()),
        (json!("4755"), json!(true), json!(""))
    );
}

#[tokio::test]
async fn finds_files_in_a_real_folder() {
    let h = Harness::new();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
    for (f, text) in [
        ("a.log", "x\nerror: 1\n"),
        ("b.txt", "y\n"),
        (".h.log", "z\n"),
        ("sub/c.log", "w\n"),
        ("sub/deeper/e.log", "v\n"),
    ] {
        std::fs::write(d.join(f), text).unwrap();
    }
    let paths = |r: &Map| -> Vec<String> {
        let mut v: Vec<String> =
            r["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
        v.sort();
        v
    };
    let root = d.display().to_string();
    let (changed, r) = h.run(&Find, json!({"paths": root, "patterns": "*.log"})).await.unwrap();
    assert!(!changed);
    assert_eq!(paths(&r), [format!("{root}/a.log")]);
    assert_eq!((r["examined"].clone(), r["msg"].clone()), (json!(4), json!("All paths examined")));
    let (_, r) = h
        .run(&Find, json!({"paths": root, "patterns": "*.log", "recurse": true, "depth": 2, "hidden": true}))
        .await
        .unwrap();
    assert_eq!(paths(&r), [format!("{root}/.h.log"), format!("{root}/a.log"), format!("{root}/sub/c.log")]);
    let (_, r) =
        h.run(&Find, json!({"paths": root, "recurse": true, "contains": "error", "get_checksum": true})).await.unwrap();
    assert_eq!(paths(&r), [format!("{root}/a.log")]);
    assert_eq!(r["files"][0]["checksum"], crate::modules::content::sha1_hex(b"x\nerror: 1\n"));
    let (_, r) =
        h.run(&Find, json!({"paths": [root.clone(), format!("{root}/nope")], "file_type": "directory"})).await.unwrap();
    assert_eq!(paths(&r), [format!("{root}/sub")]);
    assert_eq!(r["msg"], "Not all paths examined, check warnings for details");
    assert_eq!(r["skipped_paths"][format!("{root}/nope")], format!("'{root}/nope' is not a directory"));
    let err = h.run(&Find, json!({"paths": root, "limit": 0})).await.unwrap_err();
    assert_eq!(err.to_string(), "limit cannot be 0 (use None for unlimited)");
}
