//! The SSH connection: one ControlMaster per host (openssh native mux), one persistent remote
//! shell for the common case, extra channels when commands overlap or the shell is gone.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use openssh::{Session, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::retry::{classify, next_pause, FailureKind};
use super::shell::{RemoteShell, ShellError};
use super::ssh_opts::unreachable_reason;
pub use super::ssh_opts::{default_control_dir, SshDefaults, SshOptions};
use super::{prepare, quote, run_from_stdin, Cmd, Connection, ConnectionError, Feed, Output, Prepared, SCRIPT_END};

/// Channels one host may have open at once, the persistent shell included; sshd's
/// `MaxSessions` defaults to 10 and kill channels need the last two.
const MAX_CHANNELS: usize = 8;
const KILL_CHANNELS: usize = 2;
/// After this many failed starts the persistent shell is given up for this host.
const MAX_SHELL_STARTS: u32 = 3;
/// How long a killed command gets to report before its shell is dropped.
const KILL_GRACE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct ShellSlot {
    shell: Option<RemoteShell>,
    failed_starts: u32,
}

pub struct Ssh {
    opts: SshOptions,
    session: std::sync::Mutex<Option<Arc<Session>>>,
    shell: Mutex<ShellSlot>,
    channels: Semaphore,
    killers: Semaphore,
}

/// How a try on the persistent shell ended when it did not produce output.
enum ShellTry {
    /// The command did not run: run it on a channel of its own.
    Fallback,
    Failed(ConnectionError),
}

impl Ssh {
    /// Start the ControlMaster for this host. Failures are `Unreachable` with ssh's reason.
    pub async fn connect(opts: SshOptions) -> Result<Ssh, ConnectionError> {
        Ssh::connect_gated(opts, None).await
    }

    /// [`Ssh::connect`], trying again as [`retry`](super::retry) says. Each attempt holds a
    /// permit of `gate` (when given) while ssh authenticates, so that names sharing one sshd
    /// don't exceed its `MaxStartups`; the pause between attempts holds none.
    pub async fn connect_gated(opts: SshOptions, gate: Option<&Semaphore>) -> Result<Ssh, ConnectionError> {
        ensure_private_dir(&opts.control_dir)?;
        let mut attempt = 0;
        loop {
            let permit = match gate {
                Some(g) => Some(g.acquire().await.map_err(|e| ConnectionError::Io(e.to_string()))?),
                None => None,
            };
            let tried = Ssh::connect_once(&opts).await;
            drop(permit);
            let (error, kind) = match tried {
                Ok(session) => return Ok(Ssh::with_session(opts, session)),
                Err(failure) => failure,
            };
            let Some(kind) = kind else { return Err(error) };
            match next_pause(attempt, kind, opts.retries, rand::random::<f64>()) {
                Some(pause) => tokio::time::sleep(pause).await,
                None if attempt == 0 => return Err(error),
                None => {
                    let reason = format!("{error} (after {} attempts)", attempt + 1);
                    return Err(ConnectionError::Unreachable { reason });
                }
            }
            attempt += 1;
        }
    }

    /// One try at starting the ControlMaster. A failure comes with its kind when trying
    /// again could help (ssh failed), or without one (the options can't work).
    async fn connect_once(opts: &SshOptions) -> Result<Session, (ConnectionError, Option<FailureKind>)> {
        let builder = opts.builder().map_err(|reason| (ConnectionError::Unreachable { reason }, None))?;
        // ssh applies ConnectTimeout to connect and key exchange; this bounds the rest (auth).
        let limit = opts.connect_timeout * 3 + Duration::from_secs(5);
        match tokio::time::timeout(limit, builder.connect_mux(&opts.address)).await {
            Err(_) => {
                let reason = format!("timed out (no SSH session with {} after {limit:?})", opts.address);
                Err((ConnectionError::Unreachable { reason }, Some(FailureKind::Other)))
            }
            Ok(Err(e)) => {
                let kind = match &e {
                    openssh::Error::Connect(io) => Some(classify(&io.to_string())),
                    openssh::Error::Master(_) => None,
                    _ => Some(FailureKind::Other),
                };
                Err((ConnectionError::Unreachable { reason: connect_error(&e) }, kind))
            }
            Ok(Ok(s)) => Ok(s),
        }
    }

