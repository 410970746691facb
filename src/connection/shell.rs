//! A persistent remote `sh` on one SSH channel, and the framing that carries scripts to it and
//! results back.
//!
//! Request (controller → shell): one line of shell code that the shell's own parser reads,
//! `__t_tok=<token> __t_bg=<0|1> __t_in=<stdin-bytes> __t_s='<script>'; __t_go`, with the
//! script as one single-quoted word (so the parser reads it in blocks, whatever it holds).
//! With stdin bytes the shell answers `<token> in` and only then are they sent, followed by the
//! line `<token>` (so its parser has not read them ahead). They are spooled with `tee`, which
//! reads all of them even when the spool can't be written (a full `/tmp`; one more write then
//! tells why, off the common path), and the shell then
//! reads the token line itself: if that is not the next line (stdin ended early, the reader
//! died) the shell exits rather than parse payload bytes as commands. Either failure answers
//! `<token> spool <reason>` instead of running the script. The script's stdout and stderr go straight to the channel's two
//! streams: no temporary files and no helper process per command. The shell answers
//! `<token> run <pid>` on stdout; after the script ends it writes `<token>\n` on stderr and
//! `<token> done <rc>\n` on stdout. The token is 128 random bits the script never sees, so the
//! end of each stream is found by searching for it: output of any kind (binary, no final
//! newline, huge) passes through as is. The remote side needs POSIX sh and `mktemp`; `head -c`
//! only for stdin.

use std::sync::Arc;
use std::time::Duration;

use openssh::{ChildStderr, ChildStdin, ChildStdout, Session, Stdio};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::{quote, Feed, Output};

/// The shell's setup. A script runs in a subshell `( eval … )` (one fork; a command it
/// `exec`s costs what it costs in any shell) with the token unset. With `bg` = 1 (commands
/// that have a timeout) it runs in the background, under `setsid` where there is one, so its
/// whole process group can be killed; it prints its own PID first, so that line precedes its
/// output. GNU `head -c` never reads past its count from a pipe; other `head`s may: `dd`.
const BOOTSTRAP: &str = r#"__t_d=$(mktemp -d "${TMPDIR:-/tmp}/.troupe.XXXXXX") || exit 97
trap 'rm -rf "$__t_d"' EXIT
trap 'exit 98' HUP TERM PIPE
if head --version 2>/dev/null | grep GNU >/dev/null; then __t_rd() { head -c "$1"; }
else __t_rd() { dd bs=1 count="$1" 2>/dev/null; }; fi
if command -v setsid >/dev/null 2>&1; then __t_ss=setsid; else __t_ss=; fi
__t_go() {
  if [ "$__t_in" -gt 0 ]; then
    printf '%s in\n' "$__t_tok"
    __t_e=; __t_rd "$__t_in" | tee "$__t_d/i" >/dev/null 2>&1 || __t_e=1
    IFS= read -r __t_x || __t_x=
    if [ "$__t_x" != "$__t_tok" ]; then
      printf '%s spool stdin ended before its %s bytes (or its reader died)\n' "$__t_tok" "$__t_in"; exit 96
    fi
    if [ -n "$__t_e" ]; then
      __t_e=$(head -c 1 /dev/zero 2>&1 >>"$__t_d/i"); rm -f "$__t_d/i"
      printf '%s spool writing %s failed: %s\n' "$__t_tok" "$__t_d/i" "$(printf %s "${__t_e:-?}" | tr '\n' ' ')"; return
    fi
    exec 3<"$__t_d/i"; rm -f "$__t_d/i"
  else exec 3</dev/null; fi
  if [ "$__t_bg" = 1 ]; then
    printf '%s' "$__t_s" >"$__t_d/s"
    $__t_ss /bin/sh -c 'printf "%s run %s\n" "$1" "$$"; exec /bin/sh "$2"' sh "$__t_tok" "$__t_d/s" <&3 3<&- &
    wait "$!"
  else
    printf '%s run %s\n' "$__t_tok" "$$"
    ( unset __t_tok; eval "$__t_s" ) <&3 3<&-
  fi
  __t_rc=$?
  exec 3<&-
  printf '%s\n' "$__t_tok" >&2
  printf '%s done %s\n' "$__t_tok" "$__t_rc"
}
printf 'troupe-shell %s\n' "$$"
printf 'troupe-shell\n' >&2"#;

/// Longest banner line we accept; anything longer means the stream is not ours.
const MAX_LINE: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The request never reached a running shell: the command did not run.
    #[error("remote shell unavailable: {0}")]
    NotStarted(String),
    /// The shell broke while (maybe) running the command.
    #[error("remote shell failed: {0}")]
    Broken(String),
    /// The command's stdin could not be spooled on the host: the command did not run.
    #[error("cannot pass stdin to the command on the host: {0}")]
    Spool(String),
}

