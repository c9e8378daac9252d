//! The guest's memory cap, summed over all its memories and tables.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes a table element is counted as.
const TABLE_ELEMENT_BYTES: usize = 8;

/// Grants growth of memories and tables while their total stays under a
/// cap. Refused growth is not a trap: `memory.grow` returns -1 and the
/// guest's allocator reports failure.
#[derive(Debug)]
pub(crate) struct GuestLimiter {
    limit: usize,
    used: usize,
    /// Where `used` is published for whoever watches the run.
    gauge: Arc<AtomicU64>,
}

impl GuestLimiter {
    pub(crate) fn new(limit: u64, gauge: Arc<AtomicU64>) -> Self {
        GuestLimiter {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            used: 0,
            gauge,
        }
    }

    fn grow(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        if maximum.is_some_and(|max| desired > max) {
            return false;
        }
        let Some(used) = (self.used + desired).checked_sub(current) else {
            return false;
        };
        if used > self.limit {
            tracing::debug!(
                used,
                limit = self.limit,
                "refused growth past the memory limit"
            );
            return false;
        }
        self.used = used;
        self.gauge.store(used as u64, Ordering::Relaxed);
        true
    }
}

impl wasmtime::ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired, maximum))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let bytes = |elements: usize| elements.saturating_mul(TABLE_ELEMENT_BYTES);
        Ok(self.grow(bytes(current), bytes(desired), None))
    }
}

#[cfg(test)]
mod tests {
    use super::{Arc, GuestLimiter};

    #[test]
    fn growth_is_summed_over_memories() {
        let mut limiter = GuestLimiter::new(100, Arc::default());
        assert!(limiter.grow(0, 60, None));
        assert!(!limiter.grow(0, 50, None), "a second memory shares the cap");
        assert!(limiter.grow(0, 40, None));
        assert!(!limiter.grow(40, 41, None));
    }

    #[test]
    fn growth_is_published() {
        let gauge: Arc<std::sync::atomic::AtomicU64> = Arc::default();
        let mut limiter = GuestLimiter::new(100, gauge.clone());
        assert!(limiter.grow(0, 64, None));
        assert_eq!(gauge.load(std::sync::atomic::Ordering::Relaxed), 64);
    }

    #[test]
    fn declared_maximum_is_honoured() {
        let mut limiter = GuestLimiter::new(1000, Arc::default());
        assert!(!limiter.grow(0, 20, Some(10)));
        assert!(limiter.grow(0, 10, Some(10)));
    }
}
