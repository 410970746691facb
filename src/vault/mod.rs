//! Ansible Vault: decrypting vault files and `!vault` values with the secrets given by
//! `--vault-password-file`, `--vault-id` and `--ask-vault-password`.
//!
//! The secrets are process-wide, installed once while the settings are built (before
//! `-e @file` is read): YAML is loaded from many layers, and threading them through each would
//! touch every loader for one read-only value.

mod crypto;
mod secrets;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

pub use crypto::{is_vaulted, seal, Envelope, HEADER};
pub use secrets::{load_secrets, SecretSource};

/// One vault password and the label (vault id) it was given under.
#[derive(Clone)]
pub struct Secret {
    pub label: String,
    password: Vec<u8>,
}

impl Secret {
    pub fn new(label: &str, password: impl Into<Vec<u8>>) -> Secret {
        Secret { label: label.to_string(), password: password.into() }
    }
}

// The password is never printed, even in debug output.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({:?}, <hidden>)", self.label)
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VaultError {
    #[error("Attempting to decrypt but no vault secrets found")]
    NoSecrets,
    #[error("Decryption failed (no vault secrets were found that could decrypt)")]
    NoMatch,
    #[error("malformed vault data: {0}")]
    Malformed(String),
    /// A password source that could not be read (file, script, prompt).
    #[error("{0}")]
    Source(String),
}

/// What to do when a vault cannot be opened.
pub const HINT: &str = "give the vault password with --vault-password-file, --vault-id or --ask-vault-password";

static SECRETS: OnceLock<Vec<Secret>> = OnceLock::new();
/// Plaintexts of `!vault` values, for the `vault_encrypted` test: values are plain JSON here,
/// so the tag Ansible keeps on the value is kept beside it instead.
static INLINE: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Install the run's secrets (the first call wins).
pub fn install(secrets: Vec<Secret>) {
    let _ = SECRETS.set(secrets);
}

fn installed() -> &'static [Secret] {
    SECRETS.get().map(Vec::as_slice).unwrap_or(&[])
}

/// Decrypt vault text with `secrets`: those whose label matches the envelope's first, then
/// the others, as Ansible tries them.
pub fn decrypt_with(text: &str, secrets: &[Secret]) -> Result<Vec<u8>, VaultError> {
    let envelope = Envelope::parse(text)?;
    if secrets.is_empty() {
        return Err(VaultError::NoSecrets);
    }
    let label = envelope.label.as_deref();
    let (first, rest): (Vec<&Secret>, Vec<&Secret>) = secrets.iter().partition(|s| Some(s.label.as_str()) == label);
    first.into_iter().chain(rest).find_map(|s| envelope.open(&s.password)).ok_or(VaultError::NoMatch)
}

/// Decrypt vault text with the installed secrets.
pub fn decrypt(text: &str) -> Result<Vec<u8>, VaultError> {
    decrypt_with(text, installed())
}

/// A file's bytes, decrypted when they are vault text; the error names the file.
pub fn read_file(path: &Path) -> Result<Vec<u8>, FileError> {
    let bytes = std::fs::read(path).map_err(|error| FileError::Read { path: path.to_path_buf(), error })?;
    if !is_vaulted(&bytes) {
        return Ok(bytes);
    }
    let text = String::from_utf8_lossy(&bytes);
    decrypt(&text).map_err(|error| FileError::Vault { path: path.to_path_buf(), error })
}

/// Whether a file starts with the vault header (an unreadable file is not).
pub fn file_is_vaulted(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 14];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && head == *HEADER.as_bytes()
}

/// Why a file could not be read: the file itself, or its vault.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {}: {error}", path.display())]
    Read { path: std::path::PathBuf, error: std::io::Error },
    #[error("{error} on {}", path.display())]
    Vault { path: std::path::PathBuf, error: VaultError },
}

/// The template function a `!vault` value that could not be decrypted calls: it fails with
/// the reason when the value is used.
pub const FAILED_FN: &str = "__troupe_vault_failed";

pub fn failed(reason: String) -> Result<String, minijinja::Error> {
    Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, reason))
}

/// Decrypt an inline `!vault` value and remember it came from one.
pub fn decrypt_inline(text: &str) -> Result<String, VaultError> {
    let plain = decrypt(text)?;
    let plain = String::from_utf8(plain).map_err(|_| VaultError::Malformed("the plaintext is not UTF-8".into()))?;
    INLINE.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashSet::new).insert(plain.clone());
    Ok(plain)
}

/// Whether this text was the value of a `!vault` tag (`vault_encrypted`).
pub fn is_inline(text: &str) -> bool {
    INLINE.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|set| set.contains(text))
}

/// The `vault` filter: `data | vault(secret, salt=None, vault_id='filter_default')`.
pub fn vault_filter(
    data: minijinja::Value,
    secret: minijinja::Value,
    kwargs: minijinja::value::Kwargs,
) -> Result<String, minijinja::Error> {
    let bad = |m: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, m);
    let secret = secret.as_str().ok_or_else(|| bad("Secret passed is required to be a string.".into()))?;
    let data = data.as_str().ok_or_else(|| bad("Can only vault strings.".into()))?;
    let salt: Option<String> = kwargs.get("salt")?;
    let vault_id: Option<String> = kwargs.get("vault_id")?;
    let _: Option<bool> = kwargs.get("wrap_object")?;
    kwargs.assert_all_used()?;
    let salt = match salt {
        Some(s) if s.is_empty() => return Err(bad("Unable to encrypt: empty salt".into())),
        Some(s) => s.into_bytes(),
        None => rand::random::<[u8; 32]>().to_vec(),
    };
    Ok(seal(data.as_bytes(), secret.as_bytes(), &salt, Some(vault_id.as_deref().unwrap_or("filter_default"))))
}

/// The `unvault` filter: `vaulttext | unvault(secret, vault_id='filter_default')`; text that is
/// not vault text comes back as it is.
pub fn unvault_filter(
    vault: minijinja::Value,
    secret: minijinja::Value,
    kwargs: minijinja::value::Kwargs,
) -> Result<String, minijinja::Error> {
    let bad = |m: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, m);
    let secret = secret.as_str().ok_or_else(|| bad("Secret passed is required to be as string.".into()))?;
    let text = vault.as_str().ok_or_else(|| bad("Vault should be in the form of a string.".into()))?;
    let vault_id: Option<String> = kwargs.get("vault_id")?;
    kwargs.assert_all_used()?;
    if !is_vaulted(text.as_bytes()) {
        return Ok(text.to_string());
    }
    let secrets = [Secret::new(vault_id.as_deref().unwrap_or("filter_default"), secret)];
    let plain = decrypt_with(text, &secrets).map_err(|e| bad(format!("Unable to decrypt: {e}")))?;
    String::from_utf8(plain).map_err(|_| bad("Unable to decrypt: the plaintext is not UTF-8".into()))
}

#[cfg(test)]
mod tests;
