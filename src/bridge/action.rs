//! A playbook's or role's own action plugins (`action_plugins/NAME.py`), as Ansible finds
//! them: a bare task name that names one runs that plugin, before any module of that name.
//!
//! A plugin that only re-exports one of ansible-core's actions
//! (`from ansible.plugins.action.debug import ActionModule`) is that action, so troupe's native
//! module runs. Any other plugin runs on the controller in ansible-core's own `ActionBase`
//! (`run_action.py`, one Python process per call); what it does on the host (a module, a
//! command) comes back here and runs over troupe's connection with the task's become and
//! environment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::connection::Cmd;
use crate::module_api::{Ctx, Module, ModuleError, Query, Step};
use crate::value::{to_text, Map, Value};

const SCRIPT: &str = include_str!("run_action.py");

/// Folders searched, in order; the first holding `NAME.py` gives the plugin.
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Plugins resolved so far, by task name.
static FOUND: Mutex<Option<HashMap<String, Option<&'static dyn Module>>>> = Mutex::new(None);
/// Whether any folder is known: most runs have none, and `find` is asked for every task.
static ANY: AtomicBool = AtomicBool::new(false);

/// An `action_plugins/` folder (beside a playbook, in a role, or configured).
pub fn add_dir(dir: &Path) {
    if !dir.is_dir() {
        return;
    }
    let mut dirs = DIRS.lock().unwrap_or_else(|e| e.into_inner());
    if dirs.iter().any(|d| d == dir) {
        return;
    }
    dirs.push(dir.to_path_buf());
    ANY.store(true, Ordering::Relaxed);
    // A name looked up before this folder was known may be found now.
    if let Some(found) = FOUND.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        found.retain(|_, m| m.is_some());
    }
}

/// The folders of `DEFAULT_ACTION_PLUGIN_PATH` (`ANSIBLE_ACTION_PLUGINS`, ansible.cfg), added once.
fn add_configured() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        for d in crate::template::lookups::paths_setting("DEFAULT_ACTION_PLUGIN_PATH") {
            add_dir(Path::new(&d));
        }
    });
}

/// The action plugin a bare task name stands for, if a known folder has one.
pub fn find(name: &str) -> Option<&'static dyn Module> {
    add_configured();
    if !ANY.load(Ordering::Relaxed) || name.contains('.') || super::off() {
        return None;
    }
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    let found = found.get_or_insert_with(HashMap::new);
    if let Some(known) = found.get(name) {
        return *known;
    }
    let path = DIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|d| d.join(format!("{name}.py")))
        .find(|p| p.is_file());
    let module = path.map(|path| {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let native = reexported(&text).filter(|a| *a != name).and_then(crate::modules::find_module);
        native.unwrap_or_else(|| {
            let m: &'static PyAction = Box::leak(Box::new(PyAction { name: super::leak(name), path }));
            m as &dyn Module
        })
    });
    found.insert(name.to_string(), module);
    module
}

/// The module a task name resolved to through an action plugin, if it did.
fn resolved(name: &str) -> Option<&'static dyn Module> {
    if !ANY.load(Ordering::Relaxed) {
        return None;
    }
    FOUND.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|f| f.get(name).copied().flatten())
}

/// Whether `name` runs a Python action plugin on the controller (its failures read "Action failed").
pub fn is_python_plugin(name: &str) -> bool {
    resolved(name).is_some_and(|m| m.name() == name)
}

/// The ansible-core action that the plugin `name` only re-exports (`debug`), if it is one.
pub fn alias_of(name: &str) -> Option<&'static str> {
    resolved(name).map(|m| m.name()).filter(|m| *m != name)
}

/// The ansible-core action a plugin file only re-exports (`from ansible.plugins.action.debug
/// import ActionModule`, and nothing else but comments, `__future__` and `assert ActionModule`).
fn reexported(text: &str) -> Option<&str> {
    let mut action = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with("from __future__ ")
            || line == "assert ActionModule"
        {
            continue;
        }
        let name = line
            .strip_prefix("from ansible.plugins.action.")
            .and_then(|r| r.strip_suffix(" import ActionModule"))
            .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))?;
        if action.replace(name).is_some() {
            return None;
        }
    }
    action
}

/// A Python action plugin, run by ansible-core on the controller.
struct PyAction {
    name: &'static str,
    path: PathBuf,
}

