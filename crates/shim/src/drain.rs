//! Keeping a guest's output until it is read.
//!
//! A fifo's buffered bytes vanish when its last descriptor closes. A guest
//! that writes and exits before `ctr` has opened its end would lose its
//! output, so the daemon holds each output fifo open (read-write) for the
//! guest's whole run, and after the guest ends waits, briefly, until the
//! reader has taken what is buffered before it lets go and reports the
//! exit.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long buffered output may wait for its reader.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// The first and the longest pause between two looks at the buffers.
const FIRST_PAUSE: Duration = Duration::from_micros(20);
const LONGEST_PAUSE: Duration = Duration::from_millis(5);

/// Holds the output fifos among `paths` open.
pub struct Keepers(Vec<File>);

impl Keepers {
    pub fn open(paths: &[&str]) -> Keepers {
        let files = paths
            .iter()
            .filter(|p| !p.is_empty())
            .filter(|p| std::fs::metadata(Path::new(p)).is_ok_and(|m| m.file_type().is_fifo()))
            .filter_map(|p| OpenOptions::new().read(true).write(true).open(p).ok())
            .collect();
        Keepers(files)
    }

    /// Waits until every fifo's buffer is empty (or the grace is over),
    /// then closes them.
    pub fn drain(self) {
        let deadline = Instant::now() + DRAIN_GRACE;
        // A reader usually takes the last bytes within microseconds: look
        // again soon, then less and less often.
        let mut pause = FIRST_PAUSE;
        while self.0.iter().any(|f| buffered(f) > 0) && Instant::now() < deadline {
            std::thread::sleep(pause);
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }
}

/// Bytes written to the fifo and not read yet.
fn buffered(file: &File) -> i32 {
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer we pass.
    let result = unsafe { libc::ioctl(file.as_raw_fd(), libc::FIONREAD, &mut count) };
    if result < 0 { 0 } else { count }
}
