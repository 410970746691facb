//! What a `no_log` result shows. Ansible replaces the whole result with "censored", so a failed
//! `no_log` task never says why it failed. troupe keeps the reason of a failure (`msg`, `rc`, the
//! end of `stderr`) with every value the task was given masked: the variables its arguments
//! use, its loop item, its `stdin` and `content` (each text whole and line by line). Successful
//! results stay fully censored.

use crate::value::{to_text, Map, Value};

/// What replaces a masked value.
pub const MASK: &str = "********";
/// Texts shorter than this are not masked: they are words like `set`, `-e`, `0600`.
const MIN_SECRET: usize = 6;
/// Lines of stderr a masked failure keeps (its end, where the error is).
const STDERR_LINES: usize = 10;

/// The texts to mask, from the values a task was given: every string in them and each of its
/// lines, longest first (so a secret inside a longer one is masked whole).
pub fn secrets_of<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let texts: Vec<String> = values.into_iter().flat_map(texts_of).collect();
    let mut secrets: Vec<String> = Vec::new();
    for t in texts {
        let parts = std::iter::once(t.as_str()).chain(t.lines());
        for part in parts.map(str::trim) {
            if part.chars().count() >= MIN_SECRET {
                secrets.push(part.to_string());
            }
        }
    }
    secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    secrets.dedup();
    secrets
}

/// Every string inside a value.
pub fn texts_of(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(v, &mut out);
    out
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        Value::Object(m) => m.values().for_each(|i| collect(i, out)),
        Value::Number(_) | Value::Bool(_) | Value::Null => {}
    }
}

/// `text` with every secret replaced by [`MASK`].
pub fn mask(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), MASK))
}

/// The reason of a failed `no_log` result (`msg`, `rc`, the end of `stderr`), with every
/// secret masked, into what the task shows.
pub fn reason_into(result: &Map, secrets: &[String], shown: &mut Map) {
    if let Some(msg) = result.get("msg") {
        shown.insert("msg".into(), Value::from(mask(&to_text(msg), secrets)));
    }
    if let Some(rc) = result.get("rc").filter(|rc| rc.is_number()) {
        shown.insert("rc".into(), rc.clone());
    }
    if let Some(stderr) = result.get("stderr").map(to_text).filter(|s| !s.trim().is_empty()) {
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(STDERR_LINES)..].join("\n");
        shown.insert("stderr".into(), Value::from(mask(&tail, secrets)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_failure_keeps_its_reason_with_the_given_values_masked() {
        let args = json!({"_raw_params": "read -r pw\nctl user add app", "stdin": "s3cret-root\nviewer-pw-9"});
        let secrets = secrets_of([&args]);
        let result = map(json!({
            "failed": true, "rc": 2, "msg": "non-zero return code",
            "stderr": "Error: password s3cret-root rejected for viewer-pw-9", "stdout": "s3cret-root"
        }));
        let mut shown = Map::new();
        reason_into(&result, &secrets, &mut shown);
        assert_eq!(shown["msg"], json!("non-zero return code"));
        assert_eq!(shown["rc"], json!(2));
        assert_eq!(shown["stderr"], json!("Error: password ******** rejected for ********"));
        assert!(!shown.contains_key("stdout"), "stdout is not part of the reason");
    }

    #[test]
    fn success_stays_censored_and_short_words_are_not_masked() {
        let secrets = secrets_of([&json!({"item": {"name": "app", "password": "pw-long-1"}})]);
        assert_eq!(secrets, vec!["pw-long-1".to_string()], "'app' is too short to be masked");
    }

    #[test]
    fn a_secret_inside_a_longer_one_is_masked_whole() {
        let secrets = secrets_of([&json!(["abcdefgh", "abcdefgh-and-more"])]);
        assert_eq!(mask("x abcdefgh-and-more y", &secrets), "x ******** y");
    }
}
