//! Jinja templating: one minijinja environment with Ansible's filters and tests.

pub mod filters;
pub mod lookups;
pub mod tests;
