//! The module bridge: a module troupe does not implement runs as Ansible's own module, when
//! ansible-core (and the collection that holds the module) is installed on the controller.
//!
//! ansible-core's own code finds the module and builds its payload (AnsiballZ: the module, its
//! module_utils and its arguments in one Python script; `helper.rs`); troupe sends the payload
//! on the stdin of the target's Python through the host's persistent shell (never in argv, so
//! the arguments stay out of `ps`), with the task's become and environment, and takes the JSON
//! result as Ansible takes it (`output.rs`).
//!
//! Modules in a playbook's or a role's `library/` (with the `module_utils/` beside it) are
//! found too, and a bare name there wins over troupe's native module of that name, as in Ansible.
//!
//! A bridged module can't split query from apply: it runs once, in the query, and honours
//! check mode itself (`_ansible_check_mode`; a module without check-mode support answers
//! `skipped`, as in Ansible). With `async`, a bridged module runs in the foreground and its result
//! goes to the job file (`src/exec/job.rs`).

mod action;
mod helper;
mod output;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::connection::{quote, Cmd};
use crate::module_api::{Ctx, Module, ModuleError, Query};
use crate::value::{Map, Value};

pub use action::{alias_of as action_alias_of, find as action_plugin, is_python_plugin};
pub use helper::{ansible_python, set_playbook_dirs};

/// The plugin folders beside a playbook or in a role: `library/` (modules) and
/// `action_plugins/`, as Ansible adds them when it loads the playbook or role.
pub fn add_plugin_dirs(dir: &std::path::Path) {
    add_library(&dir.join("library"));
    action::add_dir(&dir.join("action_plugins"));
}

/// One module of ansible-core or a collection, run through the bridge.
pub struct Bridged {
    /// The name as the task gives it (`ansible.builtin.` stripped), which `Module::name` returns.
    name: &'static str,
    /// The name ansible-core resolved it to (`ansible.builtin.debconf`).
    fqcn: String,
}

/// Modules looked up so far, found or not (a task's name is asked for on every host).
static FOUND: Mutex<Option<HashMap<String, Option<&'static Bridged>>>> = Mutex::new(None);

/// The bridged module `name`, when ansible-core has it and the bridge can run it. The first
/// call starts ansible-core's helper; `TROUPE_BRIDGE=0` turns the bridge off.
pub fn find(name: &str) -> Option<&'static dyn Module> {
    if off() {
        return None;
    }
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    let found = found.get_or_insert_with(HashMap::new);
    if let Some(known) = found.get(name) {
        return known.map(|b| b as &dyn Module);
    }
    let module = match helper::find(name) {
        helper::Lookup::Found(f) if f.action_plugin.is_none() => {
            let b: &'static Bridged = Box::leak(Box::new(Bridged { name: leak(name), fqcn: f.fqcn }));
            Some(b)
        }
        _ => None,
    };
    found.insert(name.to_string(), module);
    module.map(|b| b as &dyn Module)
}

/// Module names in the `library/` folders known so far (their file names without `.py`).
static LIBRARY_NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Whether any library folder holds a module: most runs have none, and `in_library` is asked
/// for every task.
static ANY_LIBRARY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A role's or playbook's `library/` folder: its modules are found by the bridge, and a bare
/// name there wins over troupe's own module of that name, as in Ansible.
pub fn add_library(dir: &std::path::Path) {
    if !helper::add_library(dir) {
        return;
    }
    let names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".py")).map(String::from))
        .filter(|n| n != "__init__")
        .collect();
    if names.is_empty() {
        return;
    }
    LIBRARY_NAMES.lock().unwrap_or_else(|e| e.into_inner()).extend(names);
    ANY_LIBRARY.store(true, std::sync::atomic::Ordering::Relaxed);
    // Names looked up before this folder was known may be found now.
    if let Some(found) = FOUND.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        found.retain(|_, m| m.is_some());
    }
}

