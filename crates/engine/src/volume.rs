//! Volumes: host directories given to a guest, resolved once when the
//! container is made and held by descriptor and identity after that.
//!
//! A guest can rewrite what lies inside its writable volumes, and so the
//! path of any other volume that runs through them (`-v $D:/src -v
//! $D/out:/out`: the guest may put a symlink where `out` was). So:
//! - [`resolve_volumes`] (when the container is made) walks each host path
//!   one component at a time and refuses a symbolic link inside another of
//!   the run's writable volumes; it records the canonical path and the
//!   directory's device and inode;
//! - every later open ([`HeldVolume::open`], at each start and once per
//!   service) walks the recorded path with no symbolic link followed at
//!   all and checks the identity, so a directory moved, replaced or turned
//!   into a link is refused by name; the WASI preopen and the Landlock rule
//!   are both made from the one descriptor it returns.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::error::Error;

/// A host directory given to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// The directory on the host: absolute; canonical once resolved.
    pub host: PathBuf,
    /// Where the guest sees it (an absolute guest path such as `/data`).
    pub guest: String,
    /// Whether the guest is refused every change through it.
    pub read_only: bool,
    /// The directory found when the container was made (see
    /// [`resolve_volumes`]); every later open must find the same one.
    /// `None`: not resolved yet, which the run does when it starts.
    pub identity: Option<DirIdentity>,
}

impl Volume {
    /// A volume of `host` at `guest`, resolved when first used.
    pub fn new(host: impl Into<PathBuf>, guest: impl Into<String>, read_only: bool) -> Volume {
        Volume {
            host: host.into(),
            guest: guest.into(),
            read_only,
            identity: None,
        }
    }
}

/// A directory's device and inode numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DirIdentity {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

impl DirIdentity {
    fn of(fd: impl AsFd) -> std::io::Result<DirIdentity> {
        let stat = rustix::fs::fstat(fd)?;
        Ok(DirIdentity {
            dev: stat.st_dev,
            ino: stat.st_ino,
        })
    }
}

/// How many symbolic links one walk follows (Linux's own limit).
const MAX_LINKS: u32 = 40;

/// Resolves the volumes of one run that are not resolved yet: each host
/// path becomes canonical and its directory's identity is recorded. A path
/// that leads through a symbolic link inside another writable volume of
/// the same run is refused ([`Error::VolumeThroughGuestLink`]): the guest
/// could have put it there. Other links (the host's own) are followed.
pub fn resolve_volumes(volumes: &mut [Volume]) -> Result<(), Error> {
    // What the guest can write: each writable volume's directory as the
    // paths lead today, links and all. A link found below any of them, on
    // the way to another volume, is refused.
    let mut writable = Vec::new();
    for (index, volume) in volumes.iter().enumerate() {
        if volume.read_only {
            continue;
        }
        let dir = match volume.identity {
            Some(_) => HeldVolume::open(volume)?.fd,
            None => open_following(&volume.host).map_err(|source| volume_error(volume, source))?,
        };
        let identity = DirIdentity::of(&dir).map_err(|source| volume_error(volume, source))?;
        writable.push((index, identity));
    }
    for index in 0..volumes.len() {
        if volumes[index].identity.is_some() {
            continue;
        }
        let others: Vec<(usize, DirIdentity)> = writable
            .iter()
            .copied()
            .filter(|(other, _)| *other != index)
            .collect();
        let volume = &volumes[index];
        let walked =
            walk(&volume.host, Links::FollowOutside(&others)).map_err(|stop| match stop {
                Stop::GuestLink { link, inside } => Error::VolumeThroughGuestLink {
                    guest: volume.guest.clone(),
                    host: volume.host.clone(),
                    link,
                    inside: inside.map_or_else(String::new, |i| volumes[i].guest.clone()),
                },
                Stop::Io(source) => volume_error(volume, source),
            })?;
        let identity =
            DirIdentity::of(&walked.fd).map_err(|source| volume_error(volume, source))?;
        let volume = &mut volumes[index];
        volume.host = walked.path;
        volume.identity = Some(identity);
    }
    Ok(())
}

/// A volume's directory, open: what the guest's preopen and the kernel's
/// rule for it are both made from.
#[derive(Debug)]
pub(crate) struct HeldVolume {
    fd: OwnedFd,
    pub(crate) guest: String,
    pub(crate) read_only: bool,
}

impl HeldVolume {
    /// Opens a resolved volume: its recorded path walked with no symbolic
    /// link followed, and the directory found must be the recorded one.
    pub(crate) fn open(volume: &Volume) -> Result<HeldVolume, Error> {
        let Some(recorded) = volume.identity else {
            let mut one = [volume.clone()];
            resolve_volumes(&mut one)?;
            return HeldVolume::open(&one[0]);
        };
        let changed = || Error::VolumeChanged {
            guest: volume.guest.clone(),
            host: volume.host.clone(),
        };
        let walked = match walk(&volume.host, Links::Refuse) {
            Ok(walked) => walked,
            Err(Stop::GuestLink { .. }) => return Err(changed()),
            Err(Stop::Io(error)) if error.raw_os_error() == Some(libc::ENOENT) => {
                return Err(changed());
            }
            Err(Stop::Io(source)) => return Err(volume_error(volume, source)),
        };
        if DirIdentity::of(&walked.fd).map_err(|source| volume_error(volume, source))? != recorded {
            return Err(changed());
        }
        Ok(HeldVolume {
            fd: walked.fd,
            guest: volume.guest.clone(),
            read_only: volume.read_only,
        })
    }

