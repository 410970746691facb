//! The controller side of the bridge: one Python process per run, with ansible-core imported,
//! that finds modules and builds their payloads (`build_payload.py`, shipped in the binary).
//! It is started the first time a module troupe lacks is looked up, and kept for the run:
//! ansible-core's import costs about a second, a build after that a few milliseconds.
//!
//! Which Python: `TROUPE_ANSIBLE_PYTHON`, else the interpreter of the `ansible-playbook` on
//! `PATH` (its `#!` line). Collections are found as ansible-core finds them
//! (`ANSIBLE_COLLECTIONS_PATH`, `collections_path` in ansible.cfg, `~/.ansible/collections`,
//! `ansible_collections` beside ansible-core), plus a `collections/` folder beside each playbook.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use serde_json::json;

use crate::value::{Map, Value};

const SCRIPT: &str = include_str!("build_payload.py");

/// What ansible-core said about itself when the helper started.
#[derive(Debug, Clone, Default)]
pub struct Core {
    pub python: PathBuf,
    pub version: String,
    /// The collections paths it searches, in order.
    pub paths: Vec<String>,
    /// ansible-core's own folder (its `modules/` are ansible.builtin).
    pub dir: String,
}

/// A module ansible-core found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub fqcn: String,
    pub path: String,
    /// The module's controller-side action plugin, when it has one (the bridge can't run it).
    pub action_plugin: Option<String>,
}

enum State {
    NotStarted,
    Running {
        child: Child,
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
        core: Core,
    },
    /// No usable ansible-core: why, in words for an error message.
    Unavailable(String),
}

static HELPER: Mutex<State> = Mutex::new(State::NotStarted);
static PLAYBOOK_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// `library/` folders found so far (beside the playbooks, in roles).
static LIBRARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The playbooks' folders: their `collections/` are searched first, as ansible-playbook does,
/// and their `library/` holds modules of the playbook's own.
pub fn set_playbook_dirs(dirs: Vec<PathBuf>) {
    for d in &dirs {
        super::add_plugin_dirs(d);
    }
    *PLAYBOOK_DIRS.lock().unwrap_or_else(|e| e.into_inner()) = dirs;
}

/// A `library/` folder whose modules ansible-core must find (as Ansible adds a role's or a
/// playbook's): told to the helper when it runs, else given to it when it starts. False when
/// it is no folder or was known already.
pub fn add_library(dir: &Path) -> bool {
    if !dir.is_dir() {
        return false;
    }
    {
        let mut known = LIBRARIES.lock().unwrap_or_else(|e| e.into_inner());
        if known.iter().any(|k| k == dir) {
            return false;
        }
        known.push(dir.to_path_buf());
    }
    let running = matches!(*HELPER.lock().unwrap_or_else(|e| e.into_inner()), State::Running { .. });
    if running {
        // A failure here stops the helper; the next lookup reports why.
        let _ = request(&json!({"op": "library", "dir": dir.to_string_lossy()}));
    }
    true
}

/// The `library/` folders known so far, for an action plugin's own module lookups.
pub fn libraries() -> Vec<String> {
    LIBRARIES.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|d| d.to_string_lossy().into_owned()).collect()
}

/// The Python that has ansible-core, or why there is none.
pub fn ansible_python() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TROUPE_ANSIBLE_PYTHON").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let Some(playbook) = std::env::split_paths(&path).map(|d| d.join("ansible-playbook")).find(|p| p.is_file()) else {
        return Err(
            "ansible-core was not found: TROUPE_ANSIBLE_PYTHON is unset and no ansible-playbook is on PATH".into()
        );
    };
    python_of(&playbook)
}

/// The interpreter in a script's `#!` line (`#!/venv/bin/python3`, `#!/usr/bin/env python3`).
fn python_of(script: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read(script).map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(first);
    let Some(shebang) = line.strip_prefix("#!") else {
        return Err(format!("{} has no #! line naming its Python", script.display()));
    };
    let mut words = shebang.split_whitespace();
    match (words.next(), words.next()) {
        (Some(env), Some(py)) if env.ends_with("/env") => Ok(PathBuf::from(py)),
        (Some(py), _) => Ok(PathBuf::from(py)),
        _ => Err(format!("{} has an empty #! line", script.display())),
    }
}

