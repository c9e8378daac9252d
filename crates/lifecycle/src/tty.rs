//! `-t`: the guest's output on a pseudo-terminal. The terminal's other side
//! is copied to where the output went before, so WASI's terminal
//! interfaces (and `isatty` in a guest's libc) report a terminal, while the
//! bytes still reach the user or the container's log, line endings as a
//! terminal makes them (`\r\n`), as Docker's `-t` does.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The copy from the terminal to the old output, once started; it ends
/// when every copy of the terminal's guest side is closed.
#[derive(Debug)]
pub struct Terminal {
    copier: Mutex<Copier>,
    /// `/dev/null`, opened up front: what the guest side's descriptors
    /// become at the end (a process walled in may open nothing then).
    null: File,
}

#[derive(Debug)]
enum Copier {
    /// Opened, not copying yet: its ends.
    Ready {
        leader: File,
        out: File,
    },
    Copying(JoinHandle<()>),
    Done,
}

/// Opens a pseudo-terminal and puts its guest side on `fds` (stdout and
/// stderr, say); what is written there is copied to `out` once the copy is
/// started ([`Terminal::start`]: a process walled whole starts it after its
/// wall, so the thread is inside it).
pub fn onto(fds: &[i32], out: File) -> std::io::Result<Arc<Terminal>> {
    let null = File::options().write(true).open("/dev/null")?;
    let leader = open_on(fds)?;
    Ok(Arc::new(Terminal {
        copier: Mutex::new(Copier::Ready { leader, out }),
        null,
    }))
}

/// A new pseudo-terminal with its guest side on `fds`; its leader side,
/// which reads what is written there.
pub fn open_on(fds: &[i32]) -> std::io::Result<File> {
    let (leader, follower) = open()?;
    for &fd in fds {
        // SAFETY: dup2 onto a standard descriptor this process owns.
        if unsafe { libc::dup2(follower.as_raw_fd(), fd) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(File::from(leader))
}

/// A new pseudo-terminal: its leader and follower (the guest's) sides.
fn open() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (mut leader, mut follower) = (-1, -1);
    // SAFETY: openpty writes two new descriptors; the name, termios and
    // window size are optional and passed as null.
    let opened = unsafe {
        libc::openpty(
            &mut leader,
            &mut follower,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if opened < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and ours alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(leader), OwnedFd::from_raw_fd(follower)) })
}

impl Terminal {
    /// Starts copying (once; later calls do nothing).
    pub fn start(&self) {
        let mut copier = self.copier.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(*copier, Copier::Ready { .. }) {
            return;
        }
        let Copier::Ready {
            mut leader,
            mut out,
        } = std::mem::replace(&mut *copier, Copier::Done)
        else {
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("tty".to_owned())
            .stack_size(64 << 10)
            .spawn(move || {
                let mut buffer = [0u8; 4096];
                // A read fails (EIO) once no guest side is open.
                while let Ok(read @ 1..) = leader.read(&mut buffer) {
                    if out.write_all(&buffer[..read]).is_err() {
                        return;
                    }
                    let _ = out.flush();
                }
            });
        if let Ok(handle) = spawned {
            *copier = Copier::Copying(handle);
        }
    }

    /// Closes the guest side on `fds` (pointing them at /dev/null) and
    /// waits until everything written there is copied (starting the copy
    /// if nothing did: what wharf said before a guest that never started).
    pub fn finish(&self, fds: &[i32]) {
        self.start();
        for &fd in fds {
            // SAFETY: replaces a standard descriptor this process owns.
            unsafe { libc::dup2(self.null.as_raw_fd(), fd) };
        }
        let copier = std::mem::replace(
            &mut *self.copier.lock().unwrap_or_else(|p| p.into_inner()),
            Copier::Done,
        );
        if let Copier::Copying(handle) = copier {
            let _ = handle.join();
        }
    }
}

/// A copy of this process's stdout, to keep writing where it went.
pub fn saved_stdout() -> std::io::Result<File> {
    // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor; nothing else owns it.
    let copy = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `copy` is fresh and ours.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(copy) }))
}
