use super::*;
use crate::modules::testutil::{err_text, mode_of, text, Harness};
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
    assert!(e.contains("could not find src \"nope.txt\""), "{e}");
    let e = err_text(h.run(&Copy, json!({"src": "a", "content": "b", "dest": d})).await);
    assert!(e.contains("mutually exclusive"), "{e}");
    let e = err_text(h.run(&Copy, json!({"content": "b"})).await);
    assert_eq!(e, "dest is required");
}
