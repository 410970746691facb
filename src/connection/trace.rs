//! -vvv: how each host is reached and what runs there, as Ansible's `ESTABLISH … CONNECTION`
//! and `EXEC` lines. Only the command line shows: with become, the `sudo`/`su` wrapper (the
//! script and any password travel on stdin); without, the script's size. A script may carry
//! what a task keeps secret, so its text never shows.

use std::sync::Arc;

use async_trait::async_trait;

use super::ssh_opts::SshOptions;
use super::{prepare, Cmd, Connection, ConnectionError, Output};

/// Where trace lines go (the reporter).
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// A connection that says what it runs before it runs it.
pub struct Traced {
    inner: Arc<dyn Connection>,
    /// What Ansible names the host in its trace (`ansible_host` over SSH).
    address: String,
    sink: Sink,
}

impl Traced {
    /// Wrap `inner`, after saying how it was reached.
    pub fn wrap(inner: Arc<dyn Connection>, sink: Sink) -> Arc<dyn Connection> {
        let (address, how, user) = match inner.ssh_options() {
            Some(o) => (o.address.clone(), "SSH", o.user.clone().unwrap_or_else(|| "None".into())),
            None => (inner.host().to_string(), "LOCAL", whoami()),
        };
        sink(&format!("<{address}> ESTABLISH {how} CONNECTION FOR USER: {user}"));
        Arc::new(Traced { inner, address, sink })
    }
}

fn whoami() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "root".into())
}

/// The command line `cmd` runs with.
pub fn shown(cmd: &Cmd) -> String {
    let script = prepare(cmd).script;
    match &cmd.escalate {
        Some(_) => script,
        None => format!("/bin/sh (a script of {} bytes)", script.len()),
    }
}

#[async_trait]
impl Connection for Traced {
    fn host(&self) -> &str {
        self.inner.host()
    }
    async fn exec(&self, cmd: &Cmd) -> Result<Output, ConnectionError> {
        (self.sink)(&format!("<{}> EXEC {}", self.address, shown(cmd)));
        self.inner.exec(cmd).await
    }
    async fn close(&self) {
        self.inner.close().await
    }
    async fn reconnect(&self) -> Result<(), ConnectionError> {
        self.inner.reconnect().await
    }
    fn is_local(&self) -> bool {
        self.inner.is_local()
    }
    fn ssh_options(&self) -> Option<&SshOptions> {
        self.inner.ssh_options()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Become;

    #[test]
    fn a_script_never_shows_and_become_shows_its_wrapper() {
        let mut cmd = Cmd::new("echo s3cret-token".to_string());
        assert!(shown(&cmd).starts_with("/bin/sh (a script of "), "{}", shown(&cmd));
        assert!(!shown(&cmd).contains("s3cret"));
        cmd.escalate = Some(Become { method: "sudo".into(), user: "root".into(), password: Some("pw-s3cret".into()) });
        let line = shown(&cmd);
        assert!(line.contains("sudo -H -S -n -u root /bin/sh -c "), "{line}");
        assert!(!line.contains("s3cret"), "{line}");
    }
}