/// Whether a bare module name is a module of a known `library/` folder.
pub fn in_library(name: &str) -> bool {
    ANY_LIBRARY.load(std::sync::atomic::Ordering::Relaxed)
        && !off()
        && LIBRARY_NAMES.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|n| n == name)
}

fn off() -> bool {
    matches!(std::env::var("TROUPE_BRIDGE").as_deref(), Ok("0" | "off" | "false" | "no"))
}

fn leak(name: &str) -> &'static str {
    Box::leak(name.to_string().into_boxed_str())
}

/// Why `name` is neither native nor bridged, and what to install: for the load-time error.
pub fn missing_hint(name: &str) -> String {
    if off() {
        return "troupe does not implement this module, and the bridge to Ansible's own modules is off \
                (TROUPE_BRIDGE=0)"
            .into();
    }
    let collection = collection_of(name);
    let install = match &collection {
        Some(c) => format!("install the collection: `ansible-galaxy collection install {c}`"),
        None => "check the spelling, or put a module of your own in `library/` beside the playbook or in the role"
            .to_string(),
    };
    match helper::find(name) {
        helper::Lookup::Found(f) => match f.action_plugin {
            Some(plugin) => format!(
                "troupe does not implement this module, and Ansible's {} runs controller-side code (the action \
                 plugin {plugin}) that troupe's bridge can't run",
                f.fqcn
            ),
            None => format!("Ansible's {} was found at {}", f.fqcn, f.path),
        },
        helper::Lookup::Missing { why, core: None } => format!(
            "not among troupe's native modules, and troupe can't run Ansible's own: {why}; install ansible-core \
             (`pip install ansible-core`) and the collection that holds the module, or set TROUPE_ANSIBLE_PYTHON \
             to the Python that has them"
        ),
        helper::Lookup::Missing { why, core: Some(core) } => format!(
            "not among troupe's native modules, nor in ansible-core {} ({}/modules, with {}) nor in the \
             collections paths {} ({why}); {install}",
            core.version,
            core.dir,
            core.python.display(),
            if core.paths.is_empty() { "(none)".to_string() } else { core.paths.join(":") },
        ),
    }
}

/// `community.general` of `community.general.ini_file`.
fn collection_of(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split('.').collect();
    (parts.len() >= 3).then(|| format!("{}.{}", parts[0], parts[1]))
}

/// The shell that runs the payload arriving on stdin with the host's Python: the configured
/// `ansible_python_interpreter`, else `/usr/bin/python3`, else the first of Ansible's fallback
/// list that exists (`/usr/bin/python3` first: a `python3.13` on PATH may be a pyenv shim that fails).
fn runner_script(interpreter: &str) -> String {
    let words: Vec<String> = interpreter.split_whitespace().map(quote).collect();
    let pick = if words.is_empty() {
        "for __t_c in /usr/bin/python3 python3.13 python3.12 python3.11 python3.10 python3.9 python3.8 \
         /usr/libexec/platform-python python3 /usr/bin/python python; do\n\
         if command -v \"$__t_c\" >/dev/null 2>&1; then __t_p=$__t_c; break; fi\ndone\n"
            .to_string()
    } else {
        format!("__t_p={}\ncommand -v \"$__t_p\" >/dev/null 2>&1 || __t_p=\n", words[0])
    };
    let rest = words.get(1..).unwrap_or_default().join(" ");
    format!(
        "__t_p=\n{pick}if [ -z \"$__t_p\" ]; then echo '{NO_PYTHON}' >&2; exit 127; fi\nexec \"$__t_p\" {rest} -c {}",
        quote(READ_STDIN)
    )
}

/// Reads the payload from stdin in one go and runs it as `__main__`. Not `python -`: Python
/// reads a script from stdin one byte per system call (170,000 calls for a 170 kB payload).
const READ_STDIN: &str = "import sys;exec(compile(sys.stdin.buffer.read(),'<AnsiballZ>','exec'))";

const NO_PYTHON: &str = "troupe-bridge: no python";

