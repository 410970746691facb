use super::*;
use crate::modules::file_mode::Mode;
use crate::modules::testutil::{err_text, mode_of, Harness};
use serde_json::json;

fn s(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

#[tokio::test]
async fn directory_is_created_once_and_mode_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("a/b");
    let args = json!({"path": s(&d), "state": "directory", "mode": "0750", "owner": "root"});
    let mut h = Harness::new();

    h.check_mode = true;
    let (changed, _) = h.run(&File, args.clone()).await.unwrap();
    assert!(changed);
    assert!(!d.exists(), "check mode leaves the disk alone");

    h.check_mode = false;
    let q = h.query(&File, args.clone()).await.unwrap();
    let diff = q.diff.unwrap_or_default();
    assert!(diff.before.contains("state: absent") && diff.after.contains("mode: 0750"), "{diff:?}");
    let (changed, r) = h.run(&File, args.clone()).await.unwrap();
    assert!(changed);
    assert!(d.is_dir());
    assert_eq!(mode_of(&d), 0o750);
    assert_eq!(r.get("state"), Some(&json!("directory")));
    assert_eq!(r.get("mode"), Some(&json!("0750")));
    assert_eq!(r.get("owner"), Some(&json!("root")));

    let (changed, _) = h.run(&File, args).await.unwrap();
    assert!(!changed, "second run is idempotent");

    // Only the mode differs: just chmod, with a diff of the mode.
    let args = json!({"path": s(&d), "state": "directory", "mode": "u=rwx,go="});
    let q = h.query(&File, args.clone()).await.unwrap();
    let diff = q.diff.unwrap_or_default();
    assert!(diff.before.contains("mode: 0750") && diff.after.contains("mode: 0700"), "{diff:?}");
    h.run(&File, args.clone()).await.unwrap();
    assert_eq!(mode_of(&d), 0o700);
    assert!(!h.run(&File, args).await.unwrap().0);
}

#[tokio::test]
async fn recurse_fixes_entries_below() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("t");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("f"), "").unwrap();
    let h = Harness::new();
    std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let args = json!({"path": s(&d), "state": "directory", "mode": "0755", "recurse": true});
    let (changed, _) = h.run(&File, args.clone()).await.unwrap();
    assert!(changed, "the file inside is 0644");
    assert_eq!(mode_of(&d.join("f")), 0o755);
    assert!(!h.run(&File, args).await.unwrap().0);
}

#[tokio::test]
async fn recurse_takes_a_symbolic_mode() {
    // setup_remote_tmp_dir's cleanup handler: `mode: u+rwx, recurse: yes, follow: no`, no state.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("t");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/f"), "").unwrap();
    let perm = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap()
    };
    perm(&d.join("sub/f"), 0o444);
    perm(&d, 0o755);
    let h = Harness::new();
    let args = json!({"path": s(&d), "mode": "u+rwx", "recurse": true, "follow": false});
    let (changed, r) = h.run(&File, args.clone()).await.unwrap();
    assert!(changed, "sub/f lacks u+wx");
    assert_eq!(r["state"], json!("directory"));
    assert_eq!((mode_of(&d.join("sub/f")), mode_of(&d.join("sub")), mode_of(&d)), (0o744, 0o755, 0o755));
    assert!(!h.run(&File, args).await.unwrap().0, "every entry has u+rwx now");
    // `X` is decided per entry: directories get x, a file without any x does not.
    perm(&d.join("sub/f"), 0o600);
    let args = json!({"path": s(&d), "mode": "go+rX", "recurse": true});
    assert!(h.run(&File, args.clone()).await.unwrap().0);
    assert_eq!(mode_of(&d.join("sub/f")), 0o644);
    assert!(!h.run(&File, args).await.unwrap().0);
}

#[test]
fn recurse_listing_is_compared_entry_kind_by_entry_kind() {
    let attrs = Attrs::new(Some(Mode::parse("a+X").unwrap()), None, None);
    assert!(!recurse_differs(&attrs, "755 d 0 root 0 root\n644 f 0 root 0 root\n"));
    assert!(recurse_differs(&attrs, "644 d 0 root 0 root\n"));
    let attrs = Attrs::new(None, Some("1234".into()), None);
    assert!(recurse_differs(&attrs, "755 d 0 root 0 root\n"));
    assert!(!recurse_differs(&attrs, "755 d 1234 1234 0 root\n"));
}

#[tokio::test]
async fn file_touch_and_absent() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    let h = Harness::new();
    let e = err_text(h.run(&File, json!({"path": s(&f), "state": "file"})).await);
    assert_eq!(e, format!("file ({}) is absent, cannot continue", s(&f)));

    let (changed, r) = h.run(&File, json!({"path": s(&f), "state": "touch", "mode": "0600"})).await.unwrap();
    assert!(changed && f.is_file());
    assert_eq!(mode_of(&f), 0o600);
    assert_eq!(r.get("dest"), Some(&json!(s(&f))));

    let (changed, r) = h.run(&File, json!({"path": s(&f), "mode": 0o640})).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("state"), Some(&json!("file")));
    assert_eq!(mode_of(&f), 0o640);
    assert!(!h.run(&File, json!({"path": s(&f), "state": "file", "mode": "640"})).await.unwrap().0);

    let e = err_text(h.run(&File, json!({"path": s(dir.path()), "state": "file"})).await);
    assert!(e.contains("already exists as a directory"), "{e}");

    let (changed, r) = h.run(&File, json!({"path": s(&f), "state": "absent"})).await.unwrap();
    assert!(changed && !f.exists());
    assert_eq!(r.get("state"), Some(&json!("absent")));
    assert!(!h.run(&File, json!({"path": s(&f), "state": "absent"})).await.unwrap().0);
}

