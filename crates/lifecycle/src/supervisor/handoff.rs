//! The descriptors a process hands its child at fixed numbers: the
//! starting command to a container's supervisor, the supervisor to its
//! guest's process. The child finds a pipe to report on at [`READY_FD`]
//! and a service's listeners at [`FIRST_LISTENER_FD`] and after, in order.

use std::os::fd::{FromRawFd as _, OwnedFd};

/// Where the child reports: the supervisor that the guest is starting,
/// the guest's process how its run goes.
pub const READY_FD: i32 = 3;
/// Where a service's listeners are, one per published port, in order.
pub const FIRST_LISTENER_FD: i32 = 4;

/// The most listeners a child is handed (a detached service's published
/// ports).
pub const MAX_LISTENERS: usize = 64;

/// Where descriptors wait before [`place`] numbers them: above every
/// number it gives, so that placing one never overwrites another.
const STAGING_FLOOR: i32 = FIRST_LISTENER_FD + MAX_LISTENERS as i32;

/// A close-on-exec copy of `fd`, numbered above what [`place`] gives.
pub fn stage(fd: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor; nothing else owns it.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, STAGING_FLOOR) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `copy` is fresh and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// A pipe, both ends close-on-exec.
pub fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fresh descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// In the child, between fork and exec: puts `report` (staged) on
/// [`READY_FD`] and `listeners` (staged) on [`FIRST_LISTENER_FD`] and
/// after, none closed on exec. Only async-signal-safe calls.
pub fn place(report: i32, listeners: &[i32]) -> std::io::Result<()> {
    if listeners.len() > MAX_LISTENERS {
        return Err(std::io::Error::from_raw_os_error(libc::EMFILE));
    }
    // SAFETY: dup2 on descriptors this process owns; no allocation.
    unsafe {
        if libc::dup2(report, READY_FD) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        for (index, fd) in listeners.iter().enumerate() {
            if libc::dup2(*fd, FIRST_LISTENER_FD + index as i32) < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// Whether descriptor `fd` is open on a file of type `kind` (`S_IF*`).
pub fn is_open_as(fd: i32, kind: libc::mode_t) -> bool {
    // SAFETY: fstat writes into the stat we pass; a closed fd fails.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut stat) }) == 0 && stat.st_mode & libc::S_IFMT == kind
}
