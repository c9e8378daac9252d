//! Waiting for a process to have one thread: Landlock, below ABI 8, holds
//! only for the thread that asks and the threads it starts after.

use std::time::{Duration, Instant};

use crate::error::BoxError;

/// How long threads that were told to end (a compile's pool) may take.
const PATIENCE: Duration = Duration::from_secs(2);

/// Returns once the calling thread is the process's only one; an error
/// naming the count when others stay past [`PATIENCE`].
pub(super) fn wait_until_alone() -> Result<(), BoxError> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let count = count()?;
        if count <= 1 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the process has {count} threads where it must have one to be walled whole"
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The process's threads, as `/proc/self/status` counts them.
fn count() -> Result<usize, BoxError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| "no thread count in /proc/self/status".into())
}
