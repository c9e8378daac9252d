//! What pulls and pushes tell whoever shows progress.

use crate::digest::Digest;

/// How a blob's transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobEvent {
    /// Already stored here (pull) or already in the registry (push).
    Present,
    /// Sent or received in full.
    Transferred,
    /// Mounted from another repository of the same registry.
    Mounted,
}

/// Receives progress of a pull or push; called from several threads.
pub trait Progress: Sync {
    /// A blob of `size` bytes is about to move.
    fn start(&self, digest: &Digest, size: u64);
    /// `done` bytes of it have moved so far.
    fn advance(&self, digest: &Digest, done: u64);
    /// It is finished.
    fn finish(&self, digest: &Digest, event: BlobEvent);
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &Digest, _: u64) {}
    fn advance(&self, _: &Digest, _: u64) {}
    fn finish(&self, _: &Digest, _: BlobEvent) {}
}
