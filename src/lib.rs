//! troupe: Ansible-style playbooks, run fast and safely.
//!
//! Stages, in order: cli → load (inventory, playbook) → plan → connect/execute → report.

pub mod cli;
pub mod connection;
pub mod error;
pub mod inventory;
pub mod modules;
pub mod plan;
pub mod playbook;
pub mod report;
pub mod template;
pub mod vars;
pub mod value;
pub mod yaml;

/// Entry point for the binary: returns the process exit code.
pub fn main_entry() -> i32 {
    0
}
