//! Ansible's filters (placeholder until the template branch lands).

pub fn register(_env: &mut minijinja::Environment<'static>) {}
