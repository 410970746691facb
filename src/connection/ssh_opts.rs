//! SSH connection options: from host vars to an `openssh::SessionBuilder`, and ssh's stderr
//! turned into a reason a person can act on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, SessionBuilder};

/// Seconds an idle SSH master outlives its last session.
const CONTROL_PERSIST: std::num::NonZeroUsize = match std::num::NonZeroUsize::new(60) {
    Some(n) => n,
    None => unreachable!(),
};

use crate::value::{to_bool, to_text, Map, Value};

/// Settings that apply to every host unless its vars say otherwise (CLI `-u`,
/// `--private-key`, ansible.cfg, `ANSIBLE_HOST_KEY_CHECKING`).
#[derive(Debug, Clone)]
pub struct SshDefaults {
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    pub host_key_checking: bool,
    pub control_dir: PathBuf,
    pub connect_timeout: Duration,
    /// Ansible's `reconnection_retries` (`ANSIBLE_SSH_RETRIES`, ansible.cfg `retries`).
    pub retries: Option<u32>,
}

impl Default for SshDefaults {
    fn default() -> Self {
        SshDefaults {
            user: None,
            private_key: None,
            host_key_checking: true,
            control_dir: default_control_dir(),
            connect_timeout: Duration::from_secs(10),
            retries: None,
        }
    }
}

/// A short, per-run folder for control sockets: socket paths are limited to ~100 bytes.
pub fn default_control_dir() -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0);
    PathBuf::from(format!("/tmp/troupe-{uid}-{}", std::process::id()))
}

/// How to reach one host over SSH.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Inventory name (for messages).
    pub host: String,
    /// What ssh connects to (`ansible_host`).
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    /// `ansible_ssh_common_args` + `ansible_ssh_extra_args`, shell-split.
    pub common_args: Vec<String>,
    pub connect_timeout: Duration,
    pub host_key_checking: bool,
    pub control_dir: PathBuf,
    /// Extra connection attempts after any failure (`ansible_ssh_retries`); see `retry`.
    pub retries: Option<u32>,
}

/// The first of `names` that is set in `vars`, as text.
fn var(vars: &Map, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match vars.get(*n) {
        None | Some(Value::Null) => None,
        Some(v) => Some(to_text(v)),
    })
}

fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

impl SshOptions {
    /// Options for `host` from its vars, the way Ansible's ssh plugin reads them.
    /// Values that can't be used (a port that is not a number) are ignored here; ssh's own
    /// defaults then apply. Arguments that can't be shell-split are kept as one word so that
    /// `connect` reports them.
    pub fn from_host_vars(host: &str, vars: &Map, defaults: &SshDefaults) -> SshOptions {
        let address = var(vars, &["ansible_host", "ansible_ssh_host"]).unwrap_or_else(|| host.to_string());
        let port = var(vars, &["ansible_port", "ansible_ssh_port"]).and_then(|p| p.trim().parse().ok());
        let user = var(vars, &["ansible_user", "ansible_ssh_user"]).or_else(|| defaults.user.clone());
        let private_key = var(vars, &["ansible_ssh_private_key_file", "ansible_private_key_file"])
            .map(|p| expand_tilde(&p))
            .or_else(|| defaults.private_key.clone());
        let mut common_args = Vec::new();
        for name in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
            if let Some(text) = var(vars, &[name]) {
                common_args.extend(shlex::split(&text).unwrap_or_else(|| vec![text.clone()]));
            }
        }
        let host_key_checking = ["ansible_host_key_checking", "ansible_ssh_host_key_checking"]
            .iter()
            .find_map(|n| vars.get(*n).and_then(to_bool))
            .unwrap_or(defaults.host_key_checking);
        let connect_timeout = var(vars, &["ansible_ssh_timeout", "ansible_timeout"])
            .and_then(|t| t.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(defaults.connect_timeout);
        let retries = var(vars, &["ansible_ssh_retries"]).and_then(|r| r.trim().parse().ok()).or(defaults.retries);
        SshOptions {
            host: host.to_string(),
            address,
            port,
            user,
            private_key,
            common_args,
            connect_timeout,
            host_key_checking,
            control_dir: defaults.control_dir.clone(),
            retries,
        }
    }

