//! End-to-end tests of wharf's image commands: the real binary, the real
//! registry (`docker-registry`), and skopeo and umoci as independent
//! clients.

#[path = "../run/common.rs"]
#[allow(dead_code)]
mod common;

mod archive;
mod build_run;
mod docker;
mod interop;
mod layout;
mod management;
mod registry;
#[path = "../serve/server.rs"]
#[allow(dead_code)]
mod server;
mod untrusted;
