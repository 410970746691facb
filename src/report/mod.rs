//! All terminal output goes through one [`Reporter`]: workers send events, the reporter
//! prints whole lines under one lock, so output from many hosts never interleaves.

pub mod masked;
mod progress;
mod recap;
mod shown;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::Mutex;

use crate::modules::Diff;
use crate::value::json::{dumps, JsonStyle};
use crate::value::{Map, Value};

pub use recap::Stats;
pub use shown::clean_debug;

use progress::Progress;

/// How one task ended on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

/// What happened to one task on one host (or one loop item).
#[derive(Debug, Clone)]
pub struct HostResult {
    pub host: String,
    pub delegate: Option<String>,
    pub status: Status,
    /// Loop item label, for per-item lines.
    pub item: Option<String>,
    /// The task's result (masked already when `no_log`).
    pub result: Map,
    pub diff: Option<Diff>,
    /// Failed but `ignore_errors` applied.
    pub ignored: bool,
    /// Print the result even without -v, indented (an `ok` debug).
    pub show: bool,
    /// A failure's `[ERROR]: Task failed: ...` block with its origin, printed before it (2.19).
    pub origin: Option<String>,
}

pub const NO_LOG_MSG: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

pub struct Reporter {
    verbosity: u8,
    /// `ANSIBLE_DEBUG`: print [`Reporter::debug`] lines.
    debug: bool,
    state: Mutex<State>,
}

struct State {
    /// By host name: the recap lists hosts sorted, as Ansible does.
    stats: BTreeMap<String, Stats>,
    progress: Progress,
    /// Warnings already printed: like Ansible, each text is shown once per run.
    warned: HashSet<String>,
}

impl Reporter {
    pub fn new(verbosity: u8) -> Reporter {
        let progress = Progress::detect();
        let state = State { stats: BTreeMap::new(), progress, warned: HashSet::new() };
        Reporter { verbosity, debug: false, state: Mutex::new(state) }
    }

    /// With `ANSIBLE_DEBUG` on, [`Reporter::debug`] lines are printed.
    pub fn with_debug(mut self, debug: bool) -> Reporter {
        self.debug = debug;
        self
    }

    /// A debug line, as Ansible's `display.debug` writes it (`  PID TIME: text` on stdout).
    /// Ansible prints thousands; troupe only those of its handler flushes.
    pub fn debug(&self, text: &str) {
        if !self.debug {
            return;
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        self.line(&format!("{:6} {:.5}: {text}", std::process::id(), now.as_secs_f64()));
    }

    pub fn verbosity(&self) -> u8 {
        self.verbosity
    }

    fn print(&self, state: &State, text: &str) {
        state.progress.suspend(|| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        });
    }

    pub fn line(&self, text: &str) {
        let state = self.lock();
        self.print(&state, text);
    }

    /// `[WARNING]: text` on stderr, unless the same text was warned about already.
    pub fn warn(&self, text: &str) {
        let mut state = self.lock();
        Self::warn_once(&mut state, text);
    }

    fn warn_once(state: &mut State, text: &str) {
        if state.warned.insert(text.to_string()) {
            state.progress.suspend(|| eprintln!("[WARNING]: {text}"));
        }
    }

