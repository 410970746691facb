//! Lookups that read the controller: `fileglob`, `config` and `template`, as ansible-core
//! 2.19's plugins compute them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};

use super::super::filters::convert::{fail, from_data, to_data};
use super::{find_file, search_dirs, term_text};

/// `fileglob`: the files (not folders) matching each term, found as `with_fileglob` finds
/// them (`exec::fileglob`). Python returns directory order; troupe sorts.
pub fn fileglob(state: &State, label: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let terms: Vec<crate::value::Value> = terms.iter().map(|t| to_data(label, t)).collect::<Result<_, _>>()?;
    let found = crate::exec::fileglob::expand(&terms, &search_dirs(state));
    Ok(found.iter().map(from_data).collect())
}

/// How a setting is typed, for its environment or ansible.cfg text.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    /// A `:`-separated list of paths, `~` expanded.
    Paths,
    /// A `,`-separated list.
    List,
}

/// (name, environment variable, ansible.cfg `[section] key`, kind, default).
type Setting = (&'static str, &'static str, (&'static str, &'static str), Kind, &'static str);

const SETTINGS: &[Setting] = &[
    (
        "DEFAULT_ROLES_PATH",
        "ANSIBLE_ROLES_PATH",
        ("defaults", "roles_path"),
        Kind::Paths,
        "~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles",
    ),
    (
        "COLLECTIONS_PATHS",
        "ANSIBLE_COLLECTIONS_PATH",
        ("defaults", "collections_path"),
        Kind::Paths,
        "~/.ansible/collections:/usr/share/ansible/collections",
    ),
    (
        "DEFAULT_ACTION_PLUGIN_PATH",
        "ANSIBLE_ACTION_PLUGINS",
        ("defaults", "action_plugins"),
        Kind::Paths,
        "~/.ansible/plugins/action:/usr/share/ansible/plugins/action",
    ),
    ("DEFAULT_HOST_LIST", "ANSIBLE_INVENTORY", ("defaults", "inventory"), Kind::Paths, "/etc/ansible/hosts"),
    ("DEFAULT_BECOME", "ANSIBLE_BECOME", ("privilege_escalation", "become"), Kind::Bool, "false"),
    ("DEFAULT_BECOME_METHOD", "ANSIBLE_BECOME_METHOD", ("privilege_escalation", "become_method"), Kind::Str, "sudo"),
    ("DEFAULT_BECOME_USER", "ANSIBLE_BECOME_USER", ("privilege_escalation", "become_user"), Kind::Str, "root"),
    ("DEFAULT_REMOTE_USER", "ANSIBLE_REMOTE_USER", ("defaults", "remote_user"), Kind::Str, ""),
    ("DEFAULT_REMOTE_PORT", "ANSIBLE_REMOTE_PORT", ("defaults", "remote_port"), Kind::Int, ""),
    ("DEFAULT_FORKS", "ANSIBLE_FORKS", ("defaults", "forks"), Kind::Int, "5"),
    ("DEFAULT_TIMEOUT", "ANSIBLE_TIMEOUT", ("defaults", "timeout"), Kind::Int, "10"),
    ("DEFAULT_POLL_INTERVAL", "ANSIBLE_POLL_INTERVAL", ("defaults", "poll_interval"), Kind::Int, "15"),
    ("DEFAULT_TRANSPORT", "ANSIBLE_TRANSPORT", ("defaults", "transport"), Kind::Str, "ssh"),
    ("DEFAULT_GATHERING", "ANSIBLE_GATHERING", ("defaults", "gathering"), Kind::Str, "implicit"),
    (
        "ERROR_ON_MISSING_HANDLER",
        "ANSIBLE_ERROR_ON_MISSING_HANDLER",
        ("defaults", "error_on_missing_handler"),
        Kind::Bool,
        "true",
    ),
    ("DEFAULT_HASH_BEHAVIOUR", "ANSIBLE_HASH_BEHAVIOUR", ("defaults", "hash_behaviour"), Kind::Str, "replace"),
    ("DEFAULT_MODULE_NAME", "ANSIBLE_MODULE_NAME", ("defaults", "module_name"), Kind::Str, "command"),
    ("DEFAULT_MANAGED_STR", "ANSIBLE_MANAGED", ("defaults", "ansible_managed"), Kind::Str, "Ansible managed"),
    ("DEFAULT_EXECUTABLE", "ANSIBLE_EXECUTABLE", ("defaults", "executable"), Kind::Str, "/bin/sh"),
    ("DEFAULT_PRIVATE_KEY_FILE", "ANSIBLE_PRIVATE_KEY_FILE", ("defaults", "private_key_file"), Kind::Str, ""),
    ("DEFAULT_KEEP_REMOTE_FILES", "ANSIBLE_KEEP_REMOTE_FILES", ("defaults", "keep_remote_files"), Kind::Bool, "false"),
    ("DEFAULT_STDOUT_CALLBACK", "ANSIBLE_STDOUT_CALLBACK", ("defaults", "stdout_callback"), Kind::Str, "default"),
    ("HOST_KEY_CHECKING", "ANSIBLE_HOST_KEY_CHECKING", ("defaults", "host_key_checking"), Kind::Bool, "true"),
    ("ANSIBLE_PIPELINING", "ANSIBLE_PIPELINING", ("connection", "pipelining"), Kind::Bool, "false"),
    ("RETRY_FILES_ENABLED", "ANSIBLE_RETRY_FILES_ENABLED", ("defaults", "retry_files_enabled"), Kind::Bool, "false"),
    ("DEFAULT_VAULT_IDENTITY", "ANSIBLE_VAULT_IDENTITY", ("defaults", "vault_identity"), Kind::Str, "default"),
    ("DEFAULT_JINJA2_NATIVE", "ANSIBLE_JINJA2_NATIVE", ("defaults", "jinja2_native"), Kind::Bool, "true"),
    (
        "ALLOW_BROKEN_CONDITIONALS",
        "ANSIBLE_ALLOW_BROKEN_CONDITIONALS",
        ("defaults", "allow_broken_conditionals"),
        Kind::Bool,
        "false",
    ),
    (
        "INVENTORY_ENABLED",
        "ANSIBLE_INVENTORY_ENABLED",
        ("inventory", "enable_plugins"),
        Kind::List,
        "host_list,script,auto,yaml,ini,toml",
    ),
];

/// The names the `config` lookup knows.
pub fn config_names() -> Vec<&'static str> {
    SETTINGS.iter().map(|s| s.0).collect()
}

