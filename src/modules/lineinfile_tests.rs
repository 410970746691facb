use super::*;
use crate::modules::testutil::{err_text, mode_of, text, Harness};
use serde_json::json;

/// Build a spec like the module does: (line, regexp, search_string, insertafter, insertbefore).
fn spec(line: &str, regexp: Option<&str>, after: Option<&str>, before: Option<&str>) -> LineSpec {
    LineSpec::new(Some(line.into()), regexp, None, after.map(Into::into), before.map(Into::into)).unwrap()
}

fn put(s: &LineSpec, content: &str) -> (String, &'static str) {
    let (out, msg) = present(s, content.as_bytes());
    (String::from_utf8(out).unwrap(), msg)
}

// Expected values below were taken from ansible-core 2.19 (`ansible localhost -m lineinfile`).

#[test]
fn appends_at_eof_and_adds_a_missing_newline() {
    assert_eq!(put(&spec("x", None, None, None), "a\nb\n"), ("a\nb\nx\n".into(), "line added"));
    assert_eq!(put(&spec("x", None, None, None), "a\nb\nc"), ("a\nb\nc\nx\n".into(), "line added"));
    assert_eq!(put(&spec("x", None, None, None), ""), ("x\n".into(), "line added"));
    assert_eq!(put(&spec("b", None, None, None), "a\nb\n"), ("a\nb\n".into(), ""));
}

#[test]
fn insertafter_regex_uses_the_last_match_unless_firstmatch() {
    assert_eq!(put(&spec("x", None, Some("^a"), None), "a\nb\nc\n"), ("a\nx\nb\nc\n".into(), "line added"));
    assert_eq!(put(&spec("x", None, Some("^a"), None), "a\nb\na\n"), ("a\nb\na\nx\n".into(), "line added"));
    let mut s = spec("x", None, Some("^a"), None);
    s.firstmatch = true;
    assert_eq!(put(&s, "a\nb\na\n"), ("a\nx\nb\na\n".into(), "line added"));
    // Not matching: the end of the file.
    assert_eq!(put(&spec("x", None, Some("nomatch"), None), "a\nb\n"), ("a\nb\nx\n".into(), "line added"));
}

#[test]
fn insertbefore_regex_and_bof() {
    assert_eq!(put(&spec("x", None, None, Some("^a")), "a\nb\na\n"), ("a\nb\nx\na\n".into(), "line added"));
    assert_eq!(put(&spec("x", None, None, Some("BOF")), "a\nb\n"), ("x\na\nb\n".into(), "line added"));
    assert_eq!(put(&spec("x", None, Some("BOF"), None), "a\n"), ("x\na\n".into(), "line added"));
    // The exact line anywhere wins over BOF.
    assert_eq!(put(&spec("x", None, None, Some("BOF")), "a\nx\nb\n"), ("a\nx\nb\n".into(), ""));
}

#[test]
fn regexp_replaces_the_last_match_or_the_first() {
    let s = spec("port=3", Some("^port="), None, None);
    assert_eq!(put(&s, "port=1\nport=2\n"), ("port=1\nport=3\n".into(), "line replaced"));
    let mut s = spec("port=3", Some("^port="), None, None);
    s.firstmatch = true;
    assert_eq!(put(&s, "port=1\nport=2\n"), ("port=3\nport=2\n".into(), "line replaced"));
    assert_eq!(put(&s, "port=3\n"), ("port=3\n".into(), ""));
}

#[test]
fn regexp_without_a_match_inserts_or_finds_the_exact_line() {
    // insertafter is honoured only when regexp matches nothing.
    let s = spec("b", Some("^zz"), Some("^a"), None);
    assert_eq!(put(&s, "a\nb\nc\n"), ("a\nb\nc\n".into(), ""));
    let s = spec("x", Some("^zz"), Some("^a"), None);
    assert_eq!(put(&s, "a\nb\n"), ("a\nx\nb\n".into(), "line added"));
    // `$` matches before the line's newline, as in Python.
    let s = spec("k=2", Some("^k=1$"), None, None);
    assert_eq!(put(&s, "k=1\n"), ("k=2\n".into(), "line replaced"));
}

