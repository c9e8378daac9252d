//! The stop signals: blocked in the supervisor, taken by one thread that
//! ends the guest's process and records the exit; unblocked for the guest's
//! process, which takes them itself.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::{RemoveDone, remove_if_asked};
use crate::containers::logs::LogWriter;
use crate::containers::{Container, Containers, Held, Status, time};
use crate::{cgroup, exit};

/// The signals that stop the guest.
/// A service's listeners, shared by its runs and the signal watcher.
pub(super) type Listeners = Arc<Mutex<Vec<TcpListener>>>;

pub(super) const STOPPING: [i32; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// The guest's process while one runs, and whether the container was
/// asked to stop (then it is not started again).
#[derive(Debug, Default)]
pub(super) struct GuestProcess {
    pub(super) pid: AtomicI32,
    pub(super) stopping: AtomicBool,
}

impl GuestProcess {
    /// Sends `signal` to the guest's process, if one runs.
    pub(super) fn signal(&self, signal: i32) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) on the child this process started and has not
            // yet waited for (the pid cannot have been reused).
            unsafe { libc::kill(pid, signal) };
        }
    }

    /// Kills the guest's process, if one runs, and waits (up to a second)
    /// until it has ended: its cgroup can then be removed.
    pub(super) fn kill(&self) {
        let pid = self.pid.load(Ordering::SeqCst);
        self.signal(libc::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(1);
        // Ended once it is a zombie (or reaped): it left its cgroup then.
        while pid > 0 && Instant::now() < deadline {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            if matches!(state, None | Some('Z' | 'X')) {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Blocks the stopping signals in this thread and in every thread it
/// starts from now on; returns the set for `sigwait`.
pub(super) fn block_stopping_signals() -> libc::sigset_t {
    // SAFETY: the set is initialised by sigemptyset before use; masking
    // signals has no other effect.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in STOPPING {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// On a stopping signal: kill the guest's process, record the exit as
/// 128+signal and end this process, under the container's mutex so that
/// the run loop cannot record anything after. A service (`listeners`) is
/// asked to drain instead (its process gets the signal; this one closes
/// its copies of the listeners); a second signal ends it as above.
pub(super) fn watch_signals(
    set: libc::sigset_t,
    (store, container, remove_done): (Containers, Arc<Mutex<Container>>, RemoveDone),
    log: Arc<Mutex<LogWriter>>,
    life: &Held,
    (guest, listeners): (Arc<GuestProcess>, Option<Listeners>),
) {
    let life = life.clone_handle();
    let watcher = std::thread::Builder::new()
        .name("signals".to_owned())
        .stack_size(64 << 10)
        .spawn(move || {
            let mut signal = 0;
            // SAFETY: the set holds signals blocked in every thread.
            while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            guest.stopping.store(true, Ordering::SeqCst);
            if let Some(listeners) = listeners {
                listeners.lock().unwrap_or_else(|p| p.into_inner()).clear();
                guest.signal(signal);
                // SAFETY: as above.
                while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            }
            let mut container = container.lock().unwrap_or_else(|p| p.into_inner());
            guest.kill();
            let mut state = container.state.clone();
            state.status = Status::Exited;
            state.unsupervised();
            state.exit_code = Some(exit::for_signal(signal));
            state.finished_at = Some(time::rfc3339(SystemTime::now()));
            let _ = container.set_state(state);
            if let Ok(life) = &life {
                let _ = life.write(&exit::for_signal(signal).to_string());
            }
            // Let the pumps take what the guest wrote last, then end with
            // no entry half-written.
            std::thread::sleep(Duration::from_millis(20));
            let _writing = log.lock();
            remove_if_asked(&store, &container, remove_done);
            cgroup::leave_process();
            exit::exit(0)
        });
    if watcher.is_err() {
        // Without a watcher the signals stay blocked: better to take them
        // the default way (they end the process; the guest's process
        // follows, see `spawn_guest`).
        // SAFETY: unblocking signals in this thread only.
        unsafe {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}