fn expand_home(p: &str) -> String {
    match (p.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => format!("{home}{rest}"),
        _ => p.to_string(),
    }
}

/// The first ansible.cfg Ansible reads, as `section -> key -> value` (`;`/`#` comments off).
fn ansible_cfg() -> BTreeMap<(String, String), String> {
    let candidates = [
        std::env::var("ANSIBLE_CONFIG").ok().map(PathBuf::from),
        Some(PathBuf::from("ansible.cfg")),
        std::env::var("HOME").ok().map(|h| Path::new(&h).join(".ansible.cfg")),
        Some(PathBuf::from("/etc/ansible/ansible.cfg")),
    ];
    let Some(text) =
        candidates.into_iter().flatten().find(|p| p.is_file()).and_then(|p| std::fs::read_to_string(p).ok())
    else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with(['#', ';']) {
            continue;
        }
        if let Some(s) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.trim().to_string();
        } else if let Some((k, v)) = t.split_once(['=', ':']) {
            out.insert((section.clone(), k.trim().to_string()), v.trim().to_string());
        }
    }
    out
}

fn typed(name: &str, kind: Kind, text: &str) -> Result<Value, Error> {
    Ok(match kind {
        _ if text.is_empty() && !matches!(kind, Kind::Paths | Kind::List) => Value::from(()),
        Kind::Str => Value::from(text),
        Kind::Int => {
            Value::from(text.parse::<i64>().map_err(|_| fail("config", format!("{name}: '{text}' is not an integer")))?)
        }
        Kind::Bool => Value::from(super::super::filters::bool_of(&Value::from(text))),
        Kind::Paths => Value::from(
            text.split(':').filter(|s| !s.is_empty()).map(|p| Value::from(expand_home(p.trim()))).collect::<Vec<_>>(),
        ),
        Kind::List => {
            Value::from(text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Value::from).collect::<Vec<_>>())
        }
    })
}

/// `config`: ansible-core settings by name (environment, then ansible.cfg, then the default),
/// `on_missing=error|skip|warn`.
/// One boolean setting as the `config` lookup reads it (environment, ansible.cfg, default).
pub fn bool_setting(name: &str) -> bool {
    let Some(&(_, env, (section, key), _, default)) = SETTINGS.iter().find(|s| s.0 == name) else { return false };
    let text = std::env::var(env)
        .ok()
        .or_else(|| ansible_cfg().get(&(section.to_string(), key.to_string())).cloned())
        .unwrap_or_else(|| default.to_string());
    super::super::filters::bool_of(&Value::from(text))
}

