//! Per-host counters for the `PLAY RECAP` table.

use super::Status;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

impl Stats {
    /// Count one outcome the way Ansible does (`ok` includes `changed` and ignored failures).
    pub fn count(&mut self, status: Status, ignored: bool) {
        match status {
            Status::Ok => self.ok += 1,
            Status::Changed => {
                self.ok += 1;
                self.changed += 1
            }
            Status::Skipped => self.skipped += 1,
            Status::Failed if ignored => {
                self.ok += 1;
                self.ignored += 1
            }
            Status::Failed => self.failed += 1,
            Status::Unreachable => self.unreachable += 1,
        }
    }

    pub fn line(&self, host: &str) -> String {
        format!(
            "{host:<26} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={}",
            self.ok, self.changed, self.unreachable, self.failed, self.skipped, self.rescued, self.ignored
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_counts_as_ok_too() {
        let mut s = Stats::default();
        s.count(Status::Changed, false);
        s.count(Status::Ok, false);
        s.count(Status::Failed, true);
        assert_eq!((s.ok, s.changed, s.ignored, s.failed), (3, 1, 1, 0), "an ignored failure is ok too");
        assert!(s.line("h1").contains("ok=3"));
    }
}
