use super::*;
use serde_json::json;

fn map(v: Value) -> Map {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn jsonfile(dir: &Path, prefix: &str, timeout: u64) -> FactCache {
    FactCache::open(Backend::JsonFile { dir: dir.to_path_buf(), prefix: prefix.into(), timeout }).unwrap()
}

#[test]
fn choose_follows_ansible_defaults() {
    assert_eq!(Backend::choose(None, None, None, None).unwrap(), Backend::Memory);
    assert!(matches!(Backend::choose(Some("jsonfile"), None, None, None), Err(CacheError::NoConnection)));
    assert!(matches!(Backend::choose(Some("redis"), None, None, None), Err(CacheError::UnknownPlugin(_))));
    let b = Backend::choose(Some("jsonfile"), Some("/tmp/x"), None, None).unwrap();
    assert_eq!(b, Backend::JsonFile { dir: "/tmp/x".into(), prefix: String::new(), timeout: 86400 });
}

#[test]
fn files_are_written_as_ansible_writes_them_and_merged() {
    let dir = tempfile::tempdir().unwrap();
    let c = jsonfile(dir.path(), "prefix_", 0);
    c.update("h1", &map(json!({"n": 1, "x": "é1"}))).unwrap();
    c.update("h1", &map(json!({"n": 2}))).unwrap();
    let text = std::fs::read_to_string(dir.path().join("prefix_s1_h1")).unwrap();
    assert_eq!(text, r#"{"__payload__": "{\"n\": 2, \"x\": \"\\u00e91\"}"}"#);
    // A second cache (a later run) reads it back.
    assert_eq!(jsonfile(dir.path(), "prefix_", 0).get("h1").unwrap(), Some(map(json!({"n": 2, "x": "é1"}))));
    c.delete("h1");
    assert!(!dir.path().join("prefix_s1_h1").exists());
    assert_eq!(c.get("h1").unwrap(), None);
}

#[test]
fn ansible_tags_are_dropped_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let payload = r#"{"a": {"value": "v", "tags": [{"path": "/p.yml", "line_num": 1, "col_num": 2, "__ansible_type": "Origin"}, {"__ansible_type": "TrustedAsTemplate"}], "__ansible_type": "_AnsibleTaggedStr"}, "b": [1, {"c": true}]}"#;
    let text = serde_json::to_string(&json!({ "__payload__": payload })).unwrap();
    std::fs::write(dir.path().join("s1_h"), text).unwrap();
    let got = jsonfile(dir.path(), "", 0).get("h").unwrap();
    assert_eq!(got, Some(map(json!({"a": "v", "b": [1, {"c": true}]}))));
}

#[test]
fn expired_and_corrupt_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s1_h");
    std::fs::write(&path, r#"{"__payload__": "{\"a\": 1}"}"#).unwrap();
    let old = SystemTime::now() - Duration::from_secs(100);
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
    assert_eq!(jsonfile(dir.path(), "", 50).get("h").unwrap(), None);
    assert!(jsonfile(dir.path(), "", 500).get("h").unwrap().is_some());
    std::fs::write(&path, "not json").unwrap();
    assert!(matches!(jsonfile(dir.path(), "", 0).get("h"), Err(CacheError::Corrupt { .. })));
    assert!(!path.exists(), "a corrupt file is removed");
}

#[test]
fn memory_keeps_facts_for_the_run_only() {
    let c = FactCache::default();
    c.update("h", &map(json!({"a": 1}))).unwrap();
    assert_eq!(c.get("h").unwrap(), Some(map(json!({"a": 1}))));
    c.delete("h");
    assert_eq!(c.get("h").unwrap(), None);
}

#[test]
fn connection_expands_home_and_variables() {
    std::env::set_var("TROUPE_CACHE_TEST_DIR", "/srv/c");
    assert_eq!(expand("$TROUPE_CACHE_TEST_DIR/x"), PathBuf::from("/srv/c/x"));
    assert_eq!(expand("${TROUPE_CACHE_TEST_DIR}y"), PathBuf::from("/srv/cy"));
    assert_eq!(expand("/a/$TROUPE_NO_SUCH_VAR_X/b"), PathBuf::from("/a/$TROUPE_NO_SUCH_VAR_X/b"));
}
