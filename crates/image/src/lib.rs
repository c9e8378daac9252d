//! wharf's image store: OCI images of Wasm apps and the names they go by.
//!
//! This crate knows nothing of Wasmtime. So far it holds the vocabulary the
//! store is built on: content digests and image references with Docker's
//! naming rules.
#![deny(missing_docs)]

mod digest;
mod reference;

pub use digest::{Digest, DigestError};
pub use reference::{DEFAULT_REGISTRY, Reference, ReferenceError};
