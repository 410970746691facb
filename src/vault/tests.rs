//! Vectors made with the real ansible-vault (tests/fixtures/vault/README.md).

use super::*;

const VARS: &str = include_str!("../../tests/fixtures/vault/vars.yml");
const VARS_PLAIN: &str = include_str!("../../tests/fixtures/vault/vars.plain.yml");
const LABELLED: &str = include_str!("../../tests/fixtures/vault/labelled.txt");
const BLOCK: &str = include_str!("../../tests/fixtures/vault/block.txt");
const INLINE: &str = include_str!("../../tests/fixtures/vault/inline.yml");

fn default() -> Secret {
    Secret::new("default", "troupe-test-password")
}
fn blue() -> Secret {
    Secret::new("blue", "other-pass")
}

#[test]
fn decrypts_a_file_made_by_ansible_vault() {
    assert_eq!(decrypt_with(VARS, &[default()]).unwrap(), VARS_PLAIN.as_bytes());
}

#[test]
fn a_whole_block_of_padding_is_removed() {
    assert_eq!(decrypt_with(BLOCK, &[default()]).unwrap(), b"exactly16bytes!!");
}

#[test]
fn reads_the_label_of_format_1_2_and_tries_that_secret_first() {
    assert_eq!(Envelope::parse(LABELLED).unwrap().label.as_deref(), Some("blue"));
    assert_eq!(decrypt_with(LABELLED, &[default(), blue()]).unwrap(), b"labelled plaintext\n");
    // A label is a preference, not a filter: an unlabelled secret with the password works.
    assert_eq!(decrypt_with(LABELLED, &[Secret::new("x", "other-pass")]).unwrap(), b"labelled plaintext\n");
}

#[test]
fn an_inline_value_is_indented_text() {
    let body = INLINE.split_once("|\n").unwrap().1;
    assert_eq!(decrypt_with(body, &[blue(), default()]).unwrap(), b"inline secret");
}

#[test]
fn wrong_or_missing_passwords_say_so() {
    assert_eq!(decrypt_with(VARS, &[blue()]), Err(VaultError::NoMatch));
    assert_eq!(decrypt_with(VARS, &[]), Err(VaultError::NoSecrets));
    assert_eq!(VaultError::NoMatch.to_string(), "Decryption failed (no vault secrets were found that could decrypt)");
    assert_eq!(VaultError::NoSecrets.to_string(), "Attempting to decrypt but no vault secrets found");
}

#[test]
fn damaged_text_is_an_error_not_a_panic() {
    for bad in [
        "$ANSIBLE_VAULT;1.1;AES256\nzz",
        "$ANSIBLE_VAULT;1.1;AES256\n",
        "$ANSIBLE_VAULT;1.1;AES256\n6162",
        "$ANSIBLE_VAULT;1.0;AES\n00",
        "$ANSIBLE_VAULT",
        "$ANSIBLE_VAULT;2.0;AES256\n00",
        "not vault",
    ] {
        assert!(matches!(decrypt_with(bad, &[default()]), Err(VaultError::Malformed(_))), "{bad}");
    }
    // A truncated ciphertext fails the HMAC: that is a wrong password to Ansible too.
    let cut = &VARS[..VARS.len() - 10];
    assert!(decrypt_with(cut, &[default()]).is_err());
}

#[test]
fn secret_sources_parse_like_vault_ids() {
    assert_eq!(SecretSource::parse("dev@file"), SecretSource { label: "dev".into(), source: "file".into() });
    assert_eq!(SecretSource::parse("file").label, "default");
    assert_eq!(SecretSource::parse("prod@prompt").source, "prompt");
}

#[test]
fn password_files_and_scripts() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "  troupe-test-password \n").unwrap();
    let script = dir.path().join("pw.sh");
    std::fs::write(&script, "#!/bin/sh\necho other-pass\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let got = load_secrets(&[
        SecretSource::default_label(&file.display().to_string()),
        SecretSource::parse(&format!("blue@{}", script.display())),
    ])
    .unwrap();
    assert_eq!(got[0].password, b"troupe-test-password");
    assert_eq!((got[1].label.as_str(), got[1].password.as_slice()), ("blue", &b"other-pass"[..]));
    let missing = load_secrets(&[SecretSource::default_label("/nonexistent/pw")]).unwrap_err();
    assert_eq!(missing.to_string(), "The vault password file /nonexistent/pw was not found");
    std::fs::write(&file, "\n").unwrap();
    let empty = load_secrets(&[SecretSource::default_label(&file.display().to_string())]).unwrap_err();
    assert!(empty.to_string().starts_with("Invalid vault password"), "{empty}");
}

#[test]
fn the_password_is_not_in_debug_output() {
    assert!(!format!("{:?}", default()).contains("troupe-test-password"));
}

#[test]
fn sealed_text_opens_with_the_same_password_and_label() {
    let text = seal(b"some data", b"pw", b"fixed-salt", Some("filter_default"));
    assert!(text.starts_with("$ANSIBLE_VAULT;1.2;AES256;filter_default\n") && text.ends_with('\n'));
    assert!(text.lines().skip(1).all(|l| l.len() <= 80));
    assert_eq!(decrypt_with(&text, &[Secret::new("x", "pw")]).unwrap(), b"some data");
    let default = seal(b"", b"pw", b"s", Some("default"));
    assert!(default.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
    assert_eq!(decrypt_with(&default, &[Secret::new("x", "pw")]).unwrap(), b"");
}
