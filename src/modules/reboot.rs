//! `reboot`: reboots the host and waits until it is back, as Ansible's action does: read the
//! boot id, run `shutdown -r`, then (reconnecting: a new SSH master and shell) until the boot id
//! differs, then until `test_command` succeeds, each within `reboot_timeout`. Returns `rebooted`
//! and `elapsed`; check mode reports the reboot without doing it; refused on a local connection.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SEARCH_PATHS: [&str; 5] = ["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"];
const BOOT_ID: &str = "cat /proc/sys/kernel/random/boot_id";
const MESSAGE: &str = "Reboot initiated by Ansible";

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::int("pre_reboot_delay", "seconds before the reboot (passed to shutdown in whole minutes)").default("0"),
        Opt::int("post_reboot_delay", "seconds to wait after the reboot command before checking").default("0"),
        Opt::int("reboot_timeout", "seconds to wait for the reboot, then again for test_command").default("600"),
        Opt::int("connect_timeout", "seconds one connection attempt may take"),
        Opt::str("test_command", "a command that must succeed once the host is back").default("whoami"),
        Opt::str("msg", "the message shutdown shows").default(MESSAGE),
        Opt::list("search_paths", "where to look for the shutdown command")
            .default("['/sbin', '/bin', '/usr/sbin', '/usr/bin', '/usr/local/sbin']"),
        Opt::str("boot_time_command", "prints an id that changes with each boot").default(BOOT_ID),
        Opt::str("reboot_command", "the command (and arguments) that reboots"),
    ]],
    aliases: &[
        ("pre_reboot_delay_sec", "pre_reboot_delay"),
        ("post_reboot_delay_sec", "post_reboot_delay"),
        ("reboot_timeout_sec", "reboot_timeout"),
        ("connect_timeout_sec", "connect_timeout"),
    ],
    ..ArgSpec::NONE
};

pub struct Reboot;

#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub pre_delay: i64,
    pub post_delay: u64,
    pub timeout: u64,
    pub connect_timeout: Option<u64>,
    pub test_command: String,
    pub msg: String,
    pub search_paths: Vec<String>,
    pub boot_time_command: String,
    pub reboot_command: Option<String>,
}

fn want(a: &Args) -> Result<Want, ModuleError> {
    let secs = |n: &str, d: i64| -> Result<i64, ModuleError> { Ok(a.int(n)?.unwrap_or(d).max(0)) };
    Ok(Want {
        pre_delay: secs("pre_reboot_delay", 0)?,
        post_delay: secs("post_reboot_delay", 0)? as u64,
        timeout: secs("reboot_timeout", 600)? as u64,
        connect_timeout: a.int("connect_timeout")?.map(|t| t.max(1) as u64),
        test_command: a.str("test_command")?.unwrap_or_else(|| "whoami".into()),
        msg: a.str("msg")?.unwrap_or_else(|| MESSAGE.into()),
        search_paths: a.list("search_paths")?.unwrap_or_else(|| SEARCH_PATHS.map(String::from).to_vec()),
        boot_time_command: a.str("boot_time_command")?.filter(|c| !c.is_empty()).unwrap_or_else(|| BOOT_ID.into()),
        reboot_command: a.str("reboot_command")?,
    })
}

/// Python's repr of a list of strings, as Ansible's messages print `search_paths`.
fn py_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", "))
}

