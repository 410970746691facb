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
        &super::setup::GatherFacts,
        &super::command::Shell,
        &super::stat::Stat,
        &super::template::Template,
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
        // filemods
        &super::lineinfile::LineInFile,
        &super::blockinfile::BlockInFile,
        &super::get_url::GetUrl,
        &super::unarchive::Unarchive,
        // builtins (issue 12)
        &super::add_host::AddHost,
        &super::async_status::AsyncStatus,
        &super::add_host::GroupBy,
        &super::cron::Cron,
        &super::dpkg_selections::DpkgSelections,
        &super::find::Find,
        &super::getent::Getent,
        &super::hostname::Hostname,
        &super::iptables::Iptables,
        &super::known_hosts::KnownHosts,
        &super::package_facts::PackageFacts,
        &super::ping::Ping,
        &super::raw::Raw,
        &super::replace::Replace,
        &super::script::Script,
        &super::service_facts::ServiceFacts,
        &super::tempfile::TempFile,
        &super::wait_for_connection::WaitForConnection,
        // collections
        &super::openssl_privatekey::OpensslPrivatekey,
        &super::openssl_csr::OpensslCsr,
        &super::x509_certificate::X509_CERTIFICATE,
        &super::x509_certificate::OPENSSL_CERTIFICATE,
        &super::crypto_info::OpensslPrivatekeyInfo,
        &super::crypto_info::X509CertificateInfo,
        &super::crypto_info::OpensslDhparam,
        &super::ini_file::IniFile,
        &super::sysctl::Sysctl,
        &super::authorized_key::AuthorizedKey,
        &super::timezone::Timezone,
        &super::locale_gen::LocaleGen,
        &super::modprobe::Modprobe,
        &super::mount::Mount,
        &super::selinux::Selinux,
        &super::selinux::Seboolean,
        // software and transfer
        &super::pip::Pip,
        &super::git::Git,
        &super::reboot::Reboot,
        &super::synchronize::Synchronize,
        // repositories
        &super::apt_key::AptKey,
        &super::apt_repository::AptRepository,
        &super::deb822_repository::Deb822Repository,
        &super::rpm_key::RpmKey,
        &super::yum_repository::YumRepository,
    ]
}

/// Modules of other collections that troupe implements natively: `<collection>.<name>` is
/// `<name>`. A name of a collection not listed here is unknown.
const COLLECTIONS: &[(&str, &[&str])] = &[
    (
        "community.crypto",
        &[
            "openssl_privatekey",
            "openssl_csr",
            "x509_certificate",
            "openssl_certificate",
            "openssl_privatekey_info",
            "x509_certificate_info",
            "openssl_dhparam",
        ],
    ),
    ("ansible.posix", &["sysctl", "authorized_key", "mount", "selinux", "seboolean", "synchronize"]),
    ("community.general", &["ini_file", "modprobe", "timezone", "locale_gen"]),
];

/// The native name of a collection module (`community.general.ini_file` → `ini_file`).
fn native_name(name: &str) -> &str {
    for (collection, names) in COLLECTIONS {
        if let Some(short) = name.strip_prefix(collection).and_then(|r| r.strip_prefix('.')) {
            if names.contains(&short) {
                return short;
            }
        }
    }
    name
}

/// Look a module up by its name (`ansible.builtin.` already stripped): troupe's own (also
/// under its collection's name), else Ansible's through the bridge (`src/bridge/`), when
/// ansible-core is installed.
pub fn find(name: &str) -> Option<&'static dyn Module> {
    // An action plugin of the playbook's or a role's own wins over any module of its name.
    crate::bridge::action_plugin(name).or_else(|| find_module(name))
}

/// A module by its name, action plugins aside (what an action plugin itself runs).
pub fn find_module(name: &str) -> Option<&'static dyn Module> {
    // A playbook's or role's own `library/` module wins over a native one of the same name.
    if crate::bridge::in_library(name) {
        if let Some(m) = crate::bridge::find(name) {
            return Some(m);
        }
    }
    let short = native_name(name);
    all().iter().copied().find(|m| m.name() == short).or_else(|| crate::bridge::find(name))
}

