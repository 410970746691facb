//! Real hosts for end-to-end tests: the testbed of `tests/testbed/testbed.sh` (systemd-nspawn
//! containers with systemd and sshd on a private bridge), reached over ssh.
//!
//! `testbed(n)` finds the hosts, in this order:
//! 1. `TROUPE_TESTBED_INVENTORY` names an inventory (for example one written by `testbed.sh up`);
//! 2. running as root with `systemd-nspawn` installed: `testbed.sh up n`, once per process, left
//!    up afterwards for the next run;
//! 3. otherwise the test is skipped, with one line on stderr saying so; with
//!    `TROUPE_REQUIRE_TESTBED=1` (scripts/test.sh sets it when it boots hosts) it fails instead,
//!    so a suite that should have run on hosts cannot pass without them.
//!
//! A testbed that should be there but is broken (an unreadable inventory, a failed `up`) fails
//! the test instead of skipping it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

/// The one line printed when a test cannot get hosts.
pub const SKIP_LINE: &str = "skipped: needs root and systemd-nspawn (run tests/testbed/testbed.sh up 3)";

/// Set to `1` when hosts must be there: a test that would skip for want of them fails.
pub const REQUIRE_VAR: &str = "TROUPE_REQUIRE_TESTBED";

/// Skip a test that lacks what it needs (hosts, or a tool the testbed's install provides): one
/// line on stderr, or a failure under [`REQUIRE_VAR`].
pub fn skip(reason: &str) {
    if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
        panic!("{REQUIRE_VAR}=1, but this test cannot run: {reason}");
    }
    // Straight to stderr: the test harness captures eprintln! output of passing tests.
    let _ = writeln!(std::io::stderr(), "{reason}");
}

/// How long one command on a host may take unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Testbed {
    pub inventory: PathBuf,
    pub hosts: Vec<TbHost>,
    /// How to log into each host, by host name.
    access: HashMap<String, SshAccess>,
    /// Tests that reboot or stop a host hold this exclusively; the others share it.
    steady: RwLock<()>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TbHost {
    pub name: String,
    pub ip: String,
}

/// What a command run on a host left behind.
#[derive(Debug)]
pub struct CmdOutput {
    /// The exit code; `None` when ssh was killed by a signal. 255 is ssh's own failure.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct SshAccess {
    user: Option<String>,
    port: Option<String>,
    key: Option<String>,
    common_args: Vec<String>,
}

/// Hosts for a test that needs `n` of them, or `None` (after printing [`SKIP_LINE`]) when this
/// machine cannot provide them. Callers return early on `None`; under [`REQUIRE_VAR`] the test
/// fails here instead.
pub fn testbed(n: usize) -> Option<&'static Testbed> {
    static TESTBED: OnceLock<Result<Testbed, String>> = OnceLock::new();

    let named = std::env::var_os("TROUPE_TESTBED_INVENTORY").filter(|v| !v.is_empty());
    if named.is_none() && TESTBED.get().is_none() && !can_start() {
        skip(SKIP_LINE);
        return None;
    }
    let found = TESTBED.get_or_init(|| match &named {
        Some(path) => Testbed::from_inventory(Path::new(path)),
        None => start(n),
    });
    match found {
        Ok(tb) if tb.hosts.len() >= n => Some(tb),
        Ok(tb) => panic!(
            "testbed: {} has {} host(s), this test needs {n}; run tests/testbed/testbed.sh up {n}",
            tb.inventory.display(),
            tb.hosts.len()
        ),
        Err(err) => panic!("testbed: {err}"),
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/testbed.sh")
}

