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
mod tests {
    use super::*;
    use crate::connection::Input;
    use tokio::process::{ChildStderr, ChildStdin, ChildStdout, Command};

    type LocalWire = Wire<ChildStdin, ChildStdout, ChildStderr>;

    /// The real setup and protocol against a local `/bin/sh` (what sshd would start).
    async fn local() -> (tokio::process::Child, LocalWire) {
        let mut child = Command::new("/bin/sh")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("sh");
        let (i, o, e) =
            (child.stdin.take().expect("in"), child.stdout.take().expect("out"), child.stderr.take().expect("err"));
        let (wire, pid) = Wire::start(i, o, e).await.expect("start");
        assert_eq!(child.id(), Some(pid));
        (child, wire)
    }

    async fn run(wire: &mut LocalWire, script: &str, stdin: &[u8], bg: bool) -> (i32, Vec<u8>, Vec<u8>) {
        let input = Input::Bytes(stdin.to_vec());
        let feed = Feed { prefix: Vec::new(), input: Some(&input) };
        wire.send(script, &feed, stdin.len() as u64, bg).await.expect("send");
        let out = wire.finish().await.expect("finish");
        (out.rc, out.stdout, out.stderr)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
    }

    #[test]
    fn frames_survive_any_output() {
        rt().block_on(async {
            let (_child, mut w) = local().await;
            assert_eq!(
                run(&mut w, "printf 'a\\0b'; echo err >&2; exit 3", b"", false).await,
                (3, b"a\0b".to_vec(), b"err\n".to_vec())
            );
            let r = run(&mut w, "cat; printf x; printf 'no newline' >&2", b"line1\nno-newline", true).await;
            assert_eq!(r, (0, b"line1\nno-newlinex".to_vec(), b"no newline".to_vec()));
            let binary: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
            let r = run(&mut w, "cat", &binary, false).await;
            assert!(r.1 == binary, "binary stdin comes back unchanged");
            let (a, b) = (run(&mut w, "echo $$", b"", false).await, run(&mut w, "echo $$", b"", false).await);
            assert_eq!(a.1, b.1, "same shell PID");
            let big = format!("# {}\nhead -c 100000 /dev/zero; echo \"{}\" >&2", "x".repeat(200_000), "q'uote");
            let r = run(&mut w, &big, b"", false).await;
            assert_eq!((r.1.len(), r.2), (100_000, b"q'uote\n".to_vec()));
            let r = run(&mut w, "x='it''s'\ncat <<'EOF'\n  $x \\ back\nEOF\necho \"unclosed", b"", false).await;
            assert_eq!(r.1, b"  $x \\ back\n".to_vec());
            assert_ne!(r.0, 0, "a syntax error fails the script, not the shell");
            let r = run(&mut w, "echo \"${__t_tok-hidden}\"; sleep 0.1; echo late", b"", true).await;
            assert_eq!(r, (0, b"hidden\nlate\n".to_vec(), vec![]), "the script never sees the token");
            assert!(!w.is_dead().await);
        });
    }

    #[test]
    fn commands_do_not_leak_state() {
        rt().block_on(async {
            let (_child, mut w) = local().await;
            run(&mut w, "cd /; export FOO=1; BAR=2; trap 'echo trapped' EXIT; set -e", b"", false).await;
            let r = run(&mut w, "pwd; echo \"${FOO-unset} ${BAR-unset}\"; false; echo after", b"", false).await;
            assert!(String::from_utf8_lossy(&r.1).ends_with("unset unset\nafter\n"), "{r:?}");
            assert_ne!(r.1, b"/\n1 2\n".to_vec());
            assert_eq!(run(&mut w, "exit 4", b"", false).await.0, 4);
            assert_eq!(run(&mut w, "exec true", b"", false).await.0, 0);
            let r = run(&mut w, "echo still here ${__t_tok-hidden} $#", b"", false).await;
            assert_eq!(r.1, b"still here hidden 0\n".to_vec());
        });
    }

    #[test]
    fn dead_shell_is_noticed() {
        rt().block_on(async {
            let (mut child, mut w) = local().await;
            child.kill().await.expect("kill");
            let _ = child.wait().await;
            assert!(w.is_dead().await);
            let feed = Feed { prefix: Vec::new(), input: None };
            assert!(matches!(w.send("true", &feed, 0, false).await, Err(ShellError::NotStarted(_))));
        });
    }

    /// Lines that create `marker` if a shell ever parses them as commands.
    fn payload(marker: &std::path::Path, len: usize) -> Vec<u8> {
        let line = format!("touch {}\n", marker.display());
        line.as_bytes().iter().copied().cycle().take(len).collect()
    }

