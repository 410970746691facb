//! Process limits that `--forks` runs into: each open host holds a few file descriptors
//! (control-socket connections and the pipes of its remote shell), and the usual soft limit
//! of 1024 is too low for a few hundred hosts at once.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// File descriptors one connected host keeps open, measured with some room to spare.
pub const FDS_PER_HOST: u64 = 8;
/// Descriptors the rest of the run needs (runtime, inventory and playbook files, stdio).
const FDS_BASE: u64 = 64;
/// How far the soft limit is raised at most: enough for thousands of hosts, small enough
/// that the ssh processes that inherit it don't pay for a huge descriptor table.
const NOFILE_CAP: u64 = 1 << 16;

/// Raise the soft `RLIMIT_NOFILE` towards the hard one (the kernel allows this unprivileged).
/// Returns a warning when the limit still is too low for `forks` hosts at once.
pub fn raise_open_files(forks: usize) -> Option<String> {
    let limit = getrlimit(Resource::Nofile);
    let mut soft = limit.current;
    if let Some(target) = raised_soft_limit(limit.current, limit.maximum) {
        if setrlimit(Resource::Nofile, Rlimit { current: Some(target), maximum: limit.maximum }).is_ok() {
            soft = Some(target);
        }
    }
    too_few_files(soft, forks)
}

/// The soft limit to set, or `None` when it is high enough already (`None` = unlimited).
pub fn raised_soft_limit(current: Option<u64>, maximum: Option<u64>) -> Option<u64> {
    let target = maximum.map_or(NOFILE_CAP, |m| m.min(NOFILE_CAP));
    match current {
        Some(c) if c < target => Some(target),
        _ => None,
    }
}

/// A warning when `soft` descriptors can't serve `forks` hosts at once.
pub fn too_few_files(soft: Option<u64>, forks: usize) -> Option<String> {
    let soft = soft?;
    let need = FDS_BASE.saturating_add(FDS_PER_HOST.saturating_mul(forks as u64));
    (soft < need).then(|| {
        format!(
            "--forks {forks} needs about {need} open files but this process may open only {soft}; \
             hosts may fail with \"Too many open files\". Raise it with \
             `ulimit -n {need}` (or LimitNOFILE= in a systemd unit), or use fewer forks"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limit_rises_to_hard_limit_capped() {
        assert_eq!(raised_soft_limit(Some(1024), Some(524_288)), Some(NOFILE_CAP));
        assert_eq!(raised_soft_limit(Some(1024), Some(4096)), Some(4096));
        assert_eq!(raised_soft_limit(Some(1024), None), Some(NOFILE_CAP));
        assert_eq!(raised_soft_limit(Some(4096), Some(4096)), None);
        assert_eq!(raised_soft_limit(Some(100_000), Some(200_000)), None);
        assert_eq!(raised_soft_limit(None, None), None);
    }

    #[test]
    fn warns_only_when_forks_outgrow_the_limit() {
        assert_eq!(too_few_files(Some(1024), 100), None);
        assert_eq!(too_few_files(None, 100_000), None);
        let w = too_few_files(Some(1024), 500).unwrap_or_default();
        assert!(w.contains("--forks 500 needs about 4064 open files") && w.contains("ulimit -n 4064"), "{w}");
    }
}
