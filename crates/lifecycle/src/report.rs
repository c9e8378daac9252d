//! Errors as one line: the error and each of its causes.

pub use wharf_engine::chain;
