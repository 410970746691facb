//! Run one project with troupe and with ansible-core (when installed) and compare what the
//! `debug` tasks printed: each `"msg": ...` line, in order.

use std::path::Path;
use std::process::Command;

use super::run::{ansible_playbook, scratch, Run};

/// The `"msg": ...` lines of a run's output, trimmed.
pub fn messages(stdout: &str) -> Vec<String> {
    stdout.lines().map(str::trim).filter(|l| l.starts_with("\"msg\": ")).map(String::from).collect()
}

/// Run `args` in a fresh folder holding `files` with troupe (must succeed) and, when
/// ansible-core is installed, with ansible-playbook (must succeed too). `env` goes to both.
pub fn both(files: &[(&str, &str)], args: &[&str], env: &[(&str, &str)]) -> (Vec<String>, Option<Vec<String>>) {
    let dir = scratch(files);
    let mut run = Run::new().in_dir(dir.path()).args(args);
    for (k, v) in env {
        run = run.env(k, &v.replace("$DIR", &dir.path().display().to_string()));
    }
    let ours = run.succeeds();
    let theirs = ansible_playbook().map(|ap| {
        let out = ansible(&ap, dir.path(), args, env);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "ansible-playbook {args:?}:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        messages(&stdout)
    });
    if theirs.is_none() {
        eprintln!("ansible-core not installed: compared with the expected values only");
    }
    (messages(&ours.stdout), theirs)
}

pub fn ansible(ap: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(ap);
    cmd.args(args).current_dir(dir).env("ANSIBLE_NOCOLOR", "1").env("ANSIBLE_FORCE_COLOR", "0");
    cmd.env_remove("ANSIBLE_VAULT_PASSWORD_FILE").env_remove("ANSIBLE_VAULT_IDENTITY_LIST");
    for (k, v) in env {
        cmd.env(k, v.replace("$DIR", &dir.display().to_string()));
    }
    // Modules run with the venv's own Python (no interpreter discovery, nor its warning).
    if let Some(python) = ap.parent().map(|bin| bin.join("python")).filter(|p| p.exists()) {
        cmd.env("ANSIBLE_PYTHON_INTERPRETER", python);
    }
    cmd.env_remove("ANSIBLE_CONFIG").output().expect("ansible-playbook runs")
}

/// Run `args` in a fresh folder holding `files` with troupe and, when ansible-core is installed,
/// with ansible-playbook; both must exit with `code`. Returns each one's `"msg"` lines.
pub fn both_exit(files: &[(&str, &str)], args: &[&str], code: i32) -> (Vec<String>, Option<Vec<String>>) {
    let dir = scratch(files);
    let ours = Run::new().in_dir(dir.path()).args(args).code(code);
    let theirs = ansible_playbook().map(|ap| {
        let out = ansible(&ap, dir.path(), args, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "ansible-playbook {args:?}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        messages(&stdout)
    });
    (messages(&ours.stdout), theirs)
}

/// Assert troupe printed `want`, and the same as ansible-playbook when it ran.
pub fn check(files: &[(&str, &str)], args: &[&str], env: &[(&str, &str)], want: &[&str]) {
    let (ours, theirs) = both(files, args, env);
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    assert_eq!(ours, want, "troupe {args:?}");
    if let Some(theirs) = theirs {
        assert_eq!(ours, theirs, "troupe {args:?} differs from ansible-playbook");
    }
}