    /// The sshd this reaches, as far as troupe can tell: names that share it share its
    /// `MaxStartups` budget.
    pub fn endpoint(&self) -> String {
        // Without a port ssh's config may still pick one; 22 is what it almost always is.
        format!("{}:{}", self.address, self.port.unwrap_or(22))
    }

    /// `common_args` as ssh_config lines (`Key value`), or why one can't be used.
    pub fn config_lines(&self) -> Result<Vec<String>, String> {
        let mut lines = Vec::new();
        let mut args = self.common_args.iter();
        while let Some(arg) = args.next() {
            let mut value =
                |flag: &str| args.next().cloned().ok_or_else(|| format!("ssh argument `{flag}` needs a value"));
            let line = match arg.as_str() {
                "-o" => option_line(&value("-o")?)?,
                a if a.starts_with("-o") && a.len() > 2 => option_line(&a[2..])?,
                "-J" => format!("ProxyJump {}", value("-J")?),
                "-i" => format!("IdentityFile {}", value("-i")?),
                "-p" => format!("Port {}", value("-p")?),
                "-l" => format!("User {}", value("-l")?),
                "-F" => format!("Include {}", value("-F")?),
                "-C" => "Compression yes".to_string(),
                "-A" => "ForwardAgent yes".to_string(),
                "-a" => "ForwardAgent no".to_string(),
                "-4" => "AddressFamily inet".to_string(),
                "-6" => "AddressFamily inet6".to_string(),
                "-q" => "LogLevel QUIET".to_string(),
                "-T" | "-n" | "-N" | "-x" | "-v" | "-vv" | "-vvv" => continue,
                other => {
                    return Err(format!(
                        "ssh argument `{other}` (from ansible_ssh_common_args/ansible_ssh_extra_args) \
                         is not supported; write it as `-o Option=value`"
                    ))
                }
            };
            lines.push(line);
        }
        Ok(lines)
    }

    /// What `StrictHostKeyChecking` in `common_args` asks for, if anything. Ansible lets
    /// it win when host_key_checking is on (it adds no option of its own then).
    fn strict_from_args(&self) -> Option<KnownHosts> {
        let lines = self.config_lines().ok()?;
        lines.iter().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            if !k.eq_ignore_ascii_case("StrictHostKeyChecking") {
                return None;
            }
            match v.trim().to_ascii_lowercase().as_str() {
                "no" | "off" => Some(KnownHosts::Accept),
                "accept-new" => Some(KnownHosts::Add),
                "yes" | "ask" => Some(KnownHosts::Strict),
                _ => None,
            }
        })
    }

    /// The builder for this host. When there are extra arguments they go into a generated
    /// config file (the builder takes no arbitrary `-o`), which includes the user's and the
    /// system's config so `~/.ssh/config` still applies.
    pub fn builder(&self) -> Result<SessionBuilder, String> {
        let mut b = SessionBuilder::default();
        let check = if self.host_key_checking {
            self.strict_from_args().unwrap_or(KnownHosts::Strict)
        } else {
            KnownHosts::Accept
        };
        b.known_hosts_check(check)
            .connect_timeout(self.connect_timeout)
            .server_alive_interval(Duration::from_secs(15))
            // A master whose run was killed (SIGKILL: no chance to close it) exits by itself
            // once idle, as Ansible's `ControlPersist=60s`; the persistent shell keeps it busy.
            .control_persist(ControlPersist::IdleFor(CONTROL_PERSIST))
            .control_directory(&self.control_dir);
        if let Some(port) = self.port {
            b.port(port);
        }
        if let Some(user) = &self.user {
            b.user(user.clone());
        }
        if let Some(key) = &self.private_key {
            b.keyfile(key);
        }
        let lines = self.config_lines()?;
        if !lines.is_empty() {
            let path = self.write_config(&lines)?;
            b.config_file(path);
        }
        Ok(b)
    }

    /// Where `builder` writes the generated ssh config for this host, if it needs one.
    pub fn config_path(&self) -> PathBuf {
        // Escaped, not just replaced, so two host names never share a file.
        let name: String = self
            .host
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' => (b as char).to_string(),
                other => format!("_{other:02x}"),
            })
            .collect();
        self.control_dir.join(format!("{name}.ssh_config"))
    }

    fn write_config(&self, lines: &[String]) -> Result<PathBuf, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.config_path();
        let mut text = format!("# generated by troupe for {}\n", self.host);
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        // `-F` replaces both default configs; bring them back (first value wins, so ours lead).
        text.push_str("Include ~/.ssh/config\nInclude /etc/ssh/ssh_config\n");
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("cannot write ssh config {}: {e}", path.display()))?;
        Ok(path)
    }
}