/// Check a task's literal arguments against its module's spec at load time (see
/// [`crate::module_api::argspec::check_literal`]); unknown modules are the loader's to report.
pub fn check_literal_args(name: &str, args: &crate::value::Map) -> Result<(), String> {
    match find(name).and_then(|m| m.args()) {
        Some(spec) => crate::module_api::argspec::check_literal(spec, args),
        None => Ok(()),
    }
}

/// `docs/modules.md` (kept by the test below): every module's options, generated from the specs (a test keeps the
/// file in step; `TROUPE_BLESS=1 cargo test --lib module_docs` rewrites it).
#[cfg(test)]
fn docs() -> String {
    let mut modules: Vec<&dyn Module> = all().to_vec();
    modules.sort_by_key(|m| m.name());
    let mut out = String::from(
        "# Modules\n\nGenerated from each module's argument spec (`src/modules/`); do not edit by hand:\n\
         `TROUPE_BLESS=1 cargo test --lib module_docs` rewrites it. Options troupe accepts but does\n\
         not act on say so.\n",
    );
    for m in modules {
        out.push_str(&format!("\n## {}\n\n", m.name()));
        match m.args() {
            Some(spec) => out.push_str(&crate::module_api::argspec::doc_table(spec)),
            None if m.name() == "package" => {
                out.push_str("Passes its arguments to `apt` or `dnf`, whichever the host has.\n")
            }
            None if m.name() == "set_fact" => out.push_str(
                "Takes any names: each `name: value` becomes a host variable (a name may be a template;\n\
                 it must render to a letter or `_`, then letters, digits or `_`, and not a Jinja keyword).\n\
                 `cacheable: true` also makes them facts, kept in the fact cache.\n",
            ),
            None => out.push_str("Takes any names: each `name: value` becomes a host variable.\n"),
        }
    }
    out
}

/// The names of all modules, for error hints and docs.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|m| m.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_is_listed_once() {
        let mut n = names();
        let count = n.len();
        n.sort_unstable();
        n.dedup();
        assert_eq!(n.len(), count, "duplicate module names");
        for name in [
            "assert",
            "command",
            "copy",
            "debug",
            "fail",
            "file",
            "include_vars",
            "pause",
            "set_fact",
            "setup",
            "shell",
            "stat",
            "template",
        ] {
            assert_eq!(find(name).map(|m| m.name()), Some(name));
        }
        assert!(find("nope").is_none());
        assert_eq!(find("community.crypto.openssl_privatekey").map(|m| m.name()), Some("openssl_privatekey"));
        assert!(find("community.general.openssl_privatekey").is_none(), "the collection must be the module's");
        assert!(find("debug").is_some_and(|m| m.controller_only() && m.raw_args() == ["var"]));
    }

    #[test]
    fn module_docs_match_the_specs() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/modules.md");
        let want = docs();
        if std::env::var_os("TROUPE_BLESS").is_some() {
            std::fs::write(&path, &want).expect("write docs/modules.md");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "docs/modules.md is out of date: run `TROUPE_BLESS=1 cargo test --lib module_docs`");
    }

    /// Each module declares its arguments once; aliases name declared arguments, and no name
    /// is declared twice. `set_fact` and `add_host` take any names; `package` passes its own to apt or dnf.
    #[test]
    fn every_module_declares_its_arguments_once() {
        for m in all() {
            let Some(spec) = m.args() else {
                assert!(["set_fact", "package", "add_host"].contains(&m.name()), "{} declares no ArgSpec", m.name());
                continue;
            };
            let mut names: Vec<&str> = spec.names().collect();
            let count = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), count, "{}: an argument declared twice", m.name());
            for o in spec.opts().filter(|o| !o.name.starts_with('_')) {
                assert!(!o.doc.is_empty(), "{}: `{}` has no doc", m.name(), o.name);
                if let (Some(d), false) = (o.default, o.choices.is_empty()) {
                    assert!(o.choices.contains(&d), "{}: `{}` defaults outside its choices", m.name(), o.name);
                }
            }
            for (alias, canonical) in spec.aliases {
                assert!(spec.knows(canonical) && !spec.knows(alias), "{}: alias {alias} → {canonical}", m.name());
            }
        }
    }
}
