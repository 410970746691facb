//! The one list of modules: name → implementation.

use super::Module;

/// Every module troupe ships, by its canonical name.
fn all() -> &'static [&'static dyn Module] {
    &[
        &super::assert::Assert,
        &super::command::Command,
        &super::copy::Copy,
        &super::debug::Debug,
        &super::fail::Fail,
        &super::file::File,
        &super::include_vars::IncludeVars,
        &super::pause::Pause,
        &super::set_fact::SetFact,
        &super::setup::Setup,
        &super::command::Shell,
        &super::stat::Stat,
        &super::template::Template,
    ]
}

/// Look a module up by its name (`ansible.builtin.` already stripped).
pub fn find(name: &str) -> Option<&'static dyn Module> {
    all().iter().copied().find(|m| m.name() == name)
}

/// The names of all modules, for error hints and docs.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|m| m.name()).collect()
}
