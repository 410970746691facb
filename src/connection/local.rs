//! The local connection: `sh -c` on the controller.

use std::process::Stdio;

use super::{prepare, Cmd, Connection, ConnectionError, Output, Prepared};
use async_trait::async_trait;

pub struct Local {
    host: String,
}

impl Local {
    pub fn new(host: &str) -> Local {
        Local { host: host.to_string() }
    }
}

#[async_trait]
impl Connection for Local {
    fn host(&self) -> &str {
        &self.host
    }

    fn is_local(&self) -> bool {
        true
    }

    async fn exec(&self, cmd: &Cmd) -> Result<Output, ConnectionError> {
        let Prepared { script, feed } = prepare(cmd);
        let mut child = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ConnectionError::Io(format!("cannot start /bin/sh: {e}")))?;
        let mut stdin = child.stdin.take();
        let len = feed.size().map_err(|e| ConnectionError::Io(format!("cannot read stdin for the command: {e}")))?;
        let feed = async move {
            if let Some(mut pipe) = stdin.take() {
                // A command that exits without reading all its input is not an error.
                let _ = feed.write_to(&mut pipe, len).await;
            }
        };
        let wait = async {
            let (_, out) = tokio::join!(feed, collect(&mut child));
            out
        };
        let out = match cmd.timeout {
            Some(t) => tokio::time::timeout(t, wait).await.map_err(|_| ConnectionError::Timeout(t))?,
            None => wait.await,
        }
        .map_err(|e| ConnectionError::Io(e.to_string()))?;
        Ok(out)
    }
}

/// How long output is still read after the command exited: a process it left in the
/// background may hold the pipes open for good (`sleep 10 &`), so its end is not waited for.
const DRAIN: std::time::Duration = std::time::Duration::from_millis(100);

/// The command's exit code and output: everything written until it exits, and what follows
/// while the pipes keep delivering (until [`DRAIN`] passes without a byte, or they close).
async fn collect(child: &mut tokio::process::Child) -> std::io::Result<Output> {
    use tokio::io::{AsyncRead, AsyncReadExt};
    async fn read_some<R: AsyncRead + Unpin>(r: &mut Option<R>, buf: &mut [u8]) -> std::io::Result<usize> {
        match r {
            Some(r) => r.read(buf).await,
            None => std::future::pending().await,
        }
    }
    let (mut so, mut se) = (child.stdout.take(), child.stderr.take());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut bo, mut be) = (vec![0u8; 16384], vec![0u8; 16384]);
    let mut status = None;
    while so.is_some() || se.is_some() {
        let drained = async {
            match status {
                Some(_) => tokio::time::sleep(DRAIN).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            n = read_some(&mut so, &mut bo) => match n? {
                0 => so = None,
                n => out.extend_from_slice(&bo[..n]),
            },
            n = read_some(&mut se, &mut be) => match n? {
                0 => se = None,
                n => err.extend_from_slice(&be[..n]),
            },
            s = child.wait(), if status.is_none() => status = Some(s?),
            _ = drained => break,
        }
    }
    let status = match status {
        Some(s) => s,
        None => child.wait().await?,
    };
    Ok(Output { rc: status.code().unwrap_or(-1), stdout: out, stderr: err })
}
