//! A persistent remote `sh` on one SSH channel, and the framing that carries scripts to it and
//! results back.
//!
//! Request (controller → shell): a header line `<token> <form> <size> <stdin-bytes> <group>`,
//! then the script (`l`: `size` lines; `f`: `size` bytes), then the stdin bytes.
//! The shell runs the script with stdout/stderr captured in files, so nothing the script prints
//! can break the framing, and answers `<token> run <pid>` when it starts, then
//! `<token> done <rc> <stdout-bytes> <stderr-bytes>` followed by exactly those bytes.
//! The remote side needs only POSIX sh, `mktemp`, `head -c` and `wc -c`.

use std::sync::Arc;
use std::time::Duration;

use openssh::{ChildStdin, ChildStdout, Session, Stdio};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::{quote, Output};

/// The shell loop. Scripts run in a subshell `( eval … )`: one fork, no exec, and `$$` stays
/// the loop's PID. With `group` = 1 (commands that have a timeout) the script runs under
/// `setsid` so the whole process group can be killed. GNU `head -c` never reads past its
/// count from a pipe; other `head`s may, so they get `dd bs=1` for input.
const BOOTSTRAP: &str = r#"__t_d=$(mktemp -d "${TMPDIR:-/tmp}/.troupe.XXXXXX") || exit 97
trap 'rm -rf "$__t_d"' EXIT
trap 'exit 98' HUP TERM
if head --version 2>/dev/null | grep GNU >/dev/null; then __t_rd() { head -c "$1"; }
else __t_rd() { dd bs=1 count="$1" 2>/dev/null; }; fi
if command -v setsid >/dev/null 2>&1; then __t_ss=setsid; else __t_ss=; fi
printf 'troupe-shell %s %s\n' "$$" "${__t_ss:-none}"
while IFS=' ' read -r __t_tok __t_form __t_n __t_in __t_grp; do
  case $__t_form in
  l) __t_s=; __t_k=0
     while [ "$__t_k" -lt "$__t_n" ] && IFS= read -r __t_line; do
       __t_s="$__t_s$__t_line
"; __t_k=$((__t_k + 1)); done ;;
  f) __t_rd "$__t_n" >"$__t_d/s" ;;
  *) exit 99 ;;
  esac
  if [ "$__t_in" -gt 0 ]; then __t_rd "$__t_in" >"$__t_d/i"; exec 3<"$__t_d/i"; rm -f "$__t_d/i"
  else exec 3</dev/null; fi
  if [ "$__t_grp" = 1 ]; then
    [ "$__t_form" = l ] && printf '%s' "$__t_s" >"$__t_d/s"
    $__t_ss /bin/sh "$__t_d/s" <&3 >"$__t_d/o" 2>"$__t_d/e" 3<&- &
  elif [ "$__t_form" = l ]; then ( eval "$__t_s" ) <&3 >"$__t_d/o" 2>"$__t_d/e" 3<&- &
  else ( . "$__t_d/s" ) <&3 >"$__t_d/o" 2>"$__t_d/e" 3<&- &
  fi
  __t_p=$!
  exec 3<&-
  printf '%s run %s\n' "$__t_tok" "$__t_p"
  wait "$__t_p"; __t_rc=$?
  __t_ol=0; __t_el=0
  [ -s "$__t_d/o" ] && __t_ol=$(($(wc -c <"$__t_d/o")))
  [ -s "$__t_d/e" ] && __t_el=$(($(wc -c <"$__t_d/e")))
  printf '%s done %s %s %s\n' "$__t_tok" "$__t_rc" "$__t_ol" "$__t_el"
  [ "$__t_ol" = 0 ] || head -c "$__t_ol" "$__t_d/o"
  [ "$__t_el" = 0 ] || head -c "$__t_el" "$__t_d/e"
done"#;

/// Scripts up to this size travel as lines read by the shell's `read` (no process started);
/// bigger ones as bytes through `head -c` into a file.
const LINE_FORM_MAX: usize = 16 * 1024;
/// Longest protocol line we accept; anything longer means the stream is not ours.
const MAX_LINE: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The request never reached a running shell: the command did not run.
    #[error("remote shell unavailable: {0}")]
    NotStarted(String),
    /// The shell broke while (maybe) running the command.
    #[error("remote shell failed: {0}")]
    Broken(String),
}

/// The command line that starts the shell on the remote side.
pub fn start_command() -> String {
    format!("exec /bin/sh -c {}", quote(BOOTSTRAP))
}

