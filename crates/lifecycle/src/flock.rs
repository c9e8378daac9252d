//! flock(2) on a file, the one way wharf takes one: the file is made
//! (0600) when missing, a wait interrupted by a signal goes on, and a lock
//! that conflicts is `None` when not waiting.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens (making it, 0600) the file whose flock is taken.
pub fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(path)
}

/// Takes the flock of `path`, `exclusive` or shared; with `wait`, as long as
/// it takes, else `None` when someone else holds it in a way that conflicts.
pub fn lock_file(path: &Path, exclusive: bool, wait: bool) -> std::io::Result<Option<File>> {
    let file = open_lock_file(path)?;
    lock_open_file(&file, exclusive, wait).map(|locked| locked.then_some(file))
}

/// Takes the flock of an open file; false when it is held and `wait` is
/// off.
pub fn lock_open_file(file: &File, exclusive: bool, wait: bool) -> std::io::Result<bool> {
    let mut operation = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    if !wait {
        operation |= libc::LOCK_NB;
    }
    loop {
        // SAFETY: flock on a descriptor this function borrows.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(true);
        }
        let error = std::io::Error::last_os_error();
        match error.kind() {
            std::io::ErrorKind::WouldBlock if !wait => return Ok(false),
            std::io::ErrorKind::Interrupted => continue,
            _ => return Err(error),
        }
    }
}

/// [`lock_file`], waiting: the file, locked.
pub fn wait_for_lock(path: &Path, exclusive: bool) -> std::io::Result<File> {
    lock_file(path, exclusive, true)?
        .ok_or_else(|| std::io::Error::other("flock refused a waiting lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_and_shared_shares() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("lock");
        let shared = lock_file(&path, false, false).expect("lock").expect("free");
        assert!(
            lock_file(&path, false, false).expect("lock").is_some(),
            "shared twice"
        );
        assert!(
            lock_file(&path, true, false).expect("lock").is_none(),
            "not exclusive"
        );
        drop(shared);
        let exclusive = wait_for_lock(&path, true).expect("free again");
        assert!(lock_file(&path, false, false).expect("lock").is_none());
        drop(exclusive);
    }
}
