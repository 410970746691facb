use super::*;
use crate::facts::{file_facts, parse_facts, FileFacts, FileKind};
use crate::modules::content::Content;
use crate::modules::testutil::{mode_of, text, Harness};

#[test]
fn parses_stat_blocks_in_order() {
    let out = "noise\n@troupe-begin\n@troupe-stat 81a4|0|0|6|1.5|2|3|99|65024|1|root|wheel|8|4096|0|0\n\
               @troupe-access rw\n@troupe-sum f572d396fae9206628714fb2ce00f72e94f2258f  -\n\
               @troupe-begin\n";
    let facts = parse_facts(out, &["/a", "/b"]).unwrap_or_default();
    assert_eq!(facts.len(), 2);
    assert_eq!(facts[0].kind, FileKind::File);
    assert_eq!(facts[0].mode, 0o644);
    assert_eq!(facts[0].group, "wheel");
    assert_eq!(facts[0].size, 6);
    assert!(facts[0].readable && facts[0].writeable && !facts[0].executable);
    assert_eq!(facts[0].checksum.as_deref(), Some("f572d396fae9206628714fb2ce00f72e94f2258f"));
    assert_eq!(facts[1].kind, FileKind::Absent);
    assert_eq!(facts[1].path, "/b");
    assert!(parse_facts(out, &["/a"]).is_err());
    assert!(parse_facts("@troupe-begin\n@troupe-stat zz|0\n", &["/a"]).is_err());
}

#[test]
fn validate_substitutes_the_temp_file() {
    assert_eq!(validate_command("visudo -cf %s").ok().as_deref(), Some("visudo -cf \"$t\""));
    assert_eq!(validate_command("check --file=%s.x 'a b'").ok().as_deref(), Some("check --file=\"$t\".x 'a b'"));
    assert!(validate_command("true").is_err());
}

#[test]
fn attrs_only_report_what_differs() {
    let facts = FileFacts {
        path: "/x".into(),
        kind: FileKind::File,
        mode: 0o644,
        uid: 0,
        gid: 0,
        owner: "root".into(),
        group: "root".into(),
        ..FileFacts::default()
    };
    let want = Attrs::new(Some(Mode::Octal(0o644)), Some("0".into()), Some("adm".into()));
    let d = want.differing(&facts);
    assert_eq!(d, Attrs { mode: None, owner: None, group: Some("adm".into()) });
    assert_eq!(d.script("\"$t\"", false), "chgrp -- adm \"$t\"\n");
    let sym = Attrs::new(Some(Mode::Symbolic("u+x".into())), None, None).differing(&facts);
    assert_eq!(sym.mode.as_deref(), Some("0744"));
}

#[tokio::test]
async fn write_is_atomic_idempotent_and_keeps_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    let p = path.to_string_lossy().to_string();
    let h = Harness::new();
    let cx = h.cx();
    let attrs = Attrs::default();
    let opts = WriteOpts::default();

    let facts = file_facts(&cx, &[&p], false, Some("sha1")).await.unwrap().remove(0);
    assert!(!facts.exists());
    let q = query_write(&cx, &facts, &Content::Bytes(b"one\n"), &attrs, &opts, true).await.unwrap();
    assert!(q.changed);
    assert_eq!(q.diff.as_ref().map(|d| d.after.as_str()), Some("one\n"));
    let r = apply_write(&cx, q).await.unwrap();
    assert_eq!(text(&path), "one\n");
    assert_eq!(r.get("size"), Some(&Value::from(4)));
    // New files get the umask default, not mktemp's 0600.
    assert_ne!(mode_of(&path), 0o600);

    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let facts = file_facts(&cx, &[&p], false, Some("sha1")).await.unwrap().remove(0);
    let q = query_write(&cx, &facts, &Content::Bytes(b"one\n"), &attrs, &opts, true).await.unwrap();
    assert!(!q.changed);
    let q =
        query_write(&cx, &facts, &Content::Bytes(b"two\n"), &attrs, &WriteOpts { backup: true, validate: None }, true)
            .await
            .unwrap();
    assert_eq!(q.diff.as_ref().map(|d| d.before.as_str()), Some("one\n"));
    let r = apply_write(&cx, q).await.unwrap();
    assert_eq!(text(&path), "two\n");
    assert_eq!(mode_of(&path), 0o640, "a rewrite keeps the old mode");
    let backup = r.get("backup_file").and_then(Value::as_str).unwrap_or_default().to_string();
    assert_eq!(text(std::path::Path::new(&backup)), "one\n");
    // Nothing but the file and its backup: the temp file is gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[tokio::test]
