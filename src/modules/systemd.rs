//! `systemd` (also `service`, `systemd_service`): unit state, enablement and masking.
//!
//! One query script reads `systemctl show` and `is-enabled`; one apply script runs the
//! actions. Like Ansible, `daemon_reload`/`daemon_reexec` run before the query (outside check
//! mode) and don't count as a change, so the query sees freshly loaded unit files.

use crate::modules::Change;
use std::collections::HashMap;

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{failed_with, key_values, section, sections};
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

pub struct Systemd {
    pub name: &'static str,
}

pub const SYSTEMD: Systemd = Systemd { name: "systemd" };
pub const SYSTEMD_SERVICE: Systemd = Systemd { name: "systemd_service" };
pub const SERVICE: Systemd = Systemd { name: "service" };

const ALIASES: &[(&str, &str)] =
    &[("service", "name"), ("unit", "name"), ("daemon-reload", "daemon_reload"), ("daemon-reexec", "daemon_reexec")];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec { options: &[OPTS], aliases: ALIASES, ..ArgSpec::NONE };

/// `service`'s: systemd's, and the options of other init systems that Ansible's service action
/// drops with a warning when the host runs systemd (`UNUSED_PARAMS`).
const SERVICE_SPEC: ArgSpec = ArgSpec { options: &[OPTS, SERVICE_ONLY], aliases: ALIASES, ..ArgSpec::NONE };

const UNUSED: [&str; 5] = ["pattern", "runlevel", "sleep", "arguments", "args"];
const SERVICE_ONLY: &[Opt] = &[
    Opt::str("use", "the service manager: `auto` or `systemd` (troupe drives systemd)").default("auto"),
    Opt::str("pattern", "ignored with a warning on systemd, as Ansible does"),
    Opt::str("runlevel", "ignored with a warning on systemd, as Ansible does"),
    Opt::int("sleep", "ignored with a warning on systemd, as Ansible does"),
    Opt::str("arguments", "ignored with a warning on systemd, as Ansible does"),
    Opt::raw("args", "ignored with a warning on systemd, as Ansible does"),
];

const OPTS: &[Opt] =
    &[
        Opt::str("name", "the unit (`.service` may be left out)"),
        Opt::str("state", "`started`/`stopped` change only what differs; `restarted`/`reloaded` always act")
            .choices(&["reloaded", "restarted", "started", "stopped"]),
        Opt::bool("enabled", "start at boot"),
        Opt::bool("masked", "masked (cannot be started)"),
        Opt::bool("daemon_reload", "run `daemon-reload` first").default("false"),
        Opt::bool("daemon_reexec", "run `daemon-reexec` first").default("false"),
        Opt::str("scope", "which manager: the system's, the user's, or every user's")
            .choices(&["system", "user", "global"])
            .default("system"),
        Opt::bool("no_block", "do not wait for the job to finish").default("false"),
        Opt::bool("force", "override existing symlinks").default("false"),
    ];

/// `service`'s arguments as systemd's: `use` checked, the other init systems' options
/// dropped; with `warn`, one warning per dropped option, as Ansible's service action prints.
fn as_systemd(raw: &Map, warn: bool) -> Result<Map, ModuleError> {
    let mut m = raw.clone();
    if let Some(v) = m.remove("use") {
        let used = crate::value::to_text(&v);
        if !matches!(used.as_str(), "auto" | "systemd") {
            return Err(ModuleError::Args(format!(
                "service: `use: {used}` is not supported; troupe drives services through systemd (`auto` or `systemd`)"
            )));
        }
    }
    for k in UNUSED {
        if m.remove(k).is_some() && warn {
            super::args::warn(format!("Ignoring \"{k}\" as it is not used in \"systemd\""));
        }
    }
    Ok(m)
}

/// Properties read from `systemctl show` and returned as `status`.
const PROPS: &str = "Id,Names,Description,LoadState,LoadError,ActiveState,SubState,UnitFileState,UnitFilePreset,MainPID,ExecMainStatus,FragmentPath,NeedDaemonReload,Result,ActiveEnterTimestamp";

#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub name: Option<String>,
    pub state: Option<String>,
    pub enabled: Option<bool>,
    pub masked: Option<bool>,
    pub daemon_reload: bool,
    pub daemon_reexec: bool,
    /// `systemctl` plus scope/--no-block/--force flags.
    pub systemctl: String,
}

