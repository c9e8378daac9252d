//! A guest's outcome as the container's exit status, and wharf's own
//! messages on the container's stderr (one home for the thread and the
//! process isolation).

use wharf_engine::Outcome;
use wharf_lifecycle::exit;

/// The exit status of a run ([`exit::of_result`], one mapping for every
/// face), after saying a trap or wharf's own failure on the container's
/// `stderr`.
pub fn exit_status(outcome: Result<Outcome, wharf_engine::Error>, stderr: &str) -> u32 {
    let (code, said) = exit::of_result(outcome);
    if let Some(line) = said.line() {
        report_to(stderr, &line);
    }
    code as u32
}

/// Writes wharf's own message to the container's stderr, where `ctr` and
/// `kubectl logs` show it.
pub fn report_to(stderr: &str, message: &str) {
    if stderr.is_empty() {
        return;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(stderr);
    if let Ok(mut file) = file {
        use std::io::Write;
        let _ = writeln!(file, "{message}");
    }
}
