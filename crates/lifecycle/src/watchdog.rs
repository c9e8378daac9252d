//! Ends the run on SIGINT, SIGTERM (and the other stop signals) or
//! `--timeout`; a service drains first.
//!
//! `wharf run` holds one guest, so it stops the guest by ending the process
//! from the signal handler itself (`_exit` is async-signal-safe): at once,
//! whether the guest spins in a tight loop or waits in a host call, with no
//! thread to start and nothing for the guest to catch. The guest's output
//! is already written: WASI flushes stdout and stderr on every write. This
//! also spares guest code Wasmtime's epoch checks, which cost about a tenth
//! of a tight loop's speed (hosts that run many guests per process use them
//! instead).

use std::io;
use std::time::Duration;

use libc::c_int;

use crate::exit;

const TIMEOUT_MESSAGE: &[u8] = b"wharf: guest stopped: it ran longer than --timeout\n";

/// The signals that end a run: those whose default action ends a process
/// and that a container engine sends to stop one (`STOPSIGNAL`). A
/// container's first process gets none of them unless it handles them.
const STOP_SIGNALS: [c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Installs the handlers, and the timer when there is a timeout.
pub fn arm(timeout: Option<Duration>) -> io::Result<()> {
    for signal in STOP_SIGNALS {
        install(signal, on_stop_signal)?;
    }
    if let Some(timeout) = timeout {
        install(libc::SIGALRM, on_timeout)?;
        start_timer(timeout)?;
    }
    Ok(())
}

/// The service `arm_drain` stops.
static SERVICE: std::sync::OnceLock<wharf_engine::StopHandle> = std::sync::OnceLock::new();
static DRAINING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For a service: the first SIGINT, SIGTERM, SIGHUP or SIGQUIT asks
/// `stop` to stop (the server stops accepting and drains); a second one
/// ends the process at once, as `wharf run` ends a command. The other stop
/// signals end it at once.
pub fn arm_drain(stop: wharf_engine::StopHandle) -> io::Result<()> {
    let _ = SERVICE.set(stop);
    for signal in STOP_SIGNALS {
        install(signal, on_stop_signal)?;
    }
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        install(signal, on_drain_signal)?;
    }
    Ok(())
}

extern "C" fn on_drain_signal(signal: c_int) {
    use std::sync::atomic::Ordering;
    match SERVICE.get() {
        // StopHandle::stop does atomic operations and a write(2) only.
        Some(stop) if !DRAINING.swap(true, Ordering::SeqCst) => {
            stop.stop(wharf_engine::StopReason::Signal(signal));
        }
        // SAFETY: _exit is async-signal-safe.
        _ => unsafe { libc::_exit(exit::for_signal(signal)) },
    }
}

extern "C" fn on_stop_signal(signal: c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(exit::for_signal(signal)) }
}

extern "C" fn on_timeout(_: c_int) {
    // SAFETY: write and _exit are async-signal-safe; the buffer is static.
    unsafe {
        libc::write(2, TIMEOUT_MESSAGE.as_ptr().cast(), TIMEOUT_MESSAGE.len());
        libc::_exit(exit::TIMEOUT)
    }
}

fn install(signal: c_int, handler: extern "C" fn(c_int)) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is valid; every field we rely on is set
    // below, and the handler only calls async-signal-safe functions.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A one-shot SIGALRM after `timeout` (at least a microsecond).
fn start_timer(timeout: Duration) -> io::Result<()> {
    let timeout = timeout.max(Duration::from_micros(1));
    let value = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros()),
    };
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: value,
    };
    // SAFETY: plain setitimer(2) with a valid itimerval.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
