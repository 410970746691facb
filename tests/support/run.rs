//! Drive the real `troupe` binary: `Run::new().args(..).in_dir(..).code(0).stdout_has(..)`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn troupe_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_troupe"))
}

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// ansible-core's `ansible-playbook` for side-by-side tests: `TROUPE_ANSIBLE_PLAYBOOK` (set by
/// scripts/test.sh, which installs it into a venv), else a venv where scripts/test.sh or the
/// machine setup puts it.
pub fn ansible_playbook() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TROUPE_ANSIBLE_PLAYBOOK") {
        return Some(PathBuf::from(p));
    }
    for p in ["target/ansible-venv/bin/ansible-playbook", "/opt/ansible-venv/bin/ansible-playbook"] {
        let p = repo().join(p);
        if p.exists() {
            return Some(p);
        }
    }
    None
}

/// A collections path holding ansible.posix, community.general and community.crypto, for
/// ansible-playbook to load playbooks that use them: `TROUPE_ANSIBLE_COLLECTIONS`, else
/// `target/ansible-collections` (scripts/test.sh unpacks them there from PyPI's `ansible`).
pub fn ansible_collections() -> Option<PathBuf> {
    let p = std::env::var("TROUPE_ANSIBLE_COLLECTIONS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target/ansible-collections"));
    p.join("ansible_collections/community/crypto").is_dir().then_some(p)
}

pub struct Run {
    cmd: Command,
    shown: String,
}

pub struct Done {
    pub out: Output,
    pub stdout: String,
    pub stderr: String,
    shown: String,
}

impl Run {
    pub fn new() -> Run {
        let mut cmd = Command::new(troupe_bin());
        cmd.env_remove("TROUPE_INVENTORY").env_remove("ANSIBLE_CONFIG").env_remove("ANSIBLE_INVENTORY").env("CI", "1");
        // A developer's vault secrets must not decide what a test sees.
        cmd.env_remove("ANSIBLE_VAULT_PASSWORD_FILE").env_remove("ANSIBLE_VAULT_IDENTITY_LIST");
        Run { cmd, shown: "troupe".into() }
    }

    pub fn args<I, S>(mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        for a in args {
            self.shown.push(' ');
            self.shown.push_str(&a.as_ref().to_string_lossy());
            self.cmd.arg(a);
        }
        self
    }

    pub fn in_dir(mut self, dir: &Path) -> Run {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Run {
        self.cmd.env(k, v);
        self
    }

    /// Cap the run's address space, so a runaway allocation fails fast instead of eating the
    /// machine (what an alias bomb did to the old loader).
    pub fn max_memory(mut self, bytes: u64) -> Run {
        use std::os::unix::process::CommandExt;
        let limit = rustix::process::Rlimit { current: Some(bytes), maximum: Some(bytes) };
        // SAFETY: setrlimit is async-signal-safe and touches no state of the parent.
        unsafe {
            self.cmd.pre_exec(move || {
                rustix::process::setrlimit(rustix::process::Resource::As, limit).map_err(std::io::Error::from)
            });
        }
        self
    }

    pub fn run(mut self) -> Done {
        let out = self.cmd.output().expect("troupe binary runs");
        Done {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            out,
            shown: self.shown,
        }
    }

    /// Run and require this exit code.
    pub fn code(self, code: i32) -> Done {
        let d = self.run();
        assert_eq!(d.out.status.code(), Some(code), "{}\n--- stdout\n{}\n--- stderr\n{}", d.shown, d.stdout, d.stderr);
        d
    }

    pub fn succeeds(self) -> Done {
        self.code(0)
    }
}

impl Done {
    pub fn stdout_has(&self, needle: &str) -> &Done {
        assert!(
            self.stdout.contains(needle),
            "{}: stdout lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.shown,
            self.stdout,
            self.stderr
        );
        self
    }
    pub fn stdout_lacks(&self, needle: &str) -> &Done {
        assert!(!self.stdout.contains(needle), "{}: stdout has {needle:?}\n--- stdout\n{}", self.shown, self.stdout);
        self
    }
    pub fn stderr_has(&self, needle: &str) -> &Done {
        assert!(
            self.stderr.contains(needle),
            "{}: stderr lacks {needle:?}\n--- stderr\n{}\n--- stdout\n{}",
            self.shown,
            self.stderr,
            self.stdout
        );
        self
    }
    /// The `PLAY RECAP` numbers of one host: (ok, changed, unreachable, failed, skipped, rescued, ignored).
    pub fn recap(&self, host: &str) -> [u32; 7] {
        let line = self
            .stdout
            .lines()
            .find(|l| l.split(" : ").next().map(str::trim) == Some(host) && l.contains("ok="))
            .unwrap_or_else(|| panic!("{}: no recap line for {host}\n{}", self.shown, self.stdout));
        let mut out = [0u32; 7];
        for (i, key) in
            ["ok=", "changed=", "unreachable=", "failed=", "skipped=", "rescued=", "ignored="].iter().enumerate()
        {
            let at = line.find(key).unwrap_or_else(|| panic!("no {key} in {line}"));
            out[i] = line[at + key.len()..].split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(u32::MAX);
        }
        out
    }
    pub fn changed(&self, host: &str) -> u32 {
        self.recap(host)[1]
    }
}

/// A scratch folder with files written from (relative path, content) pairs.
pub fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let p = dir.path().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write");
    }
    dir
}

/// A local inventory line for one host run on this machine.
pub const LOCAL_INV: &str = "[local]\nlocalhost ansible_connection=local\n";
