//! When a failed SSH connection attempt is tried again, and after how long.
//!
//! Ansible retries only when told to (`reconnection_retries`: `ansible_ssh_retries`,
//! `ANSIBLE_SSH_RETRIES`, ansible.cfg `[ssh_connection] retries`; default 0), then any ssh
//! failure, pausing `2^attempt - 1` seconds. troupe does the same, and on top retries a few
//! times by itself when sshd closed the connection before authentication: that is what sshd
//! does when too many handshakes are pending (`MaxStartups`, default `10:30:100`), as with
//! `-f 100` through one bastion or to many inventory names of one machine. No command ran,
//! so trying again is safe; a short random pause spreads the retries out.

use std::time::Duration;

/// Tries troupe adds by itself after a transient failure, whatever `retries` says.
pub const TRANSIENT_RETRIES: u32 = 3;
/// The first pause after a transient failure, before jitter; it doubles per try.
const TRANSIENT_BASE: Duration = Duration::from_millis(200);
/// Ansible's cap on the pause between tries.
const MAX_PAUSE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Closed or reset by the server before authentication: load, not a wrong setup.
    Transient,
    /// Anything else ssh reported (refused, timed out, denied, host key…).
    Other,
}

/// Classify ssh's stderr for a failed connection attempt.
pub fn classify(stderr: &str) -> FailureKind {
    let lower = stderr.to_ascii_lowercase();
    // A server that spoke back about keys or auth made a decision: not load.
    let decided = ["permission denied", "host key", "no matching", "too many authentication failures"];
    if decided.iter().any(|d| lower.contains(d)) {
        return FailureKind::Other;
    }
    let dropped =
        ["kex_exchange_identification", "ssh_exchange_identification", "connection closed by", "connection reset by"];
    if dropped.iter().any(|d| lower.contains(d)) {
        FailureKind::Transient
    } else {
        FailureKind::Other
    }
}

/// The pause before try number `attempt + 2` (after `attempt + 1` failed ones), or `None`
/// when no try is left. `retries` is the configured `reconnection_retries`; `jitter` is a
/// random number in `[0, 1)`.
pub fn next_pause(attempt: u32, kind: FailureKind, retries: Option<u32>, jitter: f64) -> Option<Duration> {
    let configured = retries.unwrap_or(0);
    match kind {
        FailureKind::Transient if attempt < configured.max(TRANSIENT_RETRIES) => {
            let base = TRANSIENT_BASE.saturating_mul(1u32 << attempt.min(16)).min(MAX_PAUSE);
            let nanos = base.as_nanos() as f64 * (0.5 + jitter.clamp(0.0, 1.0));
            Some(Duration::from_nanos(nanos as u64).min(MAX_PAUSE))
        }
        FailureKind::Other if attempt < configured => {
            // Ansible: 0 s, 1 s, 3 s, 7 s, … at most 30 s.
            let secs = (1u64 << attempt.min(16)) - 1;
            Some(Duration::from_secs(secs).min(MAX_PAUSE))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_before_auth_are_transient() {
        for stderr in [
            "kex_exchange_identification: read: Connection reset by peer\r\nConnection reset by 10.0.0.1 port 22",
            "kex_exchange_identification: Connection closed by remote host\r\nConnection closed by 10.0.0.1 port 22",
            "ssh_exchange_identification: Connection closed by remote host",
        ] {
            assert_eq!(classify(stderr), FailureKind::Transient, "{stderr}");
        }
        for stderr in [
            "ssh: connect to host 10.0.0.1 port 22: Connection refused",
            "ssh: connect to host 10.0.0.1 port 22: Connection timed out",
            "root@10.0.0.1: Permission denied (publickey).",
            "Host key verification failed.\r\nConnection closed by 10.0.0.1 port 22",
            "Received disconnect from 10.0.0.1 port 22:2: Too many authentication failures",
            "ssh: Could not resolve hostname nope: Name or service not known",
        ] {
            assert_eq!(classify(stderr), FailureKind::Other, "{stderr}");
        }
    }

    #[test]
    fn transient_failures_retry_a_few_times_with_jittered_growing_pauses() {
        let pauses: Vec<Duration> =
            (0..TRANSIENT_RETRIES).filter_map(|a| next_pause(a, FailureKind::Transient, None, 0.5)).collect();
        assert_eq!(pauses, [Duration::from_millis(200), Duration::from_millis(400), Duration::from_millis(800)]);
        assert_eq!(next_pause(TRANSIENT_RETRIES, FailureKind::Transient, None, 0.5), None);
        // Jitter spreads a pause over [0.5, 1.5) of its base.
        assert_eq!(next_pause(0, FailureKind::Transient, None, 0.0), Some(Duration::from_millis(100)));
        let high = next_pause(0, FailureKind::Transient, None, 0.99).unwrap_or_default();
        assert!(high > Duration::from_millis(297) && high < Duration::from_millis(300), "{high:?}");
        // A larger configured count applies to transient failures too.
        assert!(next_pause(5, FailureKind::Transient, Some(6), 0.5).is_some());
        assert_eq!(next_pause(40, FailureKind::Transient, Some(50), 0.9), Some(MAX_PAUSE));
    }

    #[test]
    fn other_failures_retry_only_when_configured_on_ansibles_schedule() {
        assert_eq!(next_pause(0, FailureKind::Other, None, 0.5), None);
        assert_eq!(next_pause(0, FailureKind::Other, Some(0), 0.5), None);
        let pauses: Vec<u64> =
            (0..6).filter_map(|a| next_pause(a, FailureKind::Other, Some(6), 0.5)).map(|d| d.as_secs()).collect();
        assert_eq!(pauses, [0, 1, 3, 7, 15, 30]);
        assert_eq!(next_pause(6, FailureKind::Other, Some(6), 0.5), None);
    }
}