    fn with_session(opts: SshOptions, session: Session) -> Ssh {
        Ssh {
            opts,
            session: std::sync::Mutex::new(Some(Arc::new(session))),
            shell: Mutex::new(ShellSlot::default()),
            channels: Semaphore::new(MAX_CHANNELS - 1),
            killers: Semaphore::new(KILL_CHANNELS),
        }
    }

    pub fn options(&self) -> &SshOptions {
        &self.opts
    }

    fn session(&self) -> Result<Arc<Session>, ConnectionError> {
        let guard = self.session.lock().map_err(|_| ConnectionError::Io("ssh session lock poisoned".into()))?;
        guard.clone().ok_or_else(|| ConnectionError::Io(format!("connection to {} is closed", self.opts.host)))
    }

    /// Run on the persistent shell (starting it if needed).
    async fn in_shell(
        &self,
        slot: &mut ShellSlot,
        session: &Arc<Session>,
        script: &str,
        (feed, len): (&Feed<'_>, u64),
        timeout: Option<Duration>,
    ) -> Result<Output, ShellTry> {
        if let Some(sh) = slot.shell.as_mut() {
            if sh.is_dead().await {
                slot.shell = None;
            }
        }
        if slot.shell.is_none() {
            if slot.failed_starts >= MAX_SHELL_STARTS {
                return Err(ShellTry::Fallback);
            }
            match RemoteShell::start(session.clone(), self.opts.connect_timeout).await {
                Ok(sh) => slot.shell = Some(sh),
                Err(_) => {
                    slot.failed_starts += 1;
                    return Err(ShellTry::Fallback);
                }
            }
        }
        let Some(shell) = slot.shell.as_mut() else {
            return Err(ShellTry::Fallback);
        };
        let deadline = timeout.map(|t| Instant::now() + t);
        let pid = match within(deadline, shell.send(script, feed, len, timeout.is_some())).await {
            Some(Ok(pid)) => pid,
            Some(Err(ShellError::NotStarted(_))) => {
                slot.shell = None;
                return Err(ShellTry::Fallback);
            }
            // The command did not run; the shell is in step (or has exited, seen next time).
            Some(Err(e @ ShellError::Spool(_))) => return Err(ShellTry::Failed(ConnectionError::Io(e.to_string()))),
            Some(Err(e)) => {
                slot.shell = None;
                return Err(ShellTry::Failed(self.broken(session, e).await));
            }
            None => {
                // Stuck while sending: the loop may be half-way through a read.
                let loop_pid = shell.pid;
                slot.shell = None;
                self.kill(session, loop_pid).await;
                return Err(ShellTry::Failed(ConnectionError::Timeout(timeout.unwrap_or_default())));
            }
        };
        match within(deadline, shell.finish()).await {
            Some(Ok(out)) => Ok(out),
            Some(Err(e)) => {
                slot.shell = None;
                Err(ShellTry::Failed(self.broken(session, e).await))
            }
            None => {
                self.kill(session, pid).await;
                // The loop reports the killed command; read that so the shell stays in step.
                if !matches!(tokio::time::timeout(KILL_GRACE, shell.finish()).await, Ok(Ok(_))) {
                    let loop_pid = shell.pid;
                    slot.shell = None;
                    self.kill(session, loop_pid).await;
                }
                Err(ShellTry::Failed(ConnectionError::Timeout(timeout.unwrap_or_default())))
            }
        }
    }

    /// What a shell that broke mid-command means: with the SSH master gone too, the host was
    /// lost (`unreachable`, as Ansible says when ssh exits 255); otherwise the command failed.
    async fn broken(&self, session: &Arc<Session>, e: ShellError) -> ConnectionError {
        // The master may see the connection go a moment after the shell's channel does.
        let mut alive = session.check().await;
        if alive.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            alive = session.check().await;
        }
        match alive {
            Err(_) => ConnectionError::Unreachable { reason: format!("connection to {} lost: {e}", self.opts.address) },
            Ok(()) => ConnectionError::Io(e.to_string()),
        }
    }

