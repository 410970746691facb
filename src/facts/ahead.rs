//! Reading ahead: when a file task must read its path's facts, the facts of the next file
//! tasks' paths come in the same command ([`batch`](super::batch)), so each of those tasks starts no
//! process of its own.
//!
//! When a cached answer may be used:
//! - It was read for this task, with the same become and environment, on the same target.
//! - No write has happened since it was read. That means no command outside a facts read and
//!   no module `apply`, on any host: a task on one host can change another host's files.
//! - It has not been used before: only a task's first attempt uses it; a retry (`until`) or
//!   a later task asking the same reads the host again.
//! - It is less than [`MAX_AGE`] old.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::batch::{self, Found, Want};
use super::file::FileFacts;
use super::{FactsError, Reader};

/// A cached answer older than this is read again.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// At most this many paths are read ahead in one command.
pub const MAX_AHEAD: usize = 32;

/// The wants of the tasks that come next on this host, by task id, rendered only when asked
/// for (on a miss), because rendering them costs engine time.
pub trait Lookahead: Send + Sync {
    fn wants(&self) -> Vec<(usize, Want)>;
}

/// What a module's context carries for reading ahead.
#[derive(Clone, Copy)]
pub struct ReadAhead<'a> {
    pub cache: &'a Prefetch,
    /// The running task's id: the answers read for it are its own.
    pub task: usize,
    pub next: Option<&'a dyn Lookahead>,
}

impl<'a> ReadAhead<'a> {
    /// The same cache and task, reading nothing ahead.
    pub fn without_next(self) -> ReadAhead<'a> {
        ReadAhead { next: None, ..self }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    target: String,
    /// Become method and user, and the environment: they can change what a path looks like.
    who: String,
    task: usize,
    want: Want,
}

struct Entry {
    found: Found,
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
    fn take(&self, keys: &[Key]) -> Option<Vec<Found>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.writes();
        let fresh = |e: &Entry| e.writes == now && e.at.elapsed() < MAX_AGE;
        let all = keys.iter().all(|k| entries.get(k).is_some_and(fresh));
        // Taken either way: a partial answer is never used later either.
        let got: Vec<Found> = keys.iter().filter_map(|k| entries.remove(k)).map(|e| e.found).collect();
        all.then_some(got)
    }

    fn store(&self, writes: u64, found: Vec<(Key, Found)>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, e| e.writes == writes);
        let at = Instant::now();
        for (key, found) in found {
            entries.insert(key, Entry { found, writes, at });
        }
    }
}

/// The facts of `wants`, as [`file_facts`](super::file_facts) reads them, from the cache or read with
/// the next tasks' wants. `None`: read them the plain way.
pub async fn facts(r: &dyn Reader, wants: &[Want]) -> Result<Option<Vec<FileFacts>>, FactsError> {
    Ok(found(r, wants).await?.map(|all| all.into_iter().map(|f| f.facts).collect()))
}

/// A text file's facts and bytes (lineinfile's read), from the cache or read with the next
/// tasks' wants. `None`: read it the plain way.
pub async fn text(r: &dyn Reader, path: &str) -> Result<Option<Found>, FactsError> {
    Ok(found(r, &[Want::text(path)]).await?.and_then(|mut all| all.pop()))
}

/// `wants` from the cache, or read together with the next tasks' wants.
/// `None`: read them the plain way (no cache, or nothing to read ahead, or incomplete data).
async fn found(r: &dyn Reader, wants: &[Want]) -> Result<Option<Vec<Found>>, FactsError> {
    let Some(ra) = r.read_ahead() else { return Ok(None) };
    let target = r.target().to_string();
    let who = r.who();
    let key = |task: usize, want: &Want| Key { target: target.clone(), who: who.clone(), task, want: want.clone() };
    let keys: Vec<Key> = wants.iter().map(|w| key(ra.task, w)).collect();
    if let Some(hit) = ra.cache.take(&keys) {
        return Ok(Some(hit));
    }
    let Some(next) = ra.next else { return Ok(None) };
    if !wants.iter().all(|w| batch::batchable(&w.path)) {
        return Ok(None);
    }
    // One checksum tool per command: the current task's, else the first one read ahead.
    let mut alg = wants.iter().find_map(|w| w.checksum.clone());
    let mut wanted: Vec<Want> = wants.to_vec();
    let mut later: Vec<(usize, usize)> = Vec::new();
    for (task, w) in next.wants() {
        if w.checksum.is_some() && alg.is_none() {
            alg = w.checksum.clone();
        }
        if !batch::batchable(&w.path) || (w.checksum.is_some() && w.checksum != alg) {
            continue;
        }
        let at = match wanted.iter().position(|b| *b == w) {
            Some(at) => at,
            None if wanted.len() < wants.len() + MAX_AHEAD => {
                wanted.push(w);
                wanted.len() - 1
            }
            None => continue,
        };
        later.push((task, at));
    }
    if later.is_empty() {
        return Ok(None);
    }
    let writes = ra.cache.writes();
    let mark = format!("@troupe-cat-{:032x}", rand::random::<u128>());
    let out = r.read(batch::script(&wanted, &mark)).await?;
    let found = batch::parse_found(&out.stdout, &wanted, &mark);
    let store = later.iter().filter_map(|(task, at)| Some((key(*task, &wanted[*at]), found[*at].clone()?))).collect();
    ra.cache.store(writes, store);
    Ok(found.into_iter().take(wants.len()).collect())
}

#[cfg(test)]
#[path = "ahead_tests.rs"]
mod tests;