#[tokio::test]
async fn symlinks_and_hard_links() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let other = dir.path().join("other");
    std::fs::write(&target, "t").unwrap();
    std::fs::write(&other, "o").unwrap();
    let l = dir.path().join("l");
    let h = Harness::new();

    let args = json!({"path": s(&l), "src": s(&target), "state": "link"});
    let (changed, r) = h.run(&File, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(std::fs::read_link(&l).ok(), Some(target.clone()));
    assert_eq!(r.get("state"), Some(&json!("link")));
    assert!(!h.run(&File, args).await.unwrap().0);

    // Repoint an existing link.
    let (changed, _) = h.run(&File, json!({"path": s(&l), "src": s(&other), "state": "link"})).await.unwrap();
    assert!(changed);
    assert_eq!(std::fs::read_link(&l).ok(), Some(other.clone()));

    // A regular file is only replaced with force.
    let e = err_text(h.run(&File, json!({"path": s(&target), "src": s(&other), "state": "link"})).await);
    assert!(e.contains("refusing to convert from file to symlink"), "{e}");
    let e = err_text(h.run(&File, json!({"path": s(&l), "src": "/no/such", "state": "link"})).await);
    assert!(e.contains("src file does not exist"), "{e}");

    let hl = dir.path().join("hl");
    let args = json!({"path": s(&hl), "src": s(&target), "state": "hard"});
    assert!(h.run(&File, args.clone()).await.unwrap().0);
    assert_eq!(std::fs::read_to_string(&hl).ok().as_deref(), Some("t"));
    assert!(!h.run(&File, args).await.unwrap().0);
}

#[tokio::test]
async fn bad_arguments() {
    let h = Harness::new();
    let e = err_text(h.run(&File, json!({"path": "/tmp/x", "state": "dir"})).await);
    // Ansible's own texts, from the spec.
    assert_eq!(e, "value of state must be one of: absent, directory, file, hard, link, touch, got: dir");
    let e = err_text(h.run(&File, json!({"state": "touch", "bogus": 1})).await);
    assert_eq!(e, "missing required arguments: path");
    let e = err_text(h.run(&File, json!({"path": "/tmp/x", "recurse": "maybe"})).await);
    assert!(e.starts_with("argument 'recurse' is of type str and we were unable to convert to bool"), "{e}");
    let e = err_text(h.run(&File, json!({"path": "/nonexistent/x", "state": "hard"})).await);
    assert_eq!(e, "src is required for creating new hardlinks");
    let e = err_text(h.run(&File, json!({"path": "/nonexistent/x", "src": "/nonexistent/y", "state": "hard"})).await);
    assert_eq!(e, "src does not exist");
    let e = err_text(h.run(&File, json!({"path": "/tmp", "src": "/etc/hosts"})).await);
    assert_eq!(e, "src option requires state to be 'link' or 'hard'");
    let e = err_text(h.run(&File, json!({"path": "/tmp/x", "state": "file", "recurse": true})).await);
    assert_eq!(e, "recurse option requires state to be 'directory'");
    let e = err_text(h.run(&File, json!({"path": "/nonexistent/x", "state": "link"})).await);
    assert_eq!(e, "src is required for creating new symlinks");
    let e = err_text(h.run(&File, json!({"path": "/", "state": "absent"})).await);
    assert!(e.contains("refusing to remove /"), "{e}");
}

#[tokio::test]
async fn diff_mode_returns_ansibles_structured_diff() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/f"), "").unwrap();
    let mut h = Harness::new();
    std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (_, r) = h.run(&File, json!({"path": s(&d), "mode": "0700"})).await.unwrap();
    assert_eq!(r["diff"], json!({"before": {"path": s(&d), "mode": "0755"}, "after": {"path": s(&d), "mode": "0700"}}));
    // Unchanged: the path alone, as Ansible's `initial_diff`.
    let (_, r) = h.run(&File, json!({"path": s(&d), "mode": "0700"})).await.unwrap();
    assert_eq!(r["diff"], json!({"before": {"path": s(&d)}, "after": {"path": s(&d)}}));

    let link = dir.path().join("l");
    h.run(&File, json!({"path": s(&link), "src": "d", "state": "link"})).await.unwrap();
    let (_, r) = h.run(&File, json!({"path": s(&link), "src": "d/sub", "state": "link"})).await.unwrap();
    assert_eq!((r["diff"]["before"]["src"].clone(), r["diff"]["after"]["src"].clone()), (json!("d"), json!("d/sub")));

    // state=link without src keeps an existing link as it is.
    let args = json!({"path": s(&link), "state": "link", "mode": "0600", "follow": false});
    let (changed, r) = h.run(&File, args).await.unwrap();
    assert!(!changed && r["src"] == json!("d/sub"), "{r:?}");

    h.check_mode = true;
    let (_, r) = h.run(&File, json!({"path": s(&d), "state": "absent"})).await.unwrap();
    let before = &r["diff"]["before"];
    assert_eq!((before["state"].clone(), r["diff"]["after"]["state"].clone()), (json!("directory"), json!("absent")));
    assert_eq!(before["path_content"]["directories"], json!([s(&d.join("sub"))]));
    assert_eq!(before["path_content"]["files"], json!([s(&d.join("sub/f"))]));

    // No diff mode, no diff (the module pops it).
    h.diff = false;
    let (_, r) = h.run(&File, json!({"path": s(&d), "state": "absent"})).await.unwrap();
    assert!(r.get("diff").is_none());
}

