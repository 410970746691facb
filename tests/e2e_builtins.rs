//! The ansible.builtin modules of issue 12 on testbed hosts, each through
//! `support::module_e2e` (check mode proven harmless, twice for idempotence, compared with
//! ansible-playbook when it is installed).

use crate::support::module_e2e::ModuleE2e;
use crate::support::testbed::testbed;

/// The helper itself, on a module troupe has had for long (`copy`).
#[test]
fn module_e2e_drives_copy() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let seen = ModuleE2e::new("copy", "{dest: /tmp/troupe-me2e-copy, content: \"hi\\n\", mode: \"0640\"}")
        .reset("rm -f /tmp/troupe-me2e-copy")
        .probe("stat -c '%a %s' /tmp/troupe-me2e-copy 2>&1 || true")
        .compare(&["changed", "dest", "mode", "size", "checksum"])
        .run(tb, host);
    assert_eq!(seen.first["changed"], true);
    assert_eq!(seen.second["changed"], false);
    assert!(seen.ansible.is_none() || seen.ansible.as_ref().is_some_and(|a| a["dest"] == "/tmp/troupe-me2e-copy"));
}

#[test]
fn ping_answers_with_its_data() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen = ModuleE2e::new("ping", "{data: hello}")
        .first_changed(false)
        .compare(&["changed", "ping"])
        .run(tb, &tb.hosts[0]);
    assert_eq!(seen.first["ping"], "hello");
}

#[test]
fn raw_runs_text_always_changed_skipped_in_check_mode() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let seen =
        ModuleE2e::new("raw", r#"'if [ -n "$BASH_VERSION" ]; then echo bash; else echo sh; fi > /tmp/troupe-e2e-raw'"#)
            .vars("{}")
            .reset("rm -f /tmp/troupe-e2e-raw")
            .probe("cat /tmp/troupe-e2e-raw 2>&1 || true")
            .check_predicts(false)
            .second_changed(true)
            .compare(&["changed", "rc"])
            .run(tb, &tb.hosts[0]);
    assert_eq!(seen.check["skipped"], true);
    assert_eq!(seen.first["rc"], 0);
    let bash = ModuleE2e::new("raw", "\"echo $0\"\n      args: {executable: /bin/bash}")
        .check_predicts(false)
        .second_changed(true)
        .compare(&["changed", "rc", "stdout_lines"])
        .run(tb, &tb.hosts[0]);
    assert_eq!(bash.first["stdout"], "/bin/bash\n");
}

#[test]
fn tempfile_makes_a_new_name_each_run() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let d = "/tmp/troupe-e2e-tempfile";
    let reset = format!("rm -rf {d} && mkdir {d}");
    let probe = format!("ls {d} | sed 's/[.].*[.]/.X./' | sort | uniq -c");
    let args = format!("{{path: {d}, suffix: .s, state: directory}}");
    let seen = ModuleE2e::new("tempfile", &args)
        .reset(&reset)
        .probe(&probe)
        .check_predicts(false)
        .second_changed(true)
        .compare(&["changed", "state", "mode", "owner", "group", "uid", "gid"])
        .present(&["path", "size"])
        .run(tb, &tb.hosts[0]);
    assert!(seen.first["path"].as_str().is_some_and(|p| p.starts_with("/tmp/troupe-e2e-tempfile/ansible.")));
    assert_ne!(seen.first["path"], seen.second["path"]);
    let file = ModuleE2e::new("tempfile", "{}")
        .check_predicts(false)
        .second_changed(true)
        .same_state(false)
        .compare(&["changed", "state", "mode", "size"])
        .run(tb, &tb.hosts[0]);
    assert!(file.first["path"].as_str().is_some_and(|p| p.starts_with("/tmp/ansible.")));
}