    /// Opens every volume of a run, in order.
    pub(crate) fn open_all(volumes: &[Volume]) -> Result<Vec<HeldVolume>, Error> {
        if volumes.iter().any(|v| v.identity.is_none()) {
            let mut resolved = volumes.to_vec();
            resolve_volumes(&mut resolved)?;
            return resolved.iter().map(HeldVolume::open).collect();
        }
        volumes.iter().map(HeldVolume::open).collect()
    }

    /// The descriptor, for the kernel's rule and for opening beneath it.
    pub(crate) fn dir(&self) -> &OwnedFd {
        &self.fd
    }

    /// A path the host opens to reach this very directory again, whatever
    /// has happened to its name since (the descriptor's magic link).
    pub(crate) fn proc_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }
}

fn volume_error(volume: &Volume, source: std::io::Error) -> Error {
    Error::Volume {
        host: volume.host.clone(),
        source: Box::new(source),
    }
}

/// A plain open of `path`, links followed (what the path leads to today).
fn open_following(path: &Path) -> std::io::Result<OwnedFd> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    Ok(rustix::fs::open(path, flags, Mode::empty())?)
}

/// What a walk does at a symbolic link.
enum Links<'a> {
    /// Follows it, unless the directory holding it lies at or below one of
    /// these (a volume's index and its directory's identity).
    FollowOutside(&'a [(usize, DirIdentity)]),
    /// Never follows one.
    Refuse,
}

/// Why a walk stopped.
enum Stop {
    /// A link it may not follow, and the volume (index) it lies in.
    GuestLink {
        link: PathBuf,
        inside: Option<usize>,
    },
    Io(std::io::Error),
}

impl From<rustix::io::Errno> for Stop {
    fn from(errno: rustix::io::Errno) -> Stop {
        Stop::Io(errno.into())
    }
}

/// The directory a walk reached, and its canonical path.
struct Walked {
    fd: OwnedFd,
    path: PathBuf,
}

/// Walks the absolute `path` from `/` one component at a time, opening
/// each with `O_NOFOLLOW`, and deals with each symbolic link as `links`
/// says. The result is a directory.
fn walk(path: &Path, links: Links<'_>) -> Result<Walked, Stop> {
    if !path.is_absolute() {
        return Err(Stop::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a volume's host path must be absolute",
        )));
    }
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let root = rustix::fs::open("/", dir_flags, Mode::empty())?;
    let mut current = root.try_clone().map_err(Stop::Io)?;
    let mut canonical = PathBuf::from("/");
    // Components still to walk, the next one last.
    let mut pending: Vec<Vec<u8>> = components(path.as_os_str().as_bytes());
    let mut followed = 0u32;
    while let Some(name) = pending.pop() {
        match name.as_slice() {
            b"" | b"." => continue,
            b".." => {
                current = rustix::fs::openat(&current, "..", dir_flags, Mode::empty())?;
                canonical.pop();
                continue;
            }
            _ => {}
        }
        let name = OsStr::from_bytes(&name);
        let stat = rustix::fs::statat(&current, name, AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::Symlink {
            current = rustix::fs::openat(&current, name, dir_flags, Mode::empty())?;
            canonical.push(name);
            continue;
        }
        match links {
            Links::Refuse => {
                return Err(Stop::GuestLink {
                    link: canonical.join(name),
                    inside: None,
                });
            }
            Links::FollowOutside(guarded) => {
                if let Some(inside) = lies_within(&current, guarded)? {
                    return Err(Stop::GuestLink {
                        link: canonical.join(name),
                        inside: Some(inside),
                    });
                }
            }
        }
        followed += 1;
        if followed > MAX_LINKS {
            return Err(Stop::Io(std::io::Error::from_raw_os_error(libc::ELOOP)));
        }
        let target = rustix::fs::readlinkat(&current, name, Vec::new())?;
        let target = target.as_bytes();
        if target.starts_with(b"/") {
            current = root.try_clone().map_err(Stop::Io)?;
            canonical = PathBuf::from("/");
        }
        pending.extend(components(target));
    }
    Ok(Walked {
        fd: current,
        path: canonical,
    })
}

/// `path`'s components, the first last (for popping).
fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|b| *b == b'/')
        .rev()
        .map(<[u8]>::to_vec)
        .collect()
}

/// The index of the guarded directory that `dir` is, or lies below, found
/// by climbing `..` to `/` and comparing identities (a text prefix would
/// not see a second path to the same place).
fn lies_within(dir: &OwnedFd, guarded: &[(usize, DirIdentity)]) -> Result<Option<usize>, Stop> {
    if guarded.is_empty() {
        return Ok(None);
    }
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut current = dir.try_clone().map_err(Stop::Io)?;
    let mut identity = DirIdentity::of(&current).map_err(Stop::Io)?;
    loop {
        if let Some((index, _)) = guarded.iter().find(|(_, id)| *id == identity) {
            return Ok(Some(*index));
        }
        let parent = rustix::fs::openat(&current, "..", flags, Mode::empty())?;
        let above = DirIdentity::of(&parent).map_err(Stop::Io)?;
        if above == identity {
            return Ok(None);
        }
        current = parent;
        identity = above;
    }
}

#[cfg(test)]
#[path = "volume_tests.rs"]
mod tests;