    #[test]
    fn a_full_spool_runs_nothing_and_keeps_the_shell() {
        let dir = tempfile::tempdir().expect("tmp");
        let marker = dir.path().join("ran");
        rt().block_on(async {
            let (_child, mut w) = local().await;
            // Every write to the spool file now fails with ENOSPC, as on a full /tmp.
            run(&mut w, "ln -s /dev/full \"$__t_d/i\"", b"", false).await;
            let data = payload(&marker, 300_000);
            let input = Input::Bytes(data.clone());
            let feed = Feed { prefix: Vec::new(), input: Some(&input) };
            let err = w.send("true", &feed, data.len() as u64, false).await;
            let err = err.expect_err("the spool failed").to_string();
            assert!(err.contains("No space left on device"), "{err}");
            assert_eq!(run(&mut w, "echo ok", b"", false).await.1, b"ok\n".to_vec(), "the shell is in step");
        });
        assert!(!marker.exists(), "payload bytes were run as commands");
    }

    #[test]
    fn stdin_that_ends_early_runs_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let (marker, ran) = (dir.path().join("payload-ran"), dir.path().join("script-ran"));
        rt().block_on(async {
            let (mut child, mut w) = local().await;
            let script = format!("cat >/dev/null; touch {}", ran.display());
            let req = encode_request("tok", &script, 100_000, false).expect("request");
            write_all(&mut w.stdin, &req).await.expect("request");
            let (_, tail) = read_to_token(&mut w.stdout, b"tok").await.expect("in");
            assert_eq!(tail, b" in");
            // The sender dies half-way: the shell sees the end of its input.
            write_all(&mut w.stdin, &payload(&marker, 50_000)).await.expect("half");
            // Only stdin closes: the shell could still answer (and run what it was sent).
            let Wire { stdin, mut stdout, .. } = w;
            drop(stdin);
            let _ = tokio::time::timeout(Duration::from_secs(10), stdout.read_to_end(&mut Vec::new())).await;
            let _ = child.wait().await;
        });
        assert!(!ran.exists(), "the script ran with half its stdin");
        assert!(!marker.exists(), "payload bytes were run as commands");
    }

    /// PIDs of `head -c <count>` processes (only ours use this count).
    fn heads(count: u64) -> Vec<i32> {
        let want = format!("head\0-c\0{count}\0");
        let entries = std::fs::read_dir("/proc").map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
        entries
            .iter()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want.as_bytes()))
            .collect()
    }

    #[test]
    fn a_killed_reader_runs_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let marker = dir.path().join("ran");
        let len: u64 = 9_876_543;
        rt().block_on(async {
            let (mut child, mut w) = local().await;
            let req = encode_request("tok", "cat >/dev/null", len, false).expect("request");
            write_all(&mut w.stdin, &req).await.expect("request");
            read_to_token(&mut w.stdout, b"tok").await.expect("in");
            let data = payload(&marker, len as usize);
            write_all(&mut w.stdin, &data[..200_000]).await.expect("start");
            let mut killed = 0;
            for _ in 0..100 {
                for pid in heads(len) {
                    killed += i32::from(
                        rustix::process::kill_process(
                            rustix::process::Pid::from_raw(pid).expect("pid"),
                            rustix::process::Signal::KILL,
                        )
                        .is_ok(),
                    );
                }
                if killed > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(killed > 0, "no reader to kill");
            // The rest arrives after the reader died; the shell must not parse it.
            let rest = async {
                let _ = write_all(&mut w.stdin, &data[200_000..]).await;
                let _ = write_all(&mut w.stdin, b"tok\n").await;
            };
            let _ = tokio::time::timeout(Duration::from_secs(20), rest).await;
            drop(w);
            let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
        });
        assert!(!marker.exists(), "payload bytes were run as commands");
    }

    #[test]
    fn token_split_across_reads() {
        // A reader that hands out one byte at a time: the token is never whole in one chunk.
        let data = b"abcTOKEN done 0\nnext".to_vec();
        let (before, tail, rest) = rt().block_on(async {
            let mut r = BufReader::with_capacity(1, &data[..]);
            let (b, t) = read_to_token(&mut r, b"TOKEN").await.expect("frame");
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).await.expect("rest");
            (b, t, rest)
        });
        assert_eq!((before, tail, rest), (b"abc".to_vec(), b" done 0".to_vec(), b"next".to_vec()));
        let mut short: &[u8] = b"abcTOK";
        assert!(rt().block_on(read_to_token(&mut short, b"TOKEN")).is_err(), "EOF before the token");
    }

    #[test]
    fn replies_are_checked() {
        assert_eq!(parse_run(b" run 12"), Ok(12));
        assert!(parse_run(b" ran 12").is_err());
        assert_eq!(parse_done(b" done 1"), Ok(1));
        assert!(parse_done(b" done x").is_err());
        assert!(parse_done(b"garbage").is_err());
    }

    #[test]
    fn requests_are_one_line_of_code() {
        let r = encode_request("k", "echo 'a b'\nexit", 2, false).expect("request");
        assert_eq!(
            String::from_utf8_lossy(&r),
            "__t_tok=k __t_bg=0 __t_in=2 __t_s='echo '\\''a b'\\''\nexit'; __t_go\n"
        );
        assert!(encode_request("k", "a\0b", 0, true).is_none());
    }
}
