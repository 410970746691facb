//! Reading ahead: when a file task must read its path's facts, the facts of the next file
//! tasks' paths come in the same command ([`facts_batch`]), so each of those tasks starts no
//! process of its own.
//!
//! When a cached answer may be used:
//! - It was read with the same become and environment, on the same target.
//! - No write has happened since it was read. That means no command outside a facts read and
//!   no module `apply`, on any host: a task on one host can change another host's files.
//! - It has not been used before. A retry (`until`) reads its path again.
//! - It is less than [`MAX_AGE`] old.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::connection::Cmd;

use super::facts_batch::{self, Want};
use super::remote_file::FileFacts;
use super::{Ctx, ModuleError};

/// A cached answer older than this is read again.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// At most this many paths are read ahead in one command.
pub const MAX_AHEAD: usize = 32;

/// The wants of the tasks that come next on this host, rendered only when asked for (on a
/// miss), because rendering them costs engine time.
pub trait Lookahead: Send + Sync {
    fn wants(&self) -> Vec<Want>;
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    target: String,
    /// Become method and user, and the environment: they can change what a path looks like.
    who: String,
    want: Want,
}

struct Entry {
    facts: FileFacts,
    writes: u64,
    at: Instant,
}

/// The read-ahead cache of one run.
#[derive(Default)]
pub struct Prefetch {
    writes: AtomicU64,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Prefetch {
    /// Something may have changed on some host: every cached answer is stale.
    pub fn note_write(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Take the cached answers for all `keys`, or none at all.
    fn take(&self, keys: &[Key]) -> Option<Vec<FileFacts>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.writes();
        let fresh = |e: &Entry| e.writes == now && e.at.elapsed() < MAX_AGE;
        if !keys.iter().all(|k| entries.get(k).is_some_and(fresh)) {
            return None;
        }
        Some(keys.iter().filter_map(|k| entries.remove(k)).map(|e| e.facts).collect())
    }

    fn store(&self, writes: u64, found: Vec<(Key, FileFacts)>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, e| e.writes == writes);
        let at = Instant::now();
        for (key, facts) in found {
            entries.insert(key, Entry { facts, writes, at });
        }
    }
}

fn who(cx: &Ctx<'_>) -> String {
    let mut s = match &cx.escalate {
        Some(b) => format!("{}:{}", b.method, b.user),
        None => String::new(),
    };
    for (k, v) in &cx.env {
        s.push_str(&format!("\0{k}={v}"));
    }
    s
}

/// The facts of `wants` from the cache, or read together with the next tasks' wants.
/// `None`: read them the plain way (no cache, or nothing to read ahead, or incomplete data).
pub async fn facts(cx: &Ctx<'_>, wants: &[Want]) -> Result<Option<Vec<FileFacts>>, ModuleError> {
    let Some(cache) = cx.prefetch else { return Ok(None) };
    let target = cx.conn.host().to_string();
    let who = who(cx);
    let key = |want: &Want| Key { target: target.clone(), who: who.clone(), want: want.clone() };
    let keys: Vec<Key> = wants.iter().map(key).collect();
    if let Some(hit) = cache.take(&keys) {
        return Ok(Some(hit));
    }
    let Some(ahead) = cx.lookahead else { return Ok(None) };
    if !wants.iter().all(|w| facts_batch::batchable(&w.path)) {
        return Ok(None);
    }
    // One checksum tool per command: the current task's, else the first one read ahead.
    let mut alg = wants.iter().find_map(|w| w.checksum.clone());
    let mut batch: Vec<Want> = wants.to_vec();
    for w in ahead.wants() {
        if batch.len() >= wants.len() + MAX_AHEAD {
            break;
        }
        if w.checksum.is_some() && alg.is_none() {
            alg = w.checksum.clone();
        }
        if facts_batch::batchable(&w.path) && (w.checksum.is_none() || w.checksum == alg) && !batch.contains(&w) {
            batch.push(w);
        }
    }
    if batch.len() == wants.len() {
        return Ok(None);
    }
    let writes = cache.writes();
    let out = cx.run(Cmd::new(facts_batch::script(&batch)).read_only()).await?.stdout_text();
    let mut found = facts_batch::parse(&out, &batch);
    let ahead_found = found.split_off(wants.len());
    let later = batch[wants.len()..].iter().zip(ahead_found).filter_map(|(w, f)| Some((key(w), f?))).collect();
    cache.store(writes, later);
    Ok(found.into_iter().collect())
}

#[cfg(test)]
#[path = "prefetch_tests.rs"]
mod tests;
