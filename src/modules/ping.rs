//! `ping`: proves the host answers a command (with the task's become), returns `ping: <data>`.
//! `data: crash` fails the way Ansible's module does (it raises on purpose).

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::run_ok;
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::Cmd;
use crate::value::Map;

const SPEC: ArgSpec = ArgSpec {
    options: &[&[Opt::str("data", "what to return as `ping`; `crash` fails on purpose").default("pong")]],
    ..ArgSpec::NONE
};

pub struct Ping;

#[async_trait]
impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("ping", args, &SPEC)?;
        let data = a.str("data")?.unwrap_or_else(|| "pong".into());
        run_ok(cx, Cmd::new(":").read_only(), "ping: the host did not run a command").await?;
        if data == "crash" {
            return Err(ModuleError::failed("Task failed: Module failed: boom"));
        }
        Ok(Query::ok().with("ping", data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[tokio::test]
    async fn pong_data_and_crash() {
        let h = Harness::new();
        let (changed, r) = h.run(&Ping, json!({})).await.unwrap();
        assert!(!changed);
        assert_eq!(r["ping"], "pong");
        let (_, r) = h.run(&Ping, json!({"data": "hello"})).await.unwrap();
        assert_eq!(r["ping"], "hello");
        let err = h.run(&Ping, json!({"data": "crash"})).await.unwrap_err();
        assert_eq!(err.to_string(), "Task failed: Module failed: boom");
        let err = h.run(&Ping, json!({"nope": 1})).await.unwrap_err();
        assert!(err.to_string().starts_with("Unsupported parameters for (ping) module: nope."), "{err}");
    }
}
