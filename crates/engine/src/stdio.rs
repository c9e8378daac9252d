//! Opening the files and fifos a guest's stdio is wired to.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::error::Error;

/// Opens `path` for the guest's stdin. A fifo is opened without waiting
/// for a writer (the one who made it, e.g. containerd, already holds it).
pub(crate) fn open_input(path: &Path) -> Result<File, Error> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| stdio_error(path, source))?;
    set_blocking(&file).map_err(|source| stdio_error(path, source))?;
    Ok(file)
}

/// Opens `path` for the guest's stdout or stderr: a fifo read-write (so
/// that opening never waits for a reader), anything else for appending.
pub(crate) fn open_output(path: &Path) -> Result<File, Error> {
    let is_fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    let mut options = OpenOptions::new();
    if is_fifo {
        options.read(true).write(true);
    } else {
        options.append(true).create(true);
    }
    options
        .open(path)
        .map_err(|source| stdio_error(path, source))
}

fn set_blocking(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function borrows; no memory passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn stdio_error(path: &Path, source: std::io::Error) -> Error {
    Error::Stdio {
        path: path.to_owned(),
        source,
    }
}