async fn failed_validation_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "good").unwrap();
    let p = path.to_string_lossy().to_string();
    let h = Harness::new();
    let cx = h.cx();
    let facts = file_facts(&cx, &[&p], false, Some("sha1")).await.unwrap().remove(0);
    let opts = WriteOpts { backup: false, validate: Some("grep -q good %s".into()) };
    let q = query_write(&cx, &facts, &Content::Bytes(b"bad"), &Attrs::default(), &opts, true).await.unwrap();
    let err = apply_write(&cx, q).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("validation command failed"), "{err}");
    assert_eq!(text(&path), "good");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn missing_parent_folder_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("no/such/f").to_string_lossy().to_string();
    let h = Harness::new();
    let cx = h.cx();
    let facts = file_facts(&cx, &[&p], false, Some("sha1")).await.unwrap().remove(0);
    let q =
        query_write(&cx, &facts, &Content::Bytes(b"x"), &Attrs::default(), &WriteOpts::default(), true).await.unwrap();
    let err = apply_write(&cx, q).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("destination directory"), "{err}");
}

#[test]
fn parent_dir_is_what_dirname_prints() {
    for (path, want) in
        [("/a/b", "/a"), ("/a/b/", "/a"), ("/a", "/"), ("/", "/"), ("a", "."), ("a/b", "a"), ("./a", ".")]
    {
        assert_eq!(parent_dir(path), want, "{path}");
        let out = std::process::Command::new("dirname").arg(path).output().expect("dirname");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), want, "dirname {path}");
    }
}

#[test]
fn a_write_starts_one_subshell_only_to_count_bytes() {
    let plan = WritePlan {
        dest: "/etc/x.conf".into(),
        source: Some(Source::Inline(String::new())),
        checksum: String::new(),
        ..WritePlan::default()
    };
    let script = write_script(&plan, 0).expect("script");
    assert_eq!(script.matches("$(").count(), 1, "{script}");
    assert!(script.contains("n=$(wc -c < \"$t\")"), "{script}");
    assert!(script.contains("dir=/etc\n") && script.contains("set -C; : > \"$t\"; set +C"), "{script}");
}

/// The sender closes stdin early (it was killed): the old file stays, the temp file goes.
#[test]
fn a_short_stdin_never_replaces_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "old content\n").unwrap();
    let plan = WritePlan {
        dest: path.to_string_lossy().into(),
        source: Some(Source::Inline(String::new())),
        checksum: String::new(),
        ..WritePlan::default()
    };
    let script = write_script(&plan, 1000).expect("script");
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", &script])
        .stdin(std::fs::File::open("/etc/hostname").unwrap())
        .output()
        .expect("sh");
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdin ended early"), "{out:?}");
    assert_eq!(text(&path), "old content\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temp file is removed");
}

/// Bytes that arrive in full but changed on the way (or a sender that lied about them) never
/// replace the destination: the checksum is checked before the rename.
#[test]
fn bytes_that_do_not_match_their_checksum_never_replace_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "old content\n").unwrap();
    let run_len = |checksum: &str, len: u64| {
        let plan = WritePlan {
            dest: path.to_string_lossy().into(),
            source: Some(Source::Inline(String::new())),
            checksum: checksum.into(),
            ..WritePlan::default()
        };
        let script = write_script(&plan, len).expect("script");
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"new\n").unwrap();
        child.wait_with_output().expect("sh")
    };
    let run = |checksum: &str| run_len(checksum, 4);
    let out = run(&crate::modules::content::sha1_hex(b"NEW\n"));
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the bytes that arrived have sha1"), "{out:?}");
    assert_eq!(text(&path), "old content\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temp file is removed");
    let short = run_len(&crate::modules::content::sha1_hex(b"new\nmore"), 8);
    assert!(String::from_utf8_lossy(&short.stderr).contains("stdin ended early: 4 of 8 bytes"), "{short:?}");
    assert_eq!(text(&path), "old content\n");
    let out = run(&crate::modules::content::sha1_hex(b"new\n"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&path), "new\n");
}
