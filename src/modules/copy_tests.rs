use super::*;
use crate::modules::testutil::{err_text, mode_of, text, Harness};
use crate::modules::{copy_dir, copy_tree};
use serde_json::json;

#[tokio::test]
async fn content_write_is_idempotent_and_mode_only_changes_chmod() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("c.txt");
    let d = dest.to_string_lossy().into_owned();
    let mut h = Harness::new();
    let args = json!({"content": "hello\n", "dest": d, "mode": "0640", "owner": "root", "group": "root"});

    h.check_mode = true;
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert!(!dest.exists(), "check mode writes nothing");
    h.check_mode = false;

    let (changed, r) = h.run(&Copy, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(text(&dest), "hello\n");
    assert_eq!(mode_of(&dest), 0o640);
    assert_eq!(r.get("checksum"), Some(&json!("f572d396fae9206628714fb2ce00f72e94f2258f")));
    assert_eq!(r.get("dest"), Some(&json!(d)));
    assert_eq!(r.get("owner"), Some(&json!("root")));
    assert!(!h.run(&Copy, args).await.unwrap().0, "same content: ok");

    // Same content, other mode: only chmod, the inode stays.
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&dest).unwrap());
    let args = json!({"content": "hello\n", "dest": d, "mode": "0600"});
    let q = h.query(&Copy, args.clone()).await.unwrap();
    let diff = q.diff.unwrap_or_default();
    assert_eq!((diff.before.as_str(), diff.after.as_str()), ("mode: 0640\n", "mode: 0600\n"));
    assert!(h.run(&Copy, args).await.unwrap().0);
    assert_eq!(mode_of(&dest), 0o600);
    assert_eq!(std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&dest).unwrap()), inode);

    // force: false never rewrites an existing file.
    let args = json!({"content": "other", "dest": d, "force": false});
    assert!(!h.run(&Copy, args).await.unwrap().0);
    assert_eq!(text(&dest), "hello\n");
}

#[tokio::test]
async fn src_file_goes_into_a_folder_dest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("files")).unwrap();
    std::fs::write(dir.path().join("files/app.bin"), [0u8, 1, 2, 255]).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut h = Harness::new();
    h.search = vec![dir.path().to_path_buf()];
    for dest in [out.to_string_lossy().into_owned(), format!("{}/", out.display())] {
        let args = json!({"src": "app.bin", "dest": dest});
        let (_, r) = h.run(&Copy, args.clone()).await.unwrap();
        assert_eq!(std::fs::read(out.join("app.bin")).ok(), Some(vec![0u8, 1, 2, 255]));
        assert_eq!(r.get("dest"), Some(&json!(format!("{}/app.bin", out.display()))));
        assert!(!h.run(&Copy, args).await.unwrap().0);
    }
}

#[tokio::test]
async fn errors() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::new();
    let d = dir.path().to_string_lossy().into_owned();
    let e = err_text(h.run(&Copy, json!({"content": "x", "dest": d})).await);
    assert_eq!(e, "can not use content with a dir as dest");
    let e = err_text(h.run(&Copy, json!({"src": "nope.txt", "dest": d})).await);
    assert!(e.starts_with("Could not find or access 'nope.txt'\nSearched in:"), "{e}");
    assert!(e.ends_with("see the remote_src option"), "{e}");
    let e = err_text(h.run(&Copy, json!({"src": "a", "content": "b", "dest": d})).await);
    assert!(e.contains("mutually exclusive"), "{e}");
    let e = err_text(h.run(&Copy, json!({"content": "b"})).await);
    assert_eq!(e, "dest is required");
}

