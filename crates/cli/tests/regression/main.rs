//! One test per attack or crash on the command line that once worked,
//! named after what it stops. Escape tests check the host is unchanged.

#[path = "../run/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "../images/layout.rs"]
#[allow(dead_code)]
mod layout;
#[path = "../containers/support.rs"]
#[allow(dead_code)]
mod support;

mod argv;
mod faults;
mod flags;
mod images;
mod signals;
mod state_root;
mod volumes;
