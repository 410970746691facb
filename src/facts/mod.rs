//! Facts: what a host's files look like, read by shell on the host. One path or several in one
//! command (`file.rs`), many paths with builtins and one `stat` (`batch.rs`), and the next
//! tasks' paths read together with the current task's and cached (`ahead.rs`). Modules ask
//! here through [`Reader`] (their context implements it); nothing here knows about modules,
//! in the way pyinfra separates facts from operations.

pub mod ahead;
pub mod batch;
pub mod cache;
pub mod file;
pub mod host;

use async_trait::async_trait;

use crate::connection::{ConnectionError, Output};

pub use file::{facts_script, file_facts, parse_facts, wants_facts, FileFacts, FileKind};

/// How facts reach a host: a task's context (connection, become, environment, read-ahead).
#[async_trait]
pub trait Reader: Send + Sync {
    /// Run a script that only reads, with the task's become and environment.
    async fn read(&self, script: String) -> Result<Output, ConnectionError>;
    /// The target's inventory name.
    fn target(&self) -> &str;
    /// Who reads (become method and user, environment): it can change what a path looks like.
    fn who(&self) -> String;
    /// The run's read-ahead cache for this task, if reading ahead is on.
    fn read_ahead(&self) -> Option<ahead::ReadAhead<'_>>;
}

#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The read command failed or printed what could not be parsed; `out` is what it printed.
    #[error("{msg}")]
    Read { msg: String, out: Option<Output> },
}
