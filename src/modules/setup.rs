//! `setup`: host facts gathered by one shell command (`crate::facts::host` builds it from
//! `gather_subset` and parses its output).

use async_trait::async_trait;

use crate::connection::Cmd;
use crate::facts::host::{self, Subsets};
use crate::value::Value;

use super::args::IGNORED;
use super::args::{ArgSpec, Args, Opt};
use super::script_out::run_ok;
use super::{Ctx, Map, Module, ModuleError, Query};
use crate::glob::matches as glob_match;

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::list("gather_subset", "accepted; troupe gathers its one set of facts").default("all"),
        Opt::list("filter", "only facts whose names match these shell-style patterns"),
        Opt::int("gather_timeout", IGNORED).default("10"),
        Opt::path("fact_path", IGNORED),
    ]],
    ..ArgSpec::NONE
};

pub struct Setup;

/// `gather_facts` as a task: Ansible's action that runs `setup` (and other fact modules when
/// configured; troupe has the one). `parallel` only matters with several fact modules.
pub struct GatherFacts;

const GATHER_SPEC: ArgSpec =
    ArgSpec { options: &[SPEC.options[0], &[Opt::bool("parallel", IGNORED)]], ..ArgSpec::NONE };

#[async_trait]
impl Module for Setup {
    fn name(&self) -> &'static str {
        "setup"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("setup", args, &SPEC)?;
        let filter = a.list("filter")?.unwrap_or_default();
        let asked = a.list("gather_subset")?.unwrap_or_else(|| vec!["all".to_string()]);
        let subsets = Subsets::parse(&asked).map_err(|e| a.error(e))?;
        let out = run_ok(cx, Cmd::new(subsets.script()), "gathering facts failed").await?.stdout_text();
        let mut facts = host::parse(&out, &subsets);
        if !filter.is_empty() {
            facts.retain(|k, _| filter.iter().any(|p| glob_match(p, k)));
        }
        facts.insert("gather_subset".into(), Value::from(asked.into_iter().map(Value::String).collect::<Vec<_>>()));
        facts.insert("module_setup".into(), Value::Bool(true));
        Ok(Query::ok().with_facts(facts))
    }
}

#[async_trait]
impl Module for GatherFacts {
    fn name(&self) -> &'static str {
        "gather_facts"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&GATHER_SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        Args::parse("gather_facts", args, &GATHER_SPEC)?;
        let mut args = args.clone();
        args.remove("parallel");
        Setup.query(cx, &args).await
    }
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
