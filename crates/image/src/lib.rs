//! wharf's image store: OCI images of Wasm apps and the names they go by.
//!
//! This crate knows nothing of Wasmtime. So far it holds what the store is
//! built on: content digests, image references with Docker's naming rules,
//! a verified, crash-safe blob store in OCI image layout, the names of
//! stored images, the manifest formats registries speak, and layer
//! unpacking that never writes outside its target.
#![deny(missing_docs)]

pub mod archive;
mod blobs;
pub mod build;
mod digest;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod manifest;
mod reference;
mod refs;
pub mod registry;
pub mod store;
mod unpack;

pub use blobs::{BlobError, BlobStore, Expected};
pub use digest::{Digest, DigestError};
pub use reference::{DEFAULT_REGISTRY, Reference, ReferenceError};
pub use refs::{NAME_ANNOTATION, REF_NAME_ANNOTATION, Refs, RefsError};
pub use store::{Image, Store, StoreError};
pub use unpack::{UnpackError, UnpackLimits, unpack_layer, unpack_layers};
