//! The progress display on a terminal: one bar for all host results of the run, its message the
//! current task and the hosts still running it. Without a terminal (or with `CI` set) it is off
//! and every method does nothing.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Hosts named in the message before the rest are counted as `+N`.
const SHOWN_HOSTS: usize = 4;

pub struct Progress {
    bar: Option<ProgressBar>,
    task: String,
    /// Hosts running the current task, with how many runs each has open.
    running: BTreeMap<String, usize>,
}

impl Progress {
    /// A bar when stdout is a terminal and this is not CI.
    pub fn detect() -> Progress {
        let on = std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
        Progress::new(on)
    }

    pub fn new(on: bool) -> Progress {
        let bar = on.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            // Redraw while a slow task runs, so the clock and the host list stay current.
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress { bar, task: String::new(), running: BTreeMap::new() }
    }

    /// Run `f` with the bar out of the way (printing lines above it).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// A task starts on `hosts` hosts: they add to the total.
    pub fn task(&mut self, name: &str, hosts: usize) {
        self.task = name.to_string();
        if let Some(bar) = &self.bar {
            bar.inc_length(hosts as u64);
        }
        self.refresh();
    }

    pub fn start(&mut self, host: &str) {
        *self.running.entry(host.to_string()).or_default() += 1;
        self.refresh();
    }

    pub fn stop(&mut self, host: &str) {
        if let Some(n) = self.running.get_mut(host) {
            *n -= 1;
            if *n == 0 {
                self.running.remove(host);
            }
        }
        self.refresh();
    }

    /// One host result counted.
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// The bar's message: the task, then the running hosts.
    pub fn message(&self) -> String {
        if self.running.is_empty() {
            return self.task.clone();
        }
        let hosts: Vec<&str> = self.running.keys().take(SHOWN_HOSTS).map(String::as_str).collect();
        let more = self.running.len().saturating_sub(SHOWN_HOSTS);
        let more = if more > 0 { format!(" +{more}") } else { String::new() };
        format!("{} · running: {}{more}", self.task, hosts.join(", "))
    }

    fn refresh(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.message());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_running_hosts_and_counts_the_rest() {
        let mut p = Progress::new(false);
        p.task("install", 6);
        assert_eq!(p.message(), "install");
        for h in ["h6", "h1", "h2", "h3", "h4", "h5"] {
            p.start(h);
        }
        assert_eq!(p.message(), "install · running: h1, h2, h3, h4 +2");
        p.start("h1");
        p.stop("h1");
        p.stop("h2");
        p.stop("h6");
        assert_eq!(p.message(), "install · running: h1, h3, h4, h5");
        for h in ["h1", "h3", "h4", "h5", "unknown"] {
            p.stop(h);
        }
        assert_eq!(p.message(), "install");
    }
}
