//! One connection per target host, opened on first use and shared by all its tasks.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::cli::Settings;
use crate::connection::local::Local;
use crate::connection::ssh::{Ssh, SshDefaults, SshOptions};
use crate::connection::{Connection, ConnectionError};
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
];

pub struct ConnPool {
    settings: Arc<Settings>,
    conns: Mutex<HashMap<String, Arc<dyn Connection>>>,
    /// Hosts that failed to connect, with the reason (not retried within a run).
    dead: Mutex<HashMap<String, String>>,
}

impl ConnPool {
    pub fn new(settings: Arc<Settings>) -> ConnPool {
        ConnPool { settings, conns: Mutex::new(HashMap::new()), dead: Mutex::new(HashMap::new()) }
    }

    /// The connection to `host`, whose connection variables are `vars`.
    pub async fn get(&self, host: &str, vars: &Map) -> Result<Arc<dyn Connection>, ConnectionError> {
        if let Some(reason) = self.dead.lock().await.get(host) {
            return Err(ConnectionError::Unreachable { reason: reason.clone() });
        }
        let mut conns = self.conns.lock().await;
        if let Some(c) = conns.get(host) {
            return Ok(c.clone());
        }
        let kind = vars
            .get("ansible_connection")
            .map(to_text)
            .or_else(|| self.settings.connection.clone())
            .unwrap_or_else(|| "ssh".to_string());
        let conn: Result<Arc<dyn Connection>, ConnectionError> = match kind.as_str() {
            "local" => Ok(Arc::new(Local::new(host))),
            "ssh" | "smart" | "paramiko" => self.ssh(host, vars).await,
            other => Err(ConnectionError::Unreachable {
                reason: format!("connection type '{other}' is not supported (use ssh or local)"),
            }),
        };
        match conn {
            Ok(c) => {
                conns.insert(host.to_string(), c.clone());
                Ok(c)
            }
            Err(e) => {
                self.dead.lock().await.insert(host.to_string(), e.to_string());
                Err(e)
            }
        }
    }

    async fn ssh(&self, host: &str, vars: &Map) -> Result<Arc<dyn Connection>, ConnectionError> {
        let defaults = SshDefaults {
            user: self.settings.remote_user.clone(),
            private_key: self.settings.private_key.clone(),
            host_key_checking: self.settings.host_key_checking,
            ..SshDefaults::default()
        };
        let opts = SshOptions::from_host_vars(host, vars, &defaults);
        Ok(Arc::new(Ssh::connect(opts).await?))
    }

    /// Close every connection (end of run).
    pub async fn close_all(&self) {
        let conns: Vec<Arc<dyn Connection>> = self.conns.lock().await.drain().map(|(_, c)| c).collect();
        for c in conns {
            c.close().await;
        }
    }
}
