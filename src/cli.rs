//! Flags (as `ansible-playbook` has them) → one validated [`Settings`] value.

use std::path::{Path, PathBuf};

use clap::{ArgAction, Parser};

use crate::error::{exit, Diagnose, Diagnostic};
use crate::facts::cache::{Backend, CacheError};
use crate::value::{Map, Value};

#[derive(Debug, Parser)]
#[command(
    name = "troupe",
    version,
    about = "Run Ansible-style playbooks, fast and safely",
    after_help = "A playbook starting with `#!/usr/bin/env troupe` runs directly: ./site.yml -l host1 -e x=1"
)]
pub struct Args {
    /// Playbook(s) to run.
    #[arg(value_name = "PLAYBOOK", required = true)]
    pub playbooks: Vec<PathBuf>,
    /// Inventory path or comma-separated host list (`h1,h2,`); repeatable.
    #[arg(short = 'i', long = "inventory", env = "TROUPE_INVENTORY", value_delimiter = None)]
    pub inventory: Vec<String>,
    /// Limit hosts with a pattern (`a:b`, `a:!b`, `a:&b`, `web*`, `~re`, `g[0]`).
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Extra variables: `k=v`, JSON/YAML, or `@file`; repeatable; always win.
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Only run tasks with these tags (comma list; repeatable).
    #[arg(short = 't', long = "tags")]
    pub tags: Vec<String>,
    /// Skip tasks with these tags.
    #[arg(long = "skip-tags")]
    pub skip_tags: Vec<String>,
    /// Don't change anything; say what would change.
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Show file differences.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// Hosts worked on in parallel (default 5).
    #[arg(short = 'f', long = "forks", env = "TROUPE_FORKS")]
    pub forks: Option<usize>,
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,
    #[arg(long = "list-tags")]
    pub list_tags: bool,
    /// Load and plan only; no connection.
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,
    /// Start at the first task with this name.
    #[arg(long = "start-at-task")]
    pub start_at_task: Option<String>,
    /// More output (-v results, -vv, -vvv connection details).
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
    /// Connect as this user.
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// SSH private key file.
    #[arg(long = "private-key", alias = "key-file")]
    pub private_key: Option<PathBuf>,
    /// Run operations with become (sudo).
    #[arg(short = 'b', long = "become")]
    pub escalate: bool,
    #[arg(long = "become-user")]
    pub become_user: Option<String>,
    #[arg(long = "become-method")]
    pub become_method: Option<String>,
    /// Ask for the become (sudo) password.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
    /// Connection type to use (`ssh`, `local`).
    #[arg(short = 'c', long = "connection")]
    pub connection: Option<String>,
    /// Clear the fact cache of every host in the inventory before running.
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,
    /// Run notified handlers even on hosts that failed (a play's `force_handlers` wins).
    #[arg(long = "force-handlers")]
    pub force_handlers: bool,
    /// Vault password file, or an executable that prints the password; repeatable.
    #[arg(long = "vault-password-file", alias = "vault-pass-file", value_name = "FILE")]
    pub vault_password_files: Vec<String>,
    /// A vault identity `[label@]SOURCE` (a file, an executable or `prompt`); repeatable.
    #[arg(long = "vault-id", value_name = "ID")]
    pub vault_ids: Vec<String>,
    /// Ask for the vault password on the terminal.
    #[arg(short = 'J', long = "ask-vault-password", alias = "ask-vault-pass")]
    pub ask_vault_password: bool,
}

