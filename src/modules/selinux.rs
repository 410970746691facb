//! `ansible.posix.selinux` and `ansible.posix.seboolean`, read and set with SELinux's own
//! tools (`getenforce`, `setenforce`, `getsebool`, `setsebool`) instead of Python bindings.
//!
//! On a host without SELinux (no `getenforce`, or it says `Disabled`): `selinux` behaves as
//! ansible.posix's does with SELinux off — it needs the config file (`Unable to find file
//! /etc/selinux/config` otherwise), writes `SELINUX=`/`SELINUXTYPE=` there, and reports
//! `reboot_required` for a state that only a reboot can bring; `seboolean` fails with
//! `SELinux is disabled on this host.`, as ansible.posix does. (Ansible itself first fails on
//! such hosts when the Python `selinux` library is missing; troupe needs no library.)

use async_trait::async_trait;

use super::args::{ArgSpec, Args};
use super::script_out::{failed_with, run_ok};
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    names: &[&["policy", "state", "configfile", "update_kernel_param"]],
    aliases: &[("conf", "configfile"), ("file", "configfile")],
    ..ArgSpec::NONE
};
const BOOL_SPEC: ArgSpec =
    ArgSpec { names: &[&["name", "persistent", "state", "ignore_selinux_state"]], aliases: &[], ..ArgSpec::NONE };

pub struct Selinux;
pub struct Seboolean;

/// The value of `KEY=` in the config file (the first such line).
pub fn config_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| l.strip_prefix(&format!("{key}=")).map(|v| v.trim().to_string()))
}

