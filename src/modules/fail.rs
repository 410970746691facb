//! `fail`: fail the host with a message.

use async_trait::async_trait;

use crate::value::to_text;

use super::args::{ArgSpec, Args, Opt};
use super::{Ctx, Map, Module, ModuleError, Query};

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[Opt::raw("msg", "the failure message").default("Failed as requested from task")]],
    ..ArgSpec::NONE
};

pub struct Fail;

#[async_trait]
impl Module for Fail {
    fn name(&self) -> &'static str {
        "fail"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn controller_only(&self) -> bool {
        true
    }

    async fn query(&self, _cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("fail", args, &SPEC)?;
        let msg = a.get("msg").map(to_text).unwrap_or_else(|| "Failed as requested from task".into());
        let mut result = Map::new();
        result.insert("msg".into(), msg.clone().into());
        Err(ModuleError::Failed { msg, result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{err_text, Harness};
    use serde_json::json;

    #[tokio::test]
    async fn always_fails_with_the_message() {
        let h = Harness::new();
        assert_eq!(err_text(h.query(&Fail, json!({"msg": "boom"})).await), "boom");
        assert_eq!(err_text(h.query(&Fail, json!({})).await), "Failed as requested from task");
        let e = err_text(h.query(&Fail, json!({"mgs": "x"})).await);
        assert_eq!(e, "Unsupported parameters for (fail) module: mgs. Supported parameters include: msg.");
    }
}
