//! Stopping a running guest from another thread or a signal handler.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Why a guest was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A signal was delivered to the host (its number).
    Signal(i32),
    /// The run exceeded its time limit.
    Timeout,
}

const NOT_STOPPED: u32 = 0;
const TIMEOUT: u32 = u32::MAX;

/// A handle that stops one run. Cloneable; stopping is idempotent and the
/// first reason wins. [`StopHandle::stop`] only does atomic operations, so
/// it may be called from a signal handler.
#[derive(Debug, Clone)]
pub struct StopHandle {
    reason: Arc<AtomicU32>,
    engine: wasmtime::Engine,
    memory: Arc<AtomicU64>,
    /// Written on stop (an eventfd: writing is async-signal-safe), so a
    /// run waiting on a host call (a sleep, a read) wakes and ends too.
    wake: Option<Arc<OwnedFd>>,
    /// What the kernel enforces around the run's guest, once it is up.
    enforced: Arc<std::sync::OnceLock<crate::layers::enforced::Enforced>>,
    /// Called once the wall is up (see [`StopHandle::on_walled`]).
    walled: Arc<std::sync::Mutex<WalledHook>>,
}

/// What [`StopHandle::on_walled`] calls, until it is called.
#[derive(Default)]
struct WalledHook(Option<Hook>);

/// A call with what the wall enforces.
type Hook = Box<dyn FnOnce(&crate::layers::enforced::Enforced) + Send>;

impl std::fmt::Debug for WalledHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "WalledHook(set)"
        } else {
            "WalledHook(none)"
        })
    }
}

impl StopHandle {
    pub(crate) fn new(engine: wasmtime::Engine) -> Self {
        StopHandle {
            reason: Arc::new(AtomicU32::new(NOT_STOPPED)),
            engine,
            memory: Arc::default(),
            wake: new_eventfd().map(Arc::new),
            enforced: Arc::default(),
            walled: Arc::default(),
        }
    }

    /// The fd that becomes readable when the run is stopped; `None` when
    /// the kernel would not give one (then only guest code is interrupted).
    pub(crate) fn wake_fd(&self) -> Option<WakeFd> {
        self.wake.clone().map(WakeFd)
    }

    /// Bytes of linear memory and tables the run's guest holds now.
    pub fn memory_used(&self) -> u64 {
        self.memory.load(Ordering::Relaxed)
    }

    /// What the kernel enforces around the guest: `None` until its wall is
    /// up (or when the run ended before it).
    pub fn enforced(&self) -> Option<crate::layers::enforced::Enforced> {
        self.enforced.get().cloned()
    }

    /// Calls `hook` with what the kernel enforces once the run's wall is up
    /// (`none` when the layers are off), on the thread the run walled, after
    /// the wall and before any guest code: a thread it starts is inside the
    /// wall. Not called when the run fails before.
    pub fn on_walled(
        &self,
        hook: impl FnOnce(&crate::layers::enforced::Enforced) + Send + 'static,
    ) {
        self.walled.lock().unwrap_or_else(|p| p.into_inner()).0 = Some(Box::new(hook));
    }

    pub(crate) fn set_enforced(&self, enforced: crate::layers::enforced::Enforced) {
        let hook = self
            .walled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .take();
        if let Some(hook) = hook {
            hook(&enforced);
        }
        let _ = self.enforced.set(enforced);
    }

    pub(crate) fn memory_gauge(&self) -> Arc<AtomicU64> {
        self.memory.clone()
    }

    /// Asks the guest to stop. On an interruptible host (see
    /// [`crate::HostConfig::interruptible`]) guest code is interrupted at its
    /// next loop back-edge or function entry, and a guest waiting in a host
    /// call (a sleep, a read) is abandoned at once: its store is dropped. On other hosts only the reason is
    /// recorded: ending the guest is the embedder's job.
    pub fn stop(&self, reason: StopReason) {
        let code = match reason {
            StopReason::Signal(signal) => signal.max(1) as u32,
            StopReason::Timeout => TIMEOUT,
        };
        let _ = self
            .reason
            .compare_exchange(NOT_STOPPED, code, Ordering::SeqCst, Ordering::SeqCst);
        // Every store's epoch deadline is the next tick: each one wakes up,
        // checks its own stop flag and goes on if it was not the target.
        self.engine.increment_epoch();
        if let Some(fd) = &self.wake {
            let one = 1u64;
            // SAFETY: an 8-byte write from a live u64 to an eventfd we own;
            // write(2) is async-signal-safe. A full counter only means the
            // fd is readable already.
            unsafe { libc::write(fd.as_raw_fd(), (&raw const one).cast(), 8) };
        }
    }

    /// Waits until the run is stopped and returns why. Needs a Tokio
    /// reactor; without a wake fd it never returns (stopping is then left
    /// to the epoch).
    pub(crate) async fn stopped(&self) -> StopReason {
        let registered = self.wake_fd().map(|wake| {
            // SAFETY: WakeFd holds the eventfd open (an Arc'd OwnedFd) for
            // as long as the AsyncFd owns it, and always returns that one fd.
            unsafe {
                tokio::io::unix::AsyncFd::register_with_interest(
                    wake,
                    tokio::io::Interest::READABLE,
                )
            }
        });
        let Some(Ok(wake)) = registered else {
            return std::future::pending().await;
        };
        loop {
            if let Some(reason) = self.reason() {
                return reason;
            }
            match wake.readable().await {
                Ok(mut ready) => ready.clear_ready(),
                Err(_) => return std::future::pending().await,
            }
        }
    }

    /// The reason the run was stopped, if it was.
    pub fn reason(&self) -> Option<StopReason> {
        match self.reason.load(Ordering::SeqCst) {
            NOT_STOPPED => None,
            TIMEOUT => Some(StopReason::Timeout),
            signal => Some(StopReason::Signal(signal as i32)),
        }
    }
}

/// A shared eventfd, for Tokio's readiness (which needs an owner type).
#[derive(Debug)]
pub(crate) struct WakeFd(Arc<OwnedFd>);

impl AsRawFd for WakeFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

fn new_eventfd() -> Option<OwnedFd> {
    // SAFETY: eventfd has no memory preconditions; a valid fd is owned.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    // SAFETY: a fresh fd that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}