#[test]
fn backrefs_expand_groups_and_never_add_a_line() {
    let mut s = spec(r"user=\1!", Some(r"^name: (\w+)$"), None, None);
    s.backrefs = true;
    assert_eq!(put(&s, "name: bob\n"), ("user=bob!\n".into(), "line replaced"));
    assert_eq!(put(&s, "a\nb\n"), ("a\nb\n".into(), ""));
    let mut s = spec(r"\g<k>=\g<2>\\", Some(r"^(?P<k>\w+) (\d+)"), None, None);
    s.backrefs = true;
    assert_eq!(put(&s, "port 80\n"), ("port=80\\\n".into(), "line replaced"));
}

#[test]
fn a_crlf_line_is_rewritten_with_lf() {
    assert_eq!(put(&spec("x", None, None, None), "x\r\n"), ("x\n".into(), "line replaced"));
}

#[test]
fn search_string_is_literal() {
    let s = LineSpec::new(Some("replaced".into()), None, Some("lo.wo".into()), None, None).unwrap();
    assert_eq!(put(&s, "a\nhello world\n"), ("a\nhello world\nreplaced\n".into(), "line added"));
    let s = LineSpec::new(Some("replaced".into()), None, Some("lo wo".into()), None, None).unwrap();
    assert_eq!(put(&s, "a\nhello world\n"), ("a\nreplaced\n".into(), "line replaced"));
}

#[test]
fn absent_removes_every_match() {
    let s = LineSpec::new(None, Some("^a"), None, None, None).unwrap();
    let (out, n) = absent(&s, b"a=1\nb=2\na=3\n");
    assert_eq!((out.as_slice(), n), (&b"b=2\n"[..], 2));
    let s = LineSpec::new(Some("b=2".into()), None, None, None, None).unwrap();
    assert_eq!(absent(&s, b"a\nb=2\r\nb=22\n"), (b"a\nb=22\n".to_vec(), 1));
    let s = LineSpec::new(None, None, Some("=2".into()), None, None).unwrap();
    assert_eq!(absent(&s, b"a\nb=22\n"), (b"a\n".to_vec(), 1));
    assert_eq!(absent(&s, b"a\n").1, 0);
}

#[test]
fn bad_regex_names_the_argument() {
    let e = LineSpec::new(Some("x".into()), Some("(a"), None, None, None).err().unwrap_or_default();
    assert!(e.starts_with("`regexp` \"(a\" is not a valid regular expression"), "{e}");
    let e = LineSpec::new(Some("x".into()), None, None, Some("(?=x)".into()), None).err().unwrap_or_default();
    assert!(e.contains("`insertafter`"), "{e}");
}

#[tokio::test]
async fn edits_a_real_file_once_and_check_mode_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sshd_config");
    std::fs::write(&f, "Port 22\nPermitRootLogin yes\n").unwrap();
    let p = f.to_string_lossy().into_owned();
    let mut h = Harness::new();
    let args = json!({"path": p, "regexp": "^PermitRootLogin", "line": "PermitRootLogin no", "mode": "0600"});

    h.check_mode = true;
    let q = h.query(&LineInFile, args.clone()).await.unwrap();
    assert!(q.changed);
    let d = q.diff.unwrap_or_default();
    assert_eq!(d.after, "Port 22\nPermitRootLogin no\n");
    assert_eq!(d.before, "Port 22\nPermitRootLogin yes\n");
    assert!(h.run(&LineInFile, args.clone()).await.unwrap().0);
    assert_eq!(text(&f), "Port 22\nPermitRootLogin yes\n");
    h.check_mode = false;

    let (changed, r) = h.run(&LineInFile, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("msg"), Some(&json!("line replaced and ownership, perms or SE linux context changed")));
    assert_eq!(text(&f), "Port 22\nPermitRootLogin no\n");
    assert_eq!(mode_of(&f), 0o600);
    let (changed, r) = h.run(&LineInFile, args).await.unwrap();
    assert!(!changed);
    assert_eq!(r.get("msg"), Some(&json!("")));

    let args = json!({"path": p, "regexp": "^Port", "state": "absent", "backup": true});
    let (changed, r) = h.run(&LineInFile, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("msg"), Some(&json!("1 line(s) removed")));
    assert_eq!(r.get("found"), Some(&json!(1)));
    let backup = r.get("backup").and_then(Value::as_str).unwrap_or_default().to_string();
    assert_eq!(text(std::path::Path::new(&backup)), "Port 22\nPermitRootLogin no\n");
    assert!(!h.run(&LineInFile, args).await.unwrap().0);
}

