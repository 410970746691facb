use super::*;
use crate::modules::testutil::{err_text, Harness};
use serde_json::json;

#[test]
fn inline_options_are_taken_out_of_free_form_text() {
    let (text, found) = split_inline("echo  'a  b' creates=/x chdir=\"/tmp/a b\" | tr a b");
    assert_eq!(text, "echo  'a  b' | tr a b");
    assert_eq!(found, vec![("creates".into(), "/x".into()), ("chdir".into(), "/tmp/a b".into())]);
    let (text, found) = split_inline("echo 'creates=/x'");
    assert_eq!(text, "echo 'creates=/x'");
    assert!(found.is_empty());
}

#[test]
fn arguments_expand_variables_and_the_home_folder_as_python_does() {
    let mut pre = String::new();
    assert_eq!(expanded_word("plain", &mut pre), "plain");
    assert_eq!(expanded_word("~/x", &mut pre), "~/x");
    assert_eq!(expanded_word("$1 ${a b} $", &mut pre), "'$1 ${a b} $'");
    assert!(pre.is_empty());
    assert_eq!(expanded_word("a${B}c$D_1", &mut pre), "a\"$__e0\"c\"$__e1\"");
    assert!(pre.contains("__e0='${B}'") && pre.contains("__e1=$D_1;"), "{pre}");
}

#[test]
fn globs_stay_globs_and_the_rest_is_quoted() {
    assert_eq!(glob_word("/etc/a b/*.conf"), "'/etc/a b/'*.conf");
    assert_eq!(glob_word("/x;rm"), "'/x;rm'");
}

#[test]
fn golden_scripts() {
    let p = parse("command", &crate::modules::testutil::to_map(json!({"_raw_params": "echo 'a b' $HOME; x"})))
        .map(|p| p.script)
        .unwrap_or_default();
    assert!(p.ends_with("exec echo 'a b' \"$__e0\"';' x"), "{p}");
    assert!(p.starts_with("if [ -n \"${HOME+x}\" ]; then __e0=$HOME; else __e0='$HOME'; fi\n"), "{p}");
    let raw = json!({"_raw_params": "echo $HOME", "expand_argument_vars": false, "chdir": "/a b"});
    let p = parse("command", &crate::modules::testutil::to_map(raw)).map(|p| p.script).unwrap_or_default();
    assert!(p.starts_with("cd -P -- '/a b' 2>/dev/null ||") && p.ends_with("exec echo '$HOME'"), "{p}");
    let p = parse("shell", &crate::modules::testutil::to_map(json!({"cmd": "echo $HOME", "executable": "/bin/bash"})))
        .map(|p| p.script)
        .unwrap_or_default();
    assert_eq!(p, "exec /bin/bash -c 'echo $HOME'");
}

#[tokio::test]
async fn command_has_no_shell_features() {
    let h = Harness::new();
    let (changed, r) = h.run(&Command, json!({"_raw_params": "echo a > b"})).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("stdout"), Some(&json!("a > b")));
    assert_eq!(r.get("cmd"), Some(&json!(["echo", "a", ">", "b"])));
    assert_eq!(r.get("rc"), Some(&json!(0)));
    let (_, r) = h.run(&Command, json!({"argv": ["printf", "%s\n\n", "x y"]})).await.unwrap();
    assert_eq!(r.get("stdout"), Some(&json!("x y")));
    assert_eq!(r.get("stdout_lines"), Some(&json!(["x y"])));
}

#[tokio::test]
async fn command_expands_variables_and_home_as_ansible() {
    let h = Harness::new();
    let home = std::env::var("HOME").unwrap_or_default();
    let args =
        json!({"_raw_params": "echo $HOME ~/x ${HOME}y $TROUPE_UNSET_VAR ${TROUPE_UNSET_VAR} '\"$(id)`id`\\' $"});
    let (_, r) = h.run(&Command, args).await.unwrap();
    let want = format!("{home} {home}/x {home}y $TROUPE_UNSET_VAR ${{TROUPE_UNSET_VAR}} \"$(id)`id`\\ $");
    assert_eq!(r.get("stdout"), Some(&json!(want)));
    let args = json!({"_raw_params": "echo $HOME ~", "expand_argument_vars": false});
    let (_, r) = h.run(&Command, args).await.unwrap();
    assert_eq!(r.get("stdout"), Some(&json!("$HOME ~")));
}

