//! The fact cache (Ansible's `fact_caching`): gathered facts and `set_fact: cacheable=true`
//! outlive the play, and with `jsonfile` the run. One file per host, `<prefix>s1_<host>`,
//! holding `{"__payload__": "<facts as JSON text>"}` as ansible-core 2.19 writes it, so troupe
//! and Ansible read each other's caches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::value::json::{dumps, JsonStyle};
use crate::value::{Map, Value};

/// Where the cache keeps facts, as chosen by `ANSIBLE_CACHE_PLUGIN` / `fact_caching`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Ansible's default: facts last for the run only.
    Memory,
    /// JSON files in `dir`; older than `timeout` seconds (0: never) they are gone.
    JsonFile { dir: PathBuf, prefix: String, timeout: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("error, 'jsonfile' cache plugin requires the 'fact_caching_connection' config option to be set (to a writeable directory path)")]
    NoConnection,
    #[error("Unable to load the facts cache plugin ({0}).")]
    UnknownPlugin(String),
    #[error("Error in 'jsonfile' cache plugin while trying to create cache dir '{}': {reason}", dir.display())]
    Dir { dir: PathBuf, reason: String },
    #[error("The cache file {} was corrupt, or did not otherwise contain valid data. It has been removed, so you can re-run your command now.", path.display())]
    Corrupt { path: PathBuf },
    #[error("Error in 'jsonfile' cache plugin while trying to write to '{}': {reason}", path.display())]
    Write { path: PathBuf, reason: String },
}

/// The schema id ansible-core 2.19 puts before the host name (`s1_`): a cache of another
/// format sits beside it instead of being misread.
const SCHEMA: &str = "s1_";
const PAYLOAD: &str = "__payload__";

/// Facts per host, read from the backend on first use and written through on every change.
#[derive(Debug)]
pub struct FactCache {
    backend: Backend,
    hosts: Mutex<HashMap<String, Map>>,
}

impl Default for FactCache {
    fn default() -> FactCache {
        FactCache { backend: Backend::Memory, hosts: Mutex::new(HashMap::new()) }
    }
}

impl Backend {
    /// The backend a plugin name and its options ask for (`None`: Ansible's defaults).
    pub fn choose(
        plugin: Option<&str>,
        connection: Option<&str>,
        prefix: Option<&str>,
        timeout: Option<u64>,
    ) -> Result<Backend, CacheError> {
        match plugin.unwrap_or("memory") {
            "memory" | "ansible.builtin.memory" => Ok(Backend::Memory),
            "jsonfile" | "ansible.builtin.jsonfile" => {
                let dir = connection.filter(|c| !c.is_empty()).ok_or(CacheError::NoConnection)?;
                Ok(Backend::JsonFile {
                    dir: expand(dir),
                    prefix: prefix.unwrap_or_default().to_string(),
                    timeout: timeout.unwrap_or(86400),
                })
            }
            other => Err(CacheError::UnknownPlugin(other.to_string())),
        }
    }
}

/// `~` and `$VAR` in the connection, as Ansible's `expanduser(expandvars(..))`.
fn expand(path: &str) -> PathBuf {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = match after.strip_prefix('{').and_then(|a| a.split_once('}')) {
            Some((n, t)) => (n, t),
            None => {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        match std::env::var(name) {
            Ok(v) if !name.is_empty() => out.push_str(&v),
            _ => out.push_str(&rest[i..rest.len() - tail.len()]),
        }
        rest = tail;
    }
    out.push_str(rest);
    match (out.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(r), Ok(home)) => Path::new(&home).join(r),
        _ => PathBuf::from(out),
    }
}