impl Want {
    pub fn parse(module: &'static str, raw: &Map) -> Result<Want, ModuleError> {
        let cleaned;
        let raw = if module == "service" {
            cleaned = as_systemd(raw, false)?;
            &cleaned
        } else {
            raw
        };
        let a = Args::parse(module, raw, &SPEC)?;
        let name = a.str("name")?;
        if let Some(n) = &name {
            if n.contains(['*', '?', '[']) {
                return Err(a.error(format_args!(
                    "This module does not currently support using glob patterns, found in service name: {n}"
                )));
            }
        }
        let state = a.choice("state", &["reloaded", "restarted", "started", "stopped"])?.map(String::from);
        let enabled = a.opt_bool("enabled")?;
        let masked = a.opt_bool("masked")?;
        let daemon_reload = a.bool("daemon_reload", false)?;
        let daemon_reexec = a.bool("daemon_reexec", false)?;
        if name.is_none() && (state.is_some() || enabled.is_some() || masked.is_some()) {
            return Err(a.error("'name' is required with state, enabled or masked"));
        }
        if name.is_none() && !daemon_reload && !daemon_reexec {
            return Err(a.error("one of the following is required: name, daemon_reload, daemon_reexec"));
        }
        let scope = a.choice("scope", &["system", "user", "global"])?.unwrap_or("system");
        let mut systemctl = String::from("systemctl");
        if scope != "system" {
            systemctl.push_str(&format!(" --{scope}"));
        }
        if a.bool("no_block", false)? {
            systemctl.push_str(" --no-block");
        }
        if a.bool("force", false)? {
            systemctl.push_str(" --force");
        }
        Ok(Want { name, state, enabled, masked, daemon_reload, daemon_reexec, systemctl })
    }

    /// The one query script. Reloads run first unless in check mode.
    pub fn query_script(&self, check_mode: bool) -> String {
        let sc = &self.systemctl;
        let mut s = String::new();
        if self.daemon_reload && !check_mode {
            s.push_str(&format!("{sc} daemon-reload || {{ echo 'failure during daemon-reload' >&2; exit 3; }}\n"));
        }
        if self.daemon_reexec && !check_mode {
            s.push_str(&format!("{sc} daemon-reexec || {{ echo 'failure during daemon-reexec' >&2; exit 3; }}\n"));
        }
        if let Some(name) = &self.name {
            let n = quote(name);
            s.push_str(&format!("{}\n{sc} show {n} -p {PROPS} || exit 4\n", section("show")));
            s.push_str(&format!(
                "{}\nout=$({sc} is-enabled {n} 2>/dev/null); echo \"rc=$?\"; echo \"out=$out\"\n",
                section("enabled")
            ));
            // Only `enabled` reads `-l` (one process less for every other task).
            if self.enabled.is_some() {
                s.push_str(&format!(
                    "out=$({sc} is-enabled {n} -l 2>/dev/null); echo \"rcl=$?\"; printf 'outl=%s\\n' \"$out\" | sed ':a;N;$!ba;s/\\n/\\\\n/g'\n"
                ));
            }
            s.push_str(&format!("{}\n[ -x /etc/init.d/{} ] && echo initd=1\n", section("initd"), quote(name)));
            s.push_str("[ \"${SYSTEMD_OFFLINE:-}\" = 1 ] && echo offline=1\n");
        }
        s
    }
}

/// What the host reported.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub status: HashMap<String, String>,
    pub enabled_rc: i32,
    pub enabled_out: String,
    /// `is-enabled -l` (with the install targets), as Ansible asks before enabling: its rc and
    /// its output with newlines written `\n`.
    pub enabled_full: Option<(i32, String)>,
    pub initd: bool,
    /// `SYSTEMD_OFFLINE=1`: systemctl ignores `show`, so the unit's state is unknown.
    pub offline: bool,
}

pub fn parse_facts(stdout: &str) -> Facts {
    let sec = sections(stdout);
    let get = |k: &str| sec.get(k).map(String::as_str).unwrap_or("");
    let en = key_values(get("enabled"));
    Facts {
        status: key_values(get("show")),
        enabled_rc: en.get("rc").and_then(|r| r.trim().parse().ok()).unwrap_or(1),
        enabled_out: en.get("out").map(|s| s.trim().to_string()).unwrap_or_default(),
        enabled_full: en.get("rcl").and_then(|r| r.trim().parse().ok()).map(|rc| {
            let out = en.get("outl").map(|s| s.trim_end().to_string()).unwrap_or_default();
            (rc, out.trim_end_matches("\\n").to_string())
        }),
        initd: get("initd").contains("initd=1"),
        offline: get("initd").contains("offline=1"),
    }
}

/// The decision: the actions to run (in order) and the result Ansible would report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    pub actions: Vec<String>,
    pub result: Map,
}

/// `systemctl is-enabled` answers naming an installed unit (systemctl(1) of systemd 244).
const VALID_ENABLED: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "masked",
    "masked-runtime",
    "static",
    "indirect",
    "disabled",
    "generated",
    "transient",
];

const OFFLINE_WARNING: &str =
    "Target is a chroot or systemd is offline. This can lead to false positives or prevent the init system tools from working.";