#[tokio::test]
async fn shell_runs_scripts_with_stdin_and_chdir() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::new();
    let args = json!({"_raw_params": "cat; pwd; echo err >&2", "stdin": "in",
                      "chdir": dir.path().to_string_lossy()});
    let (_, r) = h.run(&Shell, args).await.unwrap();
    let want = format!("in\n{}", dir.path().canonicalize().unwrap().display());
    assert_eq!(r.get("stdout"), Some(&json!(want)));
    assert_eq!(r.get("stderr_lines"), Some(&json!(["err"])));
    assert_eq!(r.get("cmd"), Some(&json!("cat; pwd; echo err >&2")));
    let delta = r.get("delta").and_then(Value::as_str).unwrap_or_default().to_string();
    assert!(delta.starts_with("0:00:0"), "{delta}");
}

#[tokio::test]
async fn non_zero_rc_fails_with_the_result() {
    let h = Harness::new();
    match h.run(&Shell, json!({"cmd": "echo out; exit 3"})).await {
        Err(ModuleError::Failed { msg, result }) => {
            assert_eq!(msg, "non-zero return code");
            assert_eq!(result.get("rc"), Some(&json!(3)));
            assert_eq!(result.get("stdout"), Some(&json!("out")));
        }
        other => panic!("expected failure, got {other:?}"),
    }
    match h.run(&Command, json!({"_raw_params": "no-such-cmd-troupe --x"})).await {
        Err(ModuleError::Failed { msg, result }) => {
            assert_eq!(msg, "[Errno 2] No such file or directory: b'no-such-cmd-troupe'");
            assert_eq!(
                (result["rc"].clone(), result["stdout"].clone(), result["stderr"].clone()),
                (json!(2), json!(""), json!(""))
            );
        }
        other => panic!("expected failure, got {other:?}"),
    }
    let e = err_text(h.run(&Command, json!({"_raw_params": "true", "chdir": "/no/such/dir"})).await);
    assert_eq!(e, "Unable to change directory before execution.");
}

#[tokio::test]
async fn creates_and_removes_decide() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("there.txt"), "").unwrap();
    let d = dir.path().to_string_lossy().to_string();
    let h = Harness::new();
    let q = h.query(&Command, json!({"_raw_params": format!("touch new creates={d}/*.txt")})).await.unwrap();
    assert!(!q.changed);
    assert_eq!(q.result.get("msg"), Some(&json!(format!("Did not run command since '{d}/*.txt' exists"))));
    // Relative to chdir; not satisfied → runs, and check mode can tell (no check_skip).
    let args = json!({"_raw_params": "touch made", "chdir": d, "creates": "made"});
    let q = h.query(&Command, args.clone()).await.unwrap();
    assert!(q.changed && !q.check_skip);
    let (changed, _) = h.run(&Command, args.clone()).await.unwrap();
    assert!(changed && dir.path().join("made").exists());
    let (changed, _) = h.run(&Command, args).await.unwrap();
    assert!(!changed);
    let q = h.query(&Shell, json!({"cmd": "rm x", "removes": format!("{d}/nothing")})).await.unwrap();
    assert!(!q.changed);
    let q = h.query(&Shell, json!({"cmd": "true"})).await.unwrap();
    assert!(q.changed && q.check_skip);
}

#[tokio::test]
async fn bad_arguments() {
    let h = Harness::new();
    let e = err_text(h.query(&Command, json!({"_raw_params": "echo 'x"})).await);
    assert!(e.contains("unbalanced quotes"), "{e}");
    let e = err_text(h.query(&Command, json!({"cmd": "a", "argv": ["b"]})).await);
    assert!(e.contains("parameters are mutually exclusive: _raw_params|cmd|argv"), "{e}");
    let e = err_text(h.query(&Shell, json!({"cmd": "a", "expand_argument_vars": false})).await);
    assert_eq!(e, "Unsupported parameters for (shell) module: expand_argument_vars");
    let e = err_text(h.query(&Shell, json!({"argv": ["b"]})).await);
    assert!(
        e.starts_with("Unsupported parameters for (shell) module: argv. Supported parameters include: chdir, cmd,"),
        "{e}"
    );
    let e = err_text(h.query(&Shell, json!({})).await);
    assert!(e.contains("one of the following is required: _raw_params, cmd, argv"), "{e}");
}
