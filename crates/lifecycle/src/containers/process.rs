//! A supervisor's process, told apart from any other that has (or later
//! gets) its pid, and signalled only through a pidfd.
//!
//! A pid read from a state file is only a number: 0 or one that wraps to
//! -1 names a process group or every process, and a supervisor's pid may
//! be given to another process after it ends. So a pid is used only when
//! it names one process (2..=i32::MAX, not this one), a pidfd is opened on
//! it, and then the process behind the pidfd is checked: its start time
//! (field 22 of `/proc/PID/stat`) must be the one the supervisor recorded;
//! a state from before wharf recorded it is trusted only when that process
//! holds the container's supervisor lock (per `/proc/locks`). The signal
//! goes through the pidfd, to the process that was checked.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::usage::start_time;

/// A container's live supervisor, pinned by a pidfd.
#[derive(Debug)]
pub struct Supervisor {
    pidfd: OwnedFd,
    pid: i32,
}

impl Supervisor {
    /// Its process ID.
    pub fn pid(&self) -> u32 {
        self.pid.unsigned_abs()
    }

    /// Sends it `signal`; one that ended meanwhile is no error.
    pub fn signal(&self, signal: i32) -> io::Result<()> {
        let none: *const libc::siginfo_t = std::ptr::null();
        // SAFETY: pidfd_send_signal reads its arguments only; no siginfo.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                signal,
                none,
                0,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::ESRCH) => Ok(()),
            _ => Err(error),
        }
    }
}

/// This process's start time, for a supervisor to record beside its pid.
pub fn own_start_time() -> Option<u64> {
    start_time(std::process::id())
}

/// The process `pid`, when it is the supervisor that recorded
/// `started` (its start time) or, with none recorded, the holder of the
/// supervisor lock at `lock`; `None` when it is some other process or
/// none at all.
pub(super) fn find(pid: u32, started: Option<u64>, lock: &Path) -> io::Result<Option<Supervisor>> {
    let Some(pid) = checked_pid(pid) else {
        return Ok(None);
    };
    let Some(pidfd) = pidfd_open(pid)? else {
        return Ok(None);
    };
    // Checked after the pidfd is open: the process checked is the one
    // the pidfd pins, not a later one given the same pid.
    let same = match started {
        Some(started) => start_time(pid.unsigned_abs()) == Some(started),
        None => holds_flock(pid, lock),
    };
    Ok(same.then_some(Supervisor { pidfd, pid }))
}

/// `pid` when it names one process other than init and this one.
fn checked_pid(pid: u32) -> Option<i32> {
    i32::try_from(pid)
        .ok()
        .filter(|p| *p > 1 && pid != std::process::id())
}

/// A pidfd on `pid`; `None` when no such process exists.
fn pidfd_open(pid: i32) -> io::Result<Option<OwnedFd>> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        let error = io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(libc::ESRCH) => Ok(None),
            _ => Err(error),
        };
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::other("pidfd_open: bad descriptor"))?;
    // SAFETY: the descriptor is new and owned by nothing else.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Whether `pid` holds an exclusive flock on the file `lock`, per
/// `/proc/locks`.
fn holds_flock(pid: i32, lock: &Path) -> bool {
    let (Ok(file), Ok(locks)) = (fs::metadata(lock), fs::read_to_string("/proc/locks")) else {
        return false;
    };
    locks
        .lines()
        .any(|line| flock_holder(line, file.ino()) == Some(pid))
}

/// The pid in a `/proc/locks` line when it is a granted exclusive flock
/// on inode `ino`: `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`.
/// Only the inode number is compared: the device is written as the
/// filesystem's, which differs from `st_dev` on some (btrfs subvolumes).
fn flock_holder(line: &str, ino: u64) -> Option<i32> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // A waiter's line has `->` after the number.
    let [_, "FLOCK", _, "WRITE", pid, file, ..] = fields.as_slice() else {
        return None;
    };
    let (_, inode) = file.rsplit_once(':')?;
    (inode.parse::<u64>().ok()? == ino).then(|| pid.parse().ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pids_of_one_other_process_are_used() {
        for bad in [0, 1, u32::MAX, 1 << 31, std::process::id()] {
            assert_eq!(checked_pid(bad), None, "{bad}");
        }
        assert_eq!(checked_pid(2), Some(2));
        assert_eq!(checked_pid(i32::MAX as u32), Some(i32::MAX));
    }

    #[test]
    fn this_process_has_a_start_time() {
        assert!(own_start_time().is_some());
    }

    #[test]
    fn proc_locks_lines_name_the_holder() {
        assert_eq!(
            flock_holder("1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF", 5678),
            Some(1234)
        );
        assert_eq!(
            flock_holder("1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF", 5679),
            None
        );
        assert_eq!(
            flock_holder("1: FLOCK  ADVISORY  READ 1234 08:01:5678 0 EOF", 5678),
            None
        );
        assert_eq!(
            flock_holder("1: -> FLOCK  ADVISORY  WRITE 99 08:01:5678 0 EOF", 5678),
            None
        );
        assert_eq!(
            flock_holder("2: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF", 5678),
            None
        );
    }

    #[test]
    fn a_process_is_found_by_its_start_time_or_its_lock() {
        let dir = tempfile::tempdir().expect("dir");
        let lock = dir.path().join("supervisor.lock");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        let started = start_time(pid).expect("its start time");
        assert!(find(pid, Some(started), &lock).expect("find").is_some());
        assert!(find(pid, Some(started + 1), &lock).expect("find").is_none());
        // It holds no lock: a state without a start time does not name it.
        assert!(find(pid, None, &lock).expect("find").is_none());
        let held = crate::flock::lock_file(&lock, true, false).expect("lock");
        assert!(held.is_some());
        assert!(
            find(pid, None, &lock).expect("find").is_none(),
            "the lock is ours, not the child's"
        );
        let me = std::process::id();
        assert!(find(me, None, &lock).expect("find").is_none(), "never us");
        let _ = child.kill();
        let _ = child.wait();
        assert!(find(pid, Some(started), &lock).expect("find").is_none());
    }

    #[test]
    fn the_holder_of_a_lock_is_found() {
        let dir = tempfile::tempdir().expect("dir");
        let lock = dir.path().join("supervisor.lock");
        let file = crate::flock::lock_file(&lock, true, false)
            .expect("lock")
            .expect("free");
        let me = i32::try_from(std::process::id()).expect("pid");
        assert!(holds_flock(me, &lock));
        drop(file);
        assert!(!holds_flock(me, &lock));
    }
}
