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
