//! `wait_for`: wait on the target for a port, a path, or drained connections, in ONE POSIX sh
//! loop (no bash, no Python). Local ports are read from `/proc/net/tcp{,6}` with awk (or
//! `ss` when /proc is missing); other hosts are probed with `nc -z`, falling back to bash's
//! /dev/tcp. Never `changed`; skipped in check mode (Ansible: check_mode support none).

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{failed_with, key_values};
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

pub struct WaitFor;

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("host", "the host to probe, from the target").default("127.0.0.1"),
        Opt::int("port", "a TCP port to wait for"),
        Opt::path("path", "a file to wait for"),
        Opt::str("state", "what to wait for: the port or path up (`started`/`present`), gone, or drained")
            .choices(&["absent", "drained", "present", "started", "stopped"])
            .default("started"),
        Opt::int("timeout", "seconds to wait before failing").default("300"),
        Opt::int("delay", "seconds before the first check").default("0"),
        Opt::int("sleep", "seconds between checks").default("1"),
        Opt::str("search_regex", "a regex the file must contain"),
        Opt::str("msg", "the message on timeout"),
        Opt::int("connect_timeout", "seconds for one connection attempt").default("5"),
    ]],
    ..ArgSpec::NONE
};

#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub host: String,
    pub port: Option<u16>,
    pub path: Option<String>,
    pub state: String,
    pub timeout: u64,
    pub delay: u64,
    pub sleep: u64,
    pub search_regex: Option<String>,
    pub msg: Option<String>,
    pub connect_timeout: u64,
}

fn non_negative(a: &Args, name: &str, default: u64) -> Result<u64, ModuleError> {
    match a.int(name)? {
        None => Ok(default),
        Some(n) if n >= 0 => Ok(n as u64),
        Some(n) => Err(a.error(format_args!("'{name}' must be 0 or more, got {n}"))),
    }
}

impl Want {
    pub fn parse(raw: &Map) -> Result<Want, ModuleError> {
        let a = Args::parse("wait_for", raw, &SPEC)?;
        let port = match a.int("port")? {
            None => None,
            Some(p) => Some(u16::try_from(p).map_err(|_| a.error(format_args!("'port' must be 0-65535, got {p}")))?),
        };
        let path = a.str("path")?;
        if port.is_some() && path.is_some() {
            return Err(a.error("'port' and 'path' are mutually exclusive"));
        }
        let state = a.choice("state", &["absent", "drained", "present", "started", "stopped"])?.unwrap_or("started");
        let search_regex = a.str("search_regex")?;
        if port.is_some() && search_regex.is_some() {
            return Err(a.error(
                "'search_regex' with 'port' is not supported by troupe; use it with 'path', or the uri module",
            ));
        }
        if path.is_some() && state == "drained" {
            return Err(a.error("state=drained needs 'port', not 'path'"));
        }
        if port.is_none() && state == "drained" {
            return Err(a.error("state=drained needs 'port'"));
        }
        Ok(Want {
            host: a.str("host")?.unwrap_or_else(|| "127.0.0.1".into()),
            port,
            path,
            state: state.into(),
            timeout: non_negative(&a, "timeout", 300)?,
            delay: non_negative(&a, "delay", 0)?,
            sleep: non_negative(&a, "sleep", 1)?.max(1),
            search_regex,
            msg: a.str("msg")?,
            connect_timeout: non_negative(&a, "connect_timeout", 5)?.max(1),
        })
    }

    /// An awk condition on the hex local address `a` for sockets that count for `host`.
    fn addr_condition(&self) -> Option<String> {
        const WILDCARD: &str = "a ~ /^0+$/";
        match self.host.as_str() {
            "0.0.0.0" | "::" => Some("1".into()),
            "localhost" | "::1" => Some(format!(
                "{WILDCARD} || (length(a)==8 && substr(a,7,2)==\"7F\") || a==\"00000000000000000000000001000000\" || a==\"0000000000000000FFFF00000100007F\""
            )),
            h => match h.parse::<std::net::Ipv4Addr>() {
                Ok(ip) if ip.is_loopback() => Some(format!(
                    "{WILDCARD} || (length(a)==8 && substr(a,7,2)==\"7F\") || a==\"0000000000000000FFFF00000100007F\""
                )),
                _ => None,
            },
        }
    }