fn option_line(opt: &str) -> Result<String, String> {
    let (k, v) = opt
        .split_once('=')
        .or_else(|| opt.split_once(char::is_whitespace))
        .ok_or_else(|| format!("ssh option `-o {opt}` has no value; write it as `-o Option=value`"))?;
    Ok(format!("{} {}", k.trim(), v.trim()))
}

/// ssh's stderr in plain words, followed by ssh's own line for the details.
pub fn unreachable_reason(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| l.trim().trim_start_matches("ssh: "))
        .filter(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
        .collect();
    let all = lines.join("\n");
    let lower = all.to_ascii_lowercase();
    let detail = lines.iter().rev().find(|l| !l.starts_with('@')).copied().unwrap_or("ssh gave no reason");
    let plain = if lower.contains("connection refused") {
        "connection refused".to_string()
    } else if lower.contains("timed out") {
        "timed out".to_string()
    } else if lower.contains("no route to host") {
        "no route to host".to_string()
    } else if lower.contains("network is unreachable") {
        "network is unreachable".to_string()
    } else if lower.contains("could not resolve hostname") {
        "could not resolve the host name".to_string()
    } else if lower.contains("remote host identification has changed") {
        "host key verification failed: the host key changed (remove the old key from known_hosts \
         if the change is expected)"
            .to_string()
    } else if lower.contains("host key verification failed") {
        if lower.contains("host key is known for") {
            "host key verification failed: the host is not in known_hosts (add it, or set \
             host_key_checking = False)"
                .to_string()
        } else {
            "host key verification failed".to_string()
        }
    } else if let Some(at) = lower.find("permission denied (") {
        let end = lower[at..].find(')').map(|e| at + e + 1).unwrap_or(lower.len());
        lower[at..end].to_string()
    } else if lower.contains("permission denied") {
        "permission denied".to_string()
    } else if lower.contains("exchange_identification") {
        "the server closed the connection before authentication (sshd drops new connections \
         when too many are pending: see MaxStartups in sshd_config)"
            .to_string()
    } else {
        return detail.to_string();
    };
    format!("{plain} ({detail})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(vars: Value) -> SshOptions {
        let map = vars.as_object().cloned().unwrap_or_default();
        SshOptions::from_host_vars("web1", &map, &SshDefaults::default())
    }

    #[test]
    fn host_vars_and_aliases() {
        let o = opts(json!({"ansible_host": "10.0.0.5", "ansible_port": "2222", "ansible_ssh_user": "deploy",
            "ansible_ssh_private_key_file": "/k/id", "ansible_host_key_checking": "false"}));
        assert_eq!(o.address, "10.0.0.5");
        assert_eq!(o.port, Some(2222));
        assert_eq!(o.user.as_deref(), Some("deploy"));
        assert_eq!(o.private_key, Some(PathBuf::from("/k/id")));
        assert!(!o.host_key_checking);
        let o = opts(json!({"ansible_port": 22}));
        assert_eq!(o.address, "web1");
        assert_eq!(o.port, Some(22));
        assert!(o.host_key_checking);
        assert_eq!(o.connect_timeout, Duration::from_secs(10));
        assert_eq!(o.retries, None);
        assert_eq!(o.endpoint(), "web1:22");
        assert_eq!(opts(json!({})).endpoint(), "web1:22");
        assert_eq!(opts(json!({"ansible_host": "10.0.0.5", "ansible_port": 2222})).endpoint(), "10.0.0.5:2222");
    }

    #[test]
    fn retries_from_vars_win_over_defaults() {
        let d = SshDefaults { retries: Some(2), ..Default::default() };
        assert_eq!(SshOptions::from_host_vars("h", &Map::new(), &d).retries, Some(2));
        let map = json!({"ansible_ssh_retries": "5"}).as_object().cloned().unwrap_or_default();
        assert_eq!(SshOptions::from_host_vars("h", &map, &d).retries, Some(5));
        let map = json!({"ansible_ssh_retries": 0}).as_object().cloned().unwrap_or_default();
        assert_eq!(SshOptions::from_host_vars("h", &map, &d).retries, Some(0));
    }

    #[test]
    fn defaults_fill_gaps_and_vars_win() {
        let d = SshDefaults { user: Some("cli".into()), private_key: Some("/cli/key".into()), ..Default::default() };
        let o = SshOptions::from_host_vars("h", &Map::new(), &d);
        assert_eq!(o.user.as_deref(), Some("cli"));
        assert_eq!(o.private_key, Some(PathBuf::from("/cli/key")));
        let map = json!({"ansible_user": "var"}).as_object().cloned().unwrap_or_default();
        assert_eq!(SshOptions::from_host_vars("h", &map, &d).user.as_deref(), Some("var"));
    }

    #[test]
    fn common_and_extra_args_become_config_lines() {
        let o = opts(json!({
            "ansible_ssh_common_args": "-o ProxyCommand=\"ssh -W %h:%p -q bastion\" -J jump",
            "ansible_ssh_extra_args": "-oServerAliveCountMax=5 -C"}));
        assert_eq!(
            o.config_lines().unwrap_or_default(),
            ["ProxyCommand ssh -W %h:%p -q bastion", "ProxyJump jump", "ServerAliveCountMax 5", "Compression yes"]
        );
        let bad = opts(json!({"ansible_ssh_common_args": "-R 80:x:80"}));
        assert!(bad.config_lines().unwrap_err().contains("`-R`"));
    }

    #[test]
    fn strict_checking_from_args_wins_only_when_checking_is_on() {
        let o = opts(json!({"ansible_ssh_common_args": "-o StrictHostKeyChecking=no"}));
        assert!(matches!(o.strict_from_args(), Some(KnownHosts::Accept)));
        assert!(opts(json!({})).strict_from_args().is_none());
    }

    #[test]
    fn generated_config_keeps_user_config() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut o = opts(json!({"ansible_ssh_common_args": "-o UserKnownHostsFile=/x"}));
        o.control_dir = dir.path().to_path_buf();
        let path = o.write_config(&o.config_lines().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let ours = text.find("UserKnownHostsFile /x").unwrap_or(usize::MAX);
        let include = text.find("Include ~/.ssh/config").unwrap_or(0);
        assert!(ours < include, "{text}");
        assert!(text.contains("Include /etc/ssh/ssh_config"));
        let mut a = o.clone();
        a.host = "db_1".into();
        o.host = "db/1".into();
        assert_ne!(a.config_path(), o.config_path());
    }

    #[test]
    fn reasons_in_plain_words() {
        let r = unreachable_reason("ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n");
        assert!(r.starts_with("connection refused ("), "{r}");
        assert!(r.contains("port 1"));
        let r = unreachable_reason("root@127.0.0.1: Permission denied (publickey,password).");
        assert!(r.starts_with("permission denied (publickey,password)"), "{r}");
        let r = unreachable_reason("No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.");
        assert!(r.starts_with("host key verification failed: the host is not in known_hosts"), "{r}");
        let r = unreachable_reason("ssh: connect to host 10.9.9.9 port 22: Connection timed out");
        assert!(r.starts_with("timed out"));
        let r = unreachable_reason("ssh: connect to host 10.9.9.9 port 22: No route to host");
        assert!(r.starts_with("no route to host"));
        let r = unreachable_reason(
            "kex_exchange_identification: read: Connection reset by peer\r\nConnection reset by 10.0.0.1 port 22",
        );
        assert!(r.starts_with("the server closed the connection before authentication"), "{r}");
        assert!(r.ends_with("(Connection reset by 10.0.0.1 port 22)"), "{r}");
        assert_eq!(unreachable_reason("something odd"), "something odd");
    }
}