/// The config with `KEY=value` set as ansible.posix sets it (every such line, else appended).
pub fn set_config(text: &str, key: &str, value: &str) -> String {
    let mut found = false;
    let mut out = String::new();
    for l in text.lines() {
        if l.starts_with(&format!("{key}=")) {
            found = true;
            out.push_str(&format!("{key}={value}\n"));
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    if !found {
        out.push_str(&format!("{key}={value}\n"));
    }
    out
}

const MARK: &str = "@troupe-selinux-config\n";

#[async_trait]
impl Module for Selinux {
    fn name(&self) -> &'static str {
        "selinux"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("selinux", args, &SPEC)?;
        let state = a
            .choice("state", &["enforcing", "permissive", "disabled"])?
            .ok_or_else(|| a.error("missing required arguments: state"))?;
        let configfile = a.str("configfile")?.unwrap_or("/etc/selinux/config".into());
        if a.bool("update_kernel_param", false)? {
            return Err(a.error("update_kernel_param (grubby) is not supported natively by troupe"));
        }
        let c = quote(&configfile);
        let script = format!(
            "(getenforce || /usr/sbin/getenforce) 2>/dev/null || echo Disabled\necho {}\n[ -f {c} ] || exit 3\ncat -- {c}\n",
            MARK.trim_end()
        );
        let out = cx.run(Cmd::new(script).read_only()).await?;
        if out.rc == 3 {
            return Err(ModuleError::failed(format!("Unable to find file {configfile}")));
        }
        if out.rc != 0 {
            return Err(failed_with(format!("reading {configfile} failed"), &out));
        }
        let text = out.stdout_text();
        let (runtime, config) = text.split_once(MARK).unwrap_or((&text, ""));
        let runtime_state = runtime.lines().next().unwrap_or("Disabled").trim().to_ascii_lowercase();
        let runtime_enabled = runtime_state != "disabled";
        let config_state = config_value(config, "SELINUX");
        let config_policy = config_value(config, "SELINUXTYPE");
        let policy = match a.str("policy")? {
            Some(p) => Some(p),
            None if state == "disabled" => config_policy.clone(),
            None => return Err(ModuleError::failed("Policy is required if state is not 'disabled'")),
        };
        let mut msgs = Vec::new();
        let mut new_config = config.to_string();
        let mut runtime_cmd = None;
        let mut reboot_required = false;
        let mut changed = false;
        if policy != config_policy {
            let p = policy.clone().unwrap_or_default();
            new_config = set_config(&new_config, "SELINUXTYPE", &p);
            msgs.push(format!(
                "SELinux policy configuration in '{configfile}' changed from '{}' to '{p}'",
                config_policy.clone().unwrap_or("None".into())
            ));
            changed = true;
        }
        if state != runtime_state {
            if runtime_enabled && state != "disabled" {
                runtime_cmd = Some(format!("setenforce {}", if state == "enforcing" { 1 } else { 0 }));
                msgs.push(format!("SELinux state changed from '{runtime_state}' to '{state}'"));
                changed = true;
            } else if runtime_enabled && runtime_state != "permissive" {
                runtime_cmd = Some("setenforce 0".into());
                reboot_required = true;
                changed = true;
            } else {
                reboot_required = true;
            }
        }
        if config_state.as_deref() != Some(state) {
            new_config = set_config(&new_config, "SELINUX", state);
            msgs.push(format!(
                "Config SELinux state changed from '{}' to '{state}'",
                config_state.unwrap_or("None".into())
            ));
            changed = true;
        }
        let mut q = Query::ok();
        q.result.insert("msg".into(), msgs.join(", ").into());
        q.result.insert("configfile".into(), configfile.clone().into());
        q.result.insert("policy".into(), policy.map(Value::from).unwrap_or(Value::Null));
        q.result.insert("state".into(), state.into());
        q.result.insert("reboot_required".into(), reboot_required.into());
        if changed {
            q.changed = true;
            let write = (new_config != config).then(|| new_config.clone());
            q.change = Change::new((configfile, write, runtime_cmd));
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let (configfile, write, runtime_cmd): (String, Option<String>, Option<String>) = q.change.take("selinux")?;
        if let Some(cmd) = runtime_cmd {
            run_ok(cx, Cmd::new(cmd), "setenforce failed").await?;
        }
        if let Some(text) = write {
            let file = super::lineinfile::read_text(cx, &configfile).await?;
            let w = super::remote_file::query_write(
                cx,
                &file.facts,
                &super::content::Content::Bytes(text.as_bytes()),
                &Default::default(),
                &Default::default(),
                true,
            )
            .await?;
            super::remote_file::apply_write(cx, w).await?;
        }
        Ok(std::mem::take(&mut q.result))
    }
}

#[async_trait]
impl Module for Seboolean {
    fn name(&self) -> &'static str {
        "seboolean"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&BOOL_SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("seboolean", args, &BOOL_SPEC)?;
        let name = a.req_str("name")?;
        let want = a.opt_bool("state")?.ok_or_else(|| a.error("missing required arguments: state"))?;
        let persistent = a.bool("persistent", false)?;
        let n = quote(&name);
        let script = format!(
            "s=$( (getenforce || /usr/sbin/getenforce) 2>/dev/null || echo Disabled)\n[ \"$s\" = Disabled ] && exit 3\ngetsebool {n} || exit 4\n"
        );
        let out = cx.run(Cmd::new(script).read_only()).await?;
        match out.rc {
            0 => {}
            3 if !a.bool("ignore_selinux_state", false)? => {
                return Err(ModuleError::failed("SELinux is disabled on this host."));
            }
            3 => {
                return Err(ModuleError::failed(
                    "SELinux is disabled on this host: its booleans cannot be read natively",
                ))
            }
            _ => return Err(failed_with(format!("SELinux boolean {name} does not exist."), &out)),
        }
        let cur = out.stdout_text().trim_end().ends_with("--> on");
        let mut q = Query::ok();
        q.result.insert("name".into(), name.clone().into());
        q.result.insert("state".into(), want.into());
        q.result.insert("persistent".into(), persistent.into());
        if cur != want {
            q.changed = true;
            let p = if persistent { "-P " } else { "" };
            q.change = Change::new(format!("setsebool {p}{n} {}", if want { "on" } else { "off" }));
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let cmd: String = q.change.take("seboolean")?;
        run_ok(cx, Cmd::new(cmd), "setsebool failed").await?;
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[test]
    fn config_lines() {
        let c = "# comment\nSELINUX=enforcing\nSELINUXTYPE=targeted\n";
        assert_eq!(config_value(c, "SELINUX").as_deref(), Some("enforcing"));
        assert_eq!(config_value(c, "SELINUXTYPE").as_deref(), Some("targeted"));
        assert_eq!(set_config(c, "SELINUX", "disabled"), "# comment\nSELINUX=disabled\nSELINUXTYPE=targeted\n");
        assert_eq!(set_config("", "SELINUX", "permissive"), "SELINUX=permissive\n");
    }

    /// This machine has no SELinux: what a host without it answers.
    #[tokio::test]
    async fn without_selinux() {
        let tmp = tempfile::tempdir().unwrap();
        let conf = tmp.path().join("config");
        let h = Harness::new();
        let err = h.run(&Selinux, json!({"state": "disabled", "configfile": conf})).await.unwrap_err();
        assert_eq!(err.to_string(), format!("Unable to find file {}", conf.display()));
        std::fs::write(&conf, "SELINUX=enforcing\nSELINUXTYPE=targeted\n").unwrap();
        let (changed, res) = h.run(&Selinux, json!({"state": "disabled", "configfile": conf})).await.unwrap();
        assert!(changed);
        assert_eq!(res["msg"], "Config SELinux state changed from 'enforcing' to 'disabled'");
        assert_eq!(res["reboot_required"], false, "already off at runtime");
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), "SELINUX=disabled\nSELINUXTYPE=targeted\n");
        assert!(!h.run(&Selinux, json!({"state": "disabled", "configfile": conf})).await.unwrap().0);
        let (_, res) =
            h.run(&Selinux, json!({"state": "permissive", "policy": "targeted", "configfile": conf})).await.unwrap();
        assert_eq!(res["reboot_required"], true);
        let err = h.run(&Selinux, json!({"state": "enforcing", "configfile": conf})).await.unwrap_err();
        assert!(err.to_string().contains("Policy is required"));
        let err = h.run(&Seboolean, json!({"name": "httpd_can_network_connect", "state": true})).await.unwrap_err();
        assert_eq!(err.to_string(), "SELinux is disabled on this host.");
    }
}