#[async_trait]
impl Module for PyAction {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let python = super::ansible_python().map_err(|why| {
            ModuleError::failed(format!(
                "{} is an action plugin ({}), which needs ansible-core: {why}",
                self.name,
                self.path.display()
            ))
        })?;
        let dir = self.path.parent().map(Path::to_path_buf).unwrap_or_default();
        let request = serde_json::json!({
            "plugin": self.path.to_string_lossy(),
            "name": self.name,
            "args": args,
            "task_vars": cx.render.vars(),
            "check_mode": cx.check_mode,
            "diff": cx.diff,
            "no_log": cx.no_log,
            "action_dirs": DIRS.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|d| d.to_string_lossy().into_owned()).collect::<Vec<_>>(),
            "library_dirs": super::helper::libraries(),
            "basedir": dir.parent().unwrap_or(&dir).to_string_lossy(),
        });
        let mut child = tokio::process::Command::new(&python)
            .args(["-c", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                ModuleError::failed(format!("cannot start {} for action plugin {}: {e}", python.display(), self.name))
            })?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(ModuleError::failed("action plugin runner has no pipes"));
        };
        let mut lines = BufReader::new(stdout).lines();
        let broken = |e: std::io::Error| ModuleError::failed(format!("action plugin {}: {e}", self.name));
        send(&mut stdin, &request).await.map_err(broken)?;
        let result = loop {
            let Some(line) = lines.next_line().await.map_err(broken)? else {
                let _ = child.wait().await;
                return Err(ModuleError::failed(format!("action plugin {} ended without a result", self.name)));
            };
            let msg: Map = serde_json::from_str(&line)
                .map_err(|e| ModuleError::failed(format!("action plugin {}: bad reply: {e}", self.name)))?;
            match msg.get("op").and_then(Value::as_str) {
                Some("module") => {
                    let name = msg.get("name").and_then(Value::as_str).unwrap_or_default();
                    let args = msg.get("args").and_then(Value::as_object).cloned().unwrap_or_default();
                    let reply = run_module(cx, name, args).await;
                    send(&mut stdin, &Value::Object(reply)).await.map_err(broken)?;
                }
                Some("command") => {
                    let reply = run_command(cx, &msg).await?;
                    send(&mut stdin, &reply).await.map_err(broken)?;
                }
                _ => break msg.get("result").and_then(Value::as_object).cloned().unwrap_or_default(),
            }
        };
        drop(stdin);
        let _ = child.wait().await;
        if result.get("failed").is_some_and(|f| f == &Value::Bool(true)) {
            let msg = result.get("msg").map(to_text).unwrap_or_else(|| "Action failed.".into());
            return Err(ModuleError::Failed { msg, result });
        }
        let changed = result.get("changed") == Some(&Value::Bool(true));
        Ok(Query { changed, result, ..Query::ok() })
    }
}

async fn send(stdin: &mut tokio::process::ChildStdin, value: &Value) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stdin.write_all(&line).await?;
    stdin.flush().await
}

/// A module the plugin runs (`_execute_module`): troupe's own, else Ansible's through the
/// bridge, queried then applied unless in check mode; its result as Ansible's module returns it.
async fn run_module(cx: &Ctx<'_>, name: &str, mut args: Map) -> Map {
    let short = name.strip_prefix("ansible.legacy.").or_else(|| name.strip_prefix("ansible.builtin.")).unwrap_or(name);
    // The shell action runs `command` with `_uses_shell`; troupe's shell is its own module.
    let short = match (short, args.remove("_uses_shell")) {
        ("command", Some(Value::Bool(true))) => "shell",
        _ => short,
    };
    let Some(module) = crate::modules::find_module(short) else {
        return failed(format!("The module {name} was not found in configured module paths"), Map::new());
    };
    let outcome = async {
        let q = module.query(cx, &args).await?;
        let step = q.step(cx.check_mode);
        let changed = matches!(step, Step::Apply | Step::WouldChange);
        let mut result = match step {
            Step::Apply => module.apply(cx, &args, q).await?,
            _ => q.result,
        };
        if step == Step::CheckSkipped {
            result.insert("skipped".into(), Value::Bool(true));
        }
        result.insert("changed".into(), Value::Bool(changed));
        Ok::<Map, ModuleError>(result)
    };
    match outcome.await {
        Ok(r) => r,
        Err(ModuleError::Failed { msg, result }) => failed(msg, result),
        Err(e) => failed(e.to_string(), Map::new()),
    }
}

fn failed(msg: String, mut result: Map) -> Map {
    result.insert("failed".into(), Value::Bool(true));
    result.insert("msg".into(), Value::String(msg));
    result.entry("changed").or_insert(Value::Bool(false));
    result
}

/// A command the plugin runs (`_low_level_execute_command`), with the task's become unless
/// the plugin says it is not `sudoable`.
async fn run_command(cx: &Ctx<'_>, msg: &Map) -> Result<Value, ModuleError> {
    let mut cmd = Cmd::new(msg.get("cmd").map(to_text).unwrap_or_default());
    cmd.chdir = msg.get("chdir").and_then(Value::as_str).map(String::from);
    if let Some(data) = msg.get("stdin").and_then(Value::as_str) {
        cmd = cmd.stdin(data.as_bytes().to_vec());
    }
    let out = match msg.get("sudoable") {
        Some(Value::Bool(false)) => {
            cmd.env = cx.env.clone();
            cx.conn.exec(&cmd).await?
        }
        _ => cx.run(cmd).await?,
    };
    Ok(serde_json::json!({"rc": out.rc, "stdout": out.stdout_text(), "stderr": out.stderr_text()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bare_reexport_is_an_alias() {
        let alias = "# c\nfrom __future__ import annotations\n\nfrom ansible.plugins.action.debug import ActionModule\nassert ActionModule\n";
        assert_eq!(reexported(alias), Some("debug"));
        let own = "from ansible.plugins.action import ActionBase\nclass ActionModule(ActionBase):\n    pass\n";
        assert_eq!(reexported(own), None);
        let more = "from ansible.plugins.action.debug import ActionModule\nimport os\n";
        assert_eq!(reexported(more), None);
        assert_eq!(reexported("# nothing\n"), None);
    }
}
