use super::*;
use crate::modules::testutil::{err_text, mode_of, text, Harness};
use serde_json::json;

const M: &str = "# {mark} ANSIBLE MANAGED BLOCK";
const B: &str = "# BEGIN ANSIBLE MANAGED BLOCK\n";
const E: &str = "# END ANSIBLE MANAGED BLOCK\n";

fn spec(block: &str, after: Option<&str>, before: Option<&str>) -> BlockSpec {
    BlockSpec::new(block, M, "BEGIN", "END", after.map(Into::into), before.map(Into::into)).unwrap()
}

fn edit(s: &BlockSpec, original: Option<&str>) -> (String, &'static str) {
    let (out, msg) = edit_block(s, original.map(str::as_bytes));
    (String::from_utf8(out).unwrap(), msg)
}

// Expected values below were taken from ansible-core 2.19 (`ansible localhost -m blockinfile`).

#[test]
fn appends_at_eof_then_is_stable() {
    let s = spec("x\ny", None, None);
    let want = format!("a\nb\n{B}x\ny\n{E}");
    assert_eq!(edit(&s, Some("a\nb\n")), (want.clone(), "Block inserted"));
    assert_eq!(edit(&s, Some(&want)), (want.clone(), ""));
}

#[test]
fn replaces_the_block_in_place() {
    let old = format!("a\n{B}old\n{E}b\n");
    assert_eq!(edit(&spec("x", None, None), Some(&old)), (format!("a\n{B}x\n{E}b\n"), "Block inserted"));
}

#[test]
fn empty_block_or_absent_removes_it() {
    let old = format!("a\n{B}old\n{E}b\n");
    assert_eq!(edit(&spec("", None, None), Some(&old)), ("a\nb\n".into(), "Block removed"));
    let mut s = spec("x", None, None);
    s.present = false;
    assert_eq!(edit(&s, Some(&old)), ("a\nb\n".into(), "Block removed"));
    assert_eq!(edit(&s, Some("a\n")), ("a\n".into(), ""));
}

#[test]
fn markers_in_reverse_order_are_still_one_block() {
    let old = format!("a\n{E}old\n{B}b\n");
    assert_eq!(edit(&spec("x", None, None), Some(&old)), (format!("a\n{B}x\n{E}b\n"), "Block inserted"));
}

#[test]
fn insertbefore_bof_keeps_a_missing_final_newline() {
    assert_eq!(edit(&spec("x", None, Some("BOF")), Some("a\nb")), (format!("{B}x\n{E}a\nb"), "Block inserted"));
}

#[test]
fn insertafter_uses_the_last_matching_line() {
    assert_eq!(
        edit(&spec("x", Some("^a"), None), Some("a\nb\na\n")),
        (format!("a\nb\na\n{B}x\n{E}"), "Block inserted")
    );
    // A line without a newline before the block gets one.
    assert_eq!(edit(&spec("x", Some("^a"), None), Some("a\nb")), (format!("a\n{B}x\n{E}b"), "Block inserted"));
    assert_eq!(edit(&spec("x", Some("^zz"), None), Some("a\n")), (format!("a\n{B}x\n{E}"), "Block inserted"));
}

#[test]
fn insertbefore_regex() {
    assert_eq!(
        edit(&spec("x", None, Some("^b")), Some("a\nb\nb\n")),
        (format!("a\nb\n{B}x\n{E}b\n"), "Block inserted")
    );
}

#[test]
fn prepend_and_append_newline() {
    let mut s = spec("x", None, Some("^b"));
    s.prepend_newline = true;
    s.append_newline = true;
    assert_eq!(edit(&s, Some("a\nb\n")), (format!("a\n\n{B}x\n{E}\nb\n"), "Block inserted"));
}

#[test]
fn custom_markers() {
    let s = BlockSpec::new("x", "<!-- {mark} -->", "start", "stop", None, None).unwrap();
    assert_eq!(edit(&s, Some("a\nb")), ("a\nb\n<!-- start -->\nx\n<!-- stop -->\n".into(), "Block inserted"));
}