/// Validated settings for one run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub playbooks: Vec<PathBuf>,
    pub inventory: Vec<String>,
    pub limit: Option<String>,
    pub extra_vars: Map,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub check: bool,
    pub diff: bool,
    pub forks: usize,
    pub list_hosts: bool,
    pub list_tasks: bool,
    pub list_tags: bool,
    pub syntax_check: bool,
    pub start_at_task: Option<String>,
    pub verbosity: u8,
    pub remote_user: Option<String>,
    pub private_key: Option<PathBuf>,
    pub escalate: bool,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    pub become_password: Option<String>,
    pub connection: Option<String>,
    pub roles_path: Vec<PathBuf>,
    pub host_key_checking: bool,
    /// Ansible's ssh `reconnection_retries` (`ANSIBLE_SSH_RETRIES`, ansible.cfg `retries`).
    pub ssh_retries: Option<u32>,
    /// Where facts are cached (`ANSIBLE_CACHE_PLUGIN*`, ansible.cfg `fact_caching*`).
    pub fact_cache: Backend,
    pub flush_cache: bool,
    /// Facts as top-level variables too (`ANSIBLE_INJECT_FACT_VARS`, `inject_facts_as_vars`).
    pub inject_facts: bool,
    /// `--force-handlers`, `ANSIBLE_FORCE_HANDLERS` or ansible.cfg: the default of plays
    /// that don't set `force_handlers`.
    pub force_handlers: bool,
    /// `ANSIBLE_DEBUG` or ansible.cfg `debug`: print debug lines (troupe has only a few).
    pub debug: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    /// Shown as written: a multi-line YAML value keeps its real newlines in the diagnostic.
    #[error("bad --extra-vars '{arg}': {reason}")]
    ExtraVars { arg: String, reason: String },
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// ansible.cfg that Ansible would refuse too (it stops with "Error reading config file").
    #[error("error reading config file {}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error(transparent)]
    FactCache(#[from] CacheError),
}

impl Diagnose for CliError {
    fn diagnostic(&self) -> Diagnostic {
        let d = Diagnostic::new(self.to_string());
        match self {
            CliError::ExtraVars { .. } => d.hint("use `-e key=value`, `-e '{\"key\": 1}'` or `-e @vars.yml`"),
            CliError::Usage(_) | CliError::Vault(_) => d,
            CliError::Config { .. } => d.hint("fix ansible.cfg (INI: `[section]` headers, then `key = value` lines)"),
            CliError::FactCache(_) => d.hint("troupe caches facts in `memory` (the default) or `jsonfile`"),
        }
    }
    fn exit_code(&self) -> i32 {
        exit::ERROR
    }
}

/// The playbooks to run, checked as ansible-playbook checks them; `ns.coll.site` is a
/// collection's playbook.
fn playbooks(given: Vec<PathBuf>) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    for p in given {
        let p = p.to_str().and_then(crate::playbook::collection_playbook).unwrap_or(p);
        if !p.exists() {
            return Err(CliError::Usage(format!("the playbook: {} could not be found", p.display())));
        }
        if !p.is_file() {
            return Err(CliError::Usage(format!("the playbook: {} does not appear to be a file", p.display())));
        }
        out.push(p);
    }
    Ok(out)
}

/// `[defaults]` keys of ansible.cfg that troupe honours, and `retries` of
/// `[ssh_connection]` (or `[connection]`).
#[derive(Debug, Default)]
struct AnsibleCfg {
    inventory: Option<String>,
    forks: Option<usize>,
    roles_path: Option<String>,
    host_key_checking: Option<bool>,
    remote_user: Option<String>,
    private_key_file: Option<String>,
    ssh_retries: Option<u32>,
    fact_caching: Option<String>,
    fact_caching_connection: Option<String>,
    fact_caching_prefix: Option<String>,
    fact_caching_timeout: Option<u64>,
    inject_facts_as_vars: Option<bool>,
    force_handlers: Option<bool>,
    debug: Option<bool>,
    vault_password_file: Option<String>,
    vault_identity_list: Option<String>,
}