    /// The shell function `ready` that succeeds once the wanted state holds.
    fn ready_fn(&self) -> String {
        if let Some(path) = &self.path {
            let p = quote(path);
            return match (self.state.as_str(), &self.search_regex) {
                ("absent" | "stopped", _) => format!("ready() {{ [ ! -e {p} ]; }}"),
                // Python's regex dialect is grep -P's (named groups, \d); -E where there is no -P.
                (_, Some(re)) => format!(
                    "if echo | LC_ALL=C grep -Pq '' 2>/dev/null; then g=-P; else g=-E; fi\n\
                     ready() {{ [ -f {p} ] && LC_ALL=C grep \"$g\"q -- {} {p}; }}",
                    quote(re)
                ),
                _ => format!("ready() {{ [ -e {p} ]; }}"),
            };
        }
        let port = self.port.unwrap_or(0);
        let hex = format!("{port:04X}");
        let local = self.addr_condition();
        let states = if self.state == "drained" { "$4 ~ /^0[1-6]$/" } else { "$4 == \"0A\"" };
        let cond = local.clone().unwrap_or_else(|| "1".into());
        let mut s = format!(
            "listening() {{\n  if [ -r /proc/net/tcp ]; then\n    awk 'FNR > 1 {{ split($2, x, \":\"); a = x[1]; if (x[2] == \"{hex}\" && {states} && ({cond})) found = 1 }} END {{ exit !found }}' /proc/net/tcp /proc/net/tcp6 2>/dev/null\n  else\n    ss -{}tnH \"sport = :{port}\" 2>/dev/null | grep -q .\n  fi\n}}\n",
            if self.state == "drained" { "" } else { "l" }
        );
        let probe = if local.is_some() {
            "listening".to_string()
        } else {
            let h = quote(&self.host);
            let ct = self.connect_timeout;
            s.push_str(&format!(
                "probe() {{\n  if command -v nc >/dev/null 2>&1; then nc -z -w {ct} {h} {port} >/dev/null 2>&1\n  elif command -v bash >/dev/null 2>&1; then timeout {ct} bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' {h} {port} >/dev/null 2>&1\n  else listening; fi\n}}\n"
            ));
            "probe".to_string()
        };
        s.push_str(&match self.state.as_str() {
            "stopped" | "absent" | "drained" => format!("ready() {{ ! {probe}; }}"),
            _ => format!("ready() {{ {probe}; }}"),
        });
        s
    }

    /// Nothing to wait for (no port, no path): Ansible sleeps for `timeout`.
    fn sleeps_only(&self) -> bool {
        self.port.is_none() && self.path.is_none() && self.state != "drained"
    }

    pub fn script(&self) -> String {
        let mut s = self.ready_fn();
        // Milliseconds (GNU date's %N; whole seconds where it lacks it): Ansible's `elapsed`
        // is whole seconds of a finer clock, so a 3 s timeout reads 3, not 3 or 4.
        s.push_str(
            "\nms() { n=$(date +%s%N); case $n in *N) echo $(($(date +%s) * 1000));; *) echo $((n / 1000000));; esac; }\n",
        );
        s.push_str("start=$(ms)\n");
        if self.delay > 0 {
            s.push_str(&format!("sleep {}\n", self.delay));
        }
        if self.sleeps_only() {
            s.push_str(&format!("sleep {}\necho elapsed=$((($(ms) - start) / 1000))\n", self.timeout));
            return s;
        }
        // With a regex, the file follows (its groups are matched on the controller).
        let found = match (&self.path, &self.search_regex, self.state.as_str()) {
            (Some(p), Some(_), "present" | "started") => {
                format!("echo elapsed=$((($(ms) - start) / 1000)); echo @@troupe:file@@; cat -- {}", quote(p))
            }
            _ => "echo elapsed=$((($(ms) - start) / 1000))".to_string(),
        };
        s.push_str(&format!(
            "end=$((start + {} * 1000))\nwhile :; do\n  if ready; then {found}; exit 0; fi\n  now=$(ms)\n  if [ \"$now\" -ge \"$end\" ]; then echo elapsed=$(((now - start) / 1000)); exit 124; fi\n  sleep {}\ndone\n",
            self.timeout, self.sleep
        ));
        s
    }

    pub fn timeout_msg(&self) -> String {
        if let Some(m) = &self.msg {
            return m.clone();
        }
        let target = format!("{}:{}", self.host, self.port.unwrap_or(0));
        match (&self.path, self.state.as_str(), &self.search_regex) {
            (Some(p), "absent" | "stopped", _) => {
                format!("Timeout when waiting for {p} to be absent.")
            }
            (Some(p), _, Some(re)) => format!("Timeout when waiting for search string {re} in {p}"),
            (Some(p), _, None) => format!("Timeout when waiting for file {p}"),
            (None, "stopped" | "absent", _) => {
                format!("Timeout when waiting for {target} to stop.")
            }
            (None, "drained", _) => format!("Timeout when waiting for {target} to drain"),
            (None, _, _) => format!("Timeout when waiting for {target}"),
        }
    }

    fn result(&self, elapsed: i64) -> Map {
        let mut m = Map::new();
        m.insert("elapsed".into(), elapsed.into());
        m.insert("state".into(), self.state.clone().into());
        m.insert("port".into(), self.port.map(Value::from).unwrap_or(Value::Null));
        m.insert("path".into(), self.path.clone().map(Value::String).unwrap_or(Value::Null));
        m.insert("search_regex".into(), self.search_regex.clone().map(Value::String).unwrap_or(Value::Null));
        m.insert("match_groups".into(), Value::Array(vec![]));
        m.insert("match_groupdict".into(), Value::Object(Map::new()));
        m
    }
}