/// A controller folder: `conf.d/` copies its content, `conf.d` the folder itself; folders get
/// directory_mode, files mode; a second run changes nothing; check mode writes nothing.
#[tokio::test]
async fn src_folder_copies_content_or_itself() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("files/conf.d/sub/empty")).unwrap();
    std::fs::write(dir.path().join("files/conf.d/a.conf"), "a\n").unwrap();
    std::fs::write(dir.path().join("files/conf.d/sub/b.conf"), "b\n").unwrap();
    let out = dir.path().join("out");
    let mut h = Harness::new();
    h.search = vec![dir.path().to_path_buf()];
    let d = format!("{}/etc/app", out.display());
    let args = json!({"src": "conf.d/", "dest": d, "mode": "0600", "directory_mode": "0750"});

    h.check_mode = true;
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert!(!out.exists(), "check mode makes nothing");
    h.check_mode = false;

    let (changed, r) = h.run(&Copy, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("dest"), Some(&json!(format!("{d}/"))));
    assert_eq!(r.get("src"), Some(&json!(format!("{}/files/conf.d/", dir.path().display()))));
    assert_eq!(text(&out.join("etc/app/a.conf")), "a\n");
    assert_eq!(text(&out.join("etc/app/sub/b.conf")), "b\n");
    assert_eq!(mode_of(&out.join("etc/app/sub/b.conf")), 0o600);
    assert_eq!(mode_of(&out.join("etc/app/sub")), 0o750);
    assert_eq!(mode_of(&out.join("etc/app/sub/empty")), 0o750);
    assert_eq!(mode_of(&out.join("etc")), 0o750, "folders made on the way get directory_mode");
    assert!(!h.run(&Copy, args.clone()).await.unwrap().0, "second run: ok");

    // One file changed on the controller: only it is written.
    std::fs::write(dir.path().join("files/conf.d/a.conf"), "A\n").unwrap();
    let inode = |p: &std::path::Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let before = inode(&out.join("etc/app/sub/b.conf"));
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert_eq!(text(&out.join("etc/app/a.conf")), "A\n");
    assert_eq!(inode(&out.join("etc/app/sub/b.conf")), before);

    // Without the slash the folder itself goes into dest.
    let args = json!({"src": "conf.d", "dest": d});
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert_eq!(text(&out.join("etc/app/conf.d/sub/b.conf")), "b\n");
    assert!(out.join("etc/app/conf.d/sub/empty").is_dir());
    assert!(!h.run(&Copy, args).await.unwrap().0);
}

#[tokio::test]
async fn src_folder_links_and_single_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tree")).unwrap();
    std::fs::write(dir.path().join("tree/real"), "r\n").unwrap();
    std::os::unix::fs::symlink("real", dir.path().join("tree/alias")).unwrap();
    let out = dir.path().join("out");
    let mut h = Harness::new();
    h.search = vec![dir.path().to_path_buf()];
    let d = out.to_string_lossy().into_owned();
    let args = json!({"src": "tree/", "dest": d, "local_follow": false});
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert_eq!(std::fs::read_link(out.join("alias")).unwrap().to_string_lossy(), "real");
    assert!(!h.run(&Copy, args).await.unwrap().0);
    // Followed (the default), the link is a file with the target's content.
    let out2 = dir.path().join("out2");
    let args = json!({"src": "tree/", "dest": out2.to_string_lossy()});
    assert!(h.run(&Copy, args).await.unwrap().0);
    assert_eq!(text(&out2.join("alias")), "r\n");
    assert!(!out2.join("alias").is_symlink());

    // A folder with one file: the file's own result, as Ansible returns it.
    std::fs::create_dir_all(dir.path().join("one")).unwrap();
    std::fs::write(dir.path().join("one/x"), "hello\n").unwrap();
    let args = json!({"src": "one/", "dest": format!("{d}/one")});
    let (_, r) = h.run(&Copy, args).await.unwrap();
    assert_eq!(r.get("checksum"), Some(&json!("f572d396fae9206628714fb2ce00f72e94f2258f")));
    assert_eq!(r.get("dest"), Some(&json!(format!("{d}/one/x"))));
}

#[test]
fn walk_names_paths_as_ansible() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("c/s")).unwrap();
    std::fs::write(dir.path().join("c/s/f"), "").unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("c/s/up")).unwrap();
    let t = copy_dir::walk(&dir.path().join("c"), false, true).unwrap();
    assert_eq!(t.dirs, vec!["c/s"]);
    assert_eq!(t.files.iter().map(|f| f.1.as_str()).collect::<Vec<_>>(), vec!["c/s/f"]);
    assert_eq!(t.links, vec![("..".to_string(), "c/s/up".to_string())], "a loop stays a link");
    let t = copy_dir::walk(&dir.path().join("c"), true, true).unwrap();
    assert_eq!(t.dirs, vec!["s"]);
}

