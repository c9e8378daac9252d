//! The container's log: the guest's output piped (or its terminal copied)
//! into it, and the pipe the starting command waits on.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use super::handoff::{READY_FD, is_open_as, pipe};
use crate::containers::Container;
use crate::containers::logs::{self, LogWriter};

/// Ends the guest's output (its pipes' last write ends are this process's
/// stdout and stderr) and waits until the pumps have logged all of it.
pub(super) fn drain(pumps: Pumps) {
    if let Ok(null) = File::options().write(true).open("/dev/null") {
        for fd in [1, 2] {
            // SAFETY: replaces stdout/stderr, which this process owns.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    for pump in pumps {
        let _ = pump.join();
    }
}

/// The pipe the starting command waits on, if this process has one on
/// READY_FD.
pub(super) fn ready_pipe() -> Option<File> {
    is_open_as(READY_FD, libc::S_IFIFO).then(|| {
        // SAFETY: the descriptor is open, a pipe, and owned by nothing else.
        File::from(unsafe { OwnedFd::from_raw_fd(READY_FD) })
    })
}

/// Points this process's stdout and stderr (the guest's, which its
/// processes inherit) at pipes whose other ends are copied, line by line,
/// into the container's log.
pub(super) type Pumps = Vec<std::thread::JoinHandle<std::io::Result<()>>>;

pub(super) fn output_to_log(
    container: &Container,
) -> std::io::Result<(Arc<Mutex<LogWriter>>, Pumps)> {
    let log = Arc::new(Mutex::new(LogWriter::open(
        &container.log_path(),
        container.record.log.max_size,
        container.record.log.rotated(),
    )?));
    let mut pumps = Vec::new();
    if container.record.run.tty {
        let leader = crate::tty::open_on(&[1, 2])?;
        let into_log = log.clone();
        pumps.push(
            std::thread::Builder::new()
                .name("tty".to_owned())
                .stack_size(64 << 10)
                // The read that fails once the guest's side is closed (EIO)
                // is the terminal's end of file.
                .spawn(move || logs::pump(leader, "stdout", &into_log).or(Ok(())))?,
        );
        return Ok((log, pumps));
    }
    for (fd, stream) in [(1, "stdout"), (2, "stderr")] {
        let (read, write) = pipe()?;
        // SAFETY: dup2 onto stdout/stderr, which this process owns.
        if unsafe { libc::dup2(write.as_raw_fd(), fd) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        drop(write);
        let read = File::from(read);
        let log = log.clone();
        pumps.push(
            std::thread::Builder::new()
                .name(stream.to_owned())
                .stack_size(64 << 10)
                .spawn(move || logs::pump(read, stream, &log))?,
        );
    }
    Ok((log, pumps))
}
