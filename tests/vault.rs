//! Ansible Vault: encrypted vars files, group_vars and `!vault` values, decrypted with the
//! secrets of `--vault-password-file` / `--vault-id`, compared with ansible-playbook when it is
//! installed. The fixtures were made with the real ansible-vault (tests/fixtures/vault/).

use std::process::{Command, Stdio};

use crate::support::compare::{both_exit, check};
use crate::support::run::{scratch, troupe_bin, Run, LOCAL_INV};

const VARS: &str = include_str!("fixtures/vault/vars.yml");
const GROUP: &str = include_str!("fixtures/vault/group.yml");
const ROLE: &str = include_str!("fixtures/vault/role.yml");
const FILE: &str = include_str!("fixtures/vault/file.txt");
const INLINE: &str = include_str!("fixtures/vault/inline.yml");
const PASSWORD: &str = include_str!("fixtures/vault/password");
const PASSWORD_B: &str = include_str!("fixtures/vault/password-b");

/// The `!vault` value of `inline.yml`, indented as a play's `vars:` entry.
fn play() -> String {
    let inline: String = INLINE.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        r#"- hosts: local
  gather_facts: false
  vars_files: [vars.yml]
  vars:
{inline}  roles: [r]
  tasks:
    - debug: msg="{{{{ secret_value }}}} {{{{ nested.key }}}}"
    - debug: msg="{{{{ inline_secret }}}}"
    - debug: msg="{{{{ group_secret }}}}"
    - debug:
        msg: "{{{{ inline_secret is vault_encrypted }}}} {{{{ 'x' is vault_encrypted }}}} {{{{ 'vars.yml' is vaulted_file }}}} {{{{ 'pb.yml' is ansible.builtin.vaulted_file }}}}"
    - copy: src=file.txt dest={{{{ playbook_dir }}}}/copied.txt
    - template: src=file.txt dest={{{{ playbook_dir }}}}/templated.txt
    - debug: msg="{{{{ lookup('file', playbook_dir ~ '/copied.txt') }}}} / {{{{ lookup('file', playbook_dir ~ '/templated.txt') }}}} / {{{{ lookup('file', 'file.txt') }}}}"
    - include_vars: vars.yml
    - debug: msg="{{{{ secret_value }}}}"
"#
    )
}

fn project(play: &str) -> Vec<(&'static str, String)> {
    vec![
        ("inv.ini", LOCAL_INV.to_string()),
        ("group_vars/local.yml", GROUP.to_string()),
        ("vars.yml", VARS.to_string()),
        ("files/file.txt", FILE.to_string()),
        ("templates/file.txt", FILE.to_string()),
        ("password", PASSWORD.to_string()),
        ("password-b", PASSWORD_B.to_string()),
        ("pb.yml", play.to_string()),
        // A role's defaults, encrypted with the other id.
        ("roles/r/defaults/main.yml", ROLE.to_string()),
        ("roles/r/tasks/main.yml", "- debug: msg=\"{{ role_secret }}\"\n".to_string()),
    ]
}

fn borrowed<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    files.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

const WANT: &[&str] = &[
    "\"msg\": \"from-role-defaults\"",
    "\"msg\": \"hunter2 hunter2-x\"",
    "\"msg\": \"inline secret\"",
    "\"msg\": \"from-group-vars\"",
    "\"msg\": \"True False True False\"",
    "\"msg\": \"copied {{ inventory_hostname }} / copied localhost / copied {{ inventory_hostname }}\"",
    "\"msg\": \"hunter2\"",
];

#[test]
fn vault_files_and_values_decrypt_like_ansible() {
    let files = project(&play());
    // Two ids: the group_vars file is labelled `blue`, the rest uses the default id.
    check(
        &borrowed(&files),
        &["-i", "inv.ini", "pb.yml", "--vault-password-file", "password", "--vault-id", "blue@password-b"],
        &[],
        WANT,
    );
    check(
        &borrowed(&files),
        &["-i", "inv.ini", "pb.yml", "--vault-id", "blue@password-b", "--vault-id", "password"],
        &[],
        WANT,
    );
    // The environment's identity list and password file work as the flags do.
    check(
        &borrowed(&files),
        &["-i", "inv.ini", "pb.yml"],
        &[("ANSIBLE_VAULT_IDENTITY_LIST", "blue@$DIR/password-b"), ("ANSIBLE_VAULT_PASSWORD_FILE", "$DIR/password")],
        WANT,
    );
}

