//! `pause`: wait a while. troupe runs without a terminal, so prompts are refused.

use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

use super::args::Args;
use super::clock::timestamp;
use super::{Ctx, Map, Module, ModuleError, Query};

pub struct Pause;

#[async_trait]
impl Module for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn controller_only(&self) -> bool {
        true
    }

    async fn query(&self, _cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("pause", args, &["seconds", "minutes", "prompt", "echo"], &[])?;
        a.bool("echo", true)?;
        let secs = match (a.number("seconds")?, a.number("minutes")?) {
            (Some(_), Some(_)) => return Err(a.error("`seconds` and `minutes` are mutually exclusive")),
            (Some(s), None) => s,
            (None, Some(m)) => m * 60.0,
            (None, None) => {
                return Err(a.error(
                    "waiting for a key press needs a terminal, and troupe runs non-interactively; \
                     give `seconds` or `minutes`",
                ))
            }
        };
        let start = SystemTime::now();
        let began = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        let mut q = Query::ok()
            .with("start", timestamp(start))
            .with("stop", timestamp(SystemTime::now()))
            .with("delta", began.elapsed().as_secs())
            .with("echo", a.bool("echo", true)?)
            .with("rc", 0)
            .with("stderr", "")
            .with("stdout", format!("Paused for {secs:?} seconds"))
            .with("user_input", "");
        if secs >= 60.0 && a.has("minutes") {
            q.result.insert("stdout".into(), format!("Paused for {:?} minutes", secs / 60.0).into());
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{err_text, Harness};
    use serde_json::json;

    #[tokio::test]
    async fn sleeps_and_reports() {
        let h = Harness::new();
        let began = Instant::now();
        let (changed, r) = h.run(&Pause, json!({"seconds": "0.2"})).await.unwrap();
        assert!(began.elapsed() >= Duration::from_millis(200));
        assert!(!changed);
        assert_eq!(r.get("stdout"), Some(&json!("Paused for 0.2 seconds")));
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
