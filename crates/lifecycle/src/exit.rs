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
pub const fn for_signal(signal: i32) -> i32 {
    128 + signal
}

/// Flushes what wharf itself buffered and exits.
pub fn exit(code: i32) -> ! {
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// A container whose supervisor died without recording the guest's end:
/// as if killed.
pub const LOST: i32 = for_signal(libc::SIGKILL);

/// What wharf says of a run beside its exit code, each face where it says
/// things (the terminal, a container's log, its stderr file).
#[derive(Debug, PartialEq, Eq)]
pub enum Said {
    /// The guest ended by itself, or was stopped: nothing to say.
    Nothing,
    /// The guest trapped: the trap's report.
    Trapped(String),
    /// wharf could not run it: the error and its causes.
    Failed(String),
}

impl Said {
    /// The line a face prints for it, if any.
    pub fn line(&self) -> Option<String> {
        match self {
            Said::Nothing => None,
            Said::Trapped(report) => Some(format!("wharf: guest trapped: {report}")),
            Said::Failed(message) => Some(format!("wharf: {message}")),
        }
    }
}

/// The one mapping of a run's result to its exit code, for every face:
/// the guest's code when it exited, [`TRAP`] when it trapped, 128+signal
/// or [`TIMEOUT`] when it was stopped, and for an error [`NOT_FOUND`] (the
/// program is missing) or [`ERROR`]; with what to say of it.
pub fn of_result(result: Result<wharf_engine::Outcome, wharf_engine::Error>) -> (i32, Said) {
    use wharf_engine::{Outcome, StopReason};
    match result {
        Ok(Outcome::Exited(code)) => (code, Said::Nothing),
        Ok(Outcome::Trapped(report)) => (TRAP, Said::Trapped(report.to_string())),
        Ok(Outcome::Stopped(StopReason::Signal(signal))) => (for_signal(signal), Said::Nothing),
        Ok(Outcome::Stopped(StopReason::Timeout)) => (TIMEOUT, Said::Nothing),
        Err(error) => (
            error_code(&error),
            Said::Failed(crate::report::chain(&error)),
        ),
    }
}

/// The exit code of a foreground run's `result` ([`of_result`]), after
/// saying on stderr what went wrong when the guest did not exit by itself.
pub fn of_run(result: Result<wharf_engine::Outcome, wharf_engine::Error>) -> i32 {
    let (code, said) = of_result(result);
    if let Some(line) = said.line() {
        eprintln!("{line}");
    }
    code
}

/// Says `error` (with its causes) on stderr; [`NOT_FOUND`] when the
/// program is missing, else [`ERROR`].
pub fn of_error(error: &wharf_engine::Error) -> i32 {
    let said = Said::Failed(crate::report::chain(error));
    if let Some(line) = said.line() {
        eprintln!("{line}");
    }
    error_code(error)
}

/// [`NOT_FOUND`] when the program is missing, else [`ERROR`].
fn error_code(error: &wharf_engine::Error) -> i32 {
    if error.is_not_found() {
        NOT_FOUND
    } else {
        ERROR
    }
}

/// The exit code of a child process that wharf waited for: its own code,
/// 128+signal when a signal ended it, [`ERROR`] when it cannot be known.
pub fn of_wait(status: std::io::Result<std::process::ExitStatus>) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    match status {
        Ok(status) => status
            .code()
            .or_else(|| status.signal().map(for_signal))
            .unwrap_or(ERROR),
        Err(_) => ERROR,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt as _;
    use std::process::ExitStatus;

    use wharf_engine::{Outcome, StopReason};

    use super::*;

    #[test]
    fn a_runs_result_maps_to_a_shells_code_and_says_what_went_wrong() {
        assert_eq!(of_result(Ok(Outcome::Exited(3))), (3, Said::Nothing));
        assert_eq!(
            of_result(Ok(Outcome::Stopped(StopReason::Signal(libc::SIGTERM)))),
            (143, Said::Nothing)
        );
        assert_eq!(
            of_result(Ok(Outcome::Stopped(StopReason::Timeout))),
            (TIMEOUT, Said::Nothing)
        );
        let missing = wharf_engine::Error::ReadProgram {
            path: "/no/such.wasm".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let (code, said) = of_result(Err(missing));
        assert_eq!(code, NOT_FOUND);
        let line = said.line().expect("a line");
        assert!(
            line.starts_with("wharf: ") && line.contains("/no/such.wasm"),
            "{line}"
        );
        assert_eq!(LOST, 137);
    }

    #[test]
    fn a_waited_process_gives_its_code_or_128_plus_its_signal() {
        assert_eq!(of_wait(Ok(ExitStatus::from_raw(7 << 8))), 7);
        assert_eq!(of_wait(Ok(ExitStatus::from_raw(libc::SIGKILL))), 137);
        assert_eq!(of_wait(Err(std::io::Error::other("gone"))), ERROR);
    }
}
