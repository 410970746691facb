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
    // Only the extracted tree: the uploaded temporary archive is not left in dest.
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);

    let (changed, r) = h.run(&Unarchive, args.clone()).await.unwrap();
    assert!(!changed, "same archive, same tree: ok");
    let files = r.get("files").and_then(Value::as_array).cloned().unwrap_or_default();
    assert!(files.contains(&json!("app/README")), "list_files without a change: {files:?}");

    // The tree is compared, not a record of the last run: an edit or a removal is noticed.
    std::fs::write(dest.join("app/README"), "edited\n").unwrap();
    assert!(h.run(&Unarchive, args.clone()).await.unwrap().0, "an edited file is extracted again");
    assert_eq!(text(&dest.join("app/README")), "v1\n");
    std::fs::remove_file(dest.join("app/bin/tool")).unwrap();
    assert!(h.run(&Unarchive, args.clone()).await.unwrap().0, "a removed file is extracted again");
    assert!(dest.join("app/bin/tool").exists());
    assert!(!h.run(&Unarchive, args.clone()).await.unwrap().0);

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
    assert!(!h.run(&Unarchive, args.clone()).await.unwrap().0);
    std::fs::write(dest.join("README"), "zipped?\n").unwrap();
    assert!(h.run(&Unarchive, args.clone()).await.unwrap().0, "an edited member is extracted again");
    assert_eq!(text(&dest.join("README")), "zipped\n");
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
    // A corrupt archive fails with tar's message, before anything is extracted.
    std::fs::write(dir.path().join("files/bad.tar.gz"), "not an archive").unwrap();
    let e = err_text(h.run(&Unarchive, json!({"src": "bad.tar.gz", "dest": d})).await);
    assert!(e.starts_with("Unable to compare the archive with the destination:"), "{e}");
    assert!(e.contains("does not look like a tar archive"), "{e}");
}

#[test]
fn tar_diff_lines_are_read_with_ansibles_rules() {
    let none = Attrs::default();
    let with_all = Attrs { mode: Some("0755".into()), owner: Some("app".into()), group: Some("app".into()) };
    for line in [
        "app/README: Mod time differs",
        "app/README: Size differs",
        "app/README: Contents differ",
        "app/link: Symlink differs",
        "tar: app/bin/tool: Warning: Cannot stat: No such file or directory",
        "app/x: Invalid owner",
    ] {
        assert!(tar_line_differs(line, false, &none), "{line}");
        assert!(tar_line_differs(line, true, &with_all), "{line}");
    }
    // Owner and group count only for root and when not set by the task; mode only when not set.
    assert!(tar_line_differs("app: Uid differs", true, &none));
    assert!(!tar_line_differs("app: Uid differs", false, &none));
    assert!(!tar_line_differs("app: Uid differs", true, &with_all));
    assert!(tar_line_differs("app: Gid differs", true, &none));
    assert!(!tar_line_differs("app: Gid differs", true, &with_all));
    assert!(tar_line_differs("app: Mode differs", false, &none));
    assert!(!tar_line_differs("app: Mode differs", false, &with_all));
    assert!(!tar_line_differs("tar: : Warning: Cannot stat: No such file or directory", true, &none));
    assert!(!tar_line_differs("", true, &none));
}

#[test]
fn compare_output_decides_and_tar_trouble_is_an_error() {
    let none = Attrs::default();
    assert_eq!(needs_extract("@troupe-uid 0\n@troupe-differ \n@troupe-rc 0\n", &none), Ok(false));
    assert_eq!(needs_extract("@troupe-uid 0\n@troupe-differ a: Uid differs\n@troupe-rc 1\n", &none), Ok(true));
    assert_eq!(needs_extract("@troupe-uid 0\n@troupe-rc 0\n@troupe-attrs\n", &none), Ok(true));
    // Names listed by `list_files` are not read as markers.
    assert_eq!(needs_extract("@troupe-rc 0\n@troupe-files\n@troupe-attrs\n", &none), Ok(false));
    let e = needs_extract("@troupe-differ tar: This does not look like a tar archive\n@troupe-rc 2\n", &none);
    assert_eq!(
        e,
        Err("Unable to compare the archive with the destination: tar: This does not look like a tar archive".into())
    );
}

#[test]
fn only_octal_modes_and_names_are_checked_with_find() {
    assert_eq!(attrs_test(&Attrs::default()), None);
    assert_eq!(attrs_test(&Attrs { mode: Some("u+rwx".into()), ..Attrs::default() }), None);
    let all = Attrs { mode: Some("0750".into()), owner: Some("app".into()), group: Some("staff".into()) };
    assert_eq!(attrs_test(&all).as_deref(), Some("\\( ! -user app -o ! -group staff -o ! -perm 0750 \\)"));
}
