//! Removing images: names first, then every blob and unpacked tree no
//! name reaches any more.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use rustix::fs::{FlockOperation, flock};

use super::{Store, StoreError, io_error, parse_manifest};
use crate::digest::Digest;
use crate::manifest::{Descriptor, Parsed};
use crate::reference::Reference;

/// A hold on the store: shared for writers of blobs, exclusive for
/// garbage collection. Released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    _file: fs::File,
}

/// What a garbage collection removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    /// Blobs removed.
    pub blobs: u64,
    /// Bytes they held.
    pub bytes: u64,
}

impl Store {
    fn lock(&self, operation: FlockOperation) -> Result<StoreLock, StoreError> {
        let path = self.layout.join("store.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        flock(&file, operation).map_err(|e| StoreError::Io {
            path: path.clone(),
            source: e.into(),
        })?;
        Ok(StoreLock { _file: file })
    }

    /// Held while adding blobs that no name reaches yet (pull, build, load).
    pub fn writing(&self) -> Result<StoreLock, StoreError> {
        self.lock(FlockOperation::LockShared)
    }

    /// Forgets the name `reference`; returns what it named.
    pub fn untag(&self, reference: &Reference) -> Result<Descriptor, StoreError> {
        let descriptor = self.lookup(reference)?;
        if !self.refs.remove(reference)? {
            return Err(StoreError::NoSuchImage(reference.familiar()));
        }
        Ok(descriptor)
    }

    /// Removes every blob and unpacked tree that neither a name nor one of
    /// `keep` (the images of containers: tops, manifests or blobs) reaches.
    pub fn collect_garbage(&self, keep: &[Digest]) -> Result<Collected, StoreError> {
        let _exclusive = self.lock(FlockOperation::LockExclusive)?;
        let mut roots: Vec<Digest> = self
            .refs
            .list()?
            .into_iter()
            .map(|(_, d)| d.digest)
            .collect();
        roots.extend_from_slice(keep);
        let live = self.reachable(roots);
        let mut collected = Collected::default();
        let blob_dir = self.layout.join("blobs/sha256");
        for entry in fs::read_dir(&blob_dir)
            .map_err(io_error(&blob_dir))?
            .flatten()
        {
            let name = entry.file_name();
            let keep = name
                .to_str()
                .and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok())
                .is_some_and(|digest| live.contains(&digest));
            if !keep {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                if fs::remove_file(entry.path()).is_ok() {
                    collected.blobs += 1;
                    collected.bytes += size;
                }
            }
        }
        remove_unreached_trees(&self.rootfs, &live);
        Ok(collected)
    }

    /// Every digest `roots` reach: themselves, and the manifests, configs
    /// and layers below them.
    pub fn reachable(&self, roots: Vec<Digest>) -> HashSet<Digest> {
        let mut live = HashSet::new();
        let mut pending = roots;
        while let Some(digest) = pending.pop() {
            if !live.insert(digest.clone()) {
                continue;
            }
            let Ok(bytes) = self.blobs.read(&digest) else {
                continue;
            };
            match parse_manifest(&digest, &bytes) {
                Ok(Parsed::Index(index)) => {
                    pending.extend(index.manifests.into_iter().map(|m| m.digest));
                }
                Ok(Parsed::Manifest(manifest)) => {
                    live.insert(manifest.config.digest);
                    live.extend(manifest.layers.into_iter().map(|l| l.digest));
                }
                Err(_) => {}
            }
        }
        live
    }

    /// The stored image a path of the store belongs to: the manifest of an
    /// unpacked tree (`rootfs/<hex>/...`) or a blob (`blobs/sha256/<hex>`,
    /// an artifact's module). What a container's program path names is
    /// what it needs kept.
    pub fn holding(&self, path: &Path) -> Option<Digest> {
        let path = std::path::absolute(path).ok()?;
        let rootfs = std::path::absolute(&self.rootfs).ok()?;
        let blobs = std::path::absolute(self.layout.join("blobs/sha256")).ok()?;
        let rest = path
            .strip_prefix(&rootfs)
            .or_else(|_| path.strip_prefix(&blobs))
            .ok()?;
        let hex = rest.components().next()?;
        format!("sha256:{}", hex.as_os_str().to_str()?).parse().ok()
    }
}

/// Unpacked trees are named after their manifest; those of removed images,
/// and partial ones of dead unpackers, go.
fn remove_unreached_trees(rootfs: &Path, live: &HashSet<Digest>) {
    let Ok(entries) = fs::read_dir(rootfs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let manifest = format!("sha256:{name}").parse::<Digest>().ok();
        if manifest.is_some_and(|d| live.contains(&d)) {
            continue;
        }
        let _ = fs::remove_dir_all(entry.path());
    }
}
