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
            let (_, out) = tokio::join!(feed, child.wait_with_output());
            out
        };
        let out = match cmd.timeout {
            Some(t) => tokio::time::timeout(t, wait).await.map_err(|_| ConnectionError::Timeout(t))?,
            None => wait.await,
        }
        .map_err(|e| ConnectionError::Io(e.to_string()))?;
        Ok(Output { rc: out.status.code().unwrap_or(-1), stdout: out.stdout, stderr: out.stderr })
    }
}
