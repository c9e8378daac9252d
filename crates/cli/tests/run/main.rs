//! End-to-end tests of `wharf run`: the real binary, real guests.

mod basics;
mod cache;
#[allow(dead_code)]
mod common;
mod compilers;
mod invalid;
mod limits;
mod names;
mod proposals;
mod sandbox;
mod walls;
mod wasi_p3;
