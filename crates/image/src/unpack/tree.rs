//! A layer's target tree, changed only through descriptors of its own
//! directories.
//!
//! Every path is walked one component at a time from the tree's root, each
//! opened with `O_NOFOLLOW | O_DIRECTORY`: a symlink anywhere on the way
//! (`ELOOP`) or a file where a directory should be (`ENOTDIR`) stops the
//! walk, and a single component that is neither `.` nor `..` cannot name
//! anything outside the directory it is opened in. So whatever links are
//! already on disk, nothing outside the tree is ever reached — the same
//! guarantee as `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, without
//! needing a kernel that has it. Changes are made through the opened
//! descriptor (`fchmod`, `*at` calls), never by path.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

/// Directories made on the way to an entry whose own directory entry has
/// not come (yet): Docker's mode for them.
const IMPLIED_DIR_MODE: u32 = 0o755;

/// Why a walk stopped.
#[derive(Debug)]
pub(super) enum WalkError {
    /// A component on the way is a symlink.
    Symlink,
    /// A component on the way is not a directory.
    NotDirectory,
    /// The component does not exist (only when not creating).
    Missing,
    /// The file system refused.
    Io(io::Error),
}

impl From<rustix::io::Errno> for WalkError {
    fn from(errno: rustix::io::Errno) -> Self {
        match errno {
            rustix::io::Errno::LOOP => WalkError::Symlink,
            rustix::io::Errno::NOTDIR => WalkError::NotDirectory,
            rustix::io::Errno::NOENT => WalkError::Missing,
            other => WalkError::Io(other.into()),
        }
    }
}

/// What is at a name in a directory, without following a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Directory,
    RegularFile,
    Other,
}

/// The open root directory of a tree being unpacked.
#[derive(Debug)]
pub(super) struct Tree {
    root: OwnedFd,
}

impl Tree {
    /// Opens the directory `path` (made by the unpacker, so trusted).
    pub(super) fn open(path: &Path) -> io::Result<Tree> {
        let root = rustix::fs::open(path, dir_flags(), Mode::empty())?;
        Ok(Tree { root })
    }

    /// The root directory's descriptor.
    fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// Opens the directory at `components` below the root; with `create`,
    /// makes the missing ones (mode 0755).
    pub(super) fn open_dir(
        &self,
        components: &[&OsStr],
        create: bool,
    ) -> Result<OwnedFd, WalkError> {
        let mut current = rustix::fs::openat(self.root(), c".", dir_flags(), Mode::empty())?;
        for &component in components {
            current = match open_child_dir(current.as_fd(), component) {
                Err(WalkError::Missing) if create => {
                    rustix::fs::mkdirat(
                        current.as_fd(),
                        component,
                        Mode::from_raw_mode(IMPLIED_DIR_MODE),
                    )?;
                    open_child_dir(current.as_fd(), component)?
                }
                other => other?,
            };
        }
        Ok(current)
    }
}

/// Opens the directory `name` in `parent`, never through a symlink.
pub(super) fn open_child_dir(parent: BorrowedFd<'_>, name: &OsStr) -> Result<OwnedFd, WalkError> {
    Ok(rustix::fs::openat(
        parent,
        name,
        dir_flags(),
        Mode::empty(),
    )?)
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// What `name` in `parent` is, `None` when nothing is there.
pub(super) fn kind_at(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<Kind>> {
    match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => Kind::Directory,
            FileType::RegularFile => Kind::RegularFile,
            _ => Kind::Other,
        })),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(errno) => Err(errno.into()),
    }
}

/// Removes whatever is at `name` in `parent` (a directory with all it
/// holds, never following a symlink); nothing there is not an error.
pub(super) fn remove_at(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match kind_at(parent, name)? {
        None => Ok(()),
        Some(Kind::Directory) => {
            let dir = rustix::fs::openat(parent, name, dir_flags(), Mode::empty())?;
            for child in children(dir.as_fd())? {
                remove_at(dir.as_fd(), &child)?;
            }
            Ok(rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)?)
        }
        Some(_) => Ok(rustix::fs::unlinkat(parent, name, AtFlags::empty())?),
    }
}

/// The names in the directory `dir`, without `.` and `..`.
pub(super) fn children(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    use std::os::unix::ffi::OsStrExt as _;
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(name).to_owned());
        }
    }
    Ok(names)
}

/// Creates the regular file `name` in `parent` (it must not exist).
pub(super) fn create_file(parent: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<fs::File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(parent, name, flags, Mode::from_raw_mode(mode))?;
    Ok(fs::File::from(fd))
}

/// Sets the permission bits of the directory `fd` refers to.
pub(super) fn set_mode(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    Ok(rustix::fs::fchmod(fd, Mode::from_raw_mode(mode))?)
}
