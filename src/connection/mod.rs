//! How commands reach a host. Every module speaks POSIX shell through one `Connection`;
//! local and SSH differ only in how the shell is reached.

mod input;
pub mod local;
pub mod pool;
pub mod retry;
pub mod shell;
pub mod ssh;
pub mod ssh_opts;
#[cfg(test)]
mod test_sshd;
pub mod trace;

use std::time::Duration;

use async_trait::async_trait;

pub use input::{Feed, Input};

/// Privilege escalation for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    /// `sudo` or `su`.
    pub method: String,
    pub user: String,
    /// Never logged; fed on stdin, never on a command line.
    pub password: Option<String>,
}

/// One shell script to run on the target.
#[derive(Debug, Clone, Default)]
pub struct Cmd {
    /// POSIX `sh` source. Build words with [`quote`], never by hand.
    pub script: String,
    pub stdin: Option<Input>,
    pub env: Vec<(String, String)>,
    pub chdir: Option<String>,
    pub timeout: Option<Duration>,
    pub escalate: Option<Become>,
    /// The script only reads: it does not make cached facts stale (see `facts::ahead`).
    pub read_only: bool,
}

impl Cmd {
    pub fn new(script: impl Into<String>) -> Cmd {
        Cmd { script: script.into(), ..Default::default() }
    }
    pub fn stdin(mut self, data: Vec<u8>) -> Cmd {
        self.stdin = Some(Input::Bytes(data));
        self
    }
    /// Mark a script that changes nothing on the host.
    pub fn read_only(mut self) -> Cmd {
        self.read_only = true;
        self
    }
    /// Stream a controller file to the command's stdin.
    pub fn stdin_file(mut self, path: impl Into<std::path::PathBuf>) -> Cmd {
        self.stdin = Some(Input::File(path.into()));
        self
    }
}

#[derive(Debug, Clone, Default)]
pub struct Output {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The host can't be reached at all: the run marks it `unreachable`.
    #[error("{reason}")]
    Unreachable { reason: String },
    #[error("command timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Io(String),
}

#[async_trait]
pub trait Connection: Send + Sync {
    /// The host this connection talks to (inventory name).
    fn host(&self) -> &str;
    /// Run one script; a non-zero exit is an `Output`, not an error.
    async fn exec(&self, cmd: &Cmd) -> Result<Output, ConnectionError>;
    /// Release the connection (SSH master, remote shell).
    async fn close(&self) {}
    /// Drop the SSH master and the persistent shell and connect again (after a reboot).
    async fn reconnect(&self) -> Result<(), ConnectionError> {
        Ok(())
    }
    /// Commands run on the controller itself (`reboot` refuses to).
    fn is_local(&self) -> bool {
        false
    }
    /// The SSH settings of the host (`synchronize` runs rsync over them); `None` when local.
    fn ssh_options(&self) -> Option<&ssh_opts::SshOptions> {
        None
    }
}

/// Quote one word for POSIX sh.
pub fn quote(word: &str) -> String {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Ends a script sent on stdin: a final comment, so that `$(…)` drops none of the script's own
/// newlines, and the proof that the script arrived whole.
pub const SCRIPT_END: &str = "\n#troupe-script-end";

/// Shell that reads a script of `len` bytes from stdin with `reader` (`head -c`, or
/// `dd bs=1 count=`) and runs it, unless it arrived cut short (the sender died): a part of a
/// script (`rm -rf /var/lib/x` cut to `rm -rf /var`) must never run.
pub fn run_from_stdin(len: usize, reader: &str) -> String {
    format!(
        "__t_s=$({reader}{len} 2>/dev/null)\n\
         case $__t_s in *'{end}') eval \"$__t_s\";; \
         *) echo 'troupe: the script arrived cut short' >&2; exit 97;; esac",
        end = SCRIPT_END.trim_start_matches('\n')
    )
}

/// A command as a connection sends it: a `script` with nothing secret in it (it may end up on
/// a command line, as `sudo`'s or `su`'s argument) and what its stdin starts with.
pub struct Prepared<'a> {
    pub script: String,
    pub feed: Feed<'a>,
}

