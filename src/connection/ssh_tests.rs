//! Against a real sshd (see `test_sshd`).

use std::time::{Duration, Instant};

use super::*;
use crate::connection::test_sshd::TestSshd;

async fn connect(sshd: &TestSshd) -> Ssh {
    Ssh::connect(sshd.options()).await.unwrap_or_else(|e| panic!("connect: {e}"))
}

async fn run(ssh: &Ssh, cmd: Cmd) -> Output {
    ssh.exec(&cmd).await.unwrap_or_else(|e| panic!("exec {:?}: {e}", cmd.script))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rc_stdout_stderr_binary_and_big_output() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let ssh = connect(&sshd).await;
    let out = run(&ssh, Cmd::new("echo out; echo err >&2; exit 7")).await;
    assert_eq!((out.rc, out.stdout_text(), out.stderr_text()), (7, "out\n".into(), "err\n".into()));
    let out = run(&ssh, Cmd::new("printf '\\000\\377\\001abc'")).await;
    assert_eq!(out.stdout, b"\x00\xff\x01abc");
    let out = run(&ssh, Cmd::new("head -c 5242880 /dev/zero | tr '\\000' a")).await;
    assert_eq!(out.stdout.len(), 5 * 1024 * 1024);
    assert!(out.stdout.iter().all(|&b| b == b'a'));
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_env_and_chdir() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let ssh = connect(&sshd).await;
    let out = run(&ssh, Cmd::new("cat; echo .").stdin(b"hello\nno newline".to_vec())).await;
    assert_eq!(out.stdout_text(), "hello\nno newline.\n");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let out = run(&ssh, Cmd::new("cat").stdin(data.clone())).await;
    assert!(out.stdout == data, "binary stdin round trip");
    let mut cmd = Cmd::new("printf '%s|' \"$FOO\"; pwd");
    cmd.env = vec![("FOO".into(), "a b'c $x".into())];
    cmd.chdir = Some("/usr/share".into());
    assert_eq!(run(&ssh, cmd).await.stdout_text(), "a b'c $x|/usr/share\n");
    // A script too big for the line form (and for one command-line argument).
    let big = format!("x='{}'\necho ${{#x}}", "y".repeat(300_000));
    assert_eq!(run(&ssh, Cmd::new(big)).await.stdout_text(), "300000\n");
    // Nothing leaks into the next command.
    let out = run(&ssh, Cmd::new("echo \"${FOO-unset}\"; pwd")).await;
    assert!(out.stdout_text().starts_with("unset\n/"), "{}", out.stdout_text());
    assert_ne!(out.stdout_text(), "unset\n/usr/share\n");
    ssh.close().await;
}