/// The command line that starts the shell on the remote side; [`BOOTSTRAP`] is its first input.
pub const START_COMMAND: &str = "exec /bin/sh";

/// A request: one line of shell code (see the module docs). `bg` runs the script in the
/// background with its PID reported (for commands that may have to be killed). Scripts with
/// a NUL byte can't be a shell word: `None`.
pub fn encode_request(token: &str, script: &str, stdin_len: u64, bg: bool) -> Option<Vec<u8>> {
    if script.contains('\0') {
        return None;
    }
    let bg = u8::from(bg);
    Some(format!("__t_tok={token} __t_bg={bg} __t_in={stdin_len} __t_s={}; __t_go\n", quote(script)).into_bytes())
}

/// The text after the token on its `run` line (` run <pid>`) → pid.
pub fn parse_run(tail: &[u8]) -> Result<u32, String> {
    reply(tail, "run")?.parse().map_err(|_| unexpected(tail))
}

/// The text after the token on its `done` line (` done <rc>`) → exit code.
pub fn parse_done(tail: &[u8]) -> Result<i32, String> {
    reply(tail, "done")?.parse().map_err(|_| unexpected(tail))
}

/// The one value of a ` <word> <value>` reply.
fn reply(tail: &[u8], word: &str) -> Result<String, String> {
    let text = String::from_utf8_lossy(tail);
    match text.split(' ').collect::<Vec<_>>()[..] {
        ["", w, value] if w == word => Ok(value.to_string()),
        _ => Err(unexpected(tail)),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(120).collect()
}

/// A fresh random token: a frame can only be taken for another command's by accident if
/// 128 random bits repeat.
pub fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Read up to and including the first line that contains `token`. Returns the bytes before the
/// token and the rest of that line (newline dropped). Nothing after that line is consumed.
pub async fn read_to_token<R: AsyncBufRead + Unpin>(r: &mut R, token: &[u8]) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut acc: Vec<u8> = Vec::new();
    // Where the token may still start (an earlier position was already searched).
    let mut from = 0;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let (start, n) = (acc.len(), chunk.len());
        acc.extend_from_slice(chunk);
        if let Some(at) = memchr::memmem::find(&acc[from..], token).map(|p| p + from) {
            if let Some(nl) = memchr::memchr(b'\n', &acc[at..]) {
                let end = at + nl + 1;
                r.consume(end - start);
                let tail = acc[at + token.len()..end - 1].to_vec();
                acc.truncate(at);
                return Ok((acc, tail));
            }
            from = at;
        } else {
            from = acc.len().saturating_sub(token.len() - 1);
        }
        r.consume(n);
    }
}

/// The protocol over any pipe triple: the remote shell's channel, or a local `sh` in tests.
pub struct Wire<W, O, E> {
    stdin: W,
    stdout: BufReader<O>,
    stderr: BufReader<E>,
    /// Token of the request in flight.
    token: String,
}