/// The keys Ansible adds to a module's arguments (`ActionBase._update_module_args`); the
/// helper adds those that come from ansible-core's configuration.
fn internal_args(args: &Map, cx: &Ctx<'_>, fqcn: &str) -> Map {
    let mut a = args.clone();
    let mut set = |k: &str, v: Value| {
        a.insert(k.to_string(), v);
    };
    set("_ansible_check_mode", Value::Bool(cx.check_mode));
    set("_ansible_no_log", Value::Bool(cx.no_log));
    set("_ansible_diff", Value::Bool(cx.diff));
    set("_ansible_module_name", Value::from(fqcn));
    a
}

#[async_trait]
impl Module for Bridged {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let interpreter =
            cx.render.render("{{ ansible_python_interpreter | default('') }}").map_err(ModuleError::Template)?;
        let interpreter = match interpreter.trim() {
            "auto" | "auto_silent" | "auto_legacy" | "auto_legacy_silent" => "",
            other => other,
        };
        let shebang = if interpreter.is_empty() { "/usr/bin/python3" } else { interpreter };
        let full = internal_args(args, cx, &self.fqcn);
        let (fqcn, shebang_owned) = (self.fqcn.clone(), shebang.to_string());
        let payload = tokio::task::spawn_blocking(move || helper::build(&fqcn, &full, &shebang_owned))
            .await
            .map_err(|e| ModuleError::failed(format!("building {}: {e}", self.fqcn)))?
            .map_err(ModuleError::failed)?;
        let out = cx.run(Cmd::new(runner_script(interpreter)).stdin(payload)).await?;
        let stderr = out.stderr_text();
        if out.rc == 127 && stderr.contains(NO_PYTHON) {
            return Err(ModuleError::failed(format!(
                "{} is Ansible's own module and runs with Python, but host {} has none ({}): install python3 \
                 there, or set ansible_python_interpreter to its path",
                self.fqcn,
                cx.host,
                if interpreter.is_empty() {
                    "none of python3, /usr/bin/python3, python found".to_string()
                } else {
                    format!("{interpreter} not found")
                }
            )));
        }
        let taken = output::take(&out.stdout_text(), &stderr, out.rc);
        if taken.failed {
            let msg = taken.result.get("msg").map(crate::value::to_text).unwrap_or_else(|| "MODULE FAILURE".into());
            return Err(ModuleError::Failed { msg, result: taken.result });
        }
        Ok(Query {
            changed: taken.changed,
            result: taken.result,
            diff: if cx.diff { taken.diff } else { None },
            facts: taken.facts,
            ..Query::ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runner_takes_the_configured_python_or_the_first_found() {
        let s = runner_script("");
        assert!(
            s.contains("for __t_c in /usr/bin/python3 python3.13") && s.contains("exec \"$__t_p\"  -c 'import"),
            "{s}"
        );
        let s = runner_script("/opt/py/bin/python3 -E");
        assert!(s.contains("__t_p=/opt/py/bin/python3\n") && s.contains("exec \"$__t_p\" -E -c 'import"), "{s}");
        // Run it: the script on stdin runs as __main__; a missing interpreter says so with its
        // own marker and rc 127.
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", &runner_script("/usr/bin/python3")])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        use std::io::Write;
        let script = b"if __name__ == '__main__':\n    print('ran as main')\n";
        child.stdin.take().expect("stdin").write_all(script).expect("write");
        assert_eq!(child.wait_with_output().expect("wait").stdout, b"ran as main\n");
        let out = std::process::Command::new("/bin/sh").args(["-c", &runner_script("/nonexistent/python")]).output();
        let out = out.expect("sh");
        assert_eq!(out.status.code(), Some(127));
        assert!(String::from_utf8_lossy(&out.stderr).contains(NO_PYTHON));
    }

    #[test]
    fn a_collection_is_named_for_its_install_hint() {
        assert_eq!(collection_of("community.general.ini_file").as_deref(), Some("community.general"));
        assert_eq!(collection_of("debconf"), None);
    }
}
