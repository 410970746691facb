//! `community.general.timezone`: the system time zone and the hardware clock's mode, through
//! `timedatectl` as community.general does on systemd hosts (`status` read once, then
//! `set-timezone` / `set-local-rtc` only for what differs). The zone must exist under
//! `/usr/share/zoneinfo`. Hosts without a usable `timedatectl` get a clear error.

use async_trait::async_trait;

use super::args::{ArgSpec, Args};
use super::script_out::{failed_with, run_ok};
use super::{Change, Ctx, Diff, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec { names: &[&["name", "hwclock"]], aliases: &[("rtc", "hwclock")], ..ArgSpec::NONE };

pub struct Timezone;

/// `Time zone:` and `RTC in local TZ:` of `timedatectl status`; the RTC as `local`/`UTC`.
pub fn parse_status(text: &str) -> (Option<String>, Option<String>) {
    let mut zone = None;
    let mut rtc = None;
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Time zone:").or_else(|| line.strip_prefix("Timezone:")) {
            zone = v.split_whitespace().next().map(String::from);
        } else if let Some(v) = line.strip_prefix("RTC in local TZ:") {
            let local = matches!(v.trim().to_ascii_lowercase().as_str(), "yes" | "true" | "on" | "1");
            rtc = Some(if local { "local" } else { "UTC" }.to_string());
        }
    }
    (zone, rtc)
}

fn state_map(zone: Option<&str>, rtc: Option<&str>) -> Value {
    let mut m = Map::new();
    if let Some(z) = zone {
        m.insert("name".into(), z.into());
    }
    if let Some(r) = rtc {
        m.insert("hwclock".into(), r.into());
    }
    Value::Object(m)
}

#[async_trait]
impl Module for Timezone {
    fn name(&self) -> &'static str {
        "timezone"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("timezone", args, &SPEC)?;
        let name = a.str("name")?;
        let hwclock = a.choice("hwclock", &["local", "UTC"])?;
        if name.is_none() && hwclock.is_none() {
            return Err(a.error("one of the following is required: hwclock, name"));
        }
        let mut script = String::from("command -v timedatectl >/dev/null || { echo 'timedatectl not found: this host is not run by systemd' >&2; exit 3; }\nLANG=C timedatectl status || exit 4\n");
        if let Some(n) = &name {
            let f = quote(&format!("/usr/share/zoneinfo/{n}"));
            script.push_str(&format!(
                "[ -f {f} ] || {{ echo \"given timezone {} is not available\" >&2; exit 5; }}\n",
                quote(n).replace('"', "")
            ));
        }
        let out = cx.run(Cmd::new(script).read_only()).await?;
        if out.rc != 0 {
            let msg = out.stderr_text().trim().to_string();
            let msg = if out.rc == 5 {
                format!("given timezone \"{}\" is not available", name.unwrap_or_default())
            } else {
                msg
            };
            return Err(failed_with(msg, &out));
        }
        let (zone, rtc) = parse_status(&out.stdout_text());
        let before = state_map(name.as_ref().and(zone.as_deref()), hwclock.and(rtc.as_deref()));
        let after = state_map(name.as_deref(), hwclock);
        let mut q = Query::ok();
        let mut todo = Vec::new();
        if let Some(n) = &name {
            if zone.as_deref() != Some(n.as_str()) {
                todo.push(format!("timedatectl set-timezone {}", quote(n)));
            }
        }
        if let Some(h) = hwclock {
            if rtc.as_deref() != Some(h) {
                todo.push(format!("timedatectl set-local-rtc {}", if h == "local" { "yes" } else { "no" }));
            }
        }
        let mut diff = Map::new();
        diff.insert("before".into(), before.clone());
        diff.insert("after".into(), after.clone());
        q.result.insert("diff".into(), Value::Object(diff));
        if !todo.is_empty() {
            q.changed = true;
            if cx.diff {
                let text = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
                q.diff = Some(Diff { path: "timezone".into(), before: text(&before), after: text(&after) });
            }
            q.change = Change::new(todo.join("\n"));
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let script: String = q.change.take("timezone")?;
        run_ok(cx, Cmd::new(format!("set -e\n{script}")), "timedatectl failed").await?;
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_timedatectl() {
        let status = "               Local time: Wed 2026-12-02 15:20:01 UTC\n                Time zone: Etc/UTC (UTC, +0000)\nSystem clock synchronized: no\n          RTC in local TZ: no\n";
        assert_eq!(parse_status(status), (Some("Etc/UTC".into()), Some("UTC".into())));
        assert_eq!(
            parse_status("Time zone: Asia/Tokyo (JST, +0900)\nRTC in local TZ: yes\n").1.as_deref(),
            Some("local")
        );
        assert_eq!(parse_status(""), (None, None));
    }
}
