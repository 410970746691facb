//! Helpers shared by the integration tests (one module per concern).
#![allow(dead_code)]

pub mod compare;
pub mod http;
pub mod module_e2e;
pub mod run;
pub mod testbed;
