//! `service_facts`: the host's services as the fact `services` (name → `name`, `state`,
//! `status`, `source`), read the way ansible-core's module reads them on Linux: `service
//! --status-all` (sysv) then systemd's units and unit files, in one command. Reads only.

use async_trait::async_trait;

use super::args::{ArgSpec, Args};
use super::script_out::sections;
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::Cmd;
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec { ..ArgSpec::NONE };

pub struct ServiceFacts;

/// One command: each source in a section; for unit files systemd lists without a unit, their
/// `ActiveState` in the `show` section.
const SCRIPT: &str = "export LANG=C LC_ALL=C\n\
    if command -v service >/dev/null 2>&1 && ! command -v chkconfig >/dev/null 2>&1 && ! command -v rc-status >/dev/null 2>&1; then\n\
    echo '@@troupe:sysv@@'; service --status-all 2>/dev/null; fi\n\
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then\n\
    echo '@@troupe:units@@'; systemctl list-units --no-pager --type service --all --plain\n\
    echo '@@troupe:files@@'; systemctl list-unit-files --no-pager --type service --all\n\
    echo '@@troupe:show@@'; systemctl list-unit-files --no-pager --type service --all --plain --no-legend 2>/dev/null | \
    while read -r u _; do case $u in *.service) printf '%s ' \"$u\"; systemctl show \"$u\" --property=ActiveState;; esac; done\n\
    fi";

const BAD_STATES: [&str; 3] = ["not-found", "masked", "failed"];

fn entry(name: &str, state: &str, status: Option<&str>, source: &str) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), name.into());
    m.insert("state".into(), state.into());
    if let Some(s) = status {
        m.insert("status".into(), s.into());
    }
    m.insert("source".into(), source.into());
    Value::Object(m)
}

/// The `services` fact from the script's sections.
pub fn parse(parts: &std::collections::HashMap<String, String>) -> Map {
    let mut services = Map::new();
    let sysv = regex::Regex::new(r"^\s*\[ (\+|-) \]\s+(.+)$").expect("a valid regex");
    for line in parts.get("sysv").map(String::as_str).unwrap_or("").lines() {
        if let Some(c) = sysv.captures(line) {
            let state = if &c[1] == "+" { "running" } else { "stopped" };
            services.insert(c[2].to_string(), entry(&c[2], state, None, "sysv"));
        }
    }
    let mut systemd = Map::new();
    for line in parts.get("units").map(String::as_str).unwrap_or("").lines().filter(|l| l.contains(".service")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let upto = &f[..f.len() - 1];
        let status = BAD_STATES.iter().find(|b| upto.contains(b)).copied().unwrap_or(f[2]);
        let state = if f[3] == "running" { "running" } else { "stopped" };
        systemd.insert(f[0].to_string(), entry(f[0], state, Some(status), "systemd"));
    }
    let shown: std::collections::HashMap<&str, &str> = parts
        .get("show")
        .map(String::as_str)
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(u, s)| (u, s.trim().trim_start_matches("ActiveState=")))
        .collect();
    for line in parts.get("files").map(String::as_str).unwrap_or("").lines().filter(|l| l.contains(".service")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [name, status, ..] = f[..] else { continue };
        match systemd.get_mut(name) {
            None => {
                let state = shown.get(name).copied().filter(|s| !s.is_empty()).unwrap_or("unknown");
                systemd.insert(name.to_string(), entry(name, state, Some(status), "systemd"));
            }
            Some(Value::Object(e)) if !BAD_STATES.contains(&e["status"].as_str().unwrap_or("")) => {
                e.insert("status".into(), status.into());
            }
            Some(_) => {}
        }
    }
    services.extend(systemd);
    services
}

#[async_trait]
impl Module for ServiceFacts {
    fn name(&self) -> &'static str {
        "service_facts"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        Args::parse("service_facts", args, &SPEC)?;
        let out = cx.run(Cmd::new(SCRIPT).read_only()).await?;
        let services = parse(&sections(&out.stdout_text()));
        if services.is_empty() {
            let msg = "Failed to find any services. This can be due to privileges or some other configuration issue.";
            return Ok(Query::ok().with("skipped", true).with("msg", msg));
        }
        let facts = Map::from_iter([("services".to_string(), Value::Object(services))]);
        Ok(Query::ok().with_facts(facts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn services_as_ansible_reads_them() {
        let out = "@@troupe:sysv@@\n [ + ]  etcd\n [ - ]  rsync\n@@troupe:units@@\n\
            ssh.service  loaded active running OpenBSD Secure Shell server\n\
            bad.service  not-found inactive dead bad.service\n\
            done.service loaded active exited Done\n\
            @@troupe:files@@\nUNIT FILE STATE VENDOR PRESET\nssh.service enabled enabled\nbad.service masked enabled\n\
            idle.service disabled enabled\n\n3 unit files listed.\n\
            @@troupe:show@@\nssh.service ActiveState=active\nidle.service ActiveState=inactive\n";
        let s = Value::Object(parse(&sections(out)));
        assert_eq!(s["etcd"], json!({"name": "etcd", "state": "running", "source": "sysv"}));
        assert_eq!(
            s["ssh.service"],
            json!({"name": "ssh.service", "state": "running", "status": "enabled", "source": "systemd"})
        );
        assert_eq!(s["bad.service"]["status"], "not-found");
        assert_eq!(
            s["done.service"],
            json!({"name": "done.service", "state": "stopped", "status": "active", "source": "systemd"})
        );
        assert_eq!(
            s["idle.service"],
            json!({"name": "idle.service", "state": "inactive", "status": "disabled", "source": "systemd"})
        );
    }
}