/// The full command: environment, working folder, become. With become, the real script (its
/// `export`s too) travels on stdin ahead of the command's own input, and the password only
/// reaches `sudo`/`su` when it is going to ask for one.
pub fn prepare(cmd: &Cmd) -> Prepared<'_> {
    let mut script = String::new();
    for (k, v) in &cmd.env {
        script.push_str(&format!("export {}={}\n", k, quote(v)));
    }
    if let Some(dir) = &cmd.chdir {
        script.push_str(&format!("cd {} || exit 1\n", quote(dir)));
    }
    script.push_str(&cmd.script);
    let Some(escalate) = &cmd.escalate else {
        return Prepared { script, feed: Feed { prefix: Vec::new(), input: cmd.stdin.as_ref() } };
    };
    script.push_str(SCRIPT_END);
    let mut prefix = Vec::new();
    if let Some(pw) = &escalate.password {
        prefix.extend_from_slice(pw.as_bytes());
        prefix.push(b'\n');
    }
    let wrapper = wrap_become(script.len(), escalate);
    prefix.extend_from_slice(script.as_bytes());
    Prepared { script: wrapper, feed: Feed { prefix, input: cmd.stdin.as_ref() } }
}

/// The script that runs `len` bytes of stdin as a script as another user. With a password,
/// its line comes first on stdin and is read by the shell builtin `read`; it is handed on
/// only when the method will ask for it: `sudo` when `sudo -n` can't run the command
/// (no NOPASSWD rule, no cached credentials), `su` when the caller is not root. Otherwise it
/// would be read as the command's own stdin. On the persistent shell a `sudo -n` that worked
/// is remembered (a file in its folder), so NOPASSWD costs one probe per user, not per command.
pub fn wrap_become(len: usize, escalate: &Become) -> String {
    let inner = quote(&run_from_stdin(len, "head -c "));
    let user = quote(&escalate.user);
    let (quiet, asking, probe) = match escalate.method.as_str() {
        "su" => {
            let run = format!("su -s /bin/sh {user} -c {inner}");
            (run.clone(), run, "__t_q=; [ \"$(id -u)\" != 0 ] || __t_q=1".to_string())
        }
        _ => {
            let hex: String = escalate.user.bytes().map(|b| format!("{b:02x}")).collect();
            let probe = format!(
                "__t_m=${{__t_d:+$__t_d/sudo-n.{hex}}}; __t_q=\n\
                 if [ -n \"$__t_m\" ] && [ -e \"$__t_m\" ]; then __t_q=1\n\
                 elif sudo -H -S -n -u {user} /bin/sh -c : </dev/null >/dev/null 2>&1; then\n\
                 __t_q=1; [ -z \"$__t_m\" ] || : >\"$__t_m\" 2>/dev/null || :\nfi"
            );
            (
                // Ansible's flags: -H (the user's HOME), -S (a password on stdin), -n.
                format!("sudo -H -S -n -u {user} /bin/sh -c {inner}"),
                format!("sudo -H -S -p '' -u {user} /bin/sh -c {inner}"),
                probe,
            )
        }
    };
    if escalate.password.is_none() {
        return quiet;
    }
    format!(
        "IFS= read -r __t_pw || exit 1\n{probe}\n\
         if [ -z \"$__t_q\" ]; then {{ printf '%s\\n' \"$__t_pw\"; unset __t_pw; exec cat; }} | {asking}\n\
         else unset __t_pw; {quiet}; fi"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_words() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn become_never_puts_password_or_script_on_command_line() {
        let b = Become { method: "sudo".into(), user: "root".into(), password: Some("s3cret".into()) };
        let mut cmd = Cmd::new("id -u");
        cmd.env.push(("TOKEN".into(), "hush".into()));
        cmd.escalate = Some(b);
        let p = prepare(&cmd);
        assert!(!p.script.contains("s3cret") && !p.script.contains("hush"), "{}", p.script);
        assert!(p.feed.prefix.starts_with(b"s3cret\nexport TOKEN=hush\nid -u"));
    }

    /// The wrapper run by a real local `sh`, with `sudo`/`su` replaced by a stand-in that runs
    /// the command (as they do when they don't ask): what does the command read on stdin?
    fn stdin_seen_by_command(method: &str, password: Option<&str>, fake: &str) -> String {
        let dir = tempfile::tempdir().expect("tmp");
        let bin = dir.path();
        std::fs::write(bin.join(method), fake).expect("fake");
        std::fs::write(bin.join("id"), "#!/bin/sh\necho 0\n").expect("fake id");
        for f in [method, "id"] {
            std::fs::set_permissions(bin.join(f), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        }
        let b = Become { method: method.into(), user: "root".into(), password: password.map(String::from) };
        let cmd = Cmd { escalate: Some(b), ..Cmd::new("cat") }.stdin(b"payload\n".to_vec());
        let p = prepare(&cmd);
        let mut feed = p.feed.prefix.clone();
        feed.extend_from_slice(b"payload\n");
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", &p.script])
            .env("PATH", path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(&feed).expect("feed");
        String::from_utf8_lossy(&child.wait_with_output().expect("wait").stdout).into_owned()
    }

    #[test]
    fn the_password_reaches_only_a_method_that_asks() {
        // sudo with NOPASSWD: `sudo -n` works, so it never reads the password.
        let nopasswd =
            "#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do case $1 in -u|-p) shift;; esac; shift; done\nexec \"$@\"\n";
        assert_eq!(stdin_seen_by_command("sudo", Some("s3cret"), nopasswd), "payload\n");
        // su as root (the stand-in `id` says 0) never asks either.
        let su = "#!/bin/sh\nexec /bin/sh -c \"$5\"\n";
        assert_eq!(stdin_seen_by_command("su", Some("s3cret"), su), "payload\n");
        // A sudo that asks reads the password line itself; the command sees only its input.
        let asking = "#!/bin/sh\ncase \"$*\" in *-n*) exit 1;; esac\nIFS= read -r pw; [ \"$pw\" = s3cret ] || exit 9\nwhile [ \"${1#-}\" != \"$1\" ]; do case $1 in -u|-p) shift;; esac; shift; done\nexec \"$@\"\n";
        assert_eq!(stdin_seen_by_command("sudo", Some("s3cret"), asking), "payload\n");
        assert_eq!(stdin_seen_by_command("sudo", None, nopasswd), "payload\n");
    }

    #[test]
    fn a_working_sudo_n_is_probed_once_per_shell() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = dir.path().join("calls");
        let fake = format!(
            "#!/bin/sh\necho \"$*\" >> {}\nwhile [ \"${{1#-}}\" != \"$1\" ]; do case $1 in -u|-p) shift;; esac; shift; done\nexec \"$@\"\n",
            log.display()
        );
        std::fs::write(dir.path().join("sudo"), fake).expect("fake");
        std::fs::set_permissions(dir.path().join("sudo"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let b = Become { method: "sudo".into(), user: "root".into(), password: Some("pw".into()) };
        let cmd = Cmd { escalate: Some(b), ..Cmd::new("echo ran") };
        let p = prepare(&cmd);
        let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
        // `__t_d` is the persistent shell's folder; three commands in it.
        for _ in 0..3 {
            use std::io::Write;
            let mut child = std::process::Command::new("/bin/sh")
                .args(["-c", &p.script])
                .env("PATH", &path)
                .env("__t_d", dir.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("sh");
            child.stdin.take().expect("stdin").write_all(&p.feed.prefix).expect("feed");
            assert_eq!(child.wait_with_output().expect("wait").stdout, b"ran\n");
        }
        let calls = std::fs::read_to_string(&log).expect("log");
        assert_eq!(calls.lines().filter(|l| l.ends_with("-c :")).count(), 1, "{calls}");
        assert_eq!(calls.matches("-c __t_s=").count(), 3, "{calls}");
    }
}
