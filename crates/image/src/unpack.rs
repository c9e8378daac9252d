//! Unpacking image layers (tar, optionally gzip) without ever writing
//! outside the target directory.
//!
//! Refused, each with an error naming the entry: absolute paths, `..`,
//! symlinks whose target leaves the tree, hard links to outside the tree,
//! writing through a symlink already in the tree, device files and fifos,
//! and more bytes or entries than the limits allow (decompression bombs).
//! Layers unpack into a fresh directory beside the target that is renamed
//! into place only when the whole layer went well, and removed otherwise.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// How much a layer may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct UnpackLimits {
    /// Uncompressed bytes of the tar stream.
    pub max_bytes: u64,
    /// Entries in the tar stream.
    pub max_entries: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_bytes: 4 << 30,
            max_entries: 1_000_000,
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
    /// More bytes or entries than the limits allow.
    #[error("layer is larger than the limit of {limit} {what}")]
    TooLarge {
        /// Bytes or entries.
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
    unpack_staged(target, |partial| {
        unpack_into(content, media_type, partial, limits)
    })
}

/// Unpacks the layer blobs `layers` (file, media type), lowest first, into
/// `target`, which must not exist yet: later layers replace earlier
/// entries, and their whiteouts (`.wh.NAME`, `.wh..wh..opq`) remove what
/// lower layers put there. On any error nothing is left at `target`.
pub fn unpack_layers(
    layers: &[(PathBuf, String)],
    target: &Path,
    limits: UnpackLimits,
) -> Result<(), UnpackError> {
    unpack_staged(target, |partial| {
        for (file, media_type) in layers {
            let content = fs::File::open(file).map_err(io_error(file))?;
            unpack_into(io::BufReader::new(content), media_type, partial, limits)?;
        }
        Ok(())
    })
}

/// Runs `fill` on a fresh directory beside `target` and renames it into
/// place when it succeeds; removes it when it fails.
fn unpack_staged(
    target: &Path,
    fill: impl FnOnce(&Path) -> Result<(), UnpackError>,
) -> Result<(), UnpackError> {
    let partial = target.with_extension(format!("partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial).map_err(io_error(&partial))?;
    let result =
        fill(&partial).and_then(|()| fs::rename(&partial, target).map_err(io_error(target)));
    if result.is_err() {
        let _ = fs::remove_dir_all(&partial);
    }
    result
}

fn unpack_into(
    content: impl Read,
    media_type: &str,
    root: &Path,
    limits: UnpackLimits,
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
        left: limits.max_bytes,
    });
    let entries = archive.entries().map_err(io_error(root))?;
    let mut placed = HashSet::new();
    for (count, entry) in entries.enumerate() {
        if count as u64 >= limits.max_entries {
            return Err(UnpackError::TooLarge {
                what: "entries",
                limit: limits.max_entries,
            });
        }
        let entry = entry.map_err(|e| too_large_or(e, limits, root))?;
        place(entry, root, &mut placed).map_err(|e| match e {
            UnpackError::Io { path, source } => too_large_or(source, limits, &path),
            other => other,
        })?;
    }
    Ok(())
}

/// Turns the byte limit's error back into [`UnpackError::TooLarge`].
fn too_large_or(error: io::Error, limits: UnpackLimits, path: &Path) -> UnpackError {
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<LimitReached>())
    {
        UnpackError::TooLarge {
            what: "bytes",
            limit: limits.max_bytes,
        }
    } else {
        UnpackError::Io {
            path: path.to_owned(),
            source: error,
        }
    }
}