impl FactCache {
    /// A cache on `backend`; a jsonfile folder is made if missing.
    pub fn open(mut backend: Backend) -> Result<FactCache, CacheError> {
        if let Backend::JsonFile { dir, .. } = &mut backend {
            // Absolute, as Ansible's `path` options are (its messages name the file so).
            if let Ok(abs) = std::path::absolute(&*dir) {
                *dir = abs;
            }
            std::fs::create_dir_all(&*dir).map_err(|e| CacheError::Dir { dir: dir.clone(), reason: e.to_string() })?;
        }
        Ok(FactCache { backend, hosts: Mutex::new(HashMap::new()) })
    }

    fn file(&self, host: &str) -> Option<PathBuf> {
        match &self.backend {
            Backend::JsonFile { dir, prefix, .. } => Some(dir.join(format!("{prefix}{SCHEMA}{host}"))),
            Backend::Memory => None,
        }
    }

    /// The facts cached for `host` (none when missing or expired). A corrupt file is removed.
    pub fn get(&self, host: &str) -> Result<Option<Map>, CacheError> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = hosts.get(host) {
            return Ok(Some(m.clone()));
        }
        let (Some(path), Backend::JsonFile { timeout, .. }) = (self.file(host), &self.backend) else { return Ok(None) };
        let Ok(meta) = std::fs::metadata(&path) else { return Ok(None) };
        let age = meta.modified().ok().and_then(|m| SystemTime::now().duration_since(m).ok()).unwrap_or_default();
        if *timeout > 0 && age > Duration::from_secs(*timeout) {
            return Ok(None);
        }
        let Some(facts) = std::fs::read_to_string(&path).ok().and_then(|t| decode_file(&t)) else {
            let _ = std::fs::remove_file(&path);
            return Err(CacheError::Corrupt { path });
        };
        hosts.insert(host.to_string(), facts.clone());
        Ok(Some(facts))
    }

    /// Add `facts` to what is cached for `host` (top-level keys replace), and save it.
    pub fn update(&self, host: &str, facts: &Map) -> Result<(), CacheError> {
        // What is on disk first, as Ansible merges into the cached entry.
        let base = self.get(host).unwrap_or_default().unwrap_or_default();
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let entry = hosts.entry(host.to_string()).or_insert(base);
        entry.extend(facts.iter().map(|(k, v)| (k.clone(), v.clone())));
        let Some(path) = self.file(host) else { return Ok(()) };
        write_file(&path, &encode_file(entry))
    }

    /// Forget `host`'s facts (`--flush-cache`, `meta: clear_facts`).
    pub fn delete(&self, host: &str) {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner()).remove(host);
        if let Some(path) = self.file(host) {
            let _ = std::fs::remove_file(path);
        }
    }
}

const PY_JSON: JsonStyle = JsonStyle { indent: None, sort_keys: false, ensure_ascii: true };

/// The file's text: the facts as JSON text inside `__payload__` (Python's `json.dumps` style).
fn encode_file(facts: &Map) -> String {
    let payload = dumps(&Value::Object(facts.clone()), PY_JSON);
    dumps(&Value::Object(Map::from_iter([(PAYLOAD.to_string(), Value::String(payload))])), PY_JSON)
}

fn decode_file(text: &str) -> Option<Map> {
    let outer: Value = serde_json::from_str(text).ok()?;
    let payload: Value = serde_json::from_str(outer.get(PAYLOAD)?.as_str()?).ok()?;
    match untag(payload) {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Ansible's tagged values (`{"value": .., "tags": [..], "__ansible_type": ..}`) as plain ones:
/// troupe keeps no origins or trust marks on values.
fn untag(v: Value) -> Value {
    match v {
        Value::Object(mut m) if m.contains_key("__ansible_type") => m.remove("value").map(untag).unwrap_or(Value::Null),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(untag).collect()),
        other => other,
    }
}

/// Written beside the file, then renamed over it, mode 0644 (as Ansible).
fn write_file(path: &Path, text: &str) -> Result<(), CacheError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |e: std::io::Error| CacheError::Write { path: path.to_path_buf(), reason: e.to_string() };
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
