//! The one list of modules: name → implementation.

use super::Module;

/// Every module troupe ships, by its canonical name.
fn all() -> &'static [&'static dyn Module] {
    &[
        // sysmods
        &super::systemd::SYSTEMD,
        &super::systemd::SYSTEMD_SERVICE,
        &super::systemd::SERVICE,
        &super::apt::Apt,
        &super::dnf::DNF,
        &super::dnf::YUM,
        &super::package::Package,
        &super::user::User,
        &super::group::Group,
        &super::wait_for::WaitFor,
        &super::slurp::Slurp,
        &super::fetch::Fetch,
        &super::uri::Uri,
        &super::x509::X509,
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
