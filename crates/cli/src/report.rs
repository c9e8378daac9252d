//! Errors as one line on stderr.

use crate::exit;

/// The error and its causes, joined on one line.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

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
