//! Errors as one line on stderr.

use crate::exit;

pub use wharf_lifecycle::report::chain;

/// Prints `wharf: <error chain>`; returns wharf's error exit code.
pub fn fail(error: &dyn std::error::Error) -> i32 {
    eprintln!("wharf: {}", chain(error));
    exit::ERROR
}

/// Prints `wharf: <message>`; returns wharf's error exit code.
pub fn fail_with(message: &str) -> i32 {
    eprintln!("wharf: {message}");
    exit::ERROR
}