#[test]
fn an_executable_password_file_is_run() {
    let mut files = project(&play());
    files.push(("pass.sh", "#!/bin/sh\necho troupe-test-password\n".to_string()));
    let dir = scratch(&borrowed(&files));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path().join("pass.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = Run::new()
        .in_dir(dir.path())
        .args(["-i", "inv.ini", "pb.yml", "--vault-password-file", "pass.sh", "--vault-id", "blue@password-b"])
        .succeeds();
    d.stdout_has("hunter2-x");
}

#[test]
fn a_wrong_or_missing_password_names_the_file() {
    let files =
        project("- hosts: local\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - debug: msg=x\n");
    let dir = scratch(&borrowed(&files));
    // troupe fails the play's hosts (exit 2); Ansible stops the run (exit 1). Same message.
    let wrong =
        Run::new().in_dir(dir.path()).args(["-i", "inv.ini", "pb.yml", "--vault-id", "blue@password-b"]).code(2);
    wrong.stdout_has("Decryption failed (no vault secrets were found that could decrypt)").stdout_has("vars.yml");
    // The group_vars file is read with the inventory: no secret at all fails before any play.
    let none = Run::new().in_dir(dir.path()).args(["-i", "inv.ini", "pb.yml"]).run();
    assert_ne!(none.out.status.code(), Some(0));
    let all = format!("{}{}", none.stdout, none.stderr);
    assert!(all.contains("Attempting to decrypt but no vault secrets found"), "{all}");
    assert!(all.contains("group_vars/local.yml"), "{all}");
}

#[test]
fn an_inline_value_fails_only_where_it_is_used() {
    let inline: String = INLINE.lines().map(|l| format!("    {l}\n")).collect();
    let pb = format!(
        "- hosts: local\n  gather_facts: false\n  vars:\n{inline}  tasks:\n    - debug: msg=first\n    - debug: var=inline_secret\n"
    );
    let (ours, theirs) = both_exit(&[("inv.ini", LOCAL_INV), ("pb.yml", &pb)], &["-i", "inv.ini", "pb.yml"], 2);
    assert_eq!(ours, ["\"msg\": \"first\""]);
    if let Some(theirs) = theirs {
        assert_eq!(ours, theirs);
    }
    let dir = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", &pb), ("password-b", PASSWORD_B)]);
    let d =
        Run::new().in_dir(dir.path()).args(["-i", "inv.ini", "pb.yml", "--vault-password-file", "password-b"]).code(2);
    d.stdout_has("Decryption failed (no vault secrets were found that could decrypt)").stdout_has("pb.yml:");
}

#[test]
fn the_password_is_never_printed() {
    let files = project(&play());
    let dir = scratch(&borrowed(&files));
    let d = Run::new()
        .in_dir(dir.path())
        .args([
            "-i",
            "inv.ini",
            "pb.yml",
            "-vvvv",
            "--vault-password-file",
            "password",
            "--vault-id",
            "blue@password-b",
        ])
        .succeeds();
    for secret in [PASSWORD.trim(), PASSWORD_B.trim()] {
        assert!(!d.stdout.contains(secret) && !d.stderr.contains(secret), "{secret} printed");
    }
    // A decrypted value used by a `no_log` task stays hidden at any verbosity.
    let pb = "- hosts: local\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - command: echo {{ secret_value }}\n      no_log: true\n    - debug: msg={{ secret_value }}\n      no_log: true\n";
    let dir = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", pb), ("vars.yml", VARS), ("password", PASSWORD)]);
    let d = Run::new()
        .in_dir(dir.path())
        .args(["-i", "inv.ini", "pb.yml", "-vvvv", "--vault-password-file", "password"])
        .succeeds();
    assert!(!d.stdout.contains("hunter2") && !d.stderr.contains("hunter2"), "{}\n{}", d.stdout, d.stderr);
    d.stdout_has("censored");
}

#[test]
fn asking_without_a_terminal_is_a_clear_error() {
    let dir = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", "- hosts: local\n  tasks: []\n")]);
    let mut cmd = Command::new(troupe_bin());
    cmd.args(["-i", "inv.ini", "pb.yml", "-J"]).current_dir(dir.path()).stdin(Stdio::null());
    // A new session has no controlling terminal, even when the tests run in one.
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches no state of the parent.
    unsafe { cmd.pre_exec(|| rustix::process::setsid().map(drop).map_err(std::io::Error::from)) };
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains("cannot ask for the vault password: no terminal"), "{stderr}");
}

#[test]
fn vault_and_unvault_filters_match_ansible() {
    let pb = r#"- hosts: local
  gather_facts: false
  vars:
    v: "{{ 'some data' | vault('pw', salt='fixed-salt') }}"
  tasks:
    - debug: msg="{{ v }}"
    - debug: msg="{{ v | unvault('pw') }} {{ 'plain' | ansible.builtin.unvault('pw') }} {{ lookup('unvault', 'group.yml') }}"
"#;
    check(
        &[("inv.ini", LOCAL_INV), ("pb.yml", pb), ("group.yml", GROUP), ("password-b", PASSWORD_B)],
        &["-i", "inv.ini", "pb.yml", "--vault-id", "blue@password-b"],
        &[],
        &[
            // With a fixed salt the text is ansible-vault's to the byte.
            "\"msg\": \"$ANSIBLE_VAULT;1.2;AES256;filter_default\\n36363639373836353634326437333631366337340a66643764303761653965363266613163313736\\n37636237366432356162636538366466663963323563303932363761663538356362333434356538\\n65343563330a6633303164643831343335336335663535366266623766613764663061383261\\n\"",
            "\"msg\": \"some data plain group_secret: from-group-vars\\n\"",
        ],
    );
}
