use super::*;
use crate::modules::testutil::Harness;
use serde_json::json;

#[test]
fn filter_globs() {
    assert!(glob_match("ansible_distribution*", "ansible_distribution_version"));
    assert!(glob_match("*ipv4*", "ansible_default_ipv4"));
    assert!(!glob_match("ansible_os", "ansible_os_family"));
}

#[tokio::test]
async fn gathers_from_this_machine() {
    let h = Harness::new();
    let q = h
        .query(&Setup, json!({"filter": ["ansible_system", "ansible_user_id", "ansible_distribution*"]}))
        .await
        .unwrap();
    let facts = q.facts.unwrap_or_default();
    assert_eq!(facts.get("ansible_system"), Some(&json!("Linux")));
    assert_eq!(facts.get("ansible_user_id"), Some(&json!("root")));
    assert!(facts.contains_key("ansible_distribution_version"));
    assert!(!facts.contains_key("ansible_kernel"));
    assert_eq!(facts.get("module_setup"), Some(&json!(true)));
    assert_eq!(q.result.get("ansible_facts"), Some(&Value::Object(facts)));
}

#[tokio::test]
async fn a_bad_subset_is_refused() {
    let h = Harness::new();
    let Err(err) = h.query(&Setup, json!({"gather_subset": ["nope"]})).await else {
        panic!("a bad subset is accepted")
    };
    let err = err.to_string();
    assert!(err.contains("Bad subset 'nope'"), "{err}");
}