/// The script that finds the shutdown command and runs it with its arguments (Ansible's
/// `get_shutdown_command` + `get_shutdown_command_args`; Alpine's is `reboot`, no arguments).
pub fn reboot_script(w: &Want) -> String {
    let (bin, args) = match &w.reboot_command {
        Some(c) => {
            let (b, rest) = c.trim().split_once(' ').unwrap_or((c.trim(), ""));
            (b.to_string(), Some(rest.to_string()))
        }
        None => (String::new(), None),
    };
    let default_args = format!("-r {} {}", w.pre_delay / 60, quote(&w.msg));
    let pick = if bin.is_empty() {
        format!(
            "bin=shutdown; a={}\n. /etc/os-release 2>/dev/null; if [ \"$ID\" = alpine ]; then bin=reboot; a=; fi\n",
            quote(&default_args)
        )
    } else {
        format!("bin={}; a={}\n", quote(&bin), quote(args.as_deref().unwrap_or("")))
    };
    let paths: Vec<String> = w.search_paths.iter().map(|p| quote(p)).collect();
    format!(
        "{pick}case $bin in /*) path=$bin ;; *) path=\n\
         for d in {}; do if [ -e \"$d/$bin\" ]; then path=$d/$bin; break; fi; done ;; esac\n\
         if [ -z \"$path\" ]; then printf 'Unable to find command \"%s\" in search paths: %s\\n' \"$bin\" {} >&2; exit 127; fi\n\
         eval \"\\\"\\$path\\\" $a\"",
        paths.join(" "),
        quote(&py_list(&w.search_paths)),
    )
}

/// Ansible's backoff between attempts: 2^n seconds plus up to one, at most 12 (+1).
fn backoff(fails: u32) -> Duration {
    let jitter = rand::random::<f64>();
    let secs = 2f64.powi(fails.min(4) as i32).min(12.0) + jitter;
    Duration::from_secs_f64(secs)
}

#[async_trait]
impl Module for Reboot {
    fn name(&self) -> &'static str {
        "reboot"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("reboot", args, &SPEC)?;
        let w = want(&a)?;
        if cx.conn.is_local() {
            let mut result = Map::new();
            result.insert("changed".into(), false.into());
            result.insert("elapsed".into(), 0.into());
            result.insert("rebooted".into(), false.into());
            return Err(ModuleError::Failed {
                msg: "Running reboot with local connection would reboot the control node.".into(),
                result,
            });
        }
        let mut q = Query::ok().with("elapsed", 0).with("rebooted", true);
        q.changed = true;
        q.change = Change::new(w);
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let w: Want = q.change.take("reboot")?;
        let boot = cx.run(Cmd::new(w.boot_time_command.clone())).await?;
        if boot.rc != 0 {
            let mut result = Map::new();
            result.insert("reboot".into(), false.into());
            return Err(ModuleError::Failed {
                msg: format!(
                    "reboot: failed to get host boot time info, rc: {}, stdout: {}, stderr: {}",
                    boot.rc,
                    boot.stdout_text(),
                    boot.stderr_text()
                ),
                result,
            });
        }
        let previous = boot.stdout_text().trim().to_string();

        let mut cmd = Cmd::new(reboot_script(&w));
        cmd.timeout = Some(Duration::from_secs(w.connect_timeout.unwrap_or(30)));
        // The connection may close as the host goes down: that is the reboot working.
        let rc = match cx.run(cmd).await {
            Ok(out) if out.rc != 0 => Some(out),
            _ => None,
        };
        let start = Instant::now();
        if let Some(out) = rc {
            let mut result = Map::new();
            result.insert("rebooted".into(), false.into());
            result.insert("elapsed".into(), start.elapsed().as_secs().into());
            let (o, e) = (out.stdout_text(), out.stderr_text());
            let msg = if out.rc == 127 && e.starts_with("Unable to find command") {
                e.trim().to_string()
            } else {
                format!("Reboot command failed. Error was: '{}, {}'", o.trim(), e.trim())
            };
            return Err(ModuleError::Failed { msg, result });
        }
        tokio::time::sleep(Duration::from_secs(w.post_delay)).await;

