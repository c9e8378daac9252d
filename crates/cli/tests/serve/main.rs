//! End-to-end tests of serving: `wharf run -p` with a real HTTP client
//! (curl) against the test service (tests/guests/http-service), on
//! loopback only.

#[path = "../run/common.rs"]
#[allow(dead_code)]
mod common;
mod containment;
mod detached;
mod network;
mod routes;
mod server;
mod starvation;
