//! End-to-end tests of detached containers: `wharf run -d` and the
//! commands that manage them, with real guests and real supervisors.

#[path = "../run/common.rs"]
#[allow(dead_code)]
mod common;
mod compose;
mod docker_cli;
mod formats;
mod lifecycle;
mod many;
mod races;
mod support;
mod volumes;
mod walls;