/// A request's header and body. `group` asks for a separate process group (for timeouts).
pub fn encode_request(token: &str, script: &str, stdin: &[u8], group: bool) -> Vec<u8> {
    let g = u8::from(group);
    let lines = script.split_terminator('\n').count();
    // Line form needs the exact text back: no NUL, no CR-only endings to lose.
    let line_form = script.len() <= LINE_FORM_MAX && !script.contains('\0');
    let mut out = if line_form {
        let mut head = format!("{token} l {lines} {} {g}\n", stdin.len()).into_bytes();
        head.extend_from_slice(script.as_bytes());
        if !script.is_empty() && !script.ends_with('\n') {
            head.push(b'\n');
        }
        head
    } else {
        let mut head = format!("{token} f {} {} {g}\n", script.len(), stdin.len()).into_bytes();
        head.extend_from_slice(script.as_bytes());
        head
    };
    out.extend_from_slice(stdin);
    out
}

/// `<token> run <pid>` → pid.
pub fn parse_run(token: &str, line: &str) -> Result<u32, String> {
    match line.trim_end().split(' ').collect::<Vec<_>>()[..] {
        [t, "run", pid] if t == token => pid.parse().map_err(|_| format!("bad pid in {line:?}")),
        _ => Err(format!("unexpected reply from remote shell: {:?}", truncate(line))),
    }
}

