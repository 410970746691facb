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
    assert_eq!(String::from_utf8_lossy(&r), "__t_tok=k __t_bg=0 __t_in=2 __t_s='echo '\\''a b'\\''\nexit'; __t_go\n");
    assert!(encode_request("k", "a\0b", 0, true).is_none());
}
