//! How long a task's action may take (the `timeout` keyword) and background jobs (`async`,
//! `poll`), as Ansible runs them:
//! - `poll: 0` starts the job and moves on. A module that can hand its work over as one host
//!   command (command, shell) runs it detached on the host, which writes the result file when it
//!   ends; any other module runs to its end first and then writes the file (the task result is
//!   the same, started and not yet collected).
//! - `poll: N` waits for the job (up to `async` seconds, printing `ASYNC POLL` every N s), then
//!   gives the module's result with the job's keys; past `async` seconds the job is killed.
//! - `timeout: N` stops the action after N s (its commands are killed) and fails the task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::connection::Cmd;
use crate::module_api::job;
use crate::modules::{self, Ctx, Module};
use crate::playbook::Task;
use crate::report::Status;
use crate::template::TemplateError;
use crate::value::{to_text, Map, Value};
use crate::vars::Scope;

use super::frame::Frame;
use super::outcome::{failure, module_failure, ItemOutcome};
use super::result::TaskResult;
use super::Runner;

/// Ansible's `DEFAULT_POLL_INTERVAL` (`ANSIBLE_POLL_INTERVAL`).
fn default_poll() -> u64 {
    std::env::var("ANSIBLE_POLL_INTERVAL").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(15)
}

/// A task's `async` and `poll`.
#[derive(Debug, Clone, Copy)]
pub(super) struct JobKeywords {
    /// Seconds the job may run.
    pub limit: u64,
    /// Seconds between checks; 0: start it and move on.
    pub poll: u64,
}

/// Extra time the engine gives a module past its deadline, for its commands' own timeouts
/// (which kill them on the host) to fire first.
const GRACE: Duration = Duration::from_secs(3);

/// `timeout` keyword: the message and result Ansible gives.
fn timed_out(secs: u64) -> ItemOutcome {
    let mut r = TaskResult::failed(format!("Task failed: Timed out after {secs} second(s)."));
    r.changed = Some(false);
    r.set(
        "timedout".into(),
        serde_json::json!({"frame": "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.", "period": secs}),
    );
    ItemOutcome::new(Status::Failed, r)
}

/// A whole number of seconds from a keyword's (maybe templated) value.
fn seconds(v: &Value, key: &str, task: &Task, scope: &Arc<Scope>) -> Result<u64, TemplateError> {
    let text = to_text(&scope.render_value(v)?);
    text.trim().parse::<u64>().map_err(|_| {
        TemplateError::new(
            &to_text(v),
            format!("`{key}` must be a whole number of seconds, got {text:?} (task at {})", task.span),
        )
    })
}

impl Runner {
    /// The task's `timeout` (inherited from its blocks and play), in seconds; 0 is none.
    pub(super) fn task_timeout(
        &self,
        task: &Task,
        frame: &Frame,
        scope: &Arc<Scope>,
    ) -> Result<Option<u64>, TemplateError> {
        match frame.get(Some(task), |a| a.timeout.clone()) {
            Some(v) => Ok(Some(seconds(&v, "timeout", task, scope)?).filter(|s| *s > 0)),
            None => Ok(None),
        }
    }

    /// The task's `async` and `poll`; `None` unless `async` is more than 0.
    pub(super) fn job_keywords(&self, task: &Task, scope: &Arc<Scope>) -> Result<Option<JobKeywords>, TemplateError> {
        let limit = match &task.async_ {
            Some(v) => seconds(v, "async", task, scope)?,
            None => 0,
        };
        if limit == 0 {
            return Ok(None);
        }
        let poll = match &task.poll {
            Some(v) => seconds(v, "poll", task, scope)?,
            None => default_poll(),
        };
        Ok(Some(JobKeywords { limit, poll }))
    }

    /// The action under its deadline: a failure once the deadline passed is the timeout's.
    pub(super) async fn within_timeout<F>(&self, secs: Option<u64>, deadline: Option<Instant>, run: F) -> ItemOutcome
    where
        F: std::future::Future<Output = ItemOutcome>,
    {
        let (Some(secs), Some(deadline)) = (secs, deadline) else { return run.await };
        match tokio::time::timeout_at((deadline + GRACE).into(), run).await {
            Ok(out) if out.status == Status::Failed || out.status == Status::Unreachable => {
                if Instant::now() >= deadline {
                    timed_out(secs)
                } else {
                    out
                }
            }
            Ok(out) => out,
            Err(_) => timed_out(secs),
        }
    }

