//! End-to-end tests of `wharf run`: the real binary, real guests.

mod basics;
mod cache;
mod common;
mod compilers;
mod invalid;
mod limits;
mod names;
mod proposals;
mod sandbox;
mod walls;
mod wasi_p3;
