//! A few transfers at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use super::StoreError;

/// Blobs moved at once.
const PARALLEL_TRANSFERS: usize = 4;

/// Runs `work` on every item, spread over a few threads; the first error
/// wins (the other threads finish their current item and stop).
pub(crate) fn for_each<T: Sync>(
    items: &[T],
    work: impl Fn(&T) -> Result<(), StoreError> + Sync,
) -> Result<(), StoreError> {
    let chunk = items.len().div_ceil(PARALLEL_TRANSFERS).max(1);
    let failed = AtomicBool::new(false);
    let (work, failed) = (&work, &failed);
    let run = move |item: &T| {
        if failed.load(Ordering::Relaxed) {
            return Ok(());
        }
        work(item).inspect_err(|_| failed.store(true, Ordering::Relaxed))
    };
    thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|share| scope.spawn(move || share.iter().try_for_each(run)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Result<Vec<()>, _>>()
            .map(drop)
    })
}