/// A controller file streams to the command (shell and channel paths): same bytes, no copy
/// in memory; a missing file is an error before anything runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_streams_from_a_file() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let ssh = connect(&sshd).await;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("big");
    let data: Vec<u8> = (0..20_000_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(&path, &data).expect("write");
    let want = format!("{}  -\n", sha256_hex(&data));
    let out = run(&ssh, Cmd::new("sha256sum").stdin_file(&path)).await;
    assert_eq!(out.stdout_text(), want);
    let out = run(&ssh, Cmd::new("echo next")).await;
    assert_eq!(out.stdout_text(), "next\n", "the shell stays in step after a stream");
    let missing = ssh.exec(&Cmd::new("cat").stdin_file(dir.path().join("nope"))).await;
    assert!(matches!(&missing, Err(ConnectionError::Io(m)) if m.contains("nope")), "{missing:?}");
    ssh.give_up_shell().await;
    let out = run(&ssh, Cmd::new("sha256sum").stdin_file(&path)).await;
    assert_eq!(out.stdout_text(), want, "on a channel of its own");
    ssh.close().await;
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_commands_reuse_one_shell() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let ssh = connect(&sshd).await;
    let mut pids = std::collections::BTreeSet::new();
    for _ in 0..50 {
        pids.insert(run(&ssh, Cmd::new("echo $$")).await.stdout_text());
    }
    assert_eq!(pids.len(), 1, "{pids:?}");
    let shell = ssh.shell_pid().await.map(|p| format!("{p}\n"));
    assert_eq!(pids.into_iter().next(), shell);
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_command_and_the_shell_lives_on() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let ssh = connect(&sshd).await;
    let before = ssh.shell_pid().await;
    run(&ssh, Cmd::new("true")).await;
    let shell = ssh.shell_pid().await;
    assert!(before.is_none() && shell.is_some());
    // A sleep no earlier run can have left behind.
    let secs = 3000 + rand::random::<u32>() % 100_000;
    let mut cmd = Cmd::new(format!("sleep {secs}; echo never"));
    cmd.timeout = Some(Duration::from_millis(500));
    let start = Instant::now();
    let res = ssh.exec(&cmd).await;
    assert!(matches!(res, Err(ConnectionError::Timeout(_))), "{res:?}");
    assert!(start.elapsed() < Duration::from_secs(8), "{:?}", start.elapsed());
    assert_eq!(ssh.shell_pid().await, shell, "same shell after a timeout");
    let out = run(&ssh, Cmd::new(format!("ps -eo args | grep -c '^sleep {secs}$' || true"))).await;
    assert_eq!(out.stdout_text(), "0\n", "the timed-out command was killed");
    // A command that ends in time is unaffected by its timeout.
    let mut cmd = Cmd::new("echo quick");
    cmd.timeout = Some(Duration::from_secs(5));
    assert_eq!(run(&ssh, cmd).await.stdout_text(), "quick\n");
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exec_from_twelve_tasks() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let ssh = Arc::new(connect(&sshd).await);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let ssh = ssh.clone();
            tokio::spawn(async move {
                let cmd = Cmd::new(format!("sleep 0.3; echo {i}")).stdin(vec![b'x'; 10]);
                ssh.exec(&cmd).await.map(|o| o.stdout_text())
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let out = t.await.unwrap_or_else(|e| panic!("task {i}: {e}"));
        assert_eq!(out.unwrap_or_else(|e| panic!("exec {i}: {e}")), format!("{i}\n"));
    }
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_shell_is_replaced_and_channels_work_alone() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let ssh = connect(&sshd).await;
    run(&ssh, Cmd::new("true")).await;
    let old = ssh.shell_pid().await.unwrap_or_default();
    let out = ssh.on_channel(&format!("kill -TERM {old}")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.rc, 0, "{}", out.stderr_text());
    // Right after the kill (EOF may not have arrived yet) and once more after it has.
    assert_eq!(run(&ssh, Cmd::new("echo again")).await.stdout_text(), "again\n");
    assert_eq!(run(&ssh, Cmd::new("echo again")).await.stdout_text(), "again\n");
    assert_ne!(ssh.shell_pid().await, Some(old));
    ssh.give_up_shell().await;
    let out = run(&ssh, Cmd::new("cat; echo e >&2; exit 4").stdin(b"in".to_vec())).await;
    assert_eq!((out.rc, out.stdout_text(), out.stderr_text()), (4, "in".into(), "e\n".into()));
    assert_eq!(ssh.shell_pid().await, None);
    let secs = 3000 + rand::random::<u32>() % 100_000;
    let mut cmd = Cmd::new(format!("sleep {secs}"));
    cmd.timeout = Some(Duration::from_millis(500));
    assert!(matches!(ssh.exec(&cmd).await, Err(ConnectionError::Timeout(_))));
    let out = run(&ssh, Cmd::new(format!("ps -eo args | grep -c '^sleep {secs}$' || true"))).await;
    assert_eq!(out.stdout_text(), "0\n", "timed-out channel command was killed: {}", out.stderr_text());
    ssh.close().await;
}

async fn unreachable(opts: SshOptions) -> String {
    match Ssh::connect(opts).await {
        Err(ConnectionError::Unreachable { reason }) => reason,
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("connected"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_reasons() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let mut closed = sshd.options();
    closed.port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).ok();
    let r = unreachable(closed).await;
    assert!(r.starts_with("connection refused"), "{r}");

    let mut wrong_key = sshd.options();
    wrong_key.private_key = Some(sshd.path("other_id"));
    let r = unreachable(wrong_key).await;
    assert!(r.starts_with("permission denied (publickey"), "{r}");

    let other = std::fs::read_to_string(sshd.path("other_id.pub")).unwrap_or_default();
    let bad_hosts = sshd.path("bad_known_hosts");
    std::fs::write(&bad_hosts, format!("[127.0.0.1]:{} {other}", sshd.port)).unwrap_or_else(|e| panic!("{e}"));
    let mut mismatch = sshd.options();
    mismatch.common_args[1] = format!("UserKnownHostsFile={}", bad_hosts.display());
    let r = unreachable(mismatch.clone()).await;
    assert!(r.starts_with("host key verification failed"), "{r}");

    // host_key_checking = False gets through (like Ansible).
    mismatch.host_key_checking = false;
    let ssh = Ssh::connect(mismatch).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run(&ssh, Cmd::new("echo in")).await.stdout_text(), "in\n");
    ssh.close().await;
}

/// Per-command cost: `cargo test --release bench_ -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_persistent_shell_vs_channel() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let ssh = connect(&sshd).await;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    run(&ssh, Cmd::new("true")).await;
    let mut shell = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        run(&ssh, Cmd::new("true")).await;
        shell.push(t.elapsed());
    }
    let mut echo = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        run(&ssh, Cmd::new("echo hello")).await;
        echo.push(t.elapsed());
    }
    let mut exec = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        run(&ssh, Cmd::new("exec /bin/true")).await;
        exec.push(t.elapsed());
    }
    let mut channel = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        ssh.on_channel("true").await.unwrap_or_else(|e| panic!("{e}"));
        channel.push(t.elapsed());
    }
    // The floor: a plain `sh` on one channel, fed one line and read back one line.
    let session = ssh.session().unwrap_or_else(|e| panic!("{e}"));
    let mut child = Session::to_raw_command(session, "exec /bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut input = child.stdin().take().expect("stdin");
    let mut output = tokio::io::BufReader::new(child.stdout().take().expect("stdout"));
    let bare_true = bare_sh(&mut input, &mut output, "true; echo done\n").await;
    let bare_exec = bare_sh(&mut input, &mut output, "/bin/true; echo done\n").await;
    drop(input);
    let _ = child.wait().await;
    eprintln!(
        "median per command: persistent shell `true` {:?}, `echo hello` {:?}, `exec /bin/true` {:?}; \
         new channel `true` {:?}; bare sh `true` {:?}, bare sh `/bin/true` {:?}",
        median(shell),
        median(echo),
        median(exec),
        median(channel),
        median(bare_true),
        median(bare_exec),
    );
    ssh.close().await;
}