#[tokio::test]
async fn a_links_mode_goes_to_its_target_unless_follow_is_off() {
    // ansible/ansible#56928: state=link with mode sets the original file's mode.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("orig");
    std::fs::write(&f, "").unwrap();
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let link = dir.path().join("l");
    let h = Harness::new();
    let args = json!({"path": s(&link), "src": s(&f), "state": "link", "mode": "0700"});
    assert!(h.run(&File, args.clone()).await.unwrap().0);
    assert_eq!(mode_of(&f), 0o700);
    assert!(!h.run(&File, args).await.unwrap().0);
    let args = json!({"path": s(&link), "state": "link", "mode": "0600", "follow": false});
    assert!(!h.run(&File, args).await.unwrap().0);
    assert_eq!(mode_of(&f), 0o700, "follow: false leaves the target alone");
}

#[tokio::test]
async fn force_replaces_an_empty_directory_with_a_link_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("sub1");
    std::fs::create_dir_all(d.join("x")).unwrap();
    let h = Harness::new();
    let args = json!({"path": s(&d), "src": "/etc/hosts", "state": "link", "force": true});
    let e = err_text(h.run(&File, args.clone()).await);
    assert!(e.contains(&format!("the directory {} is not empty, refusing to convert it", s(&d))), "{e}");
    assert!(d.is_dir());
    let e = err_text(h.run(&File, json!({"path": s(&d), "src": "/etc/hosts", "state": "link"})).await);
    assert_eq!(e, format!("refusing to convert from directory to symlink for {}", s(&d)));
    std::fs::remove_dir(d.join("x")).unwrap();
    assert!(h.run(&File, args).await.unwrap().0);
    assert!(d.symlink_metadata().unwrap().file_type().is_symlink());
}

#[tokio::test]
async fn modification_and_access_times() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, "").unwrap();
    let h = Harness::new();
    let keep = json!({"path": s(&f), "state": "touch", "modification_time": "preserve", "access_time": "preserve"});
    assert!(!h.run(&File, keep).await.unwrap().0, "touch keeping both times changes nothing");
    assert!(h.run(&File, json!({"path": s(&f), "state": "touch"})).await.unwrap().0, "touch is `now` by default");

    let args = json!({"path": s(&f), "modification_time": "202001011230.05"});
    let (changed, r) = h.run(&File, args.clone()).await.unwrap();
    assert!(changed);
    assert!(r["diff"]["after"]["mtime"].is_number(), "{r:?}");
    let out = std::process::Command::new("date").args(["-d", "2020-01-01 12:30:05", "+%s"]).output().unwrap();
    let want: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    assert_eq!(mtime.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(), want);
    assert!(!h.run(&File, args).await.unwrap().0);
    let e = err_text(h.run(&File, json!({"path": s(&f), "modification_time": "2020"})).await);
    assert!(e.starts_with("Error while obtaining timestamp for time 2020 using format %Y%m%d%H%M.%S"), "{e}");
}

#[tokio::test]
async fn diff_peek_says_whether_a_file_looks_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (t, b) = (dir.path().join("t"), dir.path().join("b"));
    std::fs::write(&t, "text\n").unwrap();
    std::fs::write(&b, b"a\0b").unwrap();
    let h = Harness::new();
    let (changed, r) = h.run(&File, json!({"path": s(&t), "_diff_peek": true})).await.unwrap();
    assert!(!changed && r["appears_binary"] == json!(false), "{r:?}");
    let (_, r) = h.run(&File, json!({"path": s(&b), "_diff_peek": true})).await.unwrap();
    assert_eq!(r["appears_binary"], json!(true));
}

#[tokio::test]
async fn a_touched_file_whose_owner_cannot_be_set_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("new");
    let h = Harness::new();
    let args = json!({"path": s(&f), "state": "touch", "owner": "no-such-user-troupe"});
    assert!(h.run(&File, args).await.is_err());
    assert!(!f.exists(), "the file touch made is gone again");
    assert!(h.run(&File, json!({"path": s(&f), "state": "touch", "mode": "0600"})).await.unwrap().0);
    assert_eq!(mode_of(&f), 0o600);
}
