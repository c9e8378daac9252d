//! Reading a tarball of images into the store.
//!
//! Entries stream by in any order. Blobs under `blobs/sha256/` go straight
//! into the store, verified against the digest their name claims; other
//! files are kept in memory when small or stored under their computed
//! digest when large. Only when the last entry is read are `index.json` or
//! `manifest.json` interpreted and every manifest checked, so an archive
//! that fails names nothing.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path};
use std::rc::Rc;

use super::{ArchiveError, ArchivedImage, BLOB_DIR, blob_path};
use crate::blobs::{BlobError, BlobStore, Expected};
use crate::digest::Digest;

use super::contents::{Contents, File, LoadLimits, clean_path};
use super::interpret;

/// Reads a tar (docker or OCI layout; gzip-compressed tar too) into
/// `blobs`; returns the images it holds (the caller names them).
pub fn load(blobs: &BlobStore, input: impl Read) -> Result<Vec<ArchivedImage>, ArchiveError> {
    load_with_limits(blobs, input, &LoadLimits::default())
}

/// [`load`] with limits other than the defaults.
pub fn load_with_limits(
    blobs: &BlobStore,
    input: impl Read,
    limits: &LoadLimits,
) -> Result<Vec<ArchivedImage>, ArchiveError> {
    let contents = read_entries(blobs, input, limits)?;
    interpret::images(blobs, &contents, limits)
}

fn read_entries(
    blobs: &BlobStore,
    input: impl Read,
    limits: &LoadLimits,
) -> Result<Contents, ArchiveError> {
    let mut input = BufReader::new(input);
    let gzip = input
        .fill_buf()
        .map_err(ArchiveError::Read)?
        .starts_with(&[0x1f, 0x8b]);
    let decoded: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(input))
    } else {
        Box::new(input)
    };
    let exceeded = Rc::new(Cell::new(false));
    let mut archive = tar::Archive::new(Limited {
        inner: decoded,
        remaining: limits.max_total_bytes,
        exceeded: exceeded.clone(),
    });
    let too_large = || ArchiveError::TooLarge {
        limit: limits.max_total_bytes,
    };
    let mut contents = Contents::default();
    let mut count: u64 = 0;
    let mut in_memory: u64 = 0;
    for entry in archive.entries().map_err(ArchiveError::Read)? {
        let mut entry = entry.map_err(|e| {
            if exceeded.get() {
                too_large()
            } else {
                ArchiveError::Read(e)
            }
        })?;
        count += 1;
        if count > limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let shown = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let unsafe_path = |reason| ArchiveError::UnsafePath {
            path: shown.clone(),
            reason,
        };
        let raw = entry
            .path()
            .map_err(|_| unsafe_path("its path is not UTF-8"))?;
        let path = clean_path(&raw).map_err(unsafe_path)?;
        let kind = entry.header().entry_type();
        let entry_error = |source: io::Error| {
            if exceeded.get() {
                too_large()
            } else {
                ArchiveError::Entry {
                    path: path.clone(),
                    source,
                }
            }
        };
        match kind {
            tar::EntryType::Directory | tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {
                continue;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(entry_error)?
                    .ok_or_else(|| unsafe_path("it is a link without a target"))?;
                let base = if kind == tar::EntryType::Symlink {
                    path.rsplit_once('/').map_or("", |(dir, _)| dir)
                } else {
                    ""
                };
                let target = link_target(base, &target).map_err(unsafe_path)?;
                contents.links.insert(path, target);
                continue;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            other => {
                return Err(ArchiveError::EntryKind {
                    path,
                    kind: kind_name(other),
                });
            }
        }
        if path.is_empty() {
            return Err(unsafe_path("a file cannot be the archive's root"));
        }
        let size = entry.size();
        let store_error = |source| {
            if exceeded.get() {
                too_large()
            } else {
                ArchiveError::Store {
                    path: path.clone(),
                    source,
                }
            }
        };
        let file = if let Some(digest) = blob_name(&path) {
            let size = if blobs.contains(&digest) {
                // Already stored and verified then: the entry is not read,
                // and the size is the stored blob's, not the header's.
                let stored = blobs.path(&digest);
                std::fs::metadata(&stored)
                    .map_err(|source| {
                        store_error(BlobError::Io {
                            path: stored,
                            source,
                        })
                    })?
                    .len()
            } else {
                let expected = Expected {
                    digest: digest.clone(),
                    size: Some(size),
                    limit: size,
                };
                blobs.write(&expected, &mut entry).map_err(store_error)?
            };
            File::Stored { digest, size }
        } else if size <= limits.max_metadata_bytes && in_memory + size <= limits.max_memory_bytes {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            (&mut entry)
                .take(size)
                .read_to_end(&mut bytes)
                .map_err(entry_error)?;
            in_memory += size;
            File::Memory(bytes)
        } else if interpret::is_metadata(&path) {
            return Err(ArchiveError::FileTooLarge {
                path,
                limit: limits.max_metadata_bytes,
            });
        } else {
            let (digest, size) = blobs.ingest(&mut entry, size).map_err(store_error)?;
            File::Stored { digest, size }
        };
        contents.files.insert(path, file);
    }
    if exceeded.get() {
        return Err(too_large());
    }
    Ok(contents)
}

/// The digest a `blobs/sha256/<hex>` path claims.
fn blob_name(path: &str) -> Option<Digest> {
    let hex = path.strip_prefix(BLOB_DIR)?;
    let digest: Digest = format!("sha256:{hex}").parse().ok()?;
    (blob_path(&digest) == path).then_some(digest)
}

/// Where a link leads, from directory `base`, refused when it is absolute
/// or leaves the archive.
fn link_target(base: &str, target: &Path) -> Result<String, &'static str> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for component in target.components() {
        match component {
            Component::Normal(part) => {
                parts.push(part.to_str().ok_or("its link target is not UTF-8")?);
            }
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or("its link target leaves the archive")?;
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("its link target is an absolute path");
            }
        }
    }
    Ok(parts.join("/"))
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "fifo",
        tar::EntryType::GNUSparse => "sparse file",
        _ => "special entry",
    }
}

/// Reads at most `remaining` bytes, then fails and says so in `exceeded`.
struct Limited<R> {
    inner: R,
    remaining: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.remaining {
            self.exceeded.set(true);
            return Err(io::Error::other("the archive is larger than the limit"));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}
