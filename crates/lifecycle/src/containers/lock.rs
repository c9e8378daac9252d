//! flocks on a container's files: one that wharf commands take to change a
//! container, and one its supervisor holds for its whole life, which the
//! kernel drops however the supervisor ends.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// A held flock, released when dropped.
#[derive(Debug)]
pub struct Held {
    file: File,
}

impl Held {
    /// Replaces what the locked file holds with `text`.
    pub fn write(&self, text: &str) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        let mut file = &self.file;
        file.set_len(0)?;
        file.seek(std::io::SeekFrom::Start(0))?;
        file.write_all(text.as_bytes())
    }

    /// Another handle on the same lock (it is held until both are gone).
    pub fn clone_handle(&self) -> std::io::Result<Held> {
        Ok(Held {
            file: self.file.try_clone()?,
        })
    }

    /// What the locked file holds.
    pub fn read(&self) -> std::io::Result<String> {
        use std::io::{Read, Seek};
        let mut file = &self.file;
        file.seek(std::io::SeekFrom::Start(0))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(text)
    }
}

/// Takes `path`'s flock, `exclusive` or shared, without waiting; `None`
/// when someone else holds it in a way that conflicts.
pub(crate) fn try_lock(path: &Path, exclusive: bool) -> std::io::Result<Option<Held>> {
    flock(path, exclusive, false)
}

/// Takes `path`'s flock exclusive, waiting as long as it takes.
pub(crate) fn wait_lock_exclusive(path: &Path) -> std::io::Result<Held> {
    flock(path, true, true)?.ok_or_else(|| std::io::Error::other("flock refused a waiting lock"))
}

/// Takes `path`'s flock shared, waiting as long as it takes.
pub(crate) fn wait_lock(path: &Path) -> std::io::Result<Held> {
    flock(path, false, true)?.ok_or_else(|| std::io::Error::other("flock refused a waiting lock"))
}

fn flock(path: &Path, exclusive: bool, wait: bool) -> std::io::Result<Option<Held>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    let mut operation = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    if !wait {
        operation |= libc::LOCK_NB;
    }
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(Some(Held { file }));
        }
        let error = std::io::Error::last_os_error();
        match error.kind() {
            std::io::ErrorKind::WouldBlock => return Ok(None),
            std::io::ErrorKind::Interrupted => continue,
            _ => return Err(error),
        }
    }
}
