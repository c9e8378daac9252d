//! The rootfs mounts containerd hands a shim, onto the bundle's rootfs.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use libc::c_ulong;

use crate::LifecycleError;

/// How many mounts [`unmount_rootfs`] removes from one target at most.
const MAX_UNMOUNTS: u32 = 64;

/// One mount of containerd's `Create` request (its `Mount` message).
///
/// containerd's `target` (a sub-path, set only by some containerd 2
/// snapshotters) is not supported: every mount goes onto the rootfs itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootfsMount {
    /// The filesystem type: `overlay`, `bind`, or any type the kernel knows.
    pub kind: String,
    /// The mount's source: a directory for `bind`, `overlay` for overlays.
    pub source: String,
    /// Options: flags (`ro`, `nosuid`, `rbind`, ...) and filesystem data
    /// (`lowerdir=...`, `upperdir=...`, `workdir=...`).
    pub options: Vec<String>,
}

/// Mount options split into mount(2) flags, propagation and data.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    flags: c_ulong,
    propagation: c_ulong,
    data: Vec<String>,
}

/// Option names that set (or, with `false`, clear) mount flags.
const FLAGS: &[(&str, bool, c_ulong)] = &[
    ("defaults", true, 0),
    ("ro", true, libc::MS_RDONLY),
    ("rw", false, libc::MS_RDONLY),
    ("nosuid", true, libc::MS_NOSUID),
    ("suid", false, libc::MS_NOSUID),
    ("nodev", true, libc::MS_NODEV),
    ("dev", false, libc::MS_NODEV),
    ("noexec", true, libc::MS_NOEXEC),
    ("exec", false, libc::MS_NOEXEC),
    ("sync", true, libc::MS_SYNCHRONOUS),
    ("async", false, libc::MS_SYNCHRONOUS),
    ("dirsync", true, libc::MS_DIRSYNC),
    ("remount", true, libc::MS_REMOUNT),
    ("mand", true, libc::MS_MANDLOCK),
    ("nomand", false, libc::MS_MANDLOCK),
    ("noatime", true, libc::MS_NOATIME),
    ("atime", false, libc::MS_NOATIME),
    ("nodiratime", true, libc::MS_NODIRATIME),
    ("diratime", false, libc::MS_NODIRATIME),
    ("relatime", true, libc::MS_RELATIME),
    ("norelatime", false, libc::MS_RELATIME),
    ("strictatime", true, libc::MS_STRICTATIME),
    ("nostrictatime", false, libc::MS_STRICTATIME),
    ("bind", true, libc::MS_BIND),
    ("rbind", true, libc::MS_BIND | libc::MS_REC),
];

/// Option names that change the mount's propagation, applied after it.
const PROPAGATION: &[(&str, c_ulong)] = &[
    ("private", libc::MS_PRIVATE),
    ("rprivate", libc::MS_PRIVATE | libc::MS_REC),
    ("shared", libc::MS_SHARED),
    ("rshared", libc::MS_SHARED | libc::MS_REC),
    ("slave", libc::MS_SLAVE),
    ("rslave", libc::MS_SLAVE | libc::MS_REC),
    ("unbindable", libc::MS_UNBINDABLE),
    ("runbindable", libc::MS_UNBINDABLE | libc::MS_REC),
];

fn parse_options(options: &[String]) -> Options {
    let mut parsed = Options::default();
    for option in options {
        if let Some((_, set, flag)) = FLAGS.iter().find(|(name, _, _)| name == option) {
            if *set {
                parsed.flags |= flag;
            } else {
                parsed.flags &= !flag;
            }
        } else if let Some((_, flag)) = PROPAGATION.iter().find(|(name, _)| name == option) {
            parsed.propagation |= flag;
        } else {
            parsed.data.push(option.clone());
        }
    }
    parsed
}

/// Mounts `mounts`, in order, onto `target` (each on top of the last).
///
/// - `bind` (type `bind`, or a `bind`/`rbind` option): a bind mount of
///   `source`, recursive with `rbind`, remounted read-only with `ro` (the
///   kernel ignores `ro` on the bind itself);
/// - `overlay` and every other type: mount(2) of that type, the options it
///   does not know as flags passed as data (`lowerdir=..,upperdir=..`).
///   The data must fit in one page, as mount(2) requires.
///
/// No mounts means the rootfs is already in place. When a mount fails, the
/// ones made before it are removed again. Needs `CAP_SYS_ADMIN`.
pub fn mount_rootfs(mounts: &[RootfsMount], target: &Path) -> Result<(), LifecycleError> {
    let c_target = c_path(target)?;
    for (done, mount) in mounts.iter().enumerate() {
        if let Err(error) = mount_one(mount, &c_target, target) {
            for _ in 0..done {
                // Best effort: the mount error is the one worth reporting.
                let _ = detach(&c_target);
            }
            return Err(error);
        }
    }
    Ok(())
}