#[tokio::test]
async fn remote_src_file_to_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.txt");
    std::fs::write(&src, "hello\n").unwrap();
    let s = src.to_string_lossy().into_owned();
    let d = dir.path().join("out.txt").to_string_lossy().into_owned();
    let mut h = Harness::new();
    let args = json!({"src": s, "dest": d, "remote_src": true, "mode": "0640"});
    h.check_mode = true;
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert!(!std::path::Path::new(&d).exists());
    h.check_mode = false;
    let (changed, r) = h.run(&Copy, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(text(std::path::Path::new(&d)), "hello\n");
    assert_eq!(mode_of(std::path::Path::new(&d)), 0o640);
    assert_eq!(r.get("checksum"), Some(&json!("f572d396fae9206628714fb2ce00f72e94f2258f")));
    assert_eq!(r.get("md5sum"), Some(&json!("b1946ac92492d2347c6235b4d2611184")));
    assert_eq!(r.get("src"), Some(&json!(s)));
    assert!(!h.run(&Copy, args.clone()).await.unwrap().0);
    // Into a folder, under the source's name.
    let args = json!({"src": s, "dest": format!("{}/", dir.path().display()), "remote_src": true});
    let (changed, r) = h.run(&Copy, args).await.unwrap();
    assert!(!changed, "the source itself: same content");
    assert_eq!(r.get("dest"), Some(&json!(s)));
    let bad = json!({"src": s, "dest": d, "remote_src": true, "checksum": "0123"});
    match h.run(&Copy, bad).await {
        Err(ModuleError::Failed { msg, result }) => {
            assert_eq!(msg, "Copied file does not match the expected checksum. Transfer failed.");
            assert_eq!(result.get("expected_checksum"), Some(&json!("0123")));
        }
        other => panic!("{other:?}"),
    }
    let e = err_text(h.run(&Copy, json!({"src": "/nope/x", "dest": d, "remote_src": true})).await);
    assert_eq!(e, "Source /nope/x not found");
    let e = err_text(h.run(&Copy, json!({"src": s, "dest": "/nope/x/y", "remote_src": true})).await);
    assert_eq!(e, "Destination directory /nope/x does not exist");
}

#[tokio::test]
async fn remote_src_folder_to_folder() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("tree");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a"), "a\n").unwrap();
    std::fs::write(src.join("sub/b"), "b\n").unwrap();
    std::os::unix::fs::symlink("a", src.join("link")).unwrap();
    let s = src.to_string_lossy().into_owned();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut h = Harness::new();
    let args = json!({"src": s, "dest": out.to_string_lossy(), "remote_src": true});
    h.check_mode = true;
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert!(!out.join("tree").exists());
    h.check_mode = false;
    let (changed, r) = h.run(&Copy, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("dest"), Some(&json!(format!("{}/tree", out.display()))));
    assert_eq!(r.get("checksum"), Some(&json!(null)));
    assert_eq!(text(&out.join("tree/sub/b")), "b\n");
    assert!(out.join("tree/link").is_symlink(), "a new tree keeps links");
    assert!(!h.run(&Copy, args.clone()).await.unwrap().0);

    // Content with a slash: into dest itself; a changed and a new file are copied, extra stays.
    let args = json!({"src": format!("{s}/"), "dest": out.join("tree").to_string_lossy(), "remote_src": true});
    std::fs::write(src.join("sub/b"), "B\n").unwrap();
    std::fs::write(src.join("sub/c"), "c\n").unwrap();
    std::fs::write(out.join("tree/extra"), "x\n").unwrap();
    h.check_mode = true;
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert_eq!(text(&out.join("tree/sub/b")), "b\n");
    h.check_mode = false;
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert_eq!(text(&out.join("tree/sub/b")), "B\n");
    assert_eq!(text(&out.join("tree/sub/c")), "c\n");
    assert_eq!(text(&out.join("tree/extra")), "x\n");
    assert!(!h.run(&Copy, args).await.unwrap().0);
}

