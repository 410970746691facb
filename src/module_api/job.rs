//! Background jobs on the host (`async`), kept as Ansible keeps them: each job's result file is
//! `~/.ansible_async/<jid>` (of the user the task runs as), holding
//! `{"started": true, "finished": false, ...}` while it runs and the module's JSON result once
//! it is done, so `async_status` (troupe's or Ansible's) reads it.

use crate::connection::{quote, Cmd};
use crate::value::Map;

/// The folder of the result files, as the remote shell expands it.
pub const DIR: &str = "~/.ansible_async";

/// What a module runs as one background job: the command `apply` would run, and the result
/// fields known before it runs (`cmd`).
pub struct Job {
    pub cmd: Cmd,
    pub known: Map,
    /// Strip trailing newlines from stdout and stderr (command's `strip_empty_ends`).
    pub strip: bool,
}

/// A new job id, in Ansible's form (`j<12 digits>.<pid>`).
pub fn new_jid() -> String {
    format!("j{:012}.{}", rand::random::<u64>() % 1_000_000_000_000, std::process::id())
}

/// A job id names one file in [`DIR`]: no path separators, nothing the shell would expand.
pub fn valid_jid(jid: &str) -> bool {
    !jid.is_empty()
        && jid != "."
        && jid != ".."
        && jid.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The job's runner on the host: it writes the result file when the command ends, or
/// Ansible's "Timeout exceeded" result when the command outlives `limit` seconds (its process
/// group is killed). Arguments: result file, limit, strip (0/1), the command script; the
/// known fields come in `__j_known` (JSON members).
const RUNNER: &str = r#"f=$1 limit=$2 strip=$3 script=$4 known=$__j_known; unset __j_known
ss=; command -v setsid >/dev/null 2>&1 && ss=setsid
ns() { t=$(date +%s%N); case $t in *[!0-9]*) t=$(($(date +%s) * 1000000000)) ;; esac; echo "$t"; }
start=$(date '+%Y-%m-%d %H:%M:%S.%6N'); t0=$(ns)
$ss /bin/sh -c "$script" <&0 >"$f.out" 2>"$f.err" &
c=$!
( sleep "$limit" & s=$!; trap 'kill $s 2>/dev/null; exit 0' TERM; wait $s
  : >"$f.killed"; kill -KILL -- -"$c" 2>/dev/null || kill -KILL "$c" 2>/dev/null ) &
w=$!
wait "$c"; rc=$?
kill "$w" 2>/dev/null; wait "$w" 2>/dev/null
if [ -e "$f.killed" ]; then
  printf '{"msg": "Timeout exceeded", "failed": true, "child_pid": %s}\n' "$c" >"$f.tmp"
else
  end=$(date '+%Y-%m-%d %H:%M:%S.%6N'); t1=$(ns)
  printf x >>"$f.out"; printf x >>"$f.err"
  __j_known=$known J_RC=$rc J_STRIP=$strip J_START=$start J_END=$end J_NS=$((t1 - t0)) J_OUT=$f.out J_ERR=$f.err awk '
  function slurp(p,   l, s, n) { s = ""; n = 0; while ((getline l < p) > 0) s = (n++ ? s "\n" : "") l; close(p); sub(/x$/, "", s); if (ENVIRON["J_STRIP"] == 1) sub(/[\r\n]+$/, "", s); return s }
  function esc(s,   i) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); gsub(/\r/, "\\r", s); gsub(/\n/, "\\n", s)
    for (i = 1; i < 32; i++) if (i != 9 && i != 10 && i != 13) gsub(sprintf("%c", i), sprintf("\\u%04x", i), s); return "\"" s "\"" }
  BEGIN { rc = ENVIRON["J_RC"] + 0; us = int(ENVIRON["J_NS"] / 1000); sec = int(us / 1000000)
    delta = sprintf("%d:%02d:%02d.%06d", int(sec / 3600), int(sec % 3600 / 60), sec % 60, us % 1000000)
    printf "{\"changed\": true, \"stdout\": %s, \"stderr\": %s, \"rc\": %d, %s, \"start\": %s, \"end\": %s, \"delta\": %s, ", esc(slurp(ENVIRON["J_OUT"])), esc(slurp(ENVIRON["J_ERR"])), rc, ENVIRON["__j_known"], esc(ENVIRON["J_START"]), esc(ENVIRON["J_END"]), esc(delta)
    if (rc != 0) printf "\"failed\": true, \"msg\": \"non-zero return code\"}\n"; else printf "\"msg\": \"\"}\n" }' >"$f.tmp"
fi
mv -f "$f.tmp" "$f"; rm -f "$f.out" "$f.err" "$f.killed""#;

/// The script that starts `job` in the background, detached from the connection, and prints
/// the result file's path. Its stdin (the command's) passes to the job.
pub fn launch(jid: &str, limit: u64, job: &Job) -> String {
    let members = serde_json::to_string(&job.known).unwrap_or_else(|_| "{}".into());
    let members = members.trim_start_matches('{').trim_end_matches('}');
    let members = if members.is_empty() { "\"_\": null".to_string() } else { members.to_string() };
    format!(
        "__j_d={DIR}; mkdir -p \"$__j_d\" || exit 1\n__j_f=\"$__j_d\"/{jid}\n\
         printf '{{\"started\": true, \"finished\": false, \"ansible_job_id\": \"%s\"}}\\n' {jid} >\"$__j_f\" || exit 1\n\
         __j_ss=; command -v setsid >/dev/null 2>&1 && __j_ss=setsid\n\
         __j_known={members} $__j_ss /bin/sh -c {runner} sh \"$__j_f\" {limit} {strip} {script} <&0 >/dev/null 2>&1 &\n\
         printf '%s\\n' \"$__j_f\"",
        jid = quote(jid),
        members = quote(&members),
        runner = quote(RUNNER),
        strip = u8::from(job.strip),
        script = quote(&job.cmd.script),
    )
}

/// The script that writes a finished job's result (read on stdin) and prints the file's path.
pub fn write_result(jid: &str) -> String {
    format!(
        "__j_d={DIR}; mkdir -p \"$__j_d\" || exit 1\n__j_f=\"$__j_d\"/{jid}\n\
         cat >\"$__j_f.tmp\" && mv -f \"$__j_f.tmp\" \"$__j_f\" && printf '%s\\n' \"$__j_f\"",
        jid = quote(jid)
    )
}

/// The path of a job's result file, expanded on the host.
pub fn path(jid: &str) -> String {
    format!("printf '%s\\n' {DIR}/{}", quote(jid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_ansibles_and_stay_inside_the_folder() {
        let jid = new_jid();
        assert!(jid.starts_with('j') && jid.contains('.') && valid_jid(&jid), "{jid}");
        assert_eq!(jid.split('.').next().unwrap().len(), 13);
        for bad in ["", "..", "a/b", "$(x)", "a b"] {
            assert!(!valid_jid(bad), "{bad}");
        }
    }

    #[test]
    fn the_launcher_passes_the_script_quoted_and_detaches() {
        let mut known = Map::new();
        known.insert("cmd".into(), "echo 'hi'".into());
        let job = Job { cmd: Cmd::new("exec /bin/sh -c 'echo hi'"), known, strip: true };
        let s = launch("j1.2", 30, &job);
        assert!(s.contains(">/dev/null 2>&1 &"), "{s}");
        assert!(s.contains(" 30 1 "), "{s}");
        assert!(s.contains(&quote("\"cmd\":\"echo 'hi'\"")), "{s}");
    }
}
