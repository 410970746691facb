//! The YAML playbook language: loading plays, roles, blocks and tasks with source positions.

pub mod model;

pub use model::*;