/// Root (effective uid 0, read from /proc so no libc is needed) and systemd-nspawn on PATH.
fn can_start() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false);
    root && find_on_path("systemd-nspawn").is_some()
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// `testbed.sh up n`; it prints the inventory path as the last line of stdout.
fn start(n: usize) -> Result<Testbed, String> {
    let script = script();
    let out = Command::new("bash")
        .arg(&script)
        .arg("up")
        .arg(n.to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("`{} up {n}` failed ({}):\n{stderr}", script.display(), out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let inventory = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| PathBuf::from(line.trim()))
        .ok_or_else(|| format!("`{} up {n}` printed no inventory path", script.display()))?;
    let _ = writeln!(
        std::io::stderr(),
        "testbed: left up for later runs; take it down with: bash {} down",
        script.display()
    );
    Testbed::from_inventory(&inventory)
}

impl Testbed {
    /// Reads the hosts of a YAML inventory: every host under any `hosts:` key, with its
    /// `ansible_host`, `ansible_user`, `ansible_port`, `ansible_ssh_private_key_file` and
    /// `ansible_ssh_common_args`. Plain line parsing: enough for the inventories `testbed.sh`
    /// writes and hand-written ones in the same shape.
    pub fn from_inventory(path: &Path) -> Result<Testbed, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read inventory {}: {e}", path.display()))?;
        let parsed = parse_inventory(&text).map_err(|e| format!("inventory {}: {e}", path.display()))?;
        if parsed.is_empty() {
            return Err(format!("inventory {} names no hosts", path.display()));
        }
        let mut hosts = Vec::new();
        let mut access = HashMap::new();
        for (name, vars) in parsed {
            let ip = vars.get("ansible_host").cloned().unwrap_or_else(|| name.clone());
            let common = vars.get("ansible_ssh_common_args").map(String::as_str).unwrap_or("");
            let common_args = shlex::split(common).ok_or_else(|| {
                format!("inventory {}: host {name}: ansible_ssh_common_args has unbalanced quotes", path.display())
            })?;
            access.insert(
                name.clone(),
                SshAccess {
                    user: vars.get("ansible_user").cloned(),
                    port: vars.get("ansible_port").cloned(),
                    key: vars.get("ansible_ssh_private_key_file").cloned(),
                    common_args,
                },
            );
            hosts.push(TbHost { name, ip });
        }
        Ok(Testbed { inventory: path.to_path_buf(), hosts, access, steady: RwLock::new(()) })
    }

    /// Held by tests that need every host to stay up while they run.
    pub fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.steady.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Held by tests that reboot or stop hosts, so no other test sees a host go away.
    pub fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.steady.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An `ssh` command that logs into `host` as the inventory says, ready for the remote
    /// command to be appended.
    pub fn ssh_command(&self, host: &TbHost) -> Result<Command, String> {
        let access = self
            .access
            .get(&host.name)
            .ok_or_else(|| format!("host {} is not in {}", host.name, self.inventory.display()))?;
        let mut cmd = Command::new("ssh");
        cmd.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]).args([
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
        ]);
        if let Some(key) = &access.key {
            cmd.arg("-i").arg(key);
        }
        if let Some(port) = &access.port {
            cmd.arg("-p").arg(port);
        }
        if let Some(user) = &access.user {
            cmd.arg("-l").arg(user);
        }
        cmd.args(&access.common_args).arg(&host.ip);
        Ok(cmd)
    }

    /// Runs `command` on `host`; fails the test when ssh itself cannot run it.
    pub fn on(&self, host: &TbHost, command: &str) -> CmdOutput {
        let out = self.run(host, command).unwrap_or_else(|e| panic!("ssh {}: {e}", host.name));
        assert_ne!(out.status, Some(255), "ssh to {} failed for `{command}`: {}", host.name, out.stderr);
        out
    }

    /// Runs `command` on `host` and returns its trimmed stdout; fails the test unless it exits 0.
    pub fn ok(&self, host: &TbHost, command: &str) -> String {
        let out = self.on(host, command);
        assert!(out.success(), "`{command}` on {} failed: {out:?}", host.name);
        out.stdout.trim().to_string()
    }

    /// Runs a shell command on `host` (a login's shell parses it) within [`DEFAULT_TIMEOUT`].
    pub fn run(&self, host: &TbHost, command: &str) -> Result<CmdOutput, String> {
        self.run_with(host, command, None, DEFAULT_TIMEOUT)
    }

    /// Runs a shell command on `host`, killing ssh after `timeout`.
    pub fn run_timeout(&self, host: &TbHost, command: &str, timeout: Duration) -> Result<CmdOutput, String> {
        self.run_with(host, command, None, timeout)
    }

    /// Writes `contents` to `path` on `host` (through ssh's stdin; no quoting of the contents).
    pub fn write_file(&self, host: &TbHost, path: &str, contents: &str) -> Result<(), String> {
        let path = quote(path)?;
        let out = self.run_with(host, &format!("cat > {path}"), Some(contents.as_bytes().to_vec()), DEFAULT_TIMEOUT)?;
        if out.success() {
            Ok(())
        } else {
            Err(format!("writing {path} on {} failed: {out:?}", host.name))
        }
    }

    fn run_with(
        &self,
        host: &TbHost,
        command: &str,
        input: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<CmdOutput, String> {
        let mut cmd = self.ssh_command(host)?;
        cmd.arg("--")
            .arg(command)
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("cannot start ssh to {}: {e}", host.name))?;
        let writer = child.stdin.take().zip(input).map(|(mut stdin, bytes)| {
            // Dropping stdin at the end of the thread closes it: the remote side sees EOF.
            thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            })
        });
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);

        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!("`{command}` on {} did not finish within {timeout:?}", host.name));
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => break Err(format!("waiting for ssh to {}: {e}", host.name)),
            }
        };
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        let stdout = stdout.map(join_text).unwrap_or_default();
        let stderr = stderr.map(join_text).unwrap_or_default();
        let status = status.map_err(|e| format!("{e}; stderr so far: {stderr}"))?;
        Ok(CmdOutput { status: status.code(), stdout, stderr })
    }
}

fn drain<R: Read + Send + 'static>(mut from: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = from.read_to_end(&mut buf);
        buf
    })
}

fn join_text(handle: thread::JoinHandle<Vec<u8>>) -> String {
    handle.join().map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default()
}

/// Quotes one word for the remote shell.
pub fn quote(word: &str) -> Result<String, String> {
    shlex::try_quote(word).map(|q| q.into_owned()).map_err(|e| format!("cannot quote {word:?} for a shell: {e}"))
}

