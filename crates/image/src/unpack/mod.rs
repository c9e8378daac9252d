//! Unpacking image layers (tar, optionally gzip) without ever touching
//! anything outside the target directory.
//!
//! Every change is made relative to an open directory of the tree, reached
//! one component at a time without following symlinks (see [`tree`]), so
//! links already on disk — from this layer or a lower one — are never
//! followed out. Refused, each with an error naming the entry: absolute
//! paths, `..` that climbs out, symlinks whose target leaves the tree,
//! hard links to outside the tree or to anything not a regular file of it,
//! writing through a symlink, device files and fifos, whiteouts naming
//! nothing (`.wh.`), `.` or `..`, and more bytes, entries or depth than the
//! limits allow — one budget for the whole image, so many small bombs have
//! no more room than one. Layers unpack into a fresh directory beside the
//! target that is renamed into place only when every layer went well, and
//! removed otherwise. Owners are not applied (every file belongs to the
//! user who unpacks), and group and other write bits are dropped: the tree
//! is shared by every run of the image.

mod entry;
mod tree;

use std::cell::Cell;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// How much an image's layers may unpack to, all layers together.
#[derive(Debug, Clone, Copy)]
pub struct UnpackLimits {
    /// Uncompressed bytes of the tar streams.
    pub max_bytes: u64,
    /// Entries in the tar streams.
    pub max_entries: u64,
    /// Components in one entry's path.
    pub max_depth: usize,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_bytes: 4 << 30,
            max_entries: 1_000_000,
            max_depth: 128,
        }
    }
}

/// Why a layer was refused.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The file system refused, or the stream is not a valid tar/gzip.
    #[error("{}", path.display())]
    Io {
        /// The file or entry.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// An entry that would land, or point, outside the target.
    #[error("layer entry `{entry}` is refused: {reason}")]
    Unsafe {
        /// The entry's path in the tar.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A layer compression wharf does not read.
    #[error("layer media type `{0}` is not a tar or gzip tar layer")]
    MediaType(String),
    /// More bytes, entries or depth than the limits allow.
    #[error("layers are larger than the limit of {limit} {what}")]
    TooLarge {
        /// Bytes, entries or path components.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Unpacks the layer `content` of `media_type` into `target`, which must
/// not exist yet. On any error nothing is left at `target`.
pub fn unpack_layer(
    content: impl Read,
    media_type: &str,
    target: &Path,
    limits: UnpackLimits,
) -> Result<(), UnpackError> {
    unpack_staged(target, |tree| {
        let budget = Budget::new(limits);
        unpack_into(content, media_type, tree, &budget)
    })
}

/// Unpacks the layer blobs `layers` (file, media type), lowest first, into
/// `target`, which must not exist yet: later layers replace earlier
/// entries, and their whiteouts (`.wh.NAME`, `.wh..wh..opq`) remove what
/// lower layers put there. `limits` bound all layers together. On any
/// error nothing is left at `target`.
pub fn unpack_layers(
    layers: &[(PathBuf, String)],
    target: &Path,
    limits: UnpackLimits,
) -> Result<(), UnpackError> {
    unpack_staged(target, |tree| {
        let budget = Budget::new(limits);
        for (file, media_type) in layers {
            let content = fs::File::open(file).map_err(io_error(file))?;
            unpack_into(io::BufReader::new(content), media_type, tree, &budget)?;
        }
        Ok(())
    })
}

/// Runs `fill` on a fresh directory beside `target` and renames it into
/// place when it succeeds; removes it when it fails.
fn unpack_staged(
    target: &Path,
    fill: impl FnOnce(&tree::Tree) -> Result<(), UnpackError>,
) -> Result<(), UnpackError> {
    let partial = target.with_extension(format!("partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial).map_err(io_error(&partial))?;
    let result = tree::Tree::open(&partial)
        .map_err(io_error(&partial))
        .and_then(|tree| fill(&tree))
        .and_then(|()| fs::rename(&partial, target).map_err(io_error(target)));
    if result.is_err() {
        let _ = fs::remove_dir_all(&partial);
    }
    result
}

/// What is left of the limits while an image unpacks.
struct Budget {
    limits: UnpackLimits,
    bytes_left: Cell<u64>,
    entries_left: Cell<u64>,
}

impl Budget {
    fn new(limits: UnpackLimits) -> Budget {
        Budget {
            limits,
            bytes_left: Cell::new(limits.max_bytes),
            entries_left: Cell::new(limits.max_entries),
        }
    }

    /// Takes one entry of `depth` components from the budget.
    fn take_entry(&self, depth: usize) -> Result<(), UnpackError> {
        if depth > self.limits.max_depth {
            return Err(UnpackError::TooLarge {
                what: "path components",
                limit: self.limits.max_depth as u64,
            });
        }
        let left = self.entries_left.get();
        if left == 0 {
            return Err(UnpackError::TooLarge {
                what: "entries",
                limit: self.limits.max_entries,
            });
        }
        self.entries_left.set(left - 1);
        Ok(())
    }
}

fn unpack_into(
    content: impl Read,
    media_type: &str,
    tree: &tree::Tree,
    budget: &Budget,
) -> Result<(), UnpackError> {
    let stream: Box<dyn Read> = if media_type.ends_with("gzip") {
        Box::new(flate2::read::MultiGzDecoder::new(content))
    } else if media_type.ends_with("tar") {
        Box::new(content)
    } else {
        return Err(UnpackError::MediaType(media_type.to_owned()));
    };
    let mut archive = tar::Archive::new(Limited {
        inner: stream,
        left: &budget.bytes_left,
    });
    let here = Path::new("layer");
    let entries = archive.entries().map_err(io_error(here))?;
    let mut layer = entry::Layer::new(tree);
    for entry in entries {
        let entry = entry.map_err(|e| too_large_or(e, budget, here))?;
        layer.place(entry, budget).map_err(|e| match e {
            UnpackError::Io { path, source } => too_large_or(source, budget, &path),
            other => other,
        })?;
    }
    Ok(())
}

/// Turns the byte limit's error back into [`UnpackError::TooLarge`].
fn too_large_or(error: io::Error, budget: &Budget, path: &Path) -> UnpackError {
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<LimitReached>())
    {
        UnpackError::TooLarge {
            what: "bytes",
            limit: budget.limits.max_bytes,
        }
    } else {
        UnpackError::Io {
            path: path.to_owned(),
            source: error,
        }
    }
}

/// Marks the byte limit in an I/O error.
#[derive(Debug)]
struct LimitReached;

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("layer size limit reached")
    }
}

impl std::error::Error for LimitReached {}

/// A reader that fails once the budget's bytes are used up.
struct Limited<'a, R> {
    inner: R,
    left: &'a Cell<u64>,
}

impl<R: Read> Read for Limited<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left.get();
        if left == 0 {
            // Anything more than the limit is refused; a stream that ends
            // exactly at it still reads its end.
            let probe = buf.len().min(1);
            let n = self.inner.read(&mut buf[..probe])?;
            return if n == 0 {
                Ok(0)
            } else {
                Err(io::Error::other(LimitReached))
            };
        }
        let cap = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..cap])?;
        self.left.set(left - n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