/// Ansible's `match_groups` and `match_groupdict` of the regex's first match in the file.
fn match_groups(re: &str, text: &str, result: &mut Map) {
    let Ok(re) = fancy_regex::Regex::new(re) else { return };
    let Ok(Some(caps)) = re.captures(text) else { return };
    let groups: Vec<Value> =
        (1..caps.len()).map(|i| caps.get(i).map(|m| Value::from(m.as_str())).unwrap_or(Value::Null)).collect();
    let named: Map = re
        .capture_names()
        .flatten()
        .map(|n| (n.to_string(), caps.name(n).map(|m| Value::from(m.as_str())).unwrap_or(Value::Null)))
        .collect();
    result.insert("match_groups".into(), Value::Array(groups));
    result.insert("match_groupdict".into(), Value::Object(named));
}

#[async_trait]
impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let want = Want::parse(args)?;
        if cx.check_mode {
            return Ok(Query { check_skip: true, ..Query::default() });
        }
        let mut cmd = Cmd::new(want.script());
        cmd.timeout = Some(std::time::Duration::from_secs(want.timeout + want.delay + 30));
        let out = cx.run(cmd).await?;
        let text = out.stdout_text();
        let (head, file) = text.split_once("@@troupe:file@@\n").unwrap_or((text.as_str(), ""));
        let kv = key_values(head);
        let elapsed = kv.get("elapsed").and_then(|e| e.trim().parse().ok()).unwrap_or(0);
        match out.rc {
            0 if want.sleeps_only() => {
                let mut result = Map::new();
                result.insert("elapsed".into(), elapsed.into());
                result.insert("msg".into(), want.msg.clone().map(Value::String).unwrap_or(Value::Null));
                Ok(Query { result, ..Query::default() })
            }
            0 => {
                let mut result = want.result(elapsed);
                if let Some(re) = &want.search_regex {
                    match_groups(re, file, &mut result);
                }
                Ok(Query { result, ..Query::default() })
            }
            124 => {
                let mut result = Map::new();
                result.insert("elapsed".into(), elapsed.into());
                Err(ModuleError::Failed { msg: want.timeout_msg(), result })
            }
            rc => Err(failed_with(format!("wait_for script failed (rc={rc}): {}", out.stderr_text().trim()), &out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    fn want(v: Value) -> Want {
        Want::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn golden_scripts_and_messages() {
        let w = want(json!({"port": 2379}));
        let s = w.script();
        assert!(s.contains("x[2] == \"094B\"") && s.contains("$4 == \"0A\""));
        assert!(!s.contains("bash"), "local checks are bash-free");
        assert_eq!(w.timeout_msg(), "Timeout when waiting for 127.0.0.1:2379");
        let w = want(json!({"port": 2380, "host": "10.1.2.3", "state": "stopped", "connect_timeout": 2}));
        assert!(w.script().contains("nc -z -w 2 10.1.2.3 2380"));
        assert_eq!(w.timeout_msg(), "Timeout when waiting for 10.1.2.3:2380 to stop.");
        let w = want(json!({"path": "/var/log/x", "search_regex": "ready$", "delay": 2}));
        assert!(w.script().contains("grep \"$g\"q -- 'ready$' /var/log/x") && w.script().contains("sleep 2\n"));
        let mut r = Map::new();
        match_groups(r"completed (?P<foo>\w+) ([0-9]+)", "x\ncompleted data 123\n", &mut r);
        assert_eq!(
            (r["match_groups"].clone(), r["match_groupdict"].clone()),
            (json!(["data", "123"]), json!({"foo": "data"}))
        );
        let w = want(json!({"timeout": 2, "delay": 1}));
        assert!(w.script().ends_with("sleep 1\nsleep 2\necho elapsed=$((($(ms) - start) / 1000))\n"), "{}", w.script());
        assert!(Want::parse(json!({"port": 1, "search_regex": "x"}).as_object().unwrap()).is_err());
        assert!(Want::parse(json!({"port": 70000}).as_object().unwrap()).is_err());
        assert!(Want::parse(json!({"port": 1, "state": "up"}).as_object().unwrap()).is_err());
    }

    #[tokio::test]
    async fn real_port_and_path() {
        let h = Harness::new();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (changed, res) = h.run(&WaitFor, json!({"port": port, "timeout": 5})).await.unwrap();
        assert!(!changed);
        assert_eq!(res["port"], port);
        drop(listener);
        let (_, res) = h.run(&WaitFor, json!({"port": port, "state": "stopped", "timeout": 5})).await.unwrap();
        assert_eq!(res["state"], "stopped");
        let err = h.run(&WaitFor, json!({"port": port, "timeout": 1, "sleep": 1})).await.unwrap_err();
        assert_eq!(err.to_string(), format!("Timeout when waiting for 127.0.0.1:{port}"));

        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("flag");
        std::fs::write(&f, "booting\nready now\n").unwrap();
        let args = json!({"path": f, "search_regex": "^ready", "timeout": 3});
        assert!(h.run(&WaitFor, args.clone()).await.is_ok());
        let args = json!({"path": f, "state": "absent", "timeout": 1, "msg": "still there"});
        assert_eq!(h.run(&WaitFor, args.clone()).await.unwrap_err().to_string(), "still there");
    }
}
