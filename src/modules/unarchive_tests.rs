use super::*;
use crate::modules::testutil::{err_text, mode_of, text, Harness};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// `files/<name>` in `root`, made by `tar -czf` (or `zip`) from `app/bin/tool` and `app/README`.
fn make_archive(root: &Path, name: &str, readme: &str) {
    let stage = root.join("stage");
    std::fs::create_dir_all(stage.join("app/bin")).unwrap();
    std::fs::write(stage.join("app/bin/tool"), "#!/bin/sh\n").unwrap();
    std::fs::write(stage.join("app/README"), readme).unwrap();
    std::fs::create_dir_all(root.join("files")).unwrap();
    let out = root.join("files").join(name);
    let _ = std::fs::remove_file(&out);
    let status = if name.ends_with(".zip") {
        Command::new("zip").arg("-qr").arg(&out).arg("app").current_dir(&stage).status()
    } else {
        Command::new("tar").arg("-czf").arg(&out).arg("-C").arg(&stage).arg("app").status()
    };
    assert!(status.unwrap().success());
}

#[tokio::test]
async fn extracts_a_tar_gz_once_and_again_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    make_archive(dir.path(), "app.tar.gz", "v1\n");
    let dest = dir.path().join("opt");
    std::fs::create_dir(&dest).unwrap();
    let mut h = Harness::new();
    h.search = vec![dir.path().to_path_buf()];
    let args = json!({"src": "app.tar.gz", "dest": dest.to_string_lossy(), "list_files": true, "mode": "u+rwx,go-w"});

    h.check_mode = true;
    assert!(h.run(&Unarchive, args.clone()).await.unwrap().0);
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0, "check mode extracts nothing");
    h.check_mode = false;

    let (changed, r) = h.run(&Unarchive, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(text(&dest.join("app/README")), "v1\n");
    assert_eq!(mode_of(&dest.join("app/bin")) & 0o700, 0o700);
    assert_eq!(r.get("handler"), Some(&json!("TarArchive")));
    let files = r.get("files").and_then(Value::as_array).cloned().unwrap_or_default();
    assert!(files.contains(&json!("app/README")), "{files:?}");
    let marker = marker_path(&dest.to_string_lossy(), "app.tar.gz");
    assert!(Path::new(&marker).exists());
    // Only the extracted tree and the marker: the uploaded temp file is gone.
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 2);

    assert!(!h.run(&Unarchive, args.clone()).await.unwrap().0, "same archive: ok");

    make_archive(dir.path(), "app.tar.gz", "v2\n");
    assert!(h.run(&Unarchive, args.clone()).await.unwrap().0);
    assert_eq!(text(&dest.join("app/README")), "v2\n");
    assert!(!h.run(&Unarchive, args).await.unwrap().0);
}

#[tokio::test]
async fn remote_src_zip_extra_opts_and_creates() {
    let dir = tempfile::tempdir().unwrap();
    make_archive(dir.path(), "app.zip", "zipped\n");
    let src = dir.path().join("files/app.zip").to_string_lossy().into_owned();
    let dest = dir.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    let h = Harness::new();
    let args = json!({"src": src, "dest": dest.to_string_lossy(), "remote_src": true, "extra_opts": ["-j"]});
    let (changed, r) = h.run(&Unarchive, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("handler"), Some(&json!("ZipArchive")));
    // `-j` (junk paths) reached unzip: no folders.
    assert_eq!(text(&dest.join("README")), "zipped\n");
    assert!(dest.join("tool").exists() && !dest.join("app").exists());
    assert!(!h.run(&Unarchive, args).await.unwrap().0);

    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let creates = dest.join("README").to_string_lossy().into_owned();
    let args = json!({"src": src, "dest": other.to_string_lossy(), "remote_src": true, "creates": creates});
    let (changed, r) = h.run(&Unarchive, args).await.unwrap();
    assert!(!changed);
    assert_eq!(r.get("msg"), Some(&json!(format!("skipped, since {creates} exists"))));
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 0);
}

#[tokio::test]
async fn errors() {
    let dir = tempfile::tempdir().unwrap();
    make_archive(dir.path(), "app.tar.gz", "x");
    let mut h = Harness::new();
    h.search = vec![dir.path().to_path_buf()];
    let missing = dir.path().join("nope").to_string_lossy().into_owned();
    let e = err_text(h.run(&Unarchive, json!({"src": "app.tar.gz", "dest": missing})).await);
    assert_eq!(e, format!("dest '{missing}' must be an existing dir"));
    let d = dir.path().to_string_lossy().into_owned();
    let e = err_text(h.run(&Unarchive, json!({"src": "none.tgz", "dest": d})).await);
    assert!(e.starts_with("Could not find or access 'none.tgz'"), "{e}");
    let e = err_text(h.run(&Unarchive, json!({"src": missing, "dest": d, "remote_src": true})).await);
    assert_eq!(e, format!("Source '{missing}' does not exist"));
    let e = err_text(h.run(&Unarchive, json!({"src": "https://x/a.tgz", "dest": d, "remote_src": true})).await);
    assert!(e.contains("not supported"), "{e}");
    // A corrupt archive fails with tar's message.
    std::fs::write(dir.path().join("files/bad.tar.gz"), "not an archive").unwrap();
    let e = err_text(h.run(&Unarchive, json!({"src": "bad.tar.gz", "dest": d})).await);
    assert!(e.starts_with(&format!("extracting into {d} failed")), "{e}");
    assert!(!Path::new(&marker_path(&d, "bad.tar.gz")).exists());
}

#[test]
fn marker_is_named_after_the_archive() {
    assert_eq!(marker_path("/opt/", "files/etcd-v3.5.tar.gz"), "/opt/.troupe-unarchive-etcd-v3.5.tar.gz.sha1");
}
