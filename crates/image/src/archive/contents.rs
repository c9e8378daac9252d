//! What reading an archive leaves for its interpretation: the files it
//! held, by path, and the limits both keep to.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use crate::digest::Digest;

/// How much of an archive `load` reads before refusing it.
#[derive(Debug, Clone)]
pub struct LoadLimits {
    /// Bytes of tar (after gzip) at most; default 64 GiB.
    pub max_total_bytes: u64,
    /// Entries at most; default 100 000.
    pub max_entries: u64,
    /// Largest `index.json`, `manifest.json` or other file kept in memory;
    /// default 4 MiB. Larger metadata files are refused, larger other files
    /// are stored as blobs.
    pub max_metadata_bytes: u64,
    /// Bytes of files kept in memory in all; default 64 MiB.
    pub max_memory_bytes: u64,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            max_total_bytes: 64 << 30,
            max_entries: 100_000,
            max_metadata_bytes: 4 << 20,
            max_memory_bytes: 64 << 20,
        }
    }
}

/// A file of the archive other than a blob in `blobs/sha256/`.
#[derive(Debug)]
pub(super) enum File {
    /// Small: its bytes.
    Memory(Vec<u8>),
    /// Large, or a blob: stored under its digest.
    Stored { digest: Digest, size: u64 },
}

/// What the entries left behind: files by path, and links to follow.
#[derive(Debug, Default)]
pub(super) struct Contents {
    pub(super) files: BTreeMap<String, File>,
    pub(super) links: BTreeMap<String, String>,
}

/// An entry's path as `a/b/c`, refused when it is absolute or has `..`.
pub(super) fn clean_path(path: &Path) -> Result<String, &'static str> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or("its path is not UTF-8")?),
            Component::CurDir => {}
            Component::ParentDir => return Err("its path contains `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("its path is absolute"),
        }
    }
    Ok(parts.join("/"))
}