pub fn decide(want: &Want, facts: &Facts) -> Result<Decision, ModuleError> {
    let mut d = Decision::default();
    let Some(name) = &want.name else {
        return Ok(d);
    };
    d.result.insert("name".into(), name.clone().into());
    let load = facts.status.get("LoadState").map(String::as_str).unwrap_or("");
    // Offline, `show` answers nothing and `is-enabled` tells whether the unit exists (Ansible).
    let is_systemd = match load {
        "" => VALID_ENABLED.contains(&facts.enabled_out.as_str()),
        load => load != "not-found",
    };
    let found = is_systemd || facts.initd;
    if is_systemd && load != "masked" {
        if let Some(err) = facts.status.get("LoadError").filter(|e| !e.trim().is_empty()) {
            return Err(ModuleError::failed(format!("Error loading unit file '{name}': {err}")));
        }
    }
    let missing = || ModuleError::failed(format!("Could not find the requested service {name}: host"));

    if let Some(want_masked) = want.masked {
        let masked = facts.enabled_out == "masked";
        if masked != want_masked {
            d.actions.push(if want_masked { "mask" } else { "unmask" }.into());
        }
    }
    if let Some(want_enabled) = want.enabled {
        if !found {
            return Err(missing());
        }
        // With `-l`, an enabled `indirect` unit also lists its install targets: then it counts
        // as enabled (what Ansible's `out.rstrip()` comparison amounts to).
        let (rc, out) = facts.enabled_full.clone().unwrap_or((facts.enabled_rc, facts.enabled_out.clone()));
        let enabled = rc == 0 && !matches!(out.as_str(), "enabled-runtime" | "indirect" | "alias");
        if enabled != want_enabled {
            d.actions.push(if want_enabled { "enable" } else { "disable" }.into());
        }
        d.result.insert("enabled".into(), want_enabled.into());
    }
    if let Some(state) = &want.state {
        if !found {
            return Err(missing());
        }
        let Some(active) = facts.status.get("ActiveState").map(String::as_str) else {
            if !facts.offline {
                return Err(ModuleError::failed("Service is in unknown state"));
            }
            d.result.insert("state".into(), state.as_str().into());
            d.result.insert("warnings".into(), Value::Array(vec![Value::from(OFFLINE_WARNING)]));
            return Ok(d);
        };
        let running = matches!(active, "active" | "activating");
        let action = match state.as_str() {
            "started" => (!running).then_some("start"),
            "stopped" => (running || active == "deactivating").then_some("stop"),
            "restarted" => Some(if running { "restart" } else { "start" }),
            _ => Some(if running { "reload" } else { "start" }),
        };
        if let Some(a) = action {
            d.actions.push(a.into());
        }
        let reported = if state == "stopped" { "stopped" } else { "started" };
        d.result.insert("state".into(), reported.into());
    }
    let status: Map = facts.status.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let mut sorted: Vec<_> = status.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    d.result.insert("status".into(), Value::Object(sorted.into_iter().collect()));
    Ok(d)
}

/// One script running every action; on failure it prints the failing action first.
pub fn apply_script(want: &Want, actions: &[String]) -> String {
    let Some(name) = &want.name else {
        return String::new();
    };
    let n = quote(name);
    let sc = &want.systemctl;
    actions.iter().map(|a| format!("out=$({sc} {a} {n} 2>&1) || {{ echo {a}; echo \"$out\"; exit 1; }}\n")).collect()
}