/// A host's variables, by name.
type HostVars = HashMap<String, String>;

/// Hosts in inventory order, each with its variables. Hosts are the keys one level below a
/// `hosts:` key; their variables the `key: value` lines below them.
fn parse_inventory(text: &str) -> Result<Vec<(String, HostVars)>, String> {
    let mut hosts: Vec<(String, HostVars)> = Vec::new();
    // Indent of the `hosts:` key we are under, and the indent its host names use.
    let mut hosts_indent: Option<usize> = None;
    let mut host_indent: Option<usize> = None;
    let mut current: Option<usize> = None;

    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') || content == "---" {
            continue;
        }
        if raw.starts_with('\t') {
            return Err(format!("line {}: tabs are not allowed for indentation", number + 1));
        }
        let indent = line.len() - content.len();
        let Some((key, value)) = split_key(content) else {
            continue;
        };

        if let Some(under) = hosts_indent {
            if indent <= under {
                hosts_indent = None;
                host_indent = None;
                current = None;
            }
        }
        if key == "hosts" && value.is_empty() {
            hosts_indent = Some(indent);
            host_indent = None;
            current = None;
            continue;
        }
        let Some(_) = hosts_indent else {
            continue;
        };
        let level = *host_indent.get_or_insert(indent);
        if indent == level {
            if !(value.is_empty() || value == "{}" || value == "null" || value == "~") {
                return Err(format!(
                    "line {}: host {key} has an inline value; write its variables on lines below",
                    number + 1
                ));
            }
            current = match hosts.iter().position(|(name, _)| name == key) {
                Some(existing) => Some(existing),
                None => {
                    hosts.push((key.to_string(), HashMap::new()));
                    Some(hosts.len() - 1)
                }
            };
        } else if indent > level {
            if let Some(index) = current {
                hosts[index].1.insert(key.to_string(), unquote(value));
            }
        } else {
            return Err(format!("line {}: indentation does not match the hosts above", number + 1));
        }
    }
    Ok(hosts)
}

/// `key: value` (value may be empty); `None` for lines that are not a mapping entry.
fn split_key(content: &str) -> Option<(&str, &str)> {
    let (key, value) = match content.split_once(": ") {
        Some((key, value)) => (key, value.trim()),
        None => (content.strip_suffix(':')?, ""),
    };
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    if key.is_empty() || key.starts_with('-') {
        return None;
    }
    Some((key, value))
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return value[1..value.len() - 1].to_string();
        }
    }
    // An unquoted value ends where a comment starts.
    match value.find(" #") {
        Some(at) => value[..at].trim_end().to_string(),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITTEN: &str = "# comment\ntestbed:\n  hosts:\n    tb1:\n      ansible_host: 10.213.0.31\n      ansible_user: root\n      ansible_ssh_private_key_file: /run/x/id_ed25519\n      ansible_ssh_common_args: \"-o UserKnownHostsFile=/run/x/known_hosts -o StrictHostKeyChecking=yes\"\n    tb2:\n      ansible_host: 10.213.0.32\n";

    #[test]
    fn parses_the_inventory_testbed_sh_writes() {
        let hosts = parse_inventory(WRITTEN).expect("parses");
        let names: Vec<_> = hosts.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["tb1", "tb2"]);
        assert_eq!(hosts[0].1["ansible_host"], "10.213.0.31");
        assert_eq!(
            hosts[0].1["ansible_ssh_common_args"],
            "-o UserKnownHostsFile=/run/x/known_hosts -o StrictHostKeyChecking=yes"
        );
        assert_eq!(hosts[1].1.get("ansible_user"), None);
    }

    #[test]
    fn parses_hosts_nested_under_all_children() {
        let text = "all:\n  vars:\n    x: 1\n  children:\n    etcd:\n      hosts:\n        a:\n          ansible_host: 10.0.0.1 # first\n        b:\n    other:\n      vars:\n        ansible_host: nope\n";
        let hosts = parse_inventory(text).expect("parses");
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[0].1["ansible_host"], "10.0.0.1");
        assert!(hosts[1].1.is_empty());
    }

    #[test]
    fn bad_inventories_are_errors_not_panics() {
        assert!(parse_inventory("x:\n  hosts:\n    a: 1\n").is_err());
        assert!(parse_inventory("x:\n  hosts:\n\t a:\n").is_err());
        assert!(parse_inventory("x:\n  hosts:\n      a:\n     b:\n").is_err());
        assert!(parse_inventory("just text\n: :\n").expect("no hosts").is_empty());
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.yml");
        assert!(Testbed::from_inventory(&missing).is_err());
        let bad = dir.path().join("bad.yml");
        std::fs::write(&bad, "g:\n  hosts:\n    a:\n      ansible_ssh_common_args: \"-o 'x\"\n").expect("write");
        let err = Testbed::from_inventory(&bad).err().expect("unbalanced quotes fail");
        assert!(err.contains("unbalanced"), "{err}");
    }
}