#[test]
fn multiline_insert_regex_searches_the_whole_file() {
    let s = spec("x", Some(r"(?m)^b\nc"), None);
    assert_eq!(edit(&s, Some("a\nb\nc\nd\n")), (format!("a\nb\nc\n{B}x\n{E}d\n"), "Block inserted"));
}

#[test]
fn a_new_file_is_created() {
    assert_eq!(edit(&spec("x", None, None), None), (format!("{B}x\n{E}"), "File created"));
}

#[test]
fn crlf_lines_are_kept() {
    let out = edit(&spec("x", None, None), Some("a\r\nb\r\n"));
    assert_eq!(out, (format!("a\r\nb\r\n{B}x\n{E}"), "Block inserted"));
}

#[tokio::test]
async fn real_file_first_run_changes_second_does_not_check_mode_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("hosts");
    std::fs::write(&f, "127.0.0.1 localhost\n").unwrap();
    let p = f.to_string_lossy().into_owned();
    let mut h = Harness::new();
    let args = json!({"path": p, "block": "10.0.0.1 etcd1\n10.0.0.2 etcd2", "mode": "0640", "backup": true});

    h.check_mode = true;
    let q = h.query(&BlockInFile, args.clone()).await.unwrap();
    assert!(q.changed);
    assert_eq!(q.diff.unwrap_or_default().before, "127.0.0.1 localhost\n");
    assert!(h.run(&BlockInFile, args.clone()).await.unwrap().0);
    assert_eq!(text(&f), "127.0.0.1 localhost\n");
    h.check_mode = false;

    let (changed, r) = h.run(&BlockInFile, args.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("msg"), Some(&json!("Block inserted and ownership, perms or SE linux context changed")));
    assert_eq!(text(&f), format!("127.0.0.1 localhost\n{B}10.0.0.1 etcd1\n10.0.0.2 etcd2\n{E}"));
    assert_eq!(mode_of(&f), 0o640);
    assert!(r.get("backup_file").and_then(Value::as_str).is_some_and(|b| b.starts_with(&p)));
    assert!(!h.run(&BlockInFile, args).await.unwrap().0);

    let args = json!({"path": p, "state": "absent"});
    assert_eq!(h.run(&BlockInFile, args.clone()).await.unwrap().1.get("msg"), Some(&json!("Block removed")));
    assert_eq!(text(&f), "127.0.0.1 localhost\n");
    assert!(!h.run(&BlockInFile, args).await.unwrap().0);
}

#[tokio::test]
async fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("new/conf");
    let p = f.to_string_lossy().into_owned();
    let h = Harness::new();
    let e = err_text(h.run(&BlockInFile, json!({"path": p, "block": "x"})).await);
    assert_eq!(e, format!("Path {p} does not exist !"));
    let r = h.run(&BlockInFile, json!({"path": p, "state": "absent"})).await.unwrap();
    assert_eq!(r.1.get("msg"), Some(&json!(format!("File {p} not present"))));
    let args = json!({"path": p, "block": "x", "create": true});
    let r = h.run(&BlockInFile, args.clone()).await.unwrap();
    assert_eq!(r.1.get("msg"), Some(&json!("File created")));
    assert_eq!(text(&f), format!("{B}x\n{E}"));
    assert!(!h.run(&BlockInFile, args).await.unwrap().0);
}

#[tokio::test]
async fn the_result_carries_ansibles_diff_list() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b.txt");
    std::fs::write(&f, "x\n").unwrap();
    let p = f.to_string_lossy().into_owned();
    let h = crate::modules::testutil::Harness::new();
    let (changed, r) = h.run(&BlockInFile, json!({"path": p, "block": "line 1"})).await.unwrap();
    assert!(changed);
    let after = "x\n# BEGIN ANSIBLE MANAGED BLOCK\nline 1\n# END ANSIBLE MANAGED BLOCK\n";
    assert_eq!(r["diff"][0]["before"], json!("x\n"));
    assert_eq!(r["diff"][0]["after"], json!(after));
    assert_eq!(r["diff"][1]["after_header"], json!(format!("{p} (file attributes)")));
}
