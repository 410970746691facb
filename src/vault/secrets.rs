//! Where vault passwords come from: a file, an executable's output, or the terminal.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{Secret, VaultError};

/// `[label@]source` as `--vault-id` takes it; `--vault-password-file F` is `default@F`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSource {
    pub label: String,
    pub source: String,
}

impl SecretSource {
    pub fn parse(id: &str) -> SecretSource {
        match id.split_once('@') {
            Some((label, source)) => SecretSource { label: label.to_string(), source: source.to_string() },
            None => SecretSource::default_label(id),
        }
    }
    pub fn default_label(source: &str) -> SecretSource {
        SecretSource { label: "default".into(), source: source.to_string() }
    }
}

/// Read every source in order; a source that fails stops the run (as in Ansible).
pub fn load_secrets(sources: &[SecretSource]) -> Result<Vec<Secret>, VaultError> {
    sources.iter().map(|s| Ok(Secret::new(&s.label, read_source(s)?))).collect()
}

fn read_source(s: &SecretSource) -> Result<Vec<u8>, VaultError> {
    if s.source == "prompt" || s.source == "prompt_ask_vault_pass" {
        let prompt = if s.label == "default" {
            "Vault password: ".to_string()
        } else {
            format!("Vault password ({}): ", s.label)
        };
        return prompt_password(&prompt);
    }
    let path = Path::new(&s.source);
    let meta = std::fs::metadata(path)
        .map_err(|_| VaultError::Source(format!("The vault password file {} was not found", path.display())))?;
    if is_executable(&meta) {
        return run_script(path, &s.label);
    }
    let text = std::fs::read(path)
        .map_err(|e| VaultError::Source(format!("Could not read vault password file {}: {e}", path.display())))?;
    let password = text.trim_ascii().to_vec();
    if password.is_empty() {
        return Err(VaultError::Source(format!("Invalid vault password was provided from file ({})", path.display())));
    }
    Ok(password)
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

/// An executable's stdout is the password; a `*-client` script is told which id is wanted.
fn run_script(path: &Path, label: &str) -> Result<Vec<u8>, VaultError> {
    // A bare name is a file here, not a command to look up on PATH.
    let mut cmd = Command::new(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if stem.ends_with("-client") {
        cmd.args(["--vault-id", label]);
    }
    let out =
        cmd.stdin(Stdio::inherit()).stderr(Stdio::piped()).output().map_err(|e| {
            VaultError::Source(format!("Problem running vault password script {}: {e}", path.display()))
        })?;
    if !out.status.success() {
        return Err(VaultError::Source(format!(
            "Vault password script {} returned non-zero ({}): {}",
            path.display(),
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let mut password = out.stdout;
    while password.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        password.pop();
    }
    if password.is_empty() {
        return Err(VaultError::Source(format!(
            "Invalid vault password was provided from script ({})",
            path.display()
        )));
    }
    Ok(password)
}

/// Read a password from the controlling terminal with echo off.
fn prompt_password(prompt: &str) -> Result<Vec<u8>, VaultError> {
    use std::io::{BufRead, BufReader, Write};
    use std::os::fd::AsRawFd;
    let no_tty = |e: std::io::Error| {
        VaultError::Source(format!(
            "cannot ask for the vault password: no terminal ({e}); use --vault-password-file or --vault-id label@file"
        ))
    };
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").map_err(no_tty)?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data, and `fd` is open for the life of `tty`.
    let saved = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) != 0 {
            return Err(no_tty(std::io::Error::last_os_error()));
        }
        let mut quiet = t;
        quiet.c_lflag &= !libc::ECHO;
        libc::tcsetattr(fd, libc::TCSANOW, &quiet);
        t
    };
    let mut writer = &tty;
    let _ = writer.write_all(prompt.as_bytes());
    let _ = writer.flush();
    let mut line = String::new();
    let read = BufReader::new(&tty).read_line(&mut line);
    // SAFETY: as above; echo comes back whatever the read did.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    let _ = writer.write_all(b"\n");
    read.map_err(|e| VaultError::Source(format!("cannot read the vault password: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).as_bytes().to_vec())
}
