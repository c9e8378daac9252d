//! Deterministic layers: entries sorted, owners 0, modes normalized, one
//! fixed mtime, gzip without name or timestamp.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::{Compression, GzBuilder};
use sha2::{Digest as _, Sha256};

use super::error::BuildError;
use crate::blobs::BlobStore;
use crate::digest::Digest;
use crate::manifest::Descriptor;

/// The media type of every layer a build writes.
pub(crate) const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// What a path in the image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// A directory with its permission bits.
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A regular file, read from the context when the layer is written.
    File {
        /// Where the content is.
        source: PathBuf,
        /// Permission bits.
        mode: u32,
        /// The size seen when the file was chosen.
        size: u64,
    },
    /// A symbolic link, kept as it is.
    Symlink {
        /// The link's target.
        target: String,
    },
}

/// Paths in the image (relative, `/`-separated, no leading `/`) to what
/// they are. A `BTreeMap` sorts parents before their children.
pub(crate) type Tree = BTreeMap<String, Node>;

/// A layer written to the blob store.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    /// The compressed layer.
    pub descriptor: Descriptor,
    /// The sha256 of the uncompressed tar.
    pub diff_id: Digest,
}

/// Mode of directories the build makes on its own (parents, WORKDIR).
pub(crate) const DIR_MODE: u32 = 0o755;

/// Adds to `entries` every parent directory not already there, with its
/// mode in `image` if the image has it, else 0755.
pub(crate) fn with_parents(mut entries: Tree, image: &Tree) -> Tree {
    let paths: Vec<String> = entries.keys().cloned().collect();
    for path in paths {
        let mut parent = path.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            parent = up;
            if !entries.contains_key(parent) {
                let node = match image.get(parent) {
                    Some(node @ Node::Dir { .. }) => node.clone(),
                    _ => Node::Dir { mode: DIR_MODE },
                };
                entries.insert(parent.to_owned(), node);
            }
        }
    }
    entries
}

/// Writes `entries` as a gzip tar layer into `blobs`.
pub(crate) fn write(blobs: &BlobStore, entries: &Tree, mtime: u64) -> Result<Layer, BuildError> {
    let scratch = Scratch::new(blobs);
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| BuildError::Io { path, source }
    };
    let file = fs::File::create(&scratch.path).map_err(io_error(&scratch.path))?;
    let gzip = GzBuilder::new()
        .mtime(0)
        .write(io::BufWriter::new(file), Compression::new(6));
    let mut tar = tar::Builder::new(HashingWriter {
        inner: gzip,
        hasher: Sha256::new(),
    });
    for (path, node) in entries {
        append(&mut tar, path, node, mtime)?;
    }
    let hashing = tar.into_inner().map_err(io_error(&scratch.path))?;
    let diff_id = Digest::from_hasher(hashing.hasher);
    let mut buffered = hashing.inner.finish().map_err(io_error(&scratch.path))?;
    buffered.flush().map_err(io_error(&scratch.path))?;
    drop(buffered);
    let file = fs::File::open(&scratch.path).map_err(io_error(&scratch.path))?;
    let (digest, size) = blobs.ingest(file, u64::MAX)?;
    Ok(Layer {
        descriptor: Descriptor {
            media_type: LAYER_MEDIA_TYPE.to_owned(),
            digest,
            size,
            platform: None,
            annotations: BTreeMap::new(),
        },
        diff_id,
    })
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    node: &Node,
    mtime: u64,
) -> Result<(), BuildError> {
    let mut header = tar::Header::new_gnu();
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    let tar_error = |source| BuildError::Io {
        path: PathBuf::from(path),
        source,
    };
    match node {
        Node::Dir { mode } => {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(*mode);
            header.set_size(0);
            tar.append_data(&mut header, format!("{path}/"), io::empty())
                .map_err(tar_error)
        }
        Node::Symlink { target } => {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            tar.append_link(&mut header, path, target)
                .map_err(tar_error)
        }
        Node::File { source, mode, size } => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(*mode);
            header.set_size(*size);
            let file = fs::File::open(source).map_err(|source_error| BuildError::Io {
                path: source.clone(),
                source: source_error,
            })?;
            let exact = Exact {
                inner: file.take(*size),
                left: *size,
            };
            tar.append_data(&mut header, path, exact)
                .map_err(|error| BuildError::Io {
                    path: source.clone(),
                    source: error,
                })
        }
    }
}

/// Reads exactly the size the header announced, or fails: a file that
/// shrank while the build ran must not make a corrupt tar.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while the build read it",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The compressed layer on its way into the store, named so that
/// `BlobStore::open` clears it if this process dies; removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(blobs: &BlobStore) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("build.{}.{nanos}{count}.part", std::process::id());
        Scratch {
            path: blobs.root().join("ingest").join(name),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}