    /// An `async` task: started in the background (`poll: 0`) or waited for.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_job(
        &self,
        module: &dyn Module,
        cx: &Ctx<'_>,
        args: &Map,
        check: bool,
        diff: bool,
        kw: JobKeywords,
    ) -> ItemOutcome {
        let jid = job::new_jid();
        if kw.poll == 0 {
            return self.start_job(module, cx, args, check, diff, kw, &jid).await;
        }
        let file = match cx.run(Cmd::new(job::path(&jid)).read_only()).await {
            Ok(o) => o.stdout_text().trim().to_string(),
            Err(e) => return module_failure(e.into()),
        };
        let ticks = async {
            let every = Duration::from_secs(kw.poll);
            loop {
                tokio::time::sleep(every).await;
                self.reporter.line(&format!("ASYNC POLL on {}: jid={jid} started=True finished=False", cx.host));
            }
        };
        // The same deadline the module's commands stop at (set with the context), so a
        // command cut off there always reads as the job's timeout.
        let deadline = cx.deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(kw.limit));
        let run = self.query_apply(module, cx, args, check, diff);
        let mut out = tokio::select! {
            out = tokio::time::timeout_at((deadline + GRACE).into(), run) => match out {
                Ok(out) if out.status != Status::Failed || Instant::now() < deadline => out,
                _ => ItemOutcome::new(Status::Failed, TaskResult::module_failed(
                    [("changed".to_string(), Value::Bool(false))].into_iter().collect(),
                    "Timeout exceeded".into(),
                )),
            },
            _ = ticks => unreachable!("the poll ticks never end"),
        };
        if out.status == Status::Unreachable {
            return out;
        }
        let word = if out.status == Status::Failed { "FAILED" } else { "OK" };
        self.reporter.line(&format!("ASYNC {word} on {}: jid={jid}", cx.host));
        for (k, v) in [
            ("ansible_job_id", Value::from(jid.clone())),
            ("finished", Value::Bool(true)),
            ("results_file", Value::from(file)),
            ("started", Value::Bool(true)),
        ] {
            out.result.set(k.into(), v);
        }
        for k in ["stdout", "stderr"] {
            if !out.result.extra.contains_key(k) {
                out.result.set(k.into(), Value::from(""));
                out.result.set(format!("{k}_lines"), Value::Array(Vec::new()));
            }
        }
        out
    }

    /// `poll: 0`: start the job and answer as Ansible's async wrapper does.
    #[allow(clippy::too_many_arguments)]
    async fn start_job(
        &self,
        module: &dyn Module,
        cx: &Ctx<'_>,
        args: &Map,
        check: bool,
        diff: bool,
        kw: JobKeywords,
        jid: &str,
    ) -> ItemOutcome {
        let mut query = match module.query(cx, args).await {
            Ok(q) => q,
            Err(e) => return module_failure(e),
        };
        let detached = match query.step(check) {
            modules::Step::Apply => module.job(&mut query),
            _ => None,
        };
        let file = match detached {
            Some(Ok(j)) => {
                let mut cmd = j.cmd.clone();
                cmd.script = job::launch(jid, kw.limit, &j);
                self.prefetch.note_write();
                match cx.run(cmd).await {
                    Ok(o) if o.rc == 0 => o.stdout_text().trim().to_string(),
                    Ok(o) => {
                        return failure(format!("could not start the job on the host: {}", o.stderr_text().trim()))
                    }
                    Err(e) => return module_failure(e.into()),
                }
            }
            Some(Err(e)) => return module_failure(e),
            None => {
                // Run here and now; the job's file then holds the finished result.
                let out = self.settle(module, cx, args, query, check, diff).await;
                if out.status == Status::Unreachable {
                    return out;
                }
                let mut done = out.result.to_map();
                done.insert("changed".into(), Value::Bool(out.status == Status::Changed));
                let json = serde_json::to_vec(&done).unwrap_or_default();
                match cx.run(Cmd::new(job::write_result(jid)).stdin(json)).await {
                    Ok(o) if o.rc == 0 => o.stdout_text().trim().to_string(),
                    Ok(o) => {
                        return failure(format!(
                            "could not write the job's result on the host: {}",
                            o.stderr_text().trim()
                        ))
                    }
                    Err(e) => return module_failure(e.into()),
                }
            }
        };
        let mut r = Map::new();
        r.insert("ansible_job_id".into(), Value::from(jid));
        r.insert("changed".into(), Value::Bool(true));
        r.insert("failed".into(), Value::Bool(false));
        r.insert("finished".into(), Value::Bool(false));
        r.insert("results_file".into(), Value::from(file));
        r.insert("started".into(), Value::Bool(true));
        ItemOutcome::new(Status::Changed, TaskResult::from_module(r))
    }
}