fn start() -> State {
    let python = match ansible_python() {
        Ok(p) => p,
        Err(why) => return State::Unavailable(why),
    };
    let extra: Vec<PathBuf> = PLAYBOOK_DIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|d| d.join("collections"))
        .filter(|d| d.is_dir())
        .collect();
    let extra = std::env::join_paths(extra).unwrap_or_default();
    let libraries =
        std::env::join_paths(LIBRARIES.lock().unwrap_or_else(|e| e.into_inner()).iter()).unwrap_or_default();
    let spawned = Command::new(&python)
        .args(["-c", SCRIPT])
        .env("TROUPE_PLAYBOOK_COLLECTIONS", extra)
        .env("TROUPE_LIBRARY_DIRS", libraries)
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return State::Unavailable(format!("cannot start {} for ansible-core: {e}", python.display())),
    };
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return State::Unavailable("the ansible-core helper has no pipes".into());
    };
    let mut stdout = BufReader::new(stdout);
    let hello = match read_reply(&mut stdout) {
        Ok(h) => h,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return State::Unavailable(format!("{} could not load ansible-core: {e}", python.display()));
        }
    };
    if hello.get("ok") != Some(&Value::Bool(true)) {
        let _ = child.wait();
        return State::Unavailable(format!("{}: {}", python.display(), text(&hello, "error")));
    }
    let core = Core {
        python,
        version: text(&hello, "version"),
        paths: hello
            .get("paths")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default(),
        dir: text(&hello, "core"),
    };
    State::Running { child, stdin, stdout, core }
}

fn read_reply(stdout: &mut BufReader<ChildStdout>) -> Result<Map, String> {
    let mut line = String::new();
    match stdout.read_line(&mut line) {
        Ok(0) => Err("it exited".into()),
        Ok(_) => match serde_json::from_str(&line) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(format!("unexpected reply: {}", line.chars().take(200).collect::<String>())),
        },
        Err(e) => Err(e.to_string()),
    }
}

fn text(m: &Map, key: &str) -> String {
    m.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// One request to the helper (started on first use); `Err` when there is no ansible-core or
/// the helper died (it is not restarted: the run reports why).
fn request(req: &Value) -> Result<(Map, Core), String> {
    let mut state = HELPER.lock().unwrap_or_else(|e| e.into_inner());
    if matches!(*state, State::NotStarted) {
        *state = start();
    }
    let reply = match &mut *state {
        State::Running { stdin, stdout, core, .. } => {
            let mut line = req.to_string();
            line.push('\n');
            match stdin.write_all(line.as_bytes()).and_then(|()| stdin.flush()) {
                Ok(()) => read_reply(stdout).map(|r| (r, core.clone())),
                Err(e) => Err(e.to_string()),
            }
        }
        State::Unavailable(why) => return Err(why.clone()),
        State::NotStarted => return Err("the ansible-core helper did not start".into()),
    };
    reply.map_err(|e| {
        if let State::Running { child, .. } = &mut *state {
            let _ = child.kill();
            let _ = child.wait();
        }
        let why = format!("the ansible-core helper stopped: {e}");
        *state = State::Unavailable(why.clone());
        why
    })
}

/// ansible-core's answer for a module name: found, or not (with where it looked).
pub enum Lookup {
    Found(Found),
    Missing { why: String, core: Option<Core> },
}

/// Where ansible-core finds module `name` (bare names as `ansible.legacy`, as Ansible does).
pub fn find(name: &str) -> Lookup {
    match request(&json!({"op": "find", "name": name})) {
        Ok((r, _)) if r.get("ok") == Some(&Value::Bool(true)) => Lookup::Found(Found {
            fqcn: text(&r, "fqcn"),
            path: text(&r, "path"),
            action_plugin: r.get("action_plugin").and_then(Value::as_str).map(String::from),
        }),
        Ok((r, core)) => Lookup::Missing { why: text(&r, "error"), core: Some(core) },
        Err(why) => Lookup::Missing { why, core: None },
    }
}

/// The AnsiballZ payload of module `fqcn` with `args` (the `_ansible_*` keys included), as
/// ansible-core builds it: a Python script for `interpreter` with everything it needs.
pub fn build(fqcn: &str, args: &Map, interpreter: &str) -> Result<Vec<u8>, String> {
    let (r, _) = request(&json!({"op": "build", "name": fqcn, "args": args, "interpreter": interpreter}))?;
    match r.get("payload").and_then(Value::as_str) {
        Some(p) if r.get("ok") == Some(&Value::Bool(true)) => Ok(p.as_bytes().to_vec()),
        _ => Err(format!("ansible-core could not build {fqcn}: {}", text(&r, "error"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_comes_from_the_shebang() {
        let dir = tempfile::tempdir().expect("tmp");
        let script = dir.path().join("ansible-playbook");
        std::fs::write(&script, "#!/venv/bin/python3\nimport x\n").expect("write");
        assert_eq!(python_of(&script), Ok(PathBuf::from("/venv/bin/python3")));
        std::fs::write(&script, "#!/usr/bin/env python3.11\n").expect("write");
        assert_eq!(python_of(&script), Ok(PathBuf::from("python3.11")));
        std::fs::write(&script, "import x\n").expect("write");
        assert!(python_of(&script).unwrap_err().contains("no #! line"));
    }
}
