//! All integration tests build into this one binary; one module per feature.

mod support;

mod ansible_compat;
mod cli_errors;
mod collections;
mod dynamic_inventory;
mod e2e_bridge;
mod e2e_builtins;
mod e2e_collections;
mod e2e_dnf;
mod e2e_etcd;
mod e2e_etcd_lifecycle;
mod e2e_etcd_ops;
mod e2e_etcd_safety;
mod e2e_facts;
mod e2e_files;
mod e2e_modules;
mod e2e_repos;
mod e2e_scale;
mod e2e_testbed;
mod e2e_transport;
mod filters_compat;
mod fuzz;
mod garbage;
mod keywords;
mod language;
mod limits;
mod local_run;
mod plan_tags;
mod read_ahead;
mod result_lines;
mod role_names;
mod semantics;
mod with_lookups;
