//! Stops the guest on SIGINT, SIGTERM or `--timeout`.
//!
//! The stop request interrupts guest code at once (epoch interruption). A
//! guest blocked inside a host call (a long sleep, a read) only notices
//! when the call returns, so if it has not stopped after a short grace the
//! watchdog ends the process itself, with the same exit code.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use wharf_engine::{StopHandle, StopReason};

use crate::exit;

/// How long a stopped guest may take to return before wharf exits anyway.
const GRACE: Duration = Duration::from_millis(500);

/// Starts the watchdog thread for one run.
pub fn arm(stop: StopHandle, timeout: Option<Duration>) -> std::io::Result<()> {
    let (mut wake, wake_writer) = UnixStream::pair()?;
    let signal = Arc::new(AtomicUsize::new(0));
    for number in [SIGINT, SIGTERM] {
        // Registered in this order, the flag is set before the wake-up byte.
        signal_hook::flag::register_usize(number, Arc::clone(&signal), number as usize)?;
        signal_hook::low_level::pipe::register(number, wake_writer.try_clone()?)?;
    }
    wake.set_read_timeout(timeout)?;
    std::thread::Builder::new()
        .name("wharf-watchdog".to_owned())
        .spawn(move || {
            let reason = match wake.read(&mut [0u8; 1]) {
                Ok(1..) => StopReason::Signal(signal.load(Ordering::SeqCst) as i32),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    StopReason::Timeout
                }
                _ => return,
            };
            stop.stop(reason);
            std::thread::sleep(GRACE);
            eprintln!("wharf: the guest is blocked in a host call; exiting without it");
            // Not `exit::exit`: the blocked guest may hold the stdout lock,
            // and the runtime's own cleanup only tries to take it.
            std::process::exit(exit_code(reason))
        })?;
    Ok(())
}

/// The exit code for a guest stopped for `reason`.
pub fn exit_code(reason: StopReason) -> i32 {
    match reason {
        StopReason::Signal(signal) => exit::for_signal(signal),
        StopReason::Timeout => exit::TIMEOUT,
    }
}