    /// Run on a channel of its own (`sh -c`). The first stderr line carries the PID so a
    /// timed-out command can be killed with its process group (sshd makes it a session leader).
    async fn in_channel(
        &self,
        session: &Arc<Session>,
        script: &str,
        feed: &Feed<'_>,
        timeout: Option<Duration>,
    ) -> Result<Output, ConnectionError> {
        let _permit = self.channels.acquire().await.map_err(|e| ConnectionError::Io(e.to_string()))?;
        let (line, body) = channel_command(script);
        let feed = Feed { prefix: [&body[..], &feed.prefix].concat(), input: feed.input };
        let len = feed.size().map_err(|e| ConnectionError::Io(format!("cannot read stdin for the command: {e}")))?;
        let pid = AtomicU32::new(0);
        let run = async {
            let mut child = Session::to_raw_command(session.clone(), &line)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .await
                .map_err(|e| lost(&self.opts, e))?;
            let (mut stdin, mut stdout, mut stderr) =
                (child.stdin().take(), child.stdout().take(), child.stderr().take());
            let feed = async {
                if let Some(pipe) = stdin.as_mut() {
                    // A command that exits without reading all its input is not an error.
                    let _ = feed.write_to(pipe, len).await;
                    let _ = pipe.shutdown().await;
                }
                drop(stdin.take());
            };
            let out = async {
                let mut buf = Vec::new();
                if let Some(pipe) = stdout.as_mut() {
                    let _ = pipe.read_to_end(&mut buf).await;
                }
                buf
            };
            let err = async {
                // Read in chunks: the PID is wanted before the command ends (to kill it).
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                while let Some(pipe) = stderr.as_mut() {
                    match pipe.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if pid.load(Ordering::Relaxed) == 0 {
                        if let (Some(p), _) = split_pid_line(&buf) {
                            pid.store(p, Ordering::Relaxed);
                        }
                    }
                }
                buf
            };
            let (_, stdout, stderr) = tokio::join!(feed, out, err);
            let (_, stderr) = split_pid_line(&stderr);
            let rc = match child.wait().await {
                Ok(status) => status.code().unwrap_or(-1),
                Err(openssh::Error::RemoteProcessTerminated) => -1,
                Err(e) => return Err(lost(&self.opts, e)),
            };
            Ok(Output { rc, stdout, stderr })
        };
        let Some(t) = timeout else { return run.await };
        tokio::pin!(run);
        tokio::select! {
            r = &mut run => return r,
            _ = tokio::time::sleep(t) => {}
        }
        // Login scripts run before the command, so its PID may still be on the way.
        let grace = Instant::now() + KILL_GRACE;
        while pid.load(Ordering::Relaxed) == 0 && Instant::now() < grace {
            tokio::select! {
                _ = &mut run => return Err(ConnectionError::Timeout(t)),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        let p = pid.load(Ordering::Relaxed);
        if p != 0 {
            self.kill(session, p).await;
        }
        Err(ConnectionError::Timeout(t))
    }

    /// TERM a process group (or a lone process), KILL it shortly after; on a channel of its own.
    async fn kill(&self, session: &Arc<Session>, pid: u32) {
        let Ok(_permit) = self.killers.acquire().await else {
            return;
        };
        let script = format!(
            "kill -TERM -{pid} 2>/dev/null || kill -TERM {pid} 2>/dev/null; \
             (sleep 2; kill -KILL -{pid} || kill -KILL {pid}) </dev/null >/dev/null 2>&1 &"
        );
        let line = format!("exec /bin/sh -c {}", quote(&script));
        let run = async {
            let _ = Session::to_raw_command(session.clone(), &line)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), run).await;
    }

    /// Run a script on a channel of its own, bypassing the shell.
    #[cfg(test)]
    pub(crate) async fn on_channel(&self, script: &str) -> Result<Output, ConnectionError> {
        self.in_channel(&self.session()?, script, &Feed { prefix: Vec::new(), input: None }, None).await
    }

    #[cfg(test)]
    pub(crate) async fn shell_pid(&self) -> Option<u32> {
        self.shell.lock().await.shell.as_ref().map(|s| s.pid)
    }

    /// Never start the persistent shell again (tests the per-channel path).
    #[cfg(test)]
    pub(crate) async fn give_up_shell(&self) {
        let mut slot = self.shell.lock().await;
        slot.failed_starts = MAX_SHELL_STARTS;
        if let Some(sh) = slot.shell.take() {
            sh.exit().await;
        }
    }
}

#[async_trait]
impl Connection for Ssh {
    fn host(&self) -> &str {
        &self.opts.host
    }