/// 200 times: write `line` to a plain remote `sh`, read one line back.
async fn bare_sh(
    input: &mut openssh::ChildStdin,
    output: &mut tokio::io::BufReader<openssh::ChildStdout>,
    line: &str,
) -> Vec<Duration> {
    use tokio::io::AsyncBufReadExt;
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        input.write_all(line.as_bytes()).await.expect("write");
        let mut reply = String::new();
        output.read_line(&mut reply).await.expect("read");
        times.push(t.elapsed());
    }
    times
}

/// The channel command line, run by a local `sh` the way sshd's login shell would run it.
fn run_channel_locally(script: &str, stdin: &[u8]) -> (Option<u32>, Vec<u8>, Vec<u8>) {
    use std::io::Write;
    let (line, body) = channel_command(script);
    let mut child = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&line)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    let mut pipe = child.stdin.take().expect("stdin");
    pipe.write_all(&[&body[..], stdin].concat()).expect("write");
    drop(pipe);
    let out = child.wait_with_output().expect("wait");
    let (pid, stderr) = split_pid_line(&out.stderr);
    (pid, out.stdout, stderr)
}

#[test]
fn channel_command_small_and_big_scripts() {
    let (pid, out, err) = run_channel_locally("cat; echo e >&2", b"data");
    assert!(pid.is_some());
    assert_eq!((out, err), (b"data".to_vec(), b"e\n".to_vec()));
    let big = format!("x='{}'\necho ${{#x}}; cat", "y".repeat(200_000));
    let (pid, out, err) = run_channel_locally(&big, b"after");
    assert!(pid.is_some(), "{}", String::from_utf8_lossy(&err));
    assert_eq!(String::from_utf8_lossy(&out), "200000\nafter");
    let (_, out, _) = run_channel_locally("cat <<'EOF'\nheredoc at the end\nEOF", b"");
    assert_eq!(String::from_utf8_lossy(&out), "heredoc at the end\n");
}

#[test]
fn a_channel_script_cut_short_never_runs() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tmp");
    let marker = dir.path().join("ran");
    // Cut anywhere, the script must not run: not even its first, complete, line.
    let script = format!("touch {}\nrm -rf {}/never", marker.display(), dir.path().display());
    let (line, body) = channel_command(&script);
    for cut in [1, body.len() / 2, body.len() - 1] {
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", &line])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        child.stdin.take().expect("stdin").write_all(&body[..cut]).expect("write");
        let out = child.wait_with_output().expect("wait");
        assert_ne!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stderr).contains("cut short"), "{out:?}");
        assert!(!marker.exists(), "a script cut at {cut} ran");
    }
}

#[test]
fn channel_scripts_stay_off_the_command_line() {
    let (line, body) = channel_command("export TOKEN=s3cret\nrun");
    assert!(!line.contains("s3cret"), "{line}");
    assert!(String::from_utf8_lossy(&body).contains("TOKEN=s3cret"));
}

#[test]
fn pid_line_is_stripped_only_when_whole() {
    assert_eq!(split_pid_line(b"motd\ntroupe-pid 42\nerr"), (Some(42), b"motd\nerr".to_vec()));
    assert_eq!(split_pid_line(b"troupe-pid 4"), (None, b"troupe-pid 4".to_vec()));
    assert_eq!(split_pid_line(b"plain"), (None, b"plain".to_vec()));
}