/// One path-list setting (environment, ansible.cfg, default), `~` expanded.
pub fn paths_setting(name: &str) -> Vec<String> {
    let Some(&(_, env, (section, key), _, default)) = SETTINGS.iter().find(|s| s.0 == name) else { return Vec::new() };
    let text = std::env::var(env)
        .ok()
        .or_else(|| ansible_cfg().get(&(section.to_string(), key.to_string())).cloned())
        .unwrap_or_else(|| default.to_string());
    text.split(':').filter(|s| !s.is_empty()).map(|p| expand_home(p.trim())).collect()
}

/// `ALLOW_BROKEN_CONDITIONALS`: a conditional that gives no boolean counts by its truthiness
/// (Ansible's deprecated pre-2.19 behaviour) instead of failing. Read once per run.
pub fn allow_broken_conditionals() -> bool {
    static ALLOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOW.get_or_init(|| bool_setting("ALLOW_BROKEN_CONDITIONALS"))
}

pub fn config(label: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let on_missing = kwargs.get::<Option<String>>("on_missing")?.unwrap_or_else(|| "error".into());
    let _: Option<Value> = kwargs.get("plugin_type")?;
    let _: Option<Value> = kwargs.get("plugin_name")?;
    if !matches!(on_missing.as_str(), "error" | "skip" | "warn") {
        return Err(fail(
            label,
            format!("\"on_missing\" must be a string and one of \"error\", \"warn\" or \"skip\", not {on_missing}"),
        ));
    }
    let cfg = ansible_cfg();
    let mut out = Vec::new();
    for t in terms {
        let name = term_text(label, t)?;
        let Some(&(_, env, (section, key), kind, default)) = SETTINGS.iter().find(|s| s.0 == name) else {
            match on_missing.as_str() {
                "error" => {
                    return Err(fail(
                        label,
                        format!("Unable to find setting {name} (troupe knows {})", config_names().join(", ")),
                    ))
                }
                _ => continue,
            }
        };
        let text = match std::env::var(env) {
            Ok(v) => v,
            Err(_) => cfg.get(&(section.to_string(), key.to_string())).cloned().unwrap_or_else(|| default.to_string()),
        };
        out.push(typed(&name, kind, &text)?);
    }
    Ok(out)
}