    /// A rendered diagnostic that ends the run, on stderr.
    pub fn error(&self, text: &str) {
        let state = self.lock();
        state.progress.suspend(|| eprint!("{text}"));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A playbook starts: with -vv, its name and number of plays, as ansible-playbook prints them.
    pub fn playbook(&self, path: &std::path::Path, plays: usize) {
        if self.verbosity > 1 {
            let base = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            self.line(&banner(&format!("PLAYBOOK: {base}")));
            self.line(&format!("{plays} plays in {}", path.display()));
        }
    }

    pub fn play(&self, name: &str) {
        self.line(&banner(&format!("PLAY [{name}]")));
    }

    /// A task starts on `hosts` hosts.
    pub fn task(&self, title: &str, name: &str, hosts: usize) {
        let mut state = self.lock();
        self.print(&state, &banner(&format!("{title} [{name}]")));
        state.progress.task(name, hosts);
    }

    /// `host` is running a task until the guard is dropped (shown in the progress display).
    pub fn running<'a>(&'a self, host: &'a str) -> Running<'a> {
        self.lock().progress.start(host);
        Running { reporter: self, host }
    }

    /// One host's (or item's) outcome; `count` says whether it goes into the recap.
    pub fn result(&self, r: &HostResult, count: bool) {
        let mut state = self.lock();
        if count {
            let s = state.stats.entry(r.host.clone()).or_default();
            s.count(r.status, r.ignored);
            // An ignored failure that changed something counts as changed too (Ansible's recap).
            if r.ignored && r.result.get("changed") == Some(&Value::Bool(true)) {
                s.changed += 1;
            }
            state.progress.inc();
        }
        // A result's own warnings come just before its line, as in Ansible.
        for w in shown::warnings(&r.result) {
            Self::warn_once(&mut state, &w);
        }
        let text = self.format(r);
        self.print(&state, &text);
    }

    /// Count a result in the recap without printing it (loop totals).
    pub fn count_only(&self, r: &HostResult) {
        let mut state = self.lock();
        state.stats.entry(r.host.clone()).or_default().count(r.status, r.ignored);
        state.progress.inc();
    }

    /// Count one ok for `host` (an include that loaded).
    pub fn count_ok(&self, host: &str) {
        let mut state = self.lock();
        state.stats.entry(host.to_string()).or_default().count(Status::Ok, false);
        state.progress.inc();
    }

    /// A host was rescued by a `rescue` section (counts `rescued`, clears the failure).
    pub fn rescued(&self, host: &str) {
        let mut state = self.lock();
        let s = state.stats.entry(host.to_string()).or_default();
        s.rescued += 1;
        s.failed = s.failed.saturating_sub(1);
    }

    fn format(&self, r: &HostResult) -> String {
        let who = match &r.delegate {
            Some(d) if d != &r.host => format!("[{} -> {}]", r.host, d),
            _ => format!("[{}]", r.host),
        };
        let item = r.item.as_ref().map(|i| format!(" (item={i})")).unwrap_or_default();
        let mut text = String::new();
        if let (Status::Failed, Some(origin)) = (r.status, &r.origin) {
            text.push_str(origin);
        }
        if let Some(diff) = &r.diff {
            text.push_str(&render_diff(diff));
        }
        let verbose = self.verbosity > 0 || r.show;
        let body = || dump_result(&shown::shown_result(r, self.verbosity), self.verbosity, r.show);
        let line = match r.status {
            Status::Ok | Status::Changed | Status::Skipped => {
                let word = match r.status {
                    Status::Ok => "ok",
                    Status::Changed => "changed",
                    _ => "skipping",
                };
                // Ansible ends a skipped item's label with a space, before any ` => {...}`.
                let item = if r.status == Status::Skipped { format!("{item} ") } else { item };
                match (&r.item, verbose) {
                    (Some(_), true) => format!("{word}: {who} =>{item} => {}", body()),
                    (Some(_), false) => format!("{word}: {who} =>{item}"),
                    (None, true) => format!("{word}: {who} => {}", body()),
                    (None, false) => format!("{word}: {who}"),
                }
            }
            Status::Failed if r.item.is_some() => format!("failed: {who}{item} => {}", body()),
            Status::Failed => format!("fatal: {who}: FAILED! => {}", body()),
            Status::Unreachable => format!("fatal: {who}: UNREACHABLE! => {}", body()),
        };
        text.push_str(&line);
        if r.ignored {
            text.push_str("\n...ignoring");
        }
        text
    }

    /// The `PLAY RECAP` table; returns the stats for the exit code.
    pub fn recap(&self) -> BTreeMap<String, Stats> {
        let state = self.lock();
        state.progress.finish();
        self.print(&state, &recap_text(&state.stats));
        state.stats.clone()
    }
}

/// A host shown as running in the progress display while this lives.
pub struct Running<'a> {
    reporter: &'a Reporter,
    host: &'a str,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.reporter.lock().progress.stop(self.host);
    }
}

/// A result as Ansible's default callback prints it: Python-style JSON with sorted keys, on one
/// line (so a multi-line `msg` shows as `\n` escapes, once), or indented by 4 for results shown
/// always (`debug`) and at -vvv.
pub fn dump_result(result: &Map, verbosity: u8, verbose_always: bool) -> String {
    let indent = (verbose_always || verbosity >= 3).then_some(4);
    let style = JsonStyle { indent, sort_keys: true, ensure_ascii: false };
    dumps(&Value::Object(result.clone()), style)
}