#[async_trait]
impl Module for Systemd {
    fn name(&self) -> &'static str {
        self.name
    }

    fn backend(&self) -> Option<&'static str> {
        (self.name == "service").then_some("systemd")
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(if self.name == "service" { &SERVICE_SPEC } else { &SPEC })
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        if self.name == "service" {
            as_systemd(args, true)?;
        }
        let want = Want::parse(self.name, args)?;
        let out = cx.run(Cmd::new(want.query_script(cx.check_mode))).await?;
        if out.rc == 3 {
            return Err(failed_with(out.stderr_text().trim().to_string(), &out));
        }
        if out.rc == 4 {
            let msg = format!("systemctl show failed: {}", out.stderr_text().trim());
            return Err(failed_with(msg, &out));
        }
        let facts = parse_facts(&out.stdout_text());
        let d = decide(&want, &facts)?;
        let mut q = Query { changed: !d.actions.is_empty(), result: d.result, ..Query::default() };
        q.change = Change::new(d.actions);
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let want = Want::parse(self.name, args)?;
        let actions: Vec<String> = q.change.take(self.name)?;
        let out = cx.run(Cmd::new(apply_script(&want, &actions))).await?;
        if out.rc != 0 {
            let text = out.stdout_text();
            let mut lines = text.lines();
            let action = lines.next().unwrap_or("change");
            let detail: Vec<&str> = lines.collect();
            let name = want.name.as_deref().unwrap_or("");
            return Err(failed_with(format!("Unable to {action} service {name}: {}", detail.join("\n").trim()), &out));
        }
        Ok(q.result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn want(v: Value) -> Want {
        Want::parse("systemd", v.as_object().unwrap()).unwrap()
    }

    const SHOW_RUNNING: &str = "junk\n@@troupe:show@@\nId=etcd.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=42\n@@troupe:enabled@@\nrc=0\nout=enabled\n@@troupe:initd@@\n";
    const SHOW_STOPPED: &str = "@@troupe:show@@\nId=etcd.service\nLoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n@@troupe:enabled@@\nrc=1\nout=disabled\n@@troupe:initd@@\n";
    const SHOW_MISSING: &str = "@@troupe:show@@\nId=nope.service\nLoadState=not-found\nActiveState=inactive\n@@troupe:enabled@@\nrc=1\nout=\n@@troupe:initd@@\n";

    #[test]
    fn parses_show_output() {
        let f = parse_facts(SHOW_RUNNING);
        assert_eq!(f.status.get("MainPID").map(String::as_str), Some("42"));
        assert_eq!(f.enabled_rc, 0);
        assert_eq!(f.enabled_out, "enabled");
        assert!(!f.initd);
    }

    #[test]
    fn started_and_enabled_is_idempotent() {
        let w = want(json!({"name": "etcd", "state": "started", "enabled": true}));
        let d = decide(&w, &parse_facts(SHOW_RUNNING)).unwrap();
        assert!(d.actions.is_empty());
        assert_eq!(d.result["state"], "started");
        assert_eq!(d.result["enabled"], true);
        assert_eq!(d.result["status"]["ActiveState"], "active");
    }

    #[test]
    fn stopped_unit_gets_enable_then_start() {
        let w = want(json!({"name": "etcd", "state": "started", "enabled": "yes"}));
        let d = decide(&w, &parse_facts(SHOW_STOPPED)).unwrap();
        assert_eq!(d.actions, vec!["enable", "start"]);
        let s = apply_script(&w, &d.actions);
        assert!(s.contains("systemctl enable etcd 2>&1"));
        assert!(s.find("enable").unwrap() < s.find("start").unwrap());
    }

    #[test]
    fn restarted_always_changes_and_reload_starts_a_stopped_unit() {
        let w = want(json!({"name": "etcd", "state": "restarted"}));
        assert_eq!(decide(&w, &parse_facts(SHOW_RUNNING)).unwrap().actions, vec!["restart"]);
        let w = want(json!({"name": "etcd", "state": "reloaded"}));
        assert_eq!(decide(&w, &parse_facts(SHOW_STOPPED)).unwrap().actions, vec!["start"]);
        let w = want(json!({"name": "etcd", "state": "stopped", "enabled": false}));
        assert_eq!(decide(&w, &parse_facts(SHOW_RUNNING)).unwrap().actions, vec!["disable", "stop"]);
    }

    #[test]
    fn masking_and_missing_units() {
        let w = want(json!({"name": "nope", "masked": true}));
        assert_eq!(decide(&w, &parse_facts(SHOW_MISSING)).unwrap().actions, vec!["mask"]);
        let w = want(json!({"name": "nope", "state": "started"}));
        let err = decide(&w, &parse_facts(SHOW_MISSING)).unwrap_err().to_string();
        assert!(err.contains("Could not find the requested service nope"));
        // SYSTEMD_OFFLINE: `show` is ignored; `is-enabled` finds the unit, nothing is done.
        let offline = "@@troupe:show@@\n@@troupe:enabled@@\nrc=0\nout=static\n@@troupe:initd@@\noffline=1\n";
        let d = decide(&w, &parse_facts(offline)).unwrap();
        assert!(d.actions.is_empty());
        assert_eq!(
            (d.result["state"].clone(), d.result["warnings"][0].clone()),
            (json!("started"), json!(OFFLINE_WARNING))
        );
    }

    #[test]
    fn query_script_and_flags() {
        let w = want(json!({"name": "my unit", "daemon_reload": true, "scope": "user", "no_block": true}));
        let s = w.query_script(false);
        assert!(s.starts_with("systemctl --user --no-block daemon-reload"));
        assert!(s.contains("show 'my unit' -p Id,"));
        assert!(!w.query_script(true).contains("daemon-reload"));
    }

    #[test]
    fn bad_args_are_named() {
        let e = Want::parse("service", json!({"name": "x", "state": "running"}).as_object().unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "value of state must be one of: reloaded, restarted, started, stopped, got: running");
        assert!(Want::parse("service", json!({"name": "x*"}).as_object().unwrap()).is_err());
        assert!(Want::parse("service", json!({"state": "started"}).as_object().unwrap()).is_err());
    }
}
