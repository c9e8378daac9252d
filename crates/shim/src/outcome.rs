//! A guest's outcome as the container's exit status, and wharf's own
//! messages on the container's stderr (one home for the thread and the
//! process isolation).

use wharf_engine::{Outcome, StopReason};

/// The exit status of a run: the guest's code, 134 for a trap, 128 +
/// signal or 124 when it was stopped, 125 when wharf could not run it (each
/// said on the container's `stderr`).
pub fn exit_status(outcome: Result<Outcome, wharf_engine::Error>, stderr: &str) -> u32 {
    match outcome {
        Ok(Outcome::Exited(code)) => code as u32,
        Ok(Outcome::Trapped(report)) => {
            report_to(stderr, &format!("wharf: guest trapped: {report}"));
            134
        }
        Ok(Outcome::Stopped(StopReason::Signal(signal))) => 128 + signal as u32,
        Ok(Outcome::Stopped(StopReason::Timeout)) => 124,
        Err(error) => {
            report_to(stderr, &format!("wharf: {}", crate::report::chain(&error)));
            125
        }
    }
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