/// `template`: each file (looked up in `templates/`) rendered with the current variables plus
/// `template_vars`; custom delimiters through `variable_start_string` and friends. With
/// `convert_data` (the default) a file that is one `{{ expression }}` keeps its type.
pub fn template(state: &State, label: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    thread_local! {
        static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
    if DEPTH.with(|d| d.replace(d.get() + 1)) >= 20 {
        DEPTH.with(|d| d.set(d.get() - 1));
        return Err(fail(label, "templates nested more than 20 deep (a template that looks itself up?)"));
    }
    let _leave = Leave;
    let convert = kwargs.get::<Option<bool>>("convert_data")?.unwrap_or(true);
    let extra: Option<Value> = kwargs.get("template_vars")?;
    let delims: Vec<Option<String>> = [
        "variable_start_string",
        "variable_end_string",
        "block_start_string",
        "block_end_string",
        "comment_start_string",
        "comment_end_string",
    ]
    .iter()
    .map(|k| kwargs.get::<Option<String>>(k))
    .collect::<Result<_, _>>()?;
    let _: Option<Value> = kwargs.get("jinja2_native")?;
    let trim_blocks = kwargs.get::<Option<bool>>("trim_blocks")?.unwrap_or(true);

    let mut ctx = BTreeMap::new();
    let globals: std::collections::HashSet<&str> = state.env().globals().map(|(n, _)| n).collect();
    for name in state.known_variables() {
        if !globals.contains(name.as_ref()) {
            if let Some(v) = state.lookup(&name) {
                ctx.insert(name.into_owned(), v);
            }
        }
    }
    if let Some(extra) = extra.filter(|v| !v.is_none()) {
        for key in extra.try_iter()? {
            let v = extra.get_item(&key)?;
            ctx.insert(key.to_string(), v);
        }
    }

    let custom = delims.iter().any(Option::is_some) || !trim_blocks;
    let mut owned = None;
    if custom {
        let mut engine = super::super::Engine::new();
        let d = |i: usize, default: &str| delims[i].clone().unwrap_or_else(|| default.to_string());
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .variable_delimiters(d(0, "{{"), d(1, "}}"))
            .block_delimiters(d(2, "{%"), d(3, "%}"))
            .comment_delimiters(d(4, "{#"), d(5, "#}"))
            .build()
            .map_err(|e| fail(label, format!("bad delimiters: {e}")))?;
        engine.env.set_syntax(syntax);
        engine.env.set_trim_blocks(trim_blocks);
        owned = Some(engine);
    }
    let env = owned.as_ref().map_or(state.env(), |e| &e.env);
    let (var_start, var_end) =
        (delims[0].clone().unwrap_or_else(|| "{{".into()), delims[1].clone().unwrap_or_else(|| "}}".into()));

    let mut out = Vec::new();
    for t in terms {
        let term = term_text(label, t)?;
        let Some(found) = find_file(state, &term, Some("templates")) else {
            return Err(fail(label, format!("the template file {term} could not be found for the lookup")));
        };
        let text = super::read_text(label, &found)?;
        let mut vars = ctx.clone();
        let full = std::fs::canonicalize(&found).unwrap_or(found.clone());
        template_vars(&mut vars, &term, &full);
        let single = text
            .trim()
            .strip_prefix(var_start.as_str())
            .and_then(|s| s.strip_suffix(var_end.as_str()))
            .filter(|s| !s.contains(var_start.as_str()) && !s.contains(var_end.as_str()));
        let rendered = match single {
            Some(expr) if convert => env.compile_expression_owned(expr.trim().to_string()).and_then(|e| e.eval(&vars)),
            // As Ansible's templar: the source's trailing newlines are kept.
            // An include, import or extends finds files beside the template, then in each search
            // folder's `templates/` and the folder itself (Ansible's searchpath for the lookup).
            _ if ["include", "import", "extends"].iter().any(|w| text.contains(w)) => {
                let mut env = env.clone();
                let mut dirs: Vec<PathBuf> = found.parent().map(Path::to_path_buf).into_iter().collect();
                for d in search_dirs(state) {
                    dirs.extend([d.join("templates"), d]);
                }
                env.set_loader(move |name| crate::vars::load_template(&dirs, name));
                render_keeping_newlines(&env, &term, &text, &vars)
            }
            _ => render_keeping_newlines(env, &term, &text, &vars),
        };
        out.push(rendered.map_err(|e| fail(label, format!("{}: {e}", found.display())))?);
    }
    Ok(out)
}

/// Render a template's text. As Ansible's templar: the source's trailing newlines are kept;
/// a template that renders nothing at all (only comments) is `None`.
fn render_keeping_newlines(
    env: &minijinja::Environment<'_>,
    name: &str,
    text: &str,
    vars: &BTreeMap<String, Value>,
) -> Result<Value, Error> {
    env.render_named_str(name, text, vars).map(|mut r| {
        if r.is_empty() && !text.trim().is_empty() {
            return Value::from(());
        }
        let count = |t: &str| t.len() - t.trim_end_matches('\n').len();
        let missing = count(text).saturating_sub(count(&r));
        r.push_str(&"\n".repeat(missing));
        Value::from(r)
    })
}

/// The variables Ansible adds for a template (`template_path` is the name as given), and
/// `ansible_managed` from the `ansible_managed` setting unless the play defines it.
fn template_vars(vars: &mut BTreeMap<String, Value>, term: &str, full: &Path) {
    use std::os::unix::fs::MetadataExt;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string();
    let uid = std::fs::metadata(full).map(|m| m.uid()).unwrap_or(0);
    let owner = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| uid.to_string());
    let full_text = full.to_string_lossy().into_owned();
    if !vars.contains_key("ansible_managed") {
        let text = match std::env::var("ANSIBLE_MANAGED") {
            Ok(v) => v,
            Err(_) => ansible_cfg()
                .get(&("defaults".to_string(), "ansible_managed".to_string()))
                .cloned()
                .unwrap_or_else(|| "Ansible managed".into()),
        };
        let managed = text.replace("{host}", &host).replace("{uid}", &owner).replace("{file}", term);
        vars.insert("ansible_managed".into(), Value::from(managed));
    }
    vars.insert("template_host".into(), Value::from(host));
    vars.insert("template_uid".into(), Value::from(owner));
    vars.insert("template_path".into(), Value::from(term));
    vars.insert("template_fullpath".into(), Value::from(full_text));
    vars.insert("template_destpath".into(), Value::from(()));
}