#[tokio::test]
async fn create_makes_the_file_and_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sub/dir/new.conf");
    let p = f.to_string_lossy().into_owned();
    let mut h = Harness::new();
    let e = err_text(h.run(&LineInFile, json!({"path": p, "line": "a=1"})).await);
    assert_eq!(e, format!("Destination {p} does not exist !"));
    let args = json!({"path": p, "line": "a=1", "create": true});
    h.check_mode = true;
    assert!(h.run(&LineInFile, args.clone()).await.unwrap().0);
    assert!(!dir.path().join("sub").exists());
    h.check_mode = false;
    assert!(h.run(&LineInFile, args.clone()).await.unwrap().0);
    assert_eq!(text(&f), "a=1\n");
    assert!(!h.run(&LineInFile, args).await.unwrap().0);
    let r = h.run(&LineInFile, json!({"path": p, "line": "zz", "state": "absent"})).await.unwrap();
    assert!(!r.0);
    let r = h.run(&LineInFile, json!({"path": "/nonexistent/x", "line": "zz", "state": "absent"})).await.unwrap();
    assert_eq!(r.1.get("msg"), Some(&json!("file not present")));
}

#[tokio::test]
async fn a_symlink_is_followed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let link = dir.path().join("link");
    std::fs::write(&real, "a\n").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let h = Harness::new();
    assert!(h.run(&LineInFile, json!({"path": link.to_string_lossy(), "line": "b"})).await.unwrap().0);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(text(&real), "a\nb\n");
}

#[tokio::test]
async fn argument_errors() {
    let h = Harness::new();
    let e = err_text(h.run(&LineInFile, json!({"path": "/x", "line": "a", "backrefs": true})).await);
    assert_eq!(e, "lineinfile: regexp is required with backrefs=true");
    let e = err_text(h.run(&LineInFile, json!({"path": "/x"})).await);
    assert_eq!(e, "lineinfile: line is required with state=present");
    let e =
        err_text(h.run(&LineInFile, json!({"path": "/x", "line": "a", "insertafter": "a", "insertbefore": "b"})).await);
    assert_eq!(e, "lineinfile: parameters are mutually exclusive: insertafter|insertbefore");
    let e = err_text(h.run(&LineInFile, json!({"path": "/tmp", "line": "a"})).await);
    assert_eq!(e, "Path /tmp is a directory !");
}

#[tokio::test]
async fn ansible_aliases_are_taken() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.conf");
    std::fs::write(&f, "Port 22\n").unwrap();
    let h = Harness::new();
    let args = json!({"dest": f.to_string_lossy(), "regex": "^Port ", "value": "Port 2222"});
    assert!(h.run(&LineInFile, args.clone()).await.unwrap().0);
    assert_eq!(text(&f), "Port 2222\n");
    assert!(!h.run(&LineInFile, args).await.unwrap().0);
    let e = err_text(h.run(&LineInFile, json!({"destfile": "/x", "line": "a", "regexpp": "b"})).await);
    assert!(e.starts_with("Unsupported parameters for (lineinfile) module: regexpp. Supported parameters"), "{e}");
    assert!(e.ends_with("(attr, dest, destfile, name, regex, value)."), "{e}");
}

#[tokio::test]
async fn the_result_carries_ansibles_diff_list() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.txt");
    std::fs::write(&f, "a\n").unwrap();
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let p = f.to_string_lossy().into_owned();
    let mut h = Harness::new();
    let args = json!({"path": p, "line": "b", "mode": "0600"});
    let (_, r) = h.run(&LineInFile, args).await.unwrap();
    let content = format!("{p} (content)");
    let attrs = format!("{p} (file attributes)");
    assert_eq!(
        r["diff"],
        json!([
            {"before": "a\n", "after": "a\nb\n", "before_header": content, "after_header": content},
            {"before": {"mode": "0644"}, "after": {"mode": "0600"}, "before_header": attrs, "after_header": attrs},
        ])
    );
    // Without diff mode Ansible still returns the list, with empty texts.
    h.diff = false;
    let (_, r) = h.run(&LineInFile, json!({"path": p, "line": "c"})).await.unwrap();
    assert_eq!(r["diff"][0]["before"], json!(""));
    assert_eq!(r["diff"][1], json!({"before_header": attrs, "after_header": attrs}));
    // Check mode on a file it would create: the content part alone.
    h.check_mode = true;
    let new = dir.path().join("new").to_string_lossy().into_owned();
    let (_, r) = h.run(&LineInFile, json!({"path": new, "line": "c", "create": true})).await.unwrap();
    assert_eq!(r["diff"]["before_header"], json!(format!("{new} (content)")));
}
