//! The modules, one per file, each an implementation of `module_api::Module`, listed in
//! `registry.rs` (the one name → module list). What they are written against (the trait, the
//! context, arguments, file writes...) is in `src/module_api/`.

mod assert;
mod command;
mod copy;
mod copy_dir;
mod copy_remote;
mod copy_tree;
mod debug;
mod fail;
mod file;
mod file_times;
mod include_vars;
mod iptables;
mod pause;
mod registry;
pub mod set_fact;
mod setup;
mod stat;
mod template;
// System modules and the certificate module (branch sysmods).
pub mod apt;
pub mod dnf;
pub mod fetch;
pub mod group;
pub mod package;
pub mod slurp;
pub mod systemd;
pub mod uri;
pub mod user;
pub mod wait_for;
pub mod x509;
// File editing and downloads (branch filemods).
pub mod blockinfile;
pub mod get_url;
pub mod lineinfile;
pub mod unarchive;
// ansible.builtin modules of issue 12 (branch builtins).
pub mod add_host;
pub mod async_status;
pub mod cron;
pub mod dpkg_selections;
pub mod find;
pub mod getent;
pub mod hostname;
pub mod known_hosts;
pub mod package_facts;
pub mod ping;
pub mod raw;
pub mod replace;
pub mod script;
pub mod service_facts;
pub mod tempfile;
pub mod wait_for_connection;
// community.crypto, ansible.posix, community.general.
pub mod authorized_key;
pub mod crypto_common;
pub mod crypto_info;
pub mod crypto_x509;
pub mod ini_file;
pub mod locale_gen;
pub mod modprobe;
pub mod mount;
pub mod openssl_csr;
pub mod openssl_privatekey;
pub mod selinux;
pub mod sysctl;
pub mod timezone;
pub mod x509_certificate;
// Software, repositories and file transfer.
pub mod apt_key;
pub mod apt_repository;
pub mod deb822_repository;
pub mod git;
pub mod pip;
pub mod reboot;
pub mod rpm_key;
pub mod synchronize;
pub mod yum_repository;

pub use registry::{check_literal_args, find, find_module, names};

// What the modules use, under the names they have always had (`super::args::Args`, `super::Ctx`).
#[cfg(test)]
pub(crate) use crate::module_api::testutil;
pub use crate::module_api::{
    args, clock, content, file_mode, local_write, remote_file, script_out, Change, Ctx, Diff, Module, ModuleError,
    Query, Render, Step,
};
use crate::value::Map;
