//! Opening the files and fifos a guest's stdio is wired to.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

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

/// How long a fifo's reader gets to appear before wharf writes anyway.
const READER_GRACE: Duration = Duration::from_secs(1);

/// Opens `path` for the guest's stdout or stderr; anything but a fifo is
/// appended to. A fifo is opened write-only once its reader is there, so
/// what the guest wrote stays readable after the guest closes it; with no
/// reader after a grace period it is opened read-write (writes then never
/// fail, and nobody reads them).
pub(crate) fn open_output(path: &Path) -> Result<File, Error> {
    let is_fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    if !is_fifo {
        return OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|source| stdio_error(path, source));
    }
    let deadline = Instant::now() + READER_GRACE;
    loop {
        let attempt = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path);
        match attempt {
            Ok(file) => {
                set_blocking(&file).map_err(|source| stdio_error(path, source))?;
                return Ok(file);
            }
            Err(error) if error.raw_os_error() == Some(libc::ENXIO) => {
                if Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(source) => return Err(stdio_error(path, source)),
        }
    }
    OpenOptions::new()
        .read(true)
        .write(true)
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
