//! `dpkg_selections`: a package's dpkg selection (`install`, `hold`, `deinstall`, `purge`),
//! read with `dpkg --get-selections` and set with `dpkg --set-selections` only when it differs;
//! `before`/`after` as Ansible's module returns them.

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::run_ok;
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::Map;

const SELECTIONS: [&str; 4] = ["install", "hold", "deinstall", "purge"];

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("name", "the package").required(),
        Opt::str("selection", "the selection to set").choices(&SELECTIONS).required(),
    ]],
    ..ArgSpec::NONE
};

pub struct DpkgSelections;

/// dpkg's messages in English, whatever the host's locale.
const ENV: &str = "LANG=C LC_ALL=C LC_MESSAGES=C LC_CTYPE=C LANGUAGE=C";

/// The current selection from `dpkg --get-selections NAME` output (`None`: dpkg knows no such
/// package name pattern).
pub fn current(stdout: &str, stderr: &str) -> Option<String> {
    if stderr.contains("no packages found matching") {
        return None;
    }
    Some(stdout.split_whitespace().nth(1).unwrap_or("not present").to_string())
}

#[async_trait]
impl Module for DpkgSelections {
    fn name(&self) -> &'static str {
        "dpkg_selections"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("dpkg_selections", args, &SPEC)?;
        let name = a.req_str("name")?;
        let selection = a.choice("selection", &SELECTIONS)?.unwrap_or("install");
        let script = format!("{ENV} dpkg --get-selections {}", quote(&name));
        let out = run_ok(cx, Cmd::new(script).read_only(), "dpkg --get-selections failed").await?;
        let Some(now) = current(&out.stdout_text(), &out.stderr_text()) else {
            return Err(ModuleError::failed(format!(
                "Failed to find package '{name}' to perform selection '{selection}'."
            )));
        };
        let mut q = Query::ok().with("before", now.clone()).with("after", selection);
        q.changed = now != selection;
        if q.changed {
            q.change = Change::new(format!("{name} {selection}\n"));
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let line: String = q.change.take("dpkg_selections")?;
        let cmd = Cmd::new(format!("{ENV} dpkg --set-selections")).stdin(line.into_bytes());
        run_ok(cx, cmd, "dpkg --set-selections failed").await?;
        Ok(q.result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_selection() {
        assert_eq!(current("bash\t\t\t\t\tinstall\n", ""), Some("install".into()));
        assert_eq!(current("", ""), Some("not present".into()));
        assert_eq!(current("", "dpkg: no packages found matching nope\n"), None);
    }
}