impl<W, O, E> Wire<W, O, E>
where
    W: AsyncWrite + Unpin,
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
{
    /// Send the setup to a freshly started `sh` and wait for its banners: (wire, pid).
    pub async fn start(stdin: W, stdout: O, stderr: E) -> Result<(Self, u32), String> {
        let mut wire = Wire {
            stdin,
            stdout: BufReader::with_capacity(64 * 1024, stdout),
            stderr: BufReader::with_capacity(16 * 1024, stderr),
            token: String::new(),
        };
        write_all(&mut wire.stdin, format!("{BOOTSTRAP}\n").as_bytes()).await?;
        // Login scripts (.bashrc) may print before the shell starts: skip their lines.
        let mut banner = None;
        for _ in 0..100 {
            let line = read_line(&mut wire.stdout).await?;
            if line.starts_with("troupe-shell ") {
                banner = Some(line);
                break;
            }
        }
        let banner = banner.ok_or("remote shell did not start: no banner")?;
        let mut on_stderr = false;
        for _ in 0..100 {
            if read_line(&mut wire.stderr).await? == "troupe-shell\n" {
                on_stderr = true;
                break;
            }
        }
        if !on_stderr {
            return Err("remote shell did not start: no banner on stderr".into());
        }
        match banner.trim_end().split(' ').collect::<Vec<_>>()[..] {
            ["troupe-shell", pid] => {
                let pid = pid.parse().map_err(|_| format!("bad banner {banner:?}"))?;
                Ok((wire, pid))
            }
            _ => Err(format!("remote shell did not start: {:?}", truncate(&banner))),
        }
    }

    /// True when the shell is known to have exited (EOF already waiting), without blocking.
    pub async fn is_dead(&mut self) -> bool {
        tokio::select! {
            biased;
            // Ready at all means EOF, an error, or bytes nobody asked for: unusable.
            _ = self.stdout.fill_buf() => true,
            _ = self.stderr.fill_buf() => true,
            _ = std::future::ready(()) => false,
        }
    }

    /// Send one command and wait until it has started; returns its PID. `bg` runs it in the
    /// background (in its own process group where possible), so the PID can be killed.
    pub async fn send(&mut self, script: &str, feed: &Feed<'_>, len: u64, bg: bool) -> Result<u32, ShellError> {
        self.token = new_token();
        let req = encode_request(&self.token, script, len, bg)
            .ok_or_else(|| ShellError::NotStarted("the script holds a NUL byte".into()))?;
        let token = self.token.as_bytes();
        let read_err = |e: std::io::Error| format!("reading from remote shell: {e}");
        write_all(&mut self.stdin, &req).await.map_err(ShellError::NotStarted)?;
        // No "run" line means the shell never started the command: safe to run it elsewhere.
        let (_, mut tail) =
            read_to_token(&mut self.stdout, token).await.map_err(|e| ShellError::NotStarted(read_err(e)))?;
        if len > 0 {
            if tail != b" in" {
                return Err(ShellError::NotStarted(unexpected(&tail)));
            }
            let sent = feed.write_to(&mut self.stdin, len).await;
            sent.map_err(|e| ShellError::Broken(format!("sending stdin to remote shell: {e}")))?;
            // The shell checks that this line follows the bytes (see the module docs).
            write_all(&mut self.stdin, format!("{}\n", self.token).as_bytes()).await.map_err(ShellError::Broken)?;
            (_, tail) = read_to_token(&mut self.stdout, token).await.map_err(|e| ShellError::Broken(read_err(e)))?;
            if let Some(reason) = tail.strip_prefix(b" spool ") {
                return Err(ShellError::Spool(String::from_utf8_lossy(reason).trim().to_string()));
            }
        }
        parse_run(&tail).map_err(ShellError::Broken)
    }

    /// Wait for the command sent last to finish and read its output.
    pub async fn finish(&mut self) -> Result<Output, ShellError> {
        let token = self.token.as_bytes();
        let (out, err) = tokio::join!(read_to_token(&mut self.stdout, token), read_to_token(&mut self.stderr, token));
        let broken = |e: std::io::Error| ShellError::Broken(format!("reading output from remote shell: {e}"));
        let ((stdout, tail), (stderr, _)) = (out.map_err(broken)?, err.map_err(broken)?);
        let rc = parse_done(&tail).map_err(ShellError::Broken)?;
        Ok(Output { rc, stdout, stderr })
    }
}

type SshWire = Wire<ChildStdin, ChildStdout, ChildStderr>;

pub struct RemoteShell {
    child: openssh::Child<Arc<Session>>,
    wire: SshWire,
    /// PID of the shell (the session leader of its channel).
    pub pid: u32,
}

impl RemoteShell {
    /// Open a channel and start the shell; `wait` bounds how long it may take to answer.
    pub async fn start(session: Arc<Session>, wait: Duration) -> Result<RemoteShell, String> {
        let mut child = Session::to_raw_command(session, START_COMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .await
            .map_err(|e| format!("cannot open a channel: {e}"))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin().take(), child.stdout().take(), child.stderr().take())
        else {
            return Err("channel has no stdin/stdout/stderr".into());
        };
        let (wire, pid) = tokio::time::timeout(wait, Wire::start(stdin, stdout, stderr))
            .await
            .map_err(|_| format!("remote shell did not start within {wait:?}"))??;
        Ok(RemoteShell { child, wire, pid })
    }

    pub async fn is_dead(&mut self) -> bool {
        self.wire.is_dead().await
    }

    pub async fn send(&mut self, script: &str, feed: &Feed<'_>, len: u64, bg: bool) -> Result<u32, ShellError> {
        self.wire.send(script, feed, len, bg).await
    }

    pub async fn finish(&mut self) -> Result<Output, ShellError> {
        self.wire.finish().await
    }

    /// End the shell (EOF on its stdin) and wait briefly for it to clean up.
    pub async fn exit(self) {
        let RemoteShell { child, wire, .. } = self;
        drop(wire);
        let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    }
}

async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> Result<(), String> {
    let write = async {
        w.write_all(bytes).await?;
        w.flush().await
    };
    write.await.map_err(|e| format!("writing to remote shell: {e}"))
}

fn unexpected(tail: &[u8]) -> String {
    format!("unexpected reply from remote shell: {:?}", truncate(&String::from_utf8_lossy(tail)))
}

/// One line (with its newline), at most [`MAX_LINE`] bytes.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R) -> Result<String, String> {
    let mut buf = Vec::new();
    let n = (&mut *r)
        .take(MAX_LINE)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(|e| format!("reading from remote shell: {e}"))?;
    if n == 0 {
        return Err("remote shell exited".into());
    }
    if buf.last() != Some(&b'\n') {
        return Err(format!("unexpected reply from remote shell: {:?}", truncate(&String::from_utf8_lossy(&buf))));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
