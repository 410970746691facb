//! `async_status`: the state of a background job (`async`), read from its result file in
//! `~/.ansible_async/` on the host; `mode: cleanup` removes the file. The result is the job's
//! own (a finished command's `rc`, `stdout`...) with the job keys, as Ansible's action plugin
//! merges them.

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::module_api::job;
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("jid", "the job id (`ansible_job_id` of the async task), or its result file's path").required(),
        Opt::str("mode", "`status`: read the job's state; `cleanup`: remove its result file")
            .default("status")
            .choices(&["status", "cleanup"]),
    ]],
    ..ArgSpec::NONE
};

pub struct AsyncStatus;

/// The shell word for the job's result file (`jid` itself when it is a path, as in Ansible).
fn file_word(jid: &str) -> Result<String, ModuleError> {
    if jid.starts_with('/') {
        Ok(quote(jid))
    } else if job::valid_jid(jid) {
        Ok(format!("{}/{}", job::DIR, quote(jid)))
    } else {
        Err(ModuleError::Args(format!("async_status: `jid` {jid:?} is not a job id")))
    }
}

/// The keys every answer has (Ansible's action plugin starts from these).
fn base(jid: &str) -> Map {
    let mut r = Map::new();
    r.insert("ansible_job_id".into(), jid.into());
    r.insert("finished".into(), false.into());
    r.insert("started".into(), false.into());
    r.insert("stderr".into(), "".into());
    r.insert("stderr_lines".into(), Value::Array(Vec::new()));
    r.insert("stdout".into(), "".into());
    r.insert("stdout_lines".into(), Value::Array(Vec::new()));
    r
}

fn lines(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => Value::Array(s.lines().map(Value::from).collect()),
        _ => Value::Array(Vec::new()),
    }
}

#[async_trait]
impl Module for AsyncStatus {
    fn name(&self) -> &'static str {
        "async_status"
    }
    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("async_status", args, &SPEC)?;
        let jid = a.req_str("jid")?;
        let cleanup = a.str("mode")?.as_deref() == Some("cleanup");
        let f = file_word(&jid)?;
        // Cleanup happens in the query: Ansible reports it unchanged, in check mode too.
        let script = if cleanup {
            format!("f={f}; printf '%s\\n' \"$f\"; [ -e \"$f\" ] || exit 3; rm -f -- \"$f\"")
        } else {
            format!("f={f}; printf '%s\\n' \"$f\"; [ -e \"$f\" ] || exit 3; cat -- \"$f\"")
        };
        let mut cmd = Cmd::new(script);
        cmd.read_only = !cleanup;
        let out = cx.run(cmd).await?;
        let text = out.stdout_text();
        let (path, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        let mut r = base(&jid);
        if out.rc == 3 {
            r.insert(if cleanup { "erased" } else { "results_file" }.into(), path.into());
            r.insert("started".into(), true.into());
            r.insert("finished".into(), true.into());
            r.insert("changed".into(), false.into());
            return Err(ModuleError::Failed { msg: "could not find job".into(), result: r });
        }
        if out.rc != 0 {
            return Err(super::script_out::failed_with(format!("reading the job's file {path} failed"), &out));
        }
        if cleanup {
            r.insert("erased".into(), path.into());
            return Ok(Query { result: r, ..Query::ok() });
        }
        r.insert("results_file".into(), path.into());
        r.insert("started".into(), true.into());
        let data = match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(data)) => data,
            // Not written yet: the job is running.
            _ if body.trim().is_empty() => return Ok(Query { result: r, ..Query::ok() }),
            _ => {
                r.insert("finished".into(), true.into());
                return Err(ModuleError::Failed { msg: format!("Could not parse job output: {body}"), result: r });
            }
        };
        let finished = !data.contains_key("started") || data.get("finished").is_some_and(truthy);
        let has_lines = data.contains_key("stdout_lines");
        for (k, v) in data {
            r.insert(k, v);
        }
        r.insert("started".into(), Value::Bool(r.get("started").is_some_and(truthy)));
        r.insert("finished".into(), Value::Bool(finished));
        if finished {
            r.insert("ansible_job_id".into(), jid.as_str().into());
        }
        if !has_lines {
            r.insert("stdout_lines".into(), lines(r.get("stdout")));
            r.insert("stderr_lines".into(), lines(r.get("stderr")));
        }
        if r.get("failed").is_some_and(truthy) {
            let msg = r.get("msg").map(crate::value::to_text).unwrap_or_else(|| "the job failed".into());
            return Err(ModuleError::Failed { msg, result: r });
        }
        let changed = r.get("changed").is_some_and(truthy);
        Ok(Query { changed, result: r, ..Query::ok() })
    }
}

/// Ansible's truth of a job file's value (old wrappers wrote 0/1).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[tokio::test]
    async fn reads_running_finished_and_missing_jobs_then_cleans_up() {
        let h = Harness::new();
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("j1.1");
        let jid = file.display().to_string();
        std::fs::write(&file, r#"{"started": true, "finished": false, "ansible_job_id": "j1.1"}"#).unwrap();
        let (changed, r) = h.run(&AsyncStatus, json!({"jid": jid})).await.unwrap();
        assert!(!changed);
        assert_eq!((r["started"].clone(), r["finished"].clone()), (json!(true), json!(false)));
        assert_eq!(r["results_file"], json!(jid));

        std::fs::write(&file, r#"{"changed": true, "rc": 0, "stdout": "a\nb", "stderr": "", "msg": ""}"#).unwrap();
        let (changed, r) = h.run(&AsyncStatus, json!({"jid": jid})).await.unwrap();
        assert!(changed);
        assert_eq!(r["finished"], json!(true));
        assert_eq!(r["stdout_lines"], json!(["a", "b"]));

        std::fs::write(&file, r#"{"msg": "Timeout exceeded", "failed": true, "child_pid": 7}"#).unwrap();
        let err = h.run(&AsyncStatus, json!({"jid": jid})).await.unwrap_err();
        assert_eq!(err.to_string(), "Timeout exceeded");

        let (changed, r) = h.run(&AsyncStatus, json!({"jid": jid, "mode": "cleanup"})).await.unwrap();
        assert!(!changed && !file.exists());
        assert_eq!(r["erased"], json!(jid));
        let err = h.run(&AsyncStatus, json!({"jid": jid})).await.unwrap_err();
        assert_eq!(err.to_string(), "could not find job");
        assert!(h.run(&AsyncStatus, json!({"jid": "../x"})).await.is_err());
    }
}
