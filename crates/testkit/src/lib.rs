//! Test support for wharf: the real CNCF registry on loopback, and a tiny
//! HTTP server whose answers a test scripts (for registries that lie).
#![deny(missing_docs)]

mod docker;
mod fake_server;
mod registry;

pub use docker::TestDocker;
pub use fake_server::{Body, FakeServer, Request, Response};
pub use registry::TestRegistry;
