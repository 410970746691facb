//! `package`: dispatches to `apt` or `dnf`/`yum`. The manager comes from `use`, else the
//! `ansible_pkg_mgr` fact when gathered, else one remote probe remembered per host for the run.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::args::Args;
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::Cmd;
use crate::value::{Map, Value};

pub struct Package;

static DETECTED: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

const PROBE: &str =
    "for m in apt-get dnf yum; do command -v $m >/dev/null 2>&1 && { echo $m; exit 0; }; done; echo unknown";

/// The backend module for a manager name (`apt-get` as the probe prints it, or a fact value).
pub fn backend(manager: &str) -> Option<&'static dyn Module> {
    match manager.trim() {
        "apt" | "apt-get" => Some(&super::apt::Apt),
        "dnf" | "dnf5" => Some(&super::dnf::DNF),
        "yum" => Some(&super::dnf::YUM),
        _ => None,
    }
}

async fn manager(cx: &Ctx<'_>, args: &Map) -> Result<String, ModuleError> {
    // Other arguments are the backend's to check.
    if let Some(u) = Args::any_names("package", args).str("use")?.filter(|u| u != "auto") {
        return Ok(u);
    }
    if let Ok(Value::String(m)) = cx.render.eval("ansible_pkg_mgr") {
        if backend(&m).is_some() {
            return Ok(m);
        }
    }
    if let Some(m) = DETECTED.lock().ok().and_then(|g| g.as_ref().and_then(|h| h.get(cx.host).cloned())) {
        return Ok(m);
    }
    let out = cx.run(Cmd::new(PROBE)).await?;
    let m = out.stdout_text().trim().to_string();
    if let Ok(mut g) = DETECTED.lock() {
        g.get_or_insert_with(HashMap::new).insert(cx.host.to_string(), m.clone());
    }
    Ok(m)
}

fn split(args: &Map) -> Map {
    args.iter().filter(|(k, _)| k.as_str() != "use").map(|(k, v)| (k.clone(), v.clone())).collect()
}

async fn resolve(cx: &Ctx<'_>, args: &Map) -> Result<&'static dyn Module, ModuleError> {
    let m = manager(cx, args).await?;
    backend(&m).ok_or_else(|| {
        ModuleError::failed(format!(
            "Could not find a supported package manager on {} (found '{m}'); supported: apt, dnf, yum. Set 'use' to pick one.",
            cx.host
        ))
    })
}

#[async_trait]
impl Module for Package {
    fn name(&self) -> &'static str {
        "package"
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let b = resolve(cx, args).await?;
        b.query(cx, &split(args)).await
    }

    async fn apply(&self, cx: &Ctx<'_>, args: &Map, q: Query) -> Result<Map, ModuleError> {
        let b = resolve(cx, args).await?;
        b.apply(cx, &split(args), q).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::local::Local;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[test]
    fn backends_by_name() {
        assert_eq!(backend("apt-get").map(|m| m.name()), Some("apt"));
        assert_eq!(backend("dnf").map(|m| m.name()), Some("dnf"));
        assert_eq!(backend("yum").map(|m| m.name()), Some("yum"));
        assert!(backend("unknown").is_none());
    }

    #[tokio::test]
    async fn use_must_be_a_word() {
        let e = Harness::new().query(&Package, json!({"name": "bash", "use": ["apt"]})).await.err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("package: argument 'use' must be a string, got [\"apt\"]")
        );
    }

    #[tokio::test]
    async fn detects_apt_here_and_queries_through_it() {
        if std::process::Command::new("sh")
            .arg("-c")
            .arg("command -v apt-get")
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            return;
        }
        let h = Harness { conn: Local::new("pkg-test-host"), ..Harness::new() };
        let args = json!({"name": "bash", "state": "present"});
        let q = Package.query(&h.cx(), args.as_object().unwrap()).await.unwrap();
        assert!(!q.changed);
        assert!(q.result.contains_key("cache_updated"), "went through apt: {:?}", q.result);
        let bad = json!({"name": "bash", "use": "pacman"});
        assert!(Package.query(&h.cx(), bad.as_object().unwrap()).await.is_err());
    }
}
