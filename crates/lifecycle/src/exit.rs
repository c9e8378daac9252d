//! The exit codes of wharf's faces, in one place (a shell's conventions).

/// wharf itself failed: bad flags, unreadable or invalid program.
pub const ERROR: i32 = 125;
/// The program file does not exist.
pub const NOT_FOUND: i32 = 127;
/// The guest trapped (as a shell reports SIGABRT).
pub const TRAP: i32 = 134;
/// The guest ran past `--timeout` (as GNU `timeout` reports).
pub const TIMEOUT: i32 = 124;

/// The code a shell reports for a process ended by `signal`.
pub fn for_signal(signal: i32) -> i32 {
    128 + signal
}

/// Flushes what wharf itself buffered and exits.
pub fn exit(code: i32) -> ! {
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// The exit code of a foreground run's `result`, after saying on stderr
/// what went wrong when the guest did not exit by itself: its code when it
/// exited, [`TRAP`] when it trapped, 128+signal or [`TIMEOUT`] when it was
/// stopped, and for an error [`NOT_FOUND`] or [`ERROR`].
pub fn of_run(result: Result<wharf_engine::Outcome, wharf_engine::Error>) -> i32 {
    use wharf_engine::{Outcome, StopReason};
    match result {
        Ok(Outcome::Exited(code)) => code,
        Ok(Outcome::Trapped(report)) => {
            eprintln!("wharf: guest trapped: {report}");
            TRAP
        }
        Ok(Outcome::Stopped(StopReason::Signal(signal))) => for_signal(signal),
        Ok(Outcome::Stopped(StopReason::Timeout)) => TIMEOUT,
        Err(error) => of_error(&error),
    }
}

/// Says `error` (with its causes) on stderr; [`NOT_FOUND`] when the
/// program is missing, else [`ERROR`].
pub fn of_error(error: &wharf_engine::Error) -> i32 {
    eprintln!("wharf: {}", crate::report::chain(error));
    if error.is_not_found() {
        NOT_FOUND
    } else {
        ERROR
    }
}
