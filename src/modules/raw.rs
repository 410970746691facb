//! `raw`: the text runs as a shell command on the host, with no module machinery (it works on
//! a host without Python, as in Ansible). Like Ansible's, it runs in the login user's shell
//! (`$SHELL -c TEXT`, as ssh runs a command), or `/bin/sh` under become, or `EXECUTABLE -c
//! TEXT` when `executable` is given. Always
//! `changed`; skipped in check mode; the `environment` keyword is not applied (Ansible warns
//! and ignores it too).

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::output_result;
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::internal("_raw_params"),
        Opt::str("executable", "the shell to run the text with (`EXECUTABLE -c TEXT`)"),
    ]],
    ..ArgSpec::NONE
};

pub struct Raw;

/// The script the host runs: the text given to `executable`, the login shell, or (under
/// become, where Ansible runs `sudo ... /bin/sh -c`) the subshell that runs every script.
pub fn script(text: &str, executable: Option<&str>, escalated: bool) -> String {
    match executable {
        Some(exe) => format!("exec {} -c {}", quote(exe), quote(text)),
        None if escalated => text.to_string(),
        None => format!("exec \"${{SHELL:-/bin/sh}}\" -c {}", quote(text)),
    }
}

#[async_trait]
impl Module for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("raw", args, &SPEC)?;
        let text = a.str("_raw_params")?.filter(|t| !t.trim().is_empty()).ok_or_else(|| a.error("no command given"))?;
        let exe = a.str("executable")?;
        let mut q = Query::ok();
        if !cx.env.is_empty() {
            q = q.with("warnings", vec![Value::from("raw module does not support the environment keyword")]);
        }
        q.changed = true;
        q.check_skip = true;
        q.change = Change::new(script(&text, exe.as_deref(), cx.escalate.is_some()));
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let script: String = q.change.take("raw")?;
        let mut cmd = Cmd::new(script);
        cmd.escalate = cx.escalate.clone();
        if let Some(ra) = cx.read_ahead {
            ra.cache.note_write();
        }
        let out = cx.conn.exec(&cmd).await?;
        let mut r = q.result;
        r.extend(output_result(&out));
        // Ansible keeps raw's output as it came (no trailing newline dropped).
        r.insert("stdout".into(), out.stdout_text().into());
        r.insert("stderr".into(), out.stderr_text().into());
        r.insert("changed".into(), true.into());
        if out.rc != 0 {
            r.insert("msg".into(), "non-zero return code".into());
            return Err(ModuleError::Failed { msg: "non-zero return code".into(), result: r });
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[test]
    fn the_script() {
        assert_eq!(script("echo hi; exit 3", None, true), "echo hi; exit 3");
        assert_eq!(script("echo hi", None, false), "exec \"${SHELL:-/bin/sh}\" -c 'echo hi'");
        assert_eq!(script("echo $0", Some("/bin/bash"), false), "exec /bin/bash -c 'echo $0'");
    }

    #[tokio::test]
    async fn runs_fails_and_skips_in_check_mode() {
        let mut h = Harness::new();
        let (changed, r) = h.run(&Raw, json!({"_raw_params": "echo hi; echo err >&2"})).await.unwrap();
        assert!(changed);
        assert_eq!(
            (r["rc"].clone(), r["stdout"].clone(), r["stderr"].clone()),
            (json!(0), json!("hi\n"), json!("err\n"))
        );
        assert_eq!(r["stdout_lines"], json!(["hi"]));
        let (_, r) = h.run(&Raw, json!({"_raw_params": "echo $0", "executable": "/bin/bash"})).await.unwrap();
        assert_eq!(r["stdout"], "/bin/bash\n");
        let err = h.run(&Raw, json!({"_raw_params": "echo out; exit 3"})).await.unwrap_err();
        let ModuleError::Failed { msg, result } = err else { panic!("{err}") };
        assert_eq!(
            (msg.as_str(), &result["rc"], &result["stdout"]),
            ("non-zero return code", &json!(3), &json!("out\n"))
        );
        h.check_mode = true;
        let q = h.query(&Raw, json!({"_raw_params": "touch /nonexistent/x"})).await.unwrap();
        assert_eq!(q.step(true), crate::modules::Step::CheckSkipped);
        assert!(h.run(&Raw, json!({})).await.unwrap_err().to_string().contains("no command given"));
    }
}
