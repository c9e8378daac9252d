//! Ends the run on SIGINT, SIGTERM or `--timeout`.
//!
//! `wharf run` holds one guest, so it stops the guest by ending the process
//! at once: no grace period, nothing for the guest to catch, whether it
//! spins in a tight loop or waits in a host call. That spares the guest
//! Wasmtime's epoch checks, which cost about a tenth of a tight loop's speed
//! (hosts that run many guests per process use them instead).

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::exit;

/// Starts the watchdog thread for one run.
pub fn arm(timeout: Option<Duration>) -> std::io::Result<()> {
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
            let code = match wake.read(&mut [0u8; 1]) {
                Ok(1..) => exit::for_signal(signal.load(Ordering::SeqCst) as i32),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    eprintln!("wharf: guest stopped: it ran longer than --timeout");
                    exit::TIMEOUT
                }
                _ => return,
            };
            // Not `exit::exit`: the guest may hold the stdout lock, and the
            // runtime's own clean-up only tries to take it.
            std::process::exit(code)
        })?;
    Ok(())
}
