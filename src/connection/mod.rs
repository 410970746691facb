//! How commands reach a host. Every module speaks POSIX shell through one `Connection`;
//! local and SSH differ only in how the shell is reached.

mod input;
pub mod local;
pub mod pool;
pub mod retry;
pub mod shell;
pub mod ssh;
pub mod ssh_opts;
#[cfg(test)]
mod test_sshd;

use std::time::Duration;

use async_trait::async_trait;

pub use input::{Feed, Input};

/// Privilege escalation for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    /// `sudo` or `su`.
    pub method: String,
    pub user: String,
    /// Never logged; fed on stdin, never on a command line.
    pub password: Option<String>,
}

/// One shell script to run on the target.
#[derive(Debug, Clone, Default)]
pub struct Cmd {
    /// POSIX `sh` source. Build words with [`quote`], never by hand.
    pub script: String,
    pub stdin: Option<Input>,
    pub env: Vec<(String, String)>,
    pub chdir: Option<String>,
    pub timeout: Option<Duration>,
    pub escalate: Option<Become>,
    /// The script only reads: it does not make cached facts stale (see `facts::ahead`).
    pub read_only: bool,
}

impl Cmd {
    pub fn new(script: impl Into<String>) -> Cmd {
        Cmd { script: script.into(), ..Default::default() }
    }
    pub fn stdin(mut self, data: Vec<u8>) -> Cmd {
        self.stdin = Some(Input::Bytes(data));
        self
    }
    /// Mark a script that changes nothing on the host.
    pub fn read_only(mut self) -> Cmd {
        self.read_only = true;
        self
    }
    /// Stream a controller file to the command's stdin.
    pub fn stdin_file(mut self, path: impl Into<std::path::PathBuf>) -> Cmd {
        self.stdin = Some(Input::File(path.into()));
        self
    }
    /// What to feed the command: the become password line first, when there is one.
    pub fn feed(&self) -> Feed<'_> {
        let mut prefix = Vec::new();
        if let Some(pw) = self.escalate.as_ref().and_then(|b| b.password.as_ref()) {
            prefix.extend_from_slice(pw.as_bytes());
            prefix.push(b'\n');
        }
        Feed { prefix, input: self.stdin.as_ref() }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Output {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The host can't be reached at all: the run marks it `unreachable`.
    #[error("{reason}")]
    Unreachable { reason: String },
    #[error("command timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Io(String),
}

#[async_trait]
pub trait Connection: Send + Sync {
    /// The host this connection talks to (inventory name).
    fn host(&self) -> &str;
    /// Run one script; a non-zero exit is an `Output`, not an error.
    async fn exec(&self, cmd: &Cmd) -> Result<Output, ConnectionError>;
    /// Release the connection (SSH master, remote shell).
    async fn close(&self) {}
}

/// Quote one word for POSIX sh.
pub fn quote(word: &str) -> String {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Wrap a script so it runs as another user (`sudo`/`su`), reading the password from stdin
/// first when there is one, so it never shows in a process list.
pub fn wrap_become(script: &str, escalate: &Become) -> String {
    let inner = quote(script);
    let user = quote(&escalate.user);
    match (escalate.method.as_str(), &escalate.password) {
        ("su", _) => format!("su -s /bin/sh {user} -c {inner}"),
        (_, Some(_)) => format!("sudo -S -p '' -H -u {user} /bin/sh -c {inner}"),
        (_, None) => format!("sudo -n -H -u {user} /bin/sh -c {inner}"),
    }
}

/// The full script as a connection sends it: environment, working folder, become.
pub fn prepare(cmd: &Cmd) -> String {
    let mut script = String::new();
    for (k, v) in &cmd.env {
        script.push_str(&format!("export {}={}\n", k, quote(v)));
    }
    if let Some(dir) = &cmd.chdir {
        script.push_str(&format!("cd {} || exit 1\n", quote(dir)));
    }
    script.push_str(&cmd.script);
    match &cmd.escalate {
        Some(b) => wrap_become(&script, b),
        None => script,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_words() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn become_never_puts_password_on_command_line() {
        let b = Become { method: "sudo".into(), user: "root".into(), password: Some("s3cret".into()) };
        let s = wrap_become("id -u", &b);
        assert!(!s.contains("s3cret"));
        assert!(s.starts_with("sudo -S"));
    }
}