#[test]
fn tree_plan_is_shell_for_what_differs() {
    let entry = |kind, sum: Option<&str>| copy_tree::Entry {
        kind,
        target_kind: kind,
        mode: 0o644,
        owner: "root".into(),
        group: "root".into(),
        sha1: sum.map(str::to_string),
        ..Default::default()
    };
    let tree = |items: &[(&str, copy_tree::Entry)]| copy_tree::Tree {
        entries: items.iter().map(|(p, e)| (p.to_string(), e.clone())).collect(),
    };
    let from = tree(&[("", entry('d', None)), ("a", entry('f', Some("1"))), ("n", entry('f', Some("2")))]);
    let to = tree(&[("", entry('d', None)), ("a", entry('f', Some("1"))), ("x", entry('f', Some("3")))]);
    let none = (None, None);
    let s = copy_tree::plan("/s", "/d", &from, &to, None, &none);
    assert!(s.contains("cat < /s/n > \"$t\"") && s.contains("mv -f -- \"$t\" /d/n"), "{s}");
    assert!(!s.contains("/d/a") && !s.contains("/d/x"), "{s}");
    assert_eq!(copy_tree::plan("/s", "/d", &from, &from, None, &none), "");
    // dircmp's ignored names are not copied into an existing folder.
    let git = tree(&[("", entry('d', None)), (".git", entry('d', None)), (".git/HEAD", entry('f', Some("4")))]);
    assert_eq!(copy_tree::plan("/s", "/d", &git, &to, None, &none), "");
    let s = copy_tree::plan("/s", "/d", &from, &from, None, &(Some("app".into()), None));
    assert_eq!(s.matches("chown -h -- app").count(), 3, "{s}");
    let out = b"@src\0d d 755 0 0 root root\0\0\0f f 644 0 0 root root\0a\0\0@sums\0abc  ./a\0";
    let (src, dst) = copy_tree::parse_lists(out).unwrap();
    assert_eq!(src.entries["a"].sha1.as_deref(), Some("abc"));
    assert_eq!(src.entries[""].mode, 0o755);
    assert!(dst.is_none());
}

#[tokio::test]
async fn mode_preserve_and_remote_check_mode_message() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("files/t")).unwrap();
    let exe = dir.path().join("files/t/run.sh");
    std::fs::write(&exe, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o751)).unwrap();
    let mut h = Harness::new();
    h.search = vec![dir.path().to_path_buf()];
    let out = dir.path().join("out");
    let args = json!({"src": "t/", "dest": out.to_string_lossy(), "mode": "preserve"});
    assert!(h.run(&Copy, args).await.unwrap().0);
    assert_eq!(mode_of(&out.join("run.sh")), 0o751);
    let args = json!({"src": "t/run.sh", "dest": out.join("one.sh").to_string_lossy(), "mode": "preserve"});
    assert!(h.run(&Copy, args).await.unwrap().0);
    assert_eq!(mode_of(&out.join("one.sh")), 0o751);

    // remote_src into a missing folder: check mode says it would be made, as the module does.
    h.check_mode = true;
    let dest = format!("{}/new/", dir.path().display());
    let args = json!({"src": exe.to_string_lossy(), "dest": dest, "remote_src": true});
    let (changed, r) = h.run(&Copy, args).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("msg"), Some(&json!(format!("dest directory {}/new would be created", dir.path().display()))));
    h.check_mode = false;
    let args = json!({"src": exe.to_string_lossy(), "dest": dest, "remote_src": true, "directory_mode": "0700"});
    let (_, r) = h.run(&Copy, args).await.unwrap();
    assert_eq!(r.get("dest"), Some(&json!(format!("{dest}run.sh"))));
    assert_eq!(mode_of(&dir.path().join("new")), 0o700);
}

/// A folder's small files go in one command: empty, binary and oddly named ones too; `backup`
/// names each file's own copy.
#[tokio::test]
async fn src_folder_writes_together_with_backups() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("files/mix");
    std::fs::create_dir_all(&src).unwrap();
    let bin: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    std::fs::write(src.join("empty"), "").unwrap();
    std::fs::write(src.join("bin"), &bin).unwrap();
    std::fs::write(src.join("it's a name"), "q\n").unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("bin"), "old").unwrap();
    let mut h = Harness::new();
    h.search = vec![dir.path().to_path_buf()];
    let args = json!({"src": "mix/", "dest": out.to_string_lossy(), "backup": true});
    assert!(h.run(&Copy, args.clone()).await.unwrap().0);
    assert_eq!(std::fs::read(out.join("bin")).unwrap(), bin);
    assert_eq!(std::fs::read(out.join("empty")).unwrap(), b"");
    assert_eq!(text(&out.join("it's a name")), "q\n");
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 4, "one backup, of the file that existed: {names:?}");
    assert!(names.iter().any(|n| n.starts_with("bin.") && n.ends_with('~')), "{names:?}");
    assert!(!h.run(&Copy, args).await.unwrap().0);
}
