//! A throwaway sshd on 127.0.0.1 for tests: own host key, own client key, killed on drop.
//! Needs root and /usr/sbin/sshd; tests that use it skip (with a message) otherwise.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ssh::{SshDefaults, SshOptions};

pub struct TestSshd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "ssh-keygen failed for {}", path.display());
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl TestSshd {
    /// `None` (and a note on stderr) when this machine can't run sshd for tests.
    pub fn start() -> Option<TestSshd> {
        let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
        if !Path::new("/usr/sbin/sshd").exists() || !matches!(root, Ok(true)) {
            eprintln!("skipping: needs root and /usr/sbin/sshd");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("tsshd").tempdir_in("/tmp").expect("tempdir");
        let p = dir.path();
        keygen(&p.join("host_key"));
        keygen(&p.join("id"));
        keygen(&p.join("other_id"));
        std::fs::copy(p.join("id.pub"), p.join("authorized_keys")).expect("authorized_keys");
        let _ = std::fs::create_dir_all("/run/sshd");
        for attempt in 0..5 {
            let port = free_port();
            let host_pub = std::fs::read_to_string(p.join("host_key.pub")).expect("host key");
            std::fs::write(p.join("known_hosts"), format!("[127.0.0.1]:{port} {host_pub}")).expect("known_hosts");
            let config = format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile none\n\
                 AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nPermitRootLogin prohibit-password\n\
                 UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nMaxSessions 10\n\
                 MaxStartups 100\nLogLevel ERROR\n",
                d = p.display()
            );
            std::fs::write(p.join("sshd_config"), config).expect("sshd_config");
            // sshd's own log goes to a file: the readiness probe makes it complain.
            let log = std::fs::File::create(p.join("sshd.log")).expect("sshd.log");
            let mut child = Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(p.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("spawn sshd");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(TestSshd { port, dir, child });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("sshd did not come up on port {port} (attempt {attempt})");
        }
        panic!("could not start a test sshd");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Options that reach this sshd as root with the good key and its own known_hosts.
    pub fn options(&self) -> SshOptions {
        let defaults = SshDefaults { control_dir: self.path("c"), ..SshDefaults::default() };
        let mut o = SshOptions::from_host_vars("test", &crate::value::Map::new(), &defaults);
        o.address = "127.0.0.1".into();
        o.port = Some(self.port);
        o.user = Some("root".into());
        o.private_key = Some(self.path("id"));
        o.common_args = vec![
            "-o".into(),
            format!("UserKnownHostsFile={}", self.path("known_hosts").display()),
            "-o".into(),
            "GlobalKnownHostsFile=/dev/null".into(),
        ];
        o
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        // Our own child, by its PID: never by name.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
