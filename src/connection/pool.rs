//! One connection per target host, opened on first use and shared by all its tasks.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;
use tokio::sync::{OnceCell, Semaphore};

use super::local::Local;
use super::ssh::{Ssh, SshDefaults, SshOptions};
use super::{Connection, ConnectionError};
use crate::value::{to_text, Map};

/// Variables that decide how a host is reached.
pub const CONNECTION_VARS: &[&str] = &[
    "ansible_connection",
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_ssh_host_key_checking",
    "ansible_host_key_checking",
    "ansible_ssh_host",
    "ansible_ssh_port",
    "ansible_ssh_user",
    "ansible_ssh_timeout",
    "ansible_ssh_retries",
];

/// Connection setups one sshd gets from us at once: below sshd's default `MaxStartups`
/// (`10:30:100`, which drops new handshakes at random from 10 pending), leaving room for
/// other clients. Only matters when several inventory names reach the same sshd.
pub const STARTUPS_PER_ENDPOINT: usize = 8;

/// A host's connection, opened once; a failure is kept so the host is not tried again.
type Slot = Arc<OnceCell<Result<Arc<dyn Connection>, String>>>;

/// How hosts are reached when their variables don't say (`-c`, `-u`, `--private-key`,
/// ansible.cfg).
#[derive(Debug, Clone, Default)]
pub struct ConnectDefaults {
    /// `-c`: the connection type (`ssh` when unset).
    pub connection: Option<String>,
    pub ssh: SshDefaults,
}

pub struct ConnPool {
    defaults: ConnectDefaults,
    /// One slot per inventory name (and user and port, see [`slot_key`]); the lock is held only to find the slot, so hosts
    /// connect concurrently while two tasks of one host (delegation) share one attempt.
    slots: std::sync::Mutex<HashMap<String, Slot>>,
    /// Handshakes in flight per sshd address (see [`STARTUPS_PER_ENDPOINT`]).
    startups: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
    /// -vvv: where each connection says how it reached its host and what it runs.
    trace: Option<super::trace::Sink>,
}

/// The slot of a host: its name, and the user and port its variables (or the `remote_user` and
/// `port` keywords) ask for, so a task that logs in differently gets its own connection.
fn slot_key(host: &str, vars: &Map) -> String {
    use std::fmt::Write;
    let mut key = String::with_capacity(host.len() + 24);
    key.push_str(host);
    for name in ["ansible_user", "ansible_ssh_user", "ansible_port", "ansible_ssh_port"] {
        if let Some(v) = vars.get(name) {
            let _ = write!(key, "\0{name}={v}");
        }
    }
    key
}

impl ConnPool {
    pub fn new(defaults: ConnectDefaults) -> ConnPool {
        ConnPool {
            defaults,
            slots: std::sync::Mutex::new(HashMap::new()),
            startups: std::sync::Mutex::new(HashMap::new()),
            trace: None,
        }
    }

    /// Connections that trace what they run to `sink` (-vvv).
    pub fn traced(mut self, sink: super::trace::Sink) -> ConnPool {
        self.trace = Some(sink);
        self
    }

    /// The connection to `host`, whose connection variables are `vars`.
    pub async fn get(&self, host: &str, vars: &Map) -> Result<Arc<dyn Connection>, ConnectionError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(slot_key(host, vars)).or_default().clone()
        };
        let opened = slot
            .get_or_init(|| async {
                let conn = self.open(host, vars).await.map_err(|e| e.to_string())?;
                Ok(match &self.trace {
                    Some(sink) => super::trace::Traced::wrap(conn, sink.clone()),
                    None => conn,
                })
            })
            .await;
        opened.clone().map_err(|reason| ConnectionError::Unreachable { reason })
    }

    async fn open(&self, host: &str, vars: &Map) -> Result<Arc<dyn Connection>, ConnectionError> {
        let kind = vars
            .get("ansible_connection")
            .map(to_text)
            .or_else(|| self.defaults.connection.clone())
            .unwrap_or_else(|| "ssh".to_string());
        match kind.as_str() {
            "local" => Ok(Arc::new(Local::new(host))),
            "ssh" | "smart" | "paramiko" => self.ssh(host, vars).await,
            other => Err(ConnectionError::Unreachable {
                reason: format!("connection type '{other}' is not supported (use ssh or local)"),
            }),
        }
    }

    async fn ssh(&self, host: &str, vars: &Map) -> Result<Arc<dyn Connection>, ConnectionError> {
        let opts = SshOptions::from_host_vars(host, vars, &self.defaults.ssh);
        let gate = {
            let mut startups = self.startups.lock().unwrap_or_else(|e| e.into_inner());
            startups.entry(opts.endpoint()).or_insert_with(|| Arc::new(Semaphore::new(STARTUPS_PER_ENDPOINT))).clone()
        };
        Ok(Arc::new(Ssh::connect_gated(opts, Some(&gate)).await?))
    }

    /// Close every connection (end of run), all at once.
    pub async fn close_all(&self) {
        let slots: Vec<Slot> = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.drain().map(|(_, s)| s).collect()
        };
        let open = slots.iter().filter_map(|s| s.get().and_then(|r| r.as_ref().ok()));
        join_all(open.map(|c| c.close())).await;
        // The run's control folder (sockets, generated configs) goes with its connections.
        let _ = std::fs::remove_dir_all(crate::connection::ssh::default_control_dir());
    }
}