fn place<R: Read>(
    mut entry: tar::Entry<'_, R>,
    root: &Path,
    placed: &mut HashSet<PathBuf>,
) -> Result<(), UnpackError> {
    let raw = entry.path_bytes().into_owned();
    let name = String::from_utf8_lossy(&raw).into_owned();
    let unsafe_entry = |reason| UnpackError::Unsafe {
        entry: name.clone(),
        reason,
    };
    let relative = contained(Path::new(&*String::from_utf8_lossy(&raw)))
        .ok_or_else(|| unsafe_entry("its path is absolute or climbs out with `..`"))?;
    if relative.as_os_str().is_empty() {
        return Ok(());
    }
    let path = root.join(&relative);
    ensure_no_symlink_on_the_way(root, &relative)
        .map_err(|()| unsafe_entry("it would be written through a symlink"))?;
    // `.wh.`, `.wh..` and `.wh...` would hide the directory itself or its
    // parent: refused before anything looks at what they name.
    if relative
        .file_name()
        .and_then(|name| name.to_str()?.strip_prefix(WHITEOUT_PREFIX))
        .is_some_and(|hidden| matches!(hidden, "" | "." | ".."))
    {
        return Err(unsafe_entry("it is a whiteout of no name, `.` or `..`"));
    }
    if let Some(hidden) = whiteout(&relative) {
        return apply_whiteout(root, hidden, placed);
    }
    placed.extend(relative.ancestors().map(Path::to_path_buf));
    let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
    let kind = entry.header().entry_type();
    if kind.is_dir() {
        fs::create_dir_all(&path).map_err(io_error(&path))?;
        return fs::set_permissions(&path, fs::Permissions::from_mode(mode | 0o700))
            .map_err(io_error(&path));
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    remove_existing(&path)?;
    if kind.is_file() || kind == tar::EntryType::Continuous {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
            .map_err(io_error(&path))?;
        io::copy(&mut entry, &mut file).map_err(io_error(&path))?;
        return Ok(());
    }
    let link = entry
        .link_name_bytes()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .ok_or_else(|| unsafe_entry("a link without a target"))?;
    if kind.is_symlink() {
        let base = relative.parent().unwrap_or(Path::new(""));
        if Path::new(&link).is_absolute()
            || contained(&base.join(&link)).is_none()
            || descends_then_climbs(Path::new(&link))
        {
            return Err(unsafe_entry("it is a symlink pointing outside the layer"));
        }
        return std::os::unix::fs::symlink(&link, &path).map_err(io_error(&path));
    }
    if kind.is_hard_link() {
        let source = contained(Path::new(&link))
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or_else(|| unsafe_entry("it is a hard link to outside the layer"))?;
        ensure_no_symlink_on_the_way(root, &source)
            .map_err(|()| unsafe_entry("it is a hard link through a symlink"))?;
        let source = root.join(source);
        let is_file = fs::symlink_metadata(&source).is_ok_and(|m| m.is_file());
        if !is_file {
            return Err(unsafe_entry(
                "it is a hard link to something not a file of the layer",
            ));
        }
        return fs::hard_link(&source, &path).map_err(io_error(&path));
    }
    Err(unsafe_entry(
        "device files, fifos and other special entries are not allowed",
    ))
}

/// What a whiteout entry hides: `Some(parent)` plus the name for
/// `.wh.NAME`, the parent alone for the opaque marker; `None` for an
/// ordinary entry.
fn whiteout(relative: &Path) -> Option<Whiteout<'_>> {
    let name = relative.file_name()?.to_str()?;
    let parent = relative.parent().unwrap_or(Path::new(""));
    if name == OPAQUE_WHITEOUT {
        return Some(Whiteout::Opaque(parent));
    }
    let hidden = name.strip_prefix(WHITEOUT_PREFIX)?;
    Some(Whiteout::Entry(parent.join(hidden)))
}

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_WHITEOUT: &str = ".wh..wh..opq";

enum Whiteout<'a> {
    /// `.wh.NAME`: NAME of lower layers is gone.
    Entry(PathBuf),
    /// `.wh..wh..opq`: everything lower layers put in the directory is gone.
    Opaque(&'a Path),
}

fn apply_whiteout(
    root: &Path,
    whiteout: Whiteout<'_>,
    placed: &HashSet<PathBuf>,
) -> Result<(), UnpackError> {
    match whiteout {
        Whiteout::Entry(hidden) => {
            if !placed.contains(&hidden) {
                remove_existing(&root.join(hidden))?;
            }
            Ok(())
        }
        Whiteout::Opaque(dir) => {
            let path = root.join(dir);
            let Ok(children) = fs::read_dir(&path) else {
                return Ok(());
            };
            for child in children {
                let child = child.map_err(io_error(&path))?;
                if !placed.contains(&dir.join(child.file_name())) {
                    remove_existing(&child.path())?;
                }
            }
            Ok(())
        }
    }
}

/// `path` made relative with `.` removed, or `None` if it is absolute or
/// climbs above its start.
fn contained(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// Whether `link` climbs (`..`) after going down: `a/l/..` stays inside
/// by its text, but where `a/l` is itself a link to `..` it leads out of
/// the tree. Climbing only first, each link of a chain stays inside.
fn descends_then_climbs(link: &Path) -> bool {
    let mut descended = false;
    link.components().any(|component| match component {
        Component::Normal(_) => {
            descended = true;
            false
        }
        Component::ParentDir => descended,
        _ => false,
    })
}

/// Fails if any existing ancestor of `relative` under `root` is a symlink.
fn ensure_no_symlink_on_the_way(root: &Path, relative: &Path) -> Result<(), ()> {
    let mut current = root.to_path_buf();
    let parents = relative
        .parent()
        .map(Path::components)
        .into_iter()
        .flatten();
    for part in parents {
        current.push(part);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(()),
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// Removes a file or symlink already at `path` (a later layer entry wins);
/// directories stay.
fn remove_existing(path: &Path) -> Result<(), UnpackError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path).map_err(io_error(path)),
        Ok(_) => fs::remove_file(path).map_err(io_error(path)),
        Err(_) => Ok(()),
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

/// A reader that fails once `left` bytes have been read.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
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
        let cap = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..cap])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
#[path = "unpack_tests.rs"]
mod tests;