/// `TITLE ****` padded like Ansible's banners.
pub fn banner(title: &str) -> String {
    let stars = 79usize.saturating_sub(title.len() + 1).max(3);
    format!("\n{title} {}", "*".repeat(stars))
}

/// A unified-style diff of two texts (line based, small inputs).
pub fn render_diff(diff: &Diff) -> String {
    let before: Vec<&str> = diff.before.lines().collect();
    let after: Vec<&str> = diff.after.lines().collect();
    let mut out = format!("--- before: {}\n+++ after: {}\n", diff.path, diff.path);
    // Longest common subsequence table; diffs here are of config-sized files.
    let (n, m) = (before.len(), after.len());
    if n * m > 4_000_000 {
        out.push_str("(diff too large to show)\n");
        return out;
    }
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if before[i] == after[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && before[i] == after[j] {
            out.push_str(&format!(" {}\n", before[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("-{}\n", before[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{}\n", after[j]));
            j += 1;
        }
    }
    out
}

/// The `PLAY RECAP` banner and one line per host, sorted by name (byte order, like
/// Python's `sorted`, which Ansible uses: `h10` before `h9`).
fn recap_text(stats: &BTreeMap<String, Stats>) -> String {
    let mut text = banner("PLAY RECAP");
    for (host, s) in stats {
        text.push('\n');
        text.push_str(&s.line(host));
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_lines() {
        let d = Diff { path: "f".into(), before: "a\nb\nc\n".into(), after: "a\nB\nc\n".into() };
        let text = render_diff(&d);
        assert!(text.contains("-b\n+B\n"), "{text}");
        assert!(text.contains(" a\n"));
    }

    #[test]
    fn results_print_like_ansible() {
        let mut m = Map::new();
        m.insert("msg".into(), Value::from("line one\nline \"two\""));
        m.insert("changed".into(), Value::Bool(false));
        assert_eq!(dump_result(&m, 0, false), r#"{"changed": false, "msg": "line one\nline \"two\""}"#);
        assert_eq!(
            dump_result(&m, 0, true),
            "{\n    \"changed\": false,\n    \"msg\": \"line one\\nline \\\"two\\\"\"\n}"
        );
        assert_eq!(dump_result(&m, 3, false), dump_result(&m, 0, true));
    }

    #[test]
    fn failure_lines_are_one_line_without_failed() {
        let mut result = Map::new();
        result.insert("msg".into(), Value::from("err1\nerr2"));
        result.insert("failed".into(), Value::Bool(true));
        let r = HostResult {
            host: "h1".into(),
            delegate: None,
            status: Status::Failed,
            item: None,
            result,
            diff: None,
            ignored: true,
            show: false,
            origin: None,
        };
        let text = Reporter::new(0).format(&r);
        assert_eq!(text, "fatal: [h1]: FAILED! => {\"changed\": false, \"msg\": \"err1\\nerr2\"}\n...ignoring");
    }

    #[test]
    fn skipped_item_labels_end_with_a_space() {
        let mut result = Map::new();
        result.insert("skipped".into(), Value::Bool(true));
        result.insert("item".into(), Value::from(1));
        let r = HostResult {
            host: "h1".into(),
            delegate: None,
            status: Status::Skipped,
            item: Some("1".into()),
            result,
            diff: None,
            ignored: false,
            show: false,
            origin: None,
        };
        assert_eq!(Reporter::new(0).format(&r), "skipping: [h1] => (item=1) ");
        assert_eq!(Reporter::new(1).format(&r), "skipping: [h1] => (item=1)  => {\"item\": 1}");
        let ok = HostResult { status: Status::Ok, ..r };
        assert_eq!(Reporter::new(1).format(&ok), "ok: [h1] => (item=1) => {\"item\": 1}");
    }

    #[test]
    fn banner_has_stars() {
        assert!(banner("PLAY [x]").starts_with("\nPLAY [x] ***"));
    }

    #[test]
    fn recap_lists_hosts_sorted_by_name() {
        let mut stats = BTreeMap::new();
        for h in ["zeta", "alpha", "h9", "h10"] {
            stats.insert(h.to_string(), Stats::default());
        }
        let text = recap_text(&stats);
        let hosts: Vec<&str> = text.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
        assert_eq!(hosts, ["alpha", "h10", "h9", "zeta"], "{text}");
    }
}