fn mount_one(mount: &RootfsMount, c_target: &CStr, target: &Path) -> Result<(), LifecycleError> {
    let options = parse_options(&mount.options);
    let bind = mount.kind == "bind" || options.flags & libc::MS_BIND != 0;
    let fail = |source| LifecycleError::Mount {
        kind: mount.kind.clone(),
        source_path: mount.source.clone(),
        target: target.to_owned(),
        source,
    };
    let c_source = c_string(&mount.source)?;
    let c_kind = c_string(&mount.kind)?;
    let c_data = c_string(&options.data.join(","))?;
    let (kind, data) = if bind {
        (None, None)
    } else {
        (
            Some(c_kind.as_c_str()),
            Some(c_data.as_c_str()).filter(|d| !d.is_empty()),
        )
    };
    let flags = if bind {
        options.flags | libc::MS_BIND
    } else {
        options.flags
    };
    sys_mount(Some(&c_source), c_target, kind, flags, data).map_err(fail)?;
    let mut finish = Ok(());
    if bind && flags & libc::MS_RDONLY != 0 {
        finish = sys_mount(None, c_target, None, flags | libc::MS_REMOUNT, None);
    }
    if finish.is_ok() && options.propagation != 0 {
        finish = sys_mount(None, c_target, None, options.propagation, None);
    }
    if let Err(error) = finish {
        let _ = detach(c_target);
        return Err(fail(error));
    }
    Ok(())
}

/// Lazily unmounts (`MNT_DETACH`) everything mounted on `target`, top first,
/// until it is no longer a mount point. Nothing mounted, or no `target` at
/// all, is fine.
pub fn unmount_rootfs(target: &Path) -> Result<(), LifecycleError> {
    let c_target = c_path(target)?;
    for _ in 0..MAX_UNMOUNTS {
        match detach(&c_target) {
            Ok(()) => {}
            // EINVAL: not a mount point (any more); ENOENT: no such target.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => {
                return Ok(());
            }
            Err(source) => {
                return Err(LifecycleError::Unmount {
                    target: target.to_owned(),
                    source,
                });
            }
        }
    }
    Err(LifecycleError::StillMounted {
        target: target.to_owned(),
        attempts: MAX_UNMOUNTS,
    })
}

/// Whether something is mounted on `path` in this process's mount
/// namespace (per `/proc/self/mountinfo`). A missing path is not.
pub fn is_mount_point(path: &Path) -> Result<bool, LifecycleError> {
    let Ok(path) = path.canonicalize() else {
        return Ok(false);
    };
    let info = std::fs::read("/proc/self/mountinfo")
        .map_err(|source| LifecycleError::MountInfo { source })?;
    let wanted = path.as_os_str().as_bytes();
    Ok(info
        .split(|b| *b == b'\n')
        .filter_map(|line| line.split(|b| *b == b' ').nth(4))
        .any(|point| unescape(point) == wanted))
}

/// A mountinfo field with its octal escapes (`\040` for a space) decoded.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let value = d.iter().fold(0u32, |n, c| n * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

fn detach(target: &CStr) -> io::Result<()> {
    // SAFETY: `target` is a NUL-terminated string that outlives the call.
    // UMOUNT_NOFOLLOW: a target that became a link is not followed.
    let rc = unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn sys_mount(
    source: Option<&CStr>,
    target: &CStr,
    kind: Option<&CStr>,
    flags: c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is null or a NUL-terminated string that outlives
    // the call; mount(2) only reads them.
    let rc = unsafe {
        libc::mount(
            ptr(source),
            target.as_ptr(),
            ptr(kind),
            flags,
            ptr(data).cast(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn c_string(s: &str) -> Result<CString, LifecycleError> {
    CString::new(s).map_err(|_| LifecycleError::NulInPath { path: s.to_owned() })
}

fn c_path(path: &Path) -> Result<CString, LifecycleError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| LifecycleError::NulInPath {
        path: path.display().to_string(),
    })
}

#[cfg(test)]
#[path = "mount_tests.rs"]
mod tests;
