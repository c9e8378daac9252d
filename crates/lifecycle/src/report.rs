//! Errors as one line: the error and each of its causes.

/// `error` and each of its causes, joined by `: ` (a cause whose text the
/// line already ends with is not repeated).
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
