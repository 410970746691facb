//! The YAML playbook language: loading plays, roles, blocks and tasks with source positions.

mod args;
mod attrs;
mod convert;
pub mod error;
pub mod flag;
pub mod freeform;
mod imports;
pub mod keywords;
mod load;
pub mod model;
mod play;
mod role;
mod tags;
mod task;

pub use args::REFUSED_RAW_PARAMS;
pub use attrs::apply as apply_attrs;
pub use error::{LoadError, LoadErrorKind};
pub use load::{load_playbook, load_role, load_tasks_file, LoadOptions, RoleSpec};
pub use model::*;
pub use role::collection_playbook;
pub use task::canonical as canonical_action;

#[cfg(test)]
mod tests;
