//! Guests run on a thread of their own: the engine walls that thread in
//! (the kernel's layers hold for a thread and the threads it starts), and
//! the thread that started it keeps the rights to clean up after (a
//! cgroup to remove, states to record, a restart).

use std::time::Duration;

use wharf_engine::{Enforced, StopHandle};

/// A caller that wants to hear what the wall enforces once it is up: the
/// run's stop handle, and what to do with it.
pub type Watch<'a> = (&'a StopHandle, &'a dyn Fn(Enforced));

/// Runs `run` on a new thread with the main thread's stack size; with a
/// `watch`, calls it with what the wall enforces once it is up (not at all
/// when the run ends before). An error when no thread could be made or it
/// panicked.
pub fn run_walled<T: Send>(
    watch: Option<Watch<'_>>,
    run: impl FnOnce() -> T + Send,
) -> Result<T, String> {
    std::thread::scope(|scope| {
        let guest = std::thread::Builder::new()
            .name("guest".to_owned())
            .stack_size(8 << 20)
            .spawn_scoped(scope, run)
            .map_err(|e| format!("cannot start the guest's thread: {e}"))?;
        if let Some((stop, walled)) = watch {
            while !guest.is_finished() && stop.enforced().is_none() {
                std::thread::sleep(Duration::from_millis(1));
            }
            if let Some(enforced) = stop.enforced() {
                walled(enforced);
            }
        }
        guest
            .join()
            .map_err(|_| "the guest's thread panicked".to_owned())
    })
}
