//! `pause`: wait a while. troupe runs without a terminal, so prompts are refused. As in
//! Ansible it runs once per play batch (not per host), and waits in check mode too.

use std::time::{Instant, SystemTime};

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::clock::timestamp;
use super::{Ctx, Map, Module, ModuleError, Query};

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::float("seconds", "how long to pause"),
        Opt::float("minutes", "how long to pause, in minutes"),
        Opt::str("prompt", "text to show (an interactive prompt is not supported)"),
        Opt::bool("echo", "echo what is typed at the prompt").default("true"),
    ]],
    ..ArgSpec::NONE
};

pub struct Pause;

#[async_trait]
impl Module for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn controller_only(&self) -> bool {
        true
    }

    fn bypass_host_loop(&self) -> bool {
        true
    }

    fn announce(&self, args: &Map) -> Option<String> {
        let (secs, _) = duration(&Args::any_names("pause", args)).ok()?;
        Some(format!("Pausing for {} seconds", whole_or_fraction(secs)))
    }

    async fn query(&self, _cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("pause", args, &SPEC)?;
        a.bool("echo", true)?;
        let (secs, unit) = duration(&a)?;
        let start = SystemTime::now();
        let began = Instant::now();
        let wait = crate::limits::wait(secs).map_err(|e| a.error(format!("the pause {e}")))?;
        tokio::time::sleep(wait).await;
        let took = began.elapsed().as_secs_f64();
        let shown = if unit == "minutes" { took / 60.0 } else { took };
        Ok(Query::ok()
            .with("start", timestamp(start))
            .with("stop", timestamp(SystemTime::now()))
            .with("delta", took as u64)
            .with("echo", a.bool("echo", true)?)
            .with("rc", 0)
            .with("stderr", "")
            .with("stdout", format!("Paused for {:?} {unit}", (shown * 100.0).round() / 100.0))
            .with("user_input", ""))
    }
}

/// How long to wait, in seconds, and the unit the user wrote (Ansible reports in that unit).
fn duration(a: &Args) -> Result<(f64, &'static str), ModuleError> {
    match (a.number("seconds")?, a.number("minutes")?) {
        (Some(_), Some(_)) => Err(a.error("`seconds` and `minutes` are mutually exclusive")),
        (Some(s), None) => Ok((s, "seconds")),
        (None, Some(m)) => Ok((m * 60.0, "minutes")),
        (None, None) => Err(a.error(
            "waiting for a key press needs a terminal, and troupe runs non-interactively; \
             give `seconds` or `minutes`",
        )),
    }
}

/// `5` for whole seconds (Ansible's `%d`), `0.5` for the fractions troupe also accepts.
fn whole_or_fraction(secs: f64) -> String {
    if secs.fract() == 0.0 && secs < u64::MAX as f64 {
        format!("{}", secs as u64)
    } else {
        format!("{secs}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{err_text, Harness};
    use serde_json::json;
    use std::time::Duration;

    #[tokio::test]
    async fn sleeps_and_reports() {
        let h = Harness::new();
        let began = Instant::now();
        let (changed, r) = h.run(&Pause, json!({"seconds": "0.2"})).await.unwrap();
        assert!(began.elapsed() >= Duration::from_millis(200));
        assert!(!changed);
        let stdout = r.get("stdout").and_then(|v| v.as_str()).unwrap_or_default();
        assert!(stdout.starts_with("Paused for 0.2") && stdout.ends_with(" seconds"), "{stdout}");
    }

    #[test]
    fn announces_the_wait_like_ansible() {
        let args = |v: serde_json::Value| crate::modules::testutil::to_map(v);
        assert_eq!(Pause.announce(&args(json!({"seconds": "5"}))).as_deref(), Some("Pausing for 5 seconds"));
        assert_eq!(Pause.announce(&args(json!({"minutes": 2}))).as_deref(), Some("Pausing for 120 seconds"));
        assert_eq!(Pause.announce(&args(json!({"seconds": 0.5}))).as_deref(), Some("Pausing for 0.5 seconds"));
        assert_eq!(Pause.announce(&args(json!({"prompt": "go?"}))), None, "refused later by query");
        assert!(Pause.bypass_host_loop());
    }

    #[tokio::test]
    async fn minutes_are_reported_in_minutes() {
        let (_, r) = Harness::new().run(&Pause, json!({"minutes": "0"})).await.unwrap();
        assert_eq!(r.get("stdout"), Some(&json!("Paused for 0.0 minutes")));
    }

    #[tokio::test]
    async fn prompts_are_refused() {
        let h = Harness::new();
        let e = err_text(h.run(&Pause, json!({"prompt": "Press enter"})).await);
        assert!(e.contains("non-interactively"), "{e}");
        let e = err_text(h.run(&Pause, json!({"seconds": -1})).await);
        assert!(e.contains("non-negative"), "{e}");
    }
}
