//! Bounds on what one input can make troupe do. Ansible has few of these and Python turns the
//! rest into exceptions; in Rust an unbounded value panics, overflows the stack or aborts on
//! allocation, so every knob a playbook, inventory or command line turns is checked here.

use std::time::Duration;

/// Nesting depth of YAML documents, blocks, imports and role dependencies. Deep enough for any
/// real playbook (Ansible's own recursion limit is about 1,000 Python frames), shallow enough
/// that recursive loading stays far from the end of a thread's stack.
pub const MAX_NESTING: usize = 256;

/// Nested `include_tasks` / `include_role` at run time (each is a task that runs a list).
pub const MAX_INCLUDE_DEPTH: usize = 128;

/// Hosts one `[a:b]` inventory range may expand to.
pub const MAX_RANGE_HOSTS: u64 = 1_000_000;

/// Nesting of one YAML document (PyYAML, hence Ansible, fails a little past 500 levels).
pub const MAX_YAML_DEPTH: usize = 512;

/// Nodes the aliases of one YAML document may copy (a "billion laughs" file of a few hundred
/// bytes would otherwise build gigabytes).
pub const MAX_YAML_ALIAS_NODES: usize = 1_000_000;

/// Bytes one template expression may build (a string, a padding, a repeated list).
pub const MAX_TEXT: usize = 256 * 1024 * 1024;

/// Items one template value may hold (lists and mappings at any depth).
pub const MAX_ITEMS: usize = 2_000_000;

/// Indent widths of `indent`, `to_json(indent=)`, `to_nice_yaml(indent=)`.
pub const MAX_INDENT: usize = 10_000;

/// Tokio refuses semaphores with more permits than this (it panics).
pub const MAX_PERMITS: usize = tokio::sync::Semaphore::MAX_PERMITS;

/// A wait of `secs` seconds (`delay`, `pause`, `loop_control.pause`), or why it cannot be one.
pub fn wait(secs: f64) -> Result<Duration, String> {
    if secs.is_nan() {
        return Err("is not a number".into());
    }
    if secs < 0.0 {
        return Err(format!("must not be negative (got {secs})"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("is too large (got {secs} seconds)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_checked_not_panics() {
        assert_eq!(wait(1.5), Ok(Duration::from_millis(1500)));
        assert!(wait(-1.0).unwrap_err().contains("negative"));
        assert!(wait(1e20).unwrap_err().contains("too large"));
        assert!(wait(f64::INFINITY).unwrap_err().contains("too large"));
        assert!(wait(f64::NAN).unwrap_err().contains("not a number"));
    }
}