        let attempt = Duration::from_secs(w.connect_timeout.unwrap_or(10));
        let timed_out = |what: &str| {
            let mut result = Map::new();
            result.insert("rebooted".into(), true.into());
            result.insert("elapsed".into(), start.elapsed().as_secs().into());
            ModuleError::Failed { msg: format!("Timed out waiting for {what} (timeout={})", w.timeout), result }
        };
        // The boot id changes: the host went down and came back.
        let end = Instant::now() + Duration::from_secs(w.timeout);
        let mut fails = 0;
        loop {
            let mut cmd = Cmd::new(w.boot_time_command.clone());
            cmd.timeout = Some(attempt);
            match cx.run(cmd).await {
                Ok(out)
                    if out.rc == 0 && !out.stdout_text().trim().is_empty() && out.stdout_text().trim() != previous =>
                {
                    break
                }
                Ok(_) => {}
                Err(_) => {
                    let _ = tokio::time::timeout(attempt * 3, cx.conn.reconnect()).await;
                }
            }
            if Instant::now() >= end {
                return Err(timed_out("last boot time check"));
            }
            tokio::time::sleep(backoff(fails)).await;
            fails += 1;
        }
        // Then the test command succeeds.
        let end = Instant::now() + Duration::from_secs(w.timeout);
        let mut fails = 0;
        loop {
            let mut cmd = Cmd::new(w.test_command.clone());
            cmd.timeout = Some(attempt);
            match cx.run(cmd).await {
                Ok(out) if out.rc == 0 => break,
                Ok(_) => {}
                Err(_) => {
                    let _ = tokio::time::timeout(attempt * 3, cx.conn.reconnect()).await;
                }
            }
            if Instant::now() >= end {
                return Err(timed_out("post-reboot test command"));
            }
            tokio::time::sleep(backoff(fails)).await;
            fails += 1;
        }
        let mut r = q.result;
        r.insert("rebooted".into(), Value::Bool(true));
        r.insert("elapsed".into(), start.elapsed().as_secs().into());
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    fn w() -> Want {
        let a = Args::parse("reboot", &Map::new(), &SPEC).unwrap();
        want(&a).unwrap()
    }

    #[test]
    fn the_reboot_command_as_ansible_builds_it() {
        let s = reboot_script(&w());
        assert!(s.starts_with("bin=shutdown; a='-r 0 '\\''Reboot initiated by Ansible'\\'''"), "{s}");
        assert!(s.contains("for d in /sbin /bin /usr/sbin /usr/bin /usr/local/sbin;"), "{s}");
        assert!(s.contains("'['\\''/sbin'\\'', "), "search paths as Python prints them: {s}");
        let mut custom = w();
        custom.pre_delay = 150;
        custom.reboot_command = Some("/usr/bin/systemctl reboot --force".into());
        let s = reboot_script(&custom);
        assert!(s.starts_with("bin=/usr/bin/systemctl; a='reboot --force'\n"), "{s}");
        let mut delayed = w();
        delayed.pre_delay = 150;
        assert!(reboot_script(&delayed).starts_with("bin=shutdown; a='-r 2 "), "minutes, rounded down");
    }

    #[tokio::test]
    async fn the_reboot_script_runs_what_it_finds() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("shutdown");
        std::fs::write(&bin, "#!/bin/sh\nprintf '%s|' \"$@\"\n").unwrap();
        std::process::Command::new("chmod").arg("+x").arg(&bin).status().unwrap();
        let mut x = w();
        x.search_paths = vec!["/nonexistent".into(), dir.path().to_string_lossy().into_owned()];
        x.msg = "it's \"time\"".into();
        let out = Harness::new().cx().conn.exec(&Cmd::new(reboot_script(&x))).await.unwrap();
        assert_eq!(out.stdout_text(), "-r|0|it's \"time\"|");
        x.search_paths = vec!["/nonexistent".into()];
        let out = Harness::new().cx().conn.exec(&Cmd::new(reboot_script(&x))).await.unwrap();
        assert_eq!(out.rc, 127);
        assert_eq!(out.stderr_text().trim(), "Unable to find command \"shutdown\" in search paths: ['/nonexistent']");
    }

    #[tokio::test]
    async fn refused_on_a_local_connection() {
        let err = Harness::new().run(&Reboot, json!({})).await.unwrap_err();
        assert_eq!(err.to_string(), "Running reboot with local connection would reboot the control node.");
    }
}
