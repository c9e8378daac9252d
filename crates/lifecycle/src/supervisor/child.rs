//! One run of the guest: its own process, handed the service's listeners
//! and a pipe to report on, followed until it ends.

use std::fs::File;
use std::io::BufRead as _;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::guest;
use super::handoff::{FIRST_LISTENER_FD, is_open_as, pipe, place, stage};
use super::signals::{Listeners, STOPPING};
use super::{Setting, record};
use crate::containers::{Container, ServiceRecord, Status, time};
use crate::exit;
use crate::ports::PortBinding;

/// A service's listeners and how it is served.
pub(super) struct Serving {
    /// Kept here and handed to each run of the guest; closed here when the
    /// container is asked to stop, so the ports are free once its last
    /// process lets go of them.
    pub(super) listeners: Listeners,
    /// The published ports as bound (host port 0 picked).
    pub(super) bound: Vec<PortBinding>,
}

/// The listeners `wharf start` passed, one per published port.
pub(super) fn take_listeners(record: ServiceRecord) -> Result<Serving, String> {
    let listeners: Vec<TcpListener> = (0..record.ports.len())
        .map(|index| {
            let fd = FIRST_LISTENER_FD + index as i32;
            if !is_open_as(fd, libc::S_IFSOCK) {
                return Err(format!(
                    "no listener for published port {}",
                    record.ports[index]
                ));
            }
            // SAFETY: an open socket descriptor passed to this process for
            // it alone; marked close-on-exec like every other.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            Ok(TcpListener::from(unsafe { OwnedFd::from_raw_fd(fd) }))
        })
        .collect::<Result<_, _>>()?;
    let bound = record
        .ports
        .iter()
        .zip(&listeners)
        .map(|(asked, listener)| match listener.local_addr() {
            Ok(at) => asked.bound_at(at),
            Err(_) => *asked,
        })
        .collect();
    Ok(Serving {
        listeners: Arc::new(Mutex::new(listeners)),
        bound,
    })
}

/// A guest's process and the pipe it reports on.
pub(super) struct GuestChild {
    pub(super) process: Child,
    reports: File,
}

/// Starts this binary with [`Setting::guest_args`] (`wharf supervise ID
/// --guest`): stdin empty, stdout and stderr this
/// process's (the log), its reports on READY_FD, a service's listeners on
/// FIRST_LISTENER_FD and after. It is killed if this process dies.
pub(super) fn spawn_guest(
    id: &str,
    serving: Option<&Serving>,
    setting: &Setting,
) -> std::io::Result<GuestChild> {
    let listeners: Vec<OwnedFd> = match serving {
        Some(serving) => serving
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|l| stage(l.as_raw_fd()))
            .collect::<std::io::Result<_>>()?,
        None => Vec::new(),
    };
    if serving.is_some() && listeners.is_empty() {
        return Err(std::io::Error::other(
            "its listeners were closed: it was stopped",
        ));
    }
    let listener_fds: Vec<i32> = listeners.iter().map(AsRawFd::as_raw_fd).collect();
    let (read, write) = pipe()?;
    let write_fd = stage(write.as_raw_fd())?;
    drop(write);
    let report_fd = write_fd.as_raw_fd();
    let mut command = Command::new(std::env::current_exe()?);
    command.args((setting.guest_args)(id)).stdin(Stdio::null());
    // SAFETY: prctl and dup2 are async-signal-safe; they place descriptors
    // this process owns and ask the kernel to kill the child with it.
    unsafe {
        use std::os::unix::process::CommandExt as _;
        command.pre_exec(move || {
            // The stop signals this process blocks are the guest's to take.
            let mut stopping: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut stopping);
            for signal in STOPPING {
                libc::sigaddset(&mut stopping, signal);
            }
            if libc::pthread_sigmask(libc::SIG_UNBLOCK, &stopping, std::ptr::null_mut()) != 0
                || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            place(report_fd, &listener_fds)
        });
    }
    let process = command.spawn()?;
    drop(write_fd);
    drop(listeners);
    Ok(GuestChild {
        process,
        reports: File::from(read),
    })
}

/// How one run of the guest went.
pub(super) struct Ran {
    /// Whether its wall went up (the guest started).
    pub(super) walled: bool,
    pub(super) code: i32,
    pub(super) error: Option<String>,
}

/// Follows the guest's process until it ends: records it as running once
/// it is walled in (and answers the starting command), keeps its request
/// count for `wharf stats`, and takes its exit code (its own report, else
/// its exit status).
pub(super) fn follow(
    mut child: GuestChild,
    container: &Mutex<Container>,
    serving: Option<&Serving>,
    counts: &std::path::Path,
    answer: &mut Option<impl FnOnce(&str)>,
) -> Ran {
    let mut ran = Ran {
        walled: false,
        code: exit::ERROR,
        error: None,
    };
    let mut reported = None;
    for line in std::io::BufReader::new(&mut child.reports)
        .lines()
        .map_while(Result::ok)
    {
        let (what, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match what {
            guest::WALLED => {
                ran.walled = true;
                record(container, |state| {
                    state.status = Status::Running;
                    state.supervised_here();
                    state.started_at = Some(time::rfc3339(SystemTime::now()));
                    state.error = None;
                    state.layers = Some(rest.to_owned());
                    state.ports = serving.map(|s| s.bound.clone()).unwrap_or_default();
                });
                if let Some(answer) = answer.take() {
                    answer("ok");
                }
            }
            guest::REQUESTS => {
                if let Ok(requests) = rest.parse::<u64>() {
                    let _ = crate::containers::write_json(counts, &requests);
                }
            }
            guest::ERROR => ran.error = Some(rest.to_owned()),
            guest::EXIT => reported = rest.parse().ok(),
            _ => {}
        }
    }
    let status = child.process.wait();
    ran.code = reported.unwrap_or_else(|| exit::of_wait(status));
    ran
}
