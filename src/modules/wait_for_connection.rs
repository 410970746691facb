//! `wait_for_connection`: waits until the host runs a command again (after a reboot, a network
//! change), retrying every `sleep` seconds until `timeout`. Skipped in check mode, as Ansible's
//! action is; returns `elapsed` (whole seconds).

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::Cmd;
use crate::value::Map;

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::int("connect_timeout", "seconds one attempt may take").default("5"),
        Opt::int("delay", "seconds to wait before the first attempt").default("0"),
        Opt::int("sleep", "seconds between attempts").default("1"),
        Opt::int("timeout", "seconds to wait in all").default("600"),
    ]],
    ..ArgSpec::NONE
};

pub struct WaitForConnection;

#[async_trait]
impl Module for WaitForConnection {
    fn name(&self) -> &'static str {
        "wait_for_connection"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("wait_for_connection", args, &SPEC)?;
        let secs = |name: &str, default: i64| -> Result<Duration, ModuleError> {
            Ok(Duration::from_secs(a.int(name)?.unwrap_or(default).max(0) as u64))
        };
        let (connect, delay, sleep, timeout) =
            (secs("connect_timeout", 5)?, secs("delay", 0)?, secs("sleep", 1)?, secs("timeout", 600)?);
        if cx.check_mode {
            return Ok(Query::ok().with("skipped", true));
        }
        let start = Instant::now();
        tokio::time::sleep(delay).await;
        let end = Instant::now() + timeout;
        loop {
            let mut cmd = Cmd::new("echo pong").read_only();
            cmd.timeout = Some(connect);
            let last = match cx.run(cmd).await {
                Ok(out) if out.rc == 0 && out.stdout_text().trim() == "pong" => break,
                Ok(out) => format!("ping test failed (rc={}): {}", out.rc, out.stderr_text().trim()),
                Err(e) => e.to_string(),
            };
            if Instant::now() + sleep >= end {
                let msg = format!("timed out waiting for ping module test: {last}");
                let mut result = Map::new();
                result.insert("elapsed".into(), start.elapsed().as_secs().into());
                return Err(ModuleError::Failed { msg, result });
            }
            tokio::time::sleep(sleep).await;
        }
        Ok(Query::ok().with("elapsed", start.elapsed().as_secs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[tokio::test]
    async fn answers_at_once_and_skips_in_check_mode() {
        let mut h = Harness::new();
        let (changed, r) = h.run(&WaitForConnection, json!({"timeout": 5})).await.unwrap();
        assert!(!changed);
        assert_eq!(r["elapsed"], 0);
        h.check_mode = true;
        let (_, r) = h.run(&WaitForConnection, json!({})).await.unwrap();
        assert_eq!(r["skipped"], true);
        let err = h.run(&WaitForConnection, json!({"timeout": "soon"})).await.unwrap_err();
        assert!(err.to_string().contains("cannot be converted to an int"), "{err}");
    }
}