/// `<token> done <rc> <out> <err>` → (rc, stdout length, stderr length).
pub fn parse_done(token: &str, line: &str) -> Result<(i32, usize, usize), String> {
    let bad = || format!("unexpected reply from remote shell: {:?}", truncate(line));
    match line.trim_end().split(' ').collect::<Vec<_>>()[..] {
        [t, "done", rc, o, e] if t == token => {
            Ok((rc.parse().map_err(|_| bad())?, o.parse().map_err(|_| bad())?, e.parse().map_err(|_| bad())?))
        }
        _ => Err(bad()),
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

pub struct RemoteShell {
    child: openssh::Child<Arc<Session>>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// PID of the loop shell (the session leader of its channel).
    pub pid: u32,
    /// `setsid` exists remotely, so timed-out commands can be killed with their children.
    pub groups: bool,
    /// Token of the request in flight.
    token: String,
}

impl RemoteShell {
    /// Open a channel and start the loop; `wait` bounds how long it may take to answer.
    pub async fn start(session: Arc<Session>, wait: Duration) -> Result<RemoteShell, String> {
        let mut child = Session::to_raw_command(session, start_command())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .await
            .map_err(|e| format!("cannot open a channel: {e}"))?;
        let (stdin, stdout) = match (child.stdin().take(), child.stdout().take()) {
            (Some(i), Some(o)) => (i, BufReader::with_capacity(64 * 1024, o)),
            _ => return Err("channel has no stdin/stdout".into()),
        };
        let mut shell = RemoteShell { child, stdin, stdout, pid: 0, groups: false, token: String::new() };
        // Login scripts (.bashrc) may print before the loop starts: skip their lines.
        let find_banner = async {
            for _ in 0..100 {
                let line = shell.read_line().await?;
                if line.starts_with("troupe-shell ") {
                    return Ok(line);
                }
            }
            Err("remote shell did not start: no banner".to_string())
        };
        let banner = tokio::time::timeout(wait, find_banner)
            .await
            .map_err(|_| format!("remote shell did not start within {wait:?}"))??;
        match banner.trim_end().split(' ').collect::<Vec<_>>()[..] {
            ["troupe-shell", pid, ss] => {
                shell.pid = pid.parse().map_err(|_| format!("bad banner {banner:?}"))?;
                shell.groups = ss != "none";
                Ok(shell)
            }
            _ => Err(format!("remote shell did not start: {:?}", truncate(&banner))),
        }
    }

    async fn read_line(&mut self) -> Result<String, String> {
        let mut buf = Vec::new();
        let n = (&mut self.stdout)
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

    /// True when the shell is known to have exited (EOF already waiting), without blocking.
    pub async fn is_dead(&mut self) -> bool {
        tokio::select! {
            biased;
            // Ready at all means EOF, an error, or bytes nobody asked for: unusable.
            _ = self.stdout.fill_buf() => true,
            _ = std::future::ready(()) => false,
        }
    }

    /// Send one command and wait until it has started; returns its PID.
    pub async fn send(&mut self, script: &str, stdin: &[u8], group: bool) -> Result<u32, ShellError> {
        self.token = new_token();
        let req = encode_request(&self.token, script, stdin, group && self.groups);
        let write = async {
            self.stdin.write_all(&req).await?;
            self.stdin.flush().await
        };
        write.await.map_err(|e| ShellError::NotStarted(format!("writing to remote shell: {e}")))?;
        // No "run" line means the shell never started the command: safe to run it elsewhere.
        let line = self.read_line().await.map_err(ShellError::NotStarted)?;
        parse_run(&self.token, &line).map_err(ShellError::Broken)
    }

    /// Wait for the command sent last to finish and read its output.
    pub async fn finish(&mut self) -> Result<Output, ShellError> {
        let line = self.read_line().await.map_err(ShellError::Broken)?;
        let (rc, olen, elen) = parse_done(&self.token, &line).map_err(ShellError::Broken)?;
        let mut stdout = vec![0; olen];
        let mut stderr = vec![0; elen];
        let read = async {
            self.stdout.read_exact(&mut stdout).await?;
            self.stdout.read_exact(&mut stderr).await
        };
        read.await.map_err(|e| ShellError::Broken(format!("reading output from remote shell: {e}")))?;
        Ok(Output { rc, stdout, stderr })
    }

    /// End the loop (EOF on its stdin) and wait briefly for it to clean up.
    pub async fn exit(self) {
        let RemoteShell { child, stdin, stdout, .. } = self;
        drop(stdin);
        drop(stdout);
        let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run the real loop locally in `/bin/sh` against a byte stream.
    fn run_local(input: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(BOOTSTRAP)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        child.stdin.take().expect("stdin").write_all(input).expect("write");
        child.wait_with_output().expect("wait").stdout
    }

    /// Split the loop's output into (rc, stdout, stderr) per command.
    fn frames(token: &str, mut out: &[u8]) -> Vec<(i32, Vec<u8>, Vec<u8>)> {
        let mut res = Vec::new();
        let line = |b: &mut &[u8]| {
            let i = b.iter().position(|&c| c == b'\n').expect("line");
            let l = String::from_utf8_lossy(&b[..i]).into_owned();
            *b = &b[i + 1..];
            l
        };
        let banner = line(&mut out);
        assert!(banner.starts_with("troupe-shell "), "{banner}");
        while !out.is_empty() {
            parse_run(token, &line(&mut out)).expect("run line");
            let (rc, o, e) = parse_done(token, &line(&mut out)).expect("done line");
            res.push((rc, out[..o].to_vec(), out[o..o + e].to_vec()));
            out = &out[o + e..];
        }
        res
    }

    #[test]
    fn loop_frames_survive_any_output() {
        let t = "tok";
        let mut input = encode_request(t, "printf 'a\\0b'; echo err >&2; exit 3", b"", false);
        input.extend(encode_request(t, "cat; printf x", b"line1\nno-newline", true));
        input.extend(encode_request(t, "echo $$", b"", false));
        input.extend(encode_request(t, "echo $$", b"", false));
        let big = format!("# {}\nhead -c 100000 /dev/zero", "x".repeat(LINE_FORM_MAX));
        input.extend(encode_request(t, &big, b"", false));
        input.extend(encode_request(t, "x='it''s'\ncat <<'EOF'\n  $x \\ back\nEOF", b"", false));
        let f = frames(t, &run_local(&input));
        assert_eq!(f.len(), 6);
        assert_eq!(f[0], (3, b"a\0b".to_vec(), b"err\n".to_vec()));
        assert_eq!(f[1], (0, b"line1\nno-newlinex".to_vec(), vec![]));
        assert_eq!(f[2].1, f[3].1, "same shell PID");
        assert_eq!(f[4].1.len(), 100_000);
        assert_eq!(f[5].1, b"  $x \\ back\n".to_vec());
    }

    #[test]
    fn commands_do_not_leak_state() {
        let t = "t2";
        let mut input = encode_request(t, "cd /; export FOO=1; BAR=2", b"", false);
        input.extend(encode_request(t, "pwd; echo \"${FOO-unset} ${BAR-unset}\"", b"", false));
        let f = frames(t, &run_local(&input));
        assert_ne!(f[1].1, b"/\n1 2\n".to_vec());
        assert!(String::from_utf8_lossy(&f[1].1).ends_with("unset unset\n"));
    }

    #[test]
    fn replies_are_checked() {
        assert_eq!(parse_run("a", "a run 12\n"), Ok(12));
        assert!(parse_run("a", "b run 12\n").is_err());
        assert_eq!(parse_done("a", "a done 1 5 0\n"), Ok((1, 5, 0)));
        assert!(parse_done("a", "a done x 5 0\n").is_err());
        assert!(parse_done("a", "garbage").is_err());
    }

    #[test]
    fn request_forms() {
        let r = encode_request("k", "true", b"in", false);
        assert_eq!(r, b"k l 1 2 0\ntrue\nin".to_vec());
        let big = "y".repeat(LINE_FORM_MAX + 1);
        let r = encode_request("k", &big, b"", true);
        assert!(r.starts_with(format!("k f {} 0 1\n", big.len()).as_bytes()));
    }
}