/// A TCP server on 127.0.0.1 standing in for an sshd under load: it closes each of the first
/// `drops` connections after `hold` without a word (as sshd does past `MaxStartups`), then
/// forwards the others to `forward`. Counts connections, and the most open at once.
struct Flaky {
    port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    peak: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn flaky(drops: usize, hold: Duration, forward: Option<u16>) -> Flaky {
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let (count, peak) = (accepted.clone(), Arc::new(AtomicUsize::new(0)));
    let (open, top) = (Arc::new(AtomicUsize::new(0)), peak.clone());
    // Blocks in accept until the test binary exits.
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let n = count.fetch_add(1, Ordering::SeqCst);
            match forward {
                Some(to) if n >= drops => {
                    let Ok(upstream) = TcpStream::connect(("127.0.0.1", to)) else { continue };
                    let (Ok(mut a), Ok(b)) = (stream.try_clone(), upstream.try_clone()) else { continue };
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut a, &mut b.try_clone().unwrap_or_else(|e| panic!("{e}")));
                        let _ = b.shutdown(Shutdown::Write);
                    });
                    let (mut s, mut u) = (stream, upstream);
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut u, &mut s);
                        let _ = s.shutdown(Shutdown::Write);
                    });
                }
                _ => {
                    let (open, top) = (open.clone(), top.clone());
                    std::thread::spawn(move || {
                        let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                        top.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(hold);
                        open.fetch_sub(1, Ordering::SeqCst);
                        drop(stream);
                    });
                }
            }
        }
    });
    Flaky { port, accepted, peak }
}

/// Options for a host behind `port` on 127.0.0.1, not checking its key.
fn behind(port: u16, control: &std::path::Path) -> SshOptions {
    let defaults = SshDefaults { control_dir: control.to_path_buf(), ..SshDefaults::default() };
    let mut o = SshOptions::from_host_vars("flaky", &crate::value::Map::new(), &defaults);
    o.address = "127.0.0.1".into();
    o.port = Some(port);
    o.host_key_checking = false;
    o.connect_timeout = Duration::from_secs(5);
    o
}

fn have_ssh() -> bool {
    let found = std::process::Command::new("ssh").arg("-V").output().is_ok();
    if !found {
        eprintln!("skipping: needs the ssh client");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_dropped_before_auth_are_tried_again_then_reported() {
    if !have_ssh() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = flaky(usize::MAX, Duration::ZERO, None);
    let r = unreachable(behind(server.port, dir.path())).await;
    let tries = 1 + super::super::retry::TRANSIENT_RETRIES as usize;
    assert_eq!(server.accepted.load(Ordering::SeqCst), tries, "{r}");
    assert!(r.starts_with("the server closed the connection before authentication"), "{r}");
    assert!(r.ends_with(&format!("(after {tries} attempts)")), "{r}");

    // Ansible's reconnection_retries raises the count; refused connections are not retried
    // unless it is set.
    let mut more = behind(server.port, dir.path());
    more.retries = Some(tries as u32);
    let before = server.accepted.load(Ordering::SeqCst);
    let started = Instant::now();
    unreachable(more).await;
    assert_eq!(server.accepted.load(Ordering::SeqCst) - before, tries + 1);
    let refused_port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(1);
    let r = unreachable(behind(refused_port, dir.path())).await;
    assert!(r.starts_with("connection refused") && !r.contains("attempts"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(30), "pauses are short: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_through_one_gate_stay_within_it() {
    if !have_ssh() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = flaky(usize::MAX, Duration::from_millis(150), None);
    let gate = Semaphore::new(2);
    let tries = (0..5).map(|_| async {
        let mut o = behind(server.port, dir.path());
        o.retries = Some(0);
        Ssh::connect_gated(o, Some(&gate)).await.err()
    });
    let errors = futures::future::join_all(tries).await;
    assert!(errors.iter().all(Option::is_some));
    assert!(server.accepted.load(Ordering::SeqCst) >= 5);
    assert_eq!(server.peak.load(Ordering::SeqCst), 2, "at most 2 handshakes at once, and 2 did overlap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_drops_twice_then_answers_is_reached() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let server = flaky(2, Duration::ZERO, Some(sshd.port));
    let mut o = sshd.options();
    o.port = Some(server.port);
    o.host_key_checking = false;
    let ssh = Ssh::connect(o).await.unwrap_or_else(|e| panic!("connect after drops: {e}"));
    assert_eq!(server.accepted.load(Ordering::SeqCst), 3);
    assert_eq!(run(&ssh, Cmd::new("echo through")).await.stdout_text(), "through\n");
    ssh.close().await;
}