fn read_ansible_cfg() -> Result<AnsibleCfg, CliError> {
    let candidates = [
        std::env::var("ANSIBLE_CONFIG").ok().map(PathBuf::from),
        Some(PathBuf::from("ansible.cfg")),
        std::env::var("HOME").ok().map(|h| Path::new(&h).join(".ansible.cfg")),
        Some(PathBuf::from("/etc/ansible/ansible.cfg")),
    ];
    let Some(path) = candidates.into_iter().flatten().find(|p| p.is_file()) else { return Ok(AnsibleCfg::default()) };
    let config = |reason: String| CliError::Config { path: path.clone(), reason };
    let bytes = std::fs::read(&path).map_err(|e| config(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| config(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    parse_ansible_cfg(text, path.parent().unwrap_or(Path::new(""))).map_err(config)
}

/// Python's configparser rules, which Ansible's loader applies: a key before any `[section]`
/// or a line that is neither a header nor `key = value` / `key: value` is an error.
fn parse_ansible_cfg(text: &str, base: &Path) -> Result<AnsibleCfg, String> {
    let mut cfg = AnsibleCfg::default();
    let mut section: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(s.trim().to_string());
            continue;
        }
        let Some(section) = section.as_deref() else {
            return Err(format!("file contains no section headers (line {}: '{raw}')", n + 1));
        };
        // A continuation line (indented) belongs to the value above; troupe's keys are one-line.
        if raw.starts_with([' ', '\t']) {
            continue;
        }
        let Some((k, v)) = line.split_once(['=', ':']) else {
            return Err(format!("line {} is not `key = value`: '{raw}'", n + 1));
        };
        let v = v.trim().to_string();
        if section == "ssh_connection" || section == "connection" {
            // `[ssh_connection]` wins over `[connection]`, as in Ansible.
            if k.trim() == "retries" && (section == "ssh_connection" || cfg.ssh_retries.is_none()) {
                cfg.ssh_retries = Some(number(&v, "retries", n)?);
            }
            continue;
        }
        if section != "defaults" {
            continue;
        }
        let rel = |v: &str| -> String {
            v.split(':')
                .map(|p| {
                    let p = Path::new(p);
                    if p.is_relative() && !p.starts_with("~") {
                        base.join(p).display().to_string()
                    } else {
                        p.display().to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(":")
        };
        match k.trim() {
            "inventory" | "hostfile" => cfg.inventory = Some(rel(&v)),
            "forks" => cfg.forks = Some(number(&v, "forks", n)?),
            "roles_path" => cfg.roles_path = Some(rel(&v)),
            "host_key_checking" => cfg.host_key_checking = crate::value::to_bool(&Value::String(v)),
            "remote_user" => cfg.remote_user = Some(v),
            "private_key_file" => cfg.private_key_file = Some(v),
            "fact_caching" => cfg.fact_caching = Some(v),
            "inject_facts_as_vars" => cfg.inject_facts_as_vars = crate::value::to_bool(&Value::String(v)),
            "fact_caching_connection" => cfg.fact_caching_connection = Some(rel(&v)),
            "fact_caching_prefix" => cfg.fact_caching_prefix = Some(v),
            "fact_caching_timeout" => cfg.fact_caching_timeout = Some(number(&v, "fact_caching_timeout", n)?),
            "force_handlers" => cfg.force_handlers = crate::value::to_bool(&Value::String(v)),
            "debug" => cfg.debug = crate::value::to_bool(&Value::String(v)),
            "vault_password_file" => cfg.vault_password_file = Some(rel(&v)),
            "vault_identity_list" => cfg.vault_identity_list = Some(v),
            _ => {}
        }
    }
    Ok(cfg)
}

fn number<T: std::str::FromStr>(v: &str, key: &str, line: usize) -> Result<T, String> {
    v.parse().map_err(|_| format!("`{key}` must be a whole number, not '{v}' (line {})", line + 1))
}

impl Settings {
    pub fn from_args(args: Args) -> Result<Settings, CliError> {
        let cfg = read_ansible_cfg()?;
        // Before `-e @file`, which may be vault-encrypted.
        crate::vault::install(crate::vault::load_secrets(&vault_sources(&args, &cfg))?);
        let mut extra_vars = Map::new();
        for raw in &args.extra_vars {
            for (k, v) in parse_extra_vars(raw)? {
                extra_vars.insert(k, v);
            }
        }
        let forks = args.forks.or(cfg.forks).unwrap_or(5);
        if forks == 0 {
            return Err(CliError::Usage("--forks must be at least 1".into()));
        }
        let split = |v: &[String]| -> Vec<String> {
            v.iter().flat_map(|s| s.split(',')).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
        };
        let mut inventory = args.inventory.clone();
        if inventory.is_empty() {
            if let Ok(env) = std::env::var("ANSIBLE_INVENTORY") {
                inventory.push(env);
            } else if let Some(inv) = cfg.inventory {
                inventory.push(inv);
            }
        }
        let mut roles_path: Vec<PathBuf> = Vec::new();
        for source in [std::env::var("ANSIBLE_ROLES_PATH").ok(), cfg.roles_path].into_iter().flatten() {
            roles_path.extend(source.split(':').filter(|s| !s.is_empty()).map(expand_home));
        }
        let host_key_checking = std::env::var("ANSIBLE_HOST_KEY_CHECKING")
            .ok()
            .and_then(|v| crate::value::to_bool(&Value::String(v)))
            .or(cfg.host_key_checking)
            .unwrap_or(true);
        let ssh_retries =
            std::env::var("ANSIBLE_SSH_RETRIES").ok().and_then(|v| v.trim().parse().ok()).or(cfg.ssh_retries);
        let env = |k: &str| std::env::var(k).ok();
        let timeout = match env("ANSIBLE_CACHE_PLUGIN_TIMEOUT") {
            Some(t) => Some(t.trim().parse().map_err(|_| {
                CliError::Usage(format!("ANSIBLE_CACHE_PLUGIN_TIMEOUT must be a whole number, not '{t}'"))
            })?),
            None => cfg.fact_caching_timeout,
        };
        let fact_cache = Backend::choose(
            env("ANSIBLE_CACHE_PLUGIN").or(cfg.fact_caching).as_deref(),
            env("ANSIBLE_CACHE_PLUGIN_CONNECTION").or(cfg.fact_caching_connection).as_deref(),
            env("ANSIBLE_CACHE_PLUGIN_PREFIX").or(cfg.fact_caching_prefix).as_deref(),
            timeout,
        )?;
        let inject_facts = env("ANSIBLE_INJECT_FACT_VARS")
            .and_then(|v| crate::value::to_bool(&Value::String(v)))
            .or(cfg.inject_facts_as_vars)
            .unwrap_or(true);
        let force_handlers = args.force_handlers
            || std::env::var("ANSIBLE_FORCE_HANDLERS")
                .ok()
                .and_then(|v| crate::value::to_bool(&Value::String(v)))
                .or(cfg.force_handlers)
                .unwrap_or(false);
        let debug =
            env("ANSIBLE_DEBUG").and_then(|v| crate::value::to_bool(&Value::String(v))).or(cfg.debug).unwrap_or(false);
        let become_password = if args.ask_become_pass { Some(ask_password("BECOME password: ")?) } else { None };
        Ok(Settings {
            playbooks: playbooks(args.playbooks)?,
            inventory,
            limit: args.limit,
            extra_vars,
            tags: split(&args.tags),
            skip_tags: split(&args.skip_tags),
            check: args.check,
            diff: args.diff,
            forks,
            list_hosts: args.list_hosts,
            list_tasks: args.list_tasks,
            list_tags: args.list_tags,
            syntax_check: args.syntax_check,
            start_at_task: args.start_at_task,
            verbosity: args.verbose,
            remote_user: args.user.or(cfg.remote_user),
            private_key: args.private_key.or(cfg.private_key_file.map(|p| expand_home(&p))),
            escalate: args.escalate,
            become_user: args.become_user,
            become_method: args.become_method,
            become_password,
            connection: args.connection,
            roles_path,
            host_key_checking,
            ssh_retries,
            fact_cache,
            flush_cache: args.flush_cache,
            inject_facts,
            force_handlers,
            debug,
        })
    }
}

/// The vault secrets to read, in Ansible's order: the identity list, `--vault-id`s, password
/// files (flags, then the configured one), then the prompt of `--ask-vault-password`.
fn vault_sources(args: &Args, cfg: &AnsibleCfg) -> Vec<crate::vault::SecretSource> {
    use crate::vault::SecretSource;
    let identity_list = std::env::var("ANSIBLE_VAULT_IDENTITY_LIST").ok().or(cfg.vault_identity_list.clone());
    let mut sources: Vec<SecretSource> = identity_list
        .iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .chain(args.vault_ids.iter().map(String::as_str))
        .map(SecretSource::parse)
        .collect();
    let configured = std::env::var("ANSIBLE_VAULT_PASSWORD_FILE").ok().or(cfg.vault_password_file.clone());
    for file in args.vault_password_files.iter().chain(configured.iter().filter(|f| !f.is_empty())) {
        sources.push(SecretSource::default_label(&expand_home(file).display().to_string()));
    }
    if args.ask_vault_password {
        sources.push(SecretSource::default_label("prompt"));
    }
    sources
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}

fn ask_password(prompt: &str) -> Result<String, CliError> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage(
            "--ask-become-pass needs a terminal; set ansible_become_password in a vars file instead".into(),
        ));
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    // Turn echo off while the password is typed.
    let _ = std::process::Command::new("stty").arg("-echo").status();
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    let _ = std::process::Command::new("stty").arg("echo").status();
    eprintln!();
    read.map_err(|e| CliError::Usage(format!("cannot read password: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// One `-e` argument: `@file`, a JSON/YAML mapping, or `k=v` pairs (values are strings).
pub fn parse_extra_vars(raw: &str) -> Result<Map, CliError> {
    let err = |reason: String| CliError::ExtraVars { arg: raw.to_string(), reason };
    if let Some(file) = raw.strip_prefix('@') {
        let node = crate::yaml::load_file(Path::new(file)).map_err(|e| err(format!("{} ({})", e.message, e.span)))?;
        return node.vars().ok_or_else(|| err(format!("{file} must hold a mapping of variables")));
    }
    let trimmed = raw.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let node = crate::yaml::parse_str(raw, Path::new("<extra vars>")).map_err(|e| err(e.message))?;
        return match node.to_value() {
            Value::Object(m) => Ok(m),
            _ => Err(err("must be a mapping of variables".into())),
        };
    }
    let words = shlex::split(raw).ok_or_else(|| err("unbalanced quotes".into()))?;
    let mut out = Map::new();
    for word in words {
        let (k, v) = word.split_once('=').ok_or_else(|| err(format!("'{word}' is not key=value")))?;
        if k.is_empty() {
            return Err(err("empty variable name".into()));
        }
        out.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_vars_forms() {
        let m = parse_extra_vars("a=1 b='x y'").unwrap();
        assert_eq!(m["a"], Value::from("1"));
        assert_eq!(m["b"], Value::from("x y"));
        let m = parse_extra_vars(r#"{"n": 1, "l": [1]}"#).unwrap();
        assert_eq!(m["n"], Value::from(1));
        assert!(parse_extra_vars("novalue").is_err());
        assert!(parse_extra_vars("@/nonexistent/file.yml").is_err());
    }

    #[test]
    fn ansible_cfg_ssh_retries() {
        let base = Path::new("/etc/ansible");
        let cfg = parse_ansible_cfg("[defaults]\nforks = 20\n[ssh_connection]\nretries = 3\n", base).unwrap();
        assert_eq!((cfg.forks, cfg.ssh_retries), (Some(20), Some(3)));
        // `[ssh_connection]` wins over `[connection]` in either order; `[defaults]` has none.
        let cfg = parse_ansible_cfg("[ssh_connection]\nretries=2\n[connection]\nretries=9\n", base).unwrap();
        assert_eq!(cfg.ssh_retries, Some(2));
        let cfg = parse_ansible_cfg("[connection]\nretries=9\n[defaults]\nretries=4\n", base).unwrap();
        assert_eq!(cfg.ssh_retries, Some(9));
        assert_eq!(parse_ansible_cfg("[defaults]\nretries=4\n", base).unwrap().ssh_retries, None);
    }

    #[test]
    fn corrupt_ansible_cfg_is_an_error_as_in_ansible() {
        let base = Path::new("/p");
        let err = |t: &str| parse_ansible_cfg(t, base).unwrap_err();
        assert!(err("[defaults\nforks=\n").contains("no section headers (line 1"));
        assert!(err("garbage line\n[defaults]\n").contains("no section headers"));
        assert!(err("[defaults]\njust words\n").contains("line 2 is not `key = value`"));
        assert!(err("[defaults]\nforks = many\n").contains("`forks` must be a whole number"));
        let ok = parse_ansible_cfg("# c\n[defaults]\nforks: 7\nlong = a\n  continued\n[other]\nx=1\n", base).unwrap();
        assert_eq!(ok.forks, Some(7));
    }
}