    async fn exec(&self, cmd: &Cmd) -> Result<Output, ConnectionError> {
        let session = self.session()?;
        let Prepared { script, feed } = prepare(cmd);
        let len = feed.size().map_err(|e| ConnectionError::Io(format!("cannot read stdin for the command: {e}")))?;
        // The shell serves one command at a time; overlapping commands take extra channels.
        if let Ok(mut slot) = self.shell.try_lock() {
            match self.in_shell(&mut slot, &session, &script, (&feed, len), cmd.timeout).await {
                Ok(out) => return Ok(out),
                Err(ShellTry::Failed(e)) => return Err(e),
                Err(ShellTry::Fallback) => {}
            }
        }
        self.in_channel(&session, &script, &feed, cmd.timeout).await
    }

    /// A new master and shell; the old ones (to a host that went away) are dropped, not
    /// asked to exit, since their peer may never answer.
    async fn reconnect(&self) -> Result<(), ConnectionError> {
        {
            let mut slot = self.shell.lock().await;
            slot.shell = None;
            slot.failed_starts = 0;
        }
        let old = self.session.lock().ok().and_then(|mut s| s.take());
        drop(old);
        let session = Ssh::connect_once(&self.opts).await.map_err(|(e, _)| e)?;
        let mut guard = self.session.lock().map_err(|_| ConnectionError::Io("ssh session lock poisoned".into()))?;
        *guard = Some(Arc::new(session));
        Ok(())
    }

    fn ssh_options(&self) -> Option<&SshOptions> {
        Some(&self.opts)
    }

    async fn close(&self) {
        let shell = self.shell.lock().await.shell.take();
        if let Some(sh) = shell {
            sh.exit().await;
        }
        let session = self.session.lock().ok().and_then(|mut s| s.take());
        if let Some(Ok(session)) = session.map(Arc::try_unwrap) {
            let _ = session.close().await;
        }
        let _ = std::fs::remove_file(self.opts.config_path());
    }
}

/// Command line and stdin prefix for running `script` on a channel of its own. The shell's PID
/// comes first on stderr. The script travels on stdin, never on the command line, where any
/// user of the host could read it (`export TOKEN=…`) in `ps`.
fn channel_command(script: &str) -> (String, Vec<u8>) {
    let body = format!("{script}{SCRIPT_END}");
    let wrapper = format!(
        "printf 'troupe-pid %s\\n' \"$$\" >&2\n\
         if head --version 2>/dev/null | grep GNU >/dev/null; then {}\nelse {}\nfi",
        run_from_stdin(body.len(), "head -c "),
        run_from_stdin(body.len(), "dd bs=1 2>/dev/null count="),
    );
    (format!("exec /bin/sh -c {}", quote(&wrapper)), body.into_bytes())
}

/// Run `fut` until `deadline` (if any); `None` when the deadline passed first.
async fn within<T>(deadline: Option<Instant>, fut: impl std::future::Future<Output = T>) -> Option<T> {
    match deadline {
        None => Some(fut.await),
        Some(d) => tokio::time::timeout_at(d, fut).await.ok(),
    }
}

/// Strip the `troupe-pid N` line (and anything a login script printed before it).
fn split_pid_line(stderr: &[u8]) -> (Option<u32>, Vec<u8>) {
    let marker = b"troupe-pid ";
    let Some(at) = stderr.windows(marker.len()).position(|w| w == marker) else {
        return (None, stderr.to_vec());
    };
    let rest = &stderr[at + marker.len()..];
    // Only a whole line counts: a half-received one would give a wrong PID.
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return (None, stderr.to_vec());
    };
    let pid = std::str::from_utf8(&rest[..end]).ok().and_then(|s| s.trim().parse().ok());
    let mut out = stderr[..at].to_vec();
    out.extend_from_slice(&rest[end + 1..]);
    (pid, out)
}

fn lost(opts: &SshOptions, e: openssh::Error) -> ConnectionError {
    ConnectionError::Unreachable { reason: format!("connection to {} lost: {e}", opts.address) }
}

fn connect_error(e: &openssh::Error) -> String {
    match e {
        openssh::Error::Connect(io) => unreachable_reason(&io.to_string()),
        openssh::Error::Master(io) => format!("cannot start ssh: {io}"),
        other => other.to_string(),
    }
}

/// Create the control folder, private to this user (sockets in it grant access to hosts).
fn ensure_private_dir(dir: &Path) -> Result<(), ConnectionError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let fail = |e: std::io::Error| ConnectionError::Io(format!("cannot create control folder {}: {e}", dir.display()));
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(fail)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)
}

#[cfg(test)]
#[path = "ssh_tests.rs"]
mod tests;
