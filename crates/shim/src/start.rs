//! `start`: hand containerd the address of the daemon for this container,
//! starting one when its group has none.
//!
//! A new daemon gets its socket already listening (on descriptor 3) and
//! the group's alive lock (on descriptor 4), so `start` answers at once:
//! containerd's connection waits in the backlog until the daemon accepts.

use std::fs::{self, File};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use crate::args::Args;
use crate::group;

/// Where a daemon finds its listening socket and its alive lock.
pub const LISTENER_FD: i32 = 3;
pub const ALIVE_FD: i32 = 4;

/// The descriptor `fd` that `start` passed, which must be of type `kind`.
pub fn inherited(fd: i32, kind: libc::mode_t, what: &str) -> Result<OwnedFd, String> {
    if !wharf_lifecycle::supervisor::handoff::is_open_as(fd, kind) {
        return Err(format!(
            "serve needs its {what} on descriptor {fd}: run by `start` only"
        ));
    }
    // SAFETY: the descriptor is open, of the right type, and nothing else
    // in this process owns it; nothing this daemon starts inherits it.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        Ok(<OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd))
    }
}

pub fn start(args: &Args) -> Result<(), String> {
    let bundle = args.bundle()?;
    let group = group::group_of(&bundle);
    let socket = group::socket_path(args, &group)?;
    let address = format!("unix://{}", socket.display());
    {
        let lock = group::lock(&socket, &group::label(args, &group))?;
        lock.claim();
        // A daemon of an older shim holds no alive lock but answers.
        if !group::daemon_alive(&socket)? && UnixStream::connect(&socket).is_err() {
            let _ = fs::remove_file(&socket);
            let listener = listen(&socket)?;
            let alive = group::hold_alive(&socket)?;
            spawn_daemon(args, &socket, listener, alive)?;
        }
    }
    // containerd reads the address back from the bundle after a restart.
    fs::write(bundle.join("address"), &address)
        .map_err(|e| format!("{}: {e}", bundle.join("address").display()))?;
    print!("{address}");
    Ok(())
}

fn listen(socket: &std::path::Path) -> Result<OwnedFd, String> {
    let listener = std::os::unix::net::UnixListener::bind(socket)
        .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
    let fd = OwnedFd::from(listener);
    // SAFETY: listen on a socket we own. ttrpc's backlog of 10 (and std's
    // 128) refuse connections when containerd starts many containers at
    // once.
    unsafe { libc::listen(fd.as_raw_fd(), 4096) };
    Ok(fd)
}

fn spawn_daemon(
    args: &Args,
    socket: &std::path::Path,
    listener: OwnedFd,
    alive: File,
) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let mut command = Command::new(me);
    command
        .args(["-namespace", &args.namespace, "-address", &args.address])
        .args(["-publish-binary", &args.publish_binary, "-id", &args.id])
        .arg("-socket")
        .arg(socket)
        .arg("serve")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if args.debug {
        command.arg("-debug");
    }
    let (listener, alive) = (listener.as_raw_fd(), alive.as_raw_fd());
    // SAFETY: setsid, fcntl, dup2 and close are async-signal-safe. The
    // daemon leaves containerd's session so that it outlives this process
    // and containerd restarts, and finds the two descriptors where it
    // looks for them (dup2's copies are not closed on exec).
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(move || {
            libc::setsid();
            // Copies above both targets first, so that placing one cannot
            // overwrite the other.
            let copies = [listener, alive].map(|fd| libc::fcntl(fd, libc::F_DUPFD, 10));
            for (copy, to) in copies.into_iter().zip([LISTENER_FD, ALIVE_FD]) {
                if copy < 0 || libc::dup2(copy, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(copy);
            }
            Ok(())
        });
    }
    command
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot start the shim daemon: {e}"))
}
