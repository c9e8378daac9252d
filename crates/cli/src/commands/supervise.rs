//! `wharf supervise ID`: the process that watches one detached container.
//!
//! Started by `wharf start` (and `run -d`, `run --name`, `compose up`: see
//! `detach::start`), in a session of its own. It holds the container's
//! supervisor lock for its whole life (so any wharf command can tell
//! whether it lives), keeps the container's log and records each start and
//! exit in its state, and starts the guest again as `--restart` says (with
//! a back-off). It never holds the guest itself: each run of the guest is
//! a process of its own (`wharf supervise ID --guest`, see [`mod@guest`]),
//! walled whole, whose output is piped into the log. On SIGTERM, SIGINT,
//! SIGHUP, SIGQUIT, SIGUSR1 or SIGUSR2 it kills the guest's process at once
//! and records the exit as 128+signal; a service is asked to drain first.

mod guest;

pub use guest::guest;

use std::fs::File;
use std::io::{BufRead as _, Write as _};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use wharf_lifecycle::containers::logs::{self, LogWriter};
use wharf_lifecycle::containers::{
    Container, Containers, Held, ServiceRecord, State, Status, time,
};
use wharf_lifecycle::ports::PortBinding;

use super::handoff::{FIRST_LISTENER_FD, READY_FD, is_open_as, pipe, place, stage};
use crate::cli::SuperviseArgs;
use crate::{exit, paths, report};

/// The signals that stop the guest.
const STOPPING: [i32; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Back-off before a restart: doubling from the first, up to the longest;
/// back to the first after a run that lasted the reset time.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const LONGEST_BACKOFF: Duration = Duration::from_secs(10);
const BACKOFF_RESET: Duration = Duration::from_secs(10);

pub fn supervise(args: SuperviseArgs) -> i32 {
    if args.guest {
        return guest(&args.id);
    }
    let mut ready = ready_pipe();
    let mut tell = |message: &str| {
        if let Some(mut pipe) = ready.take() {
            let _ = pipe.write_all(message.as_bytes());
        }
    };
    let (store, container, life) = match take_charge(&args.id) {
        Ok(taken) => taken,
        Err(message) => {
            tell(&message);
            return exit::ERROR;
        }
    };
    let service = container.record.run.service.clone();
    let serving = match service.map(take_listeners).transpose() {
        Ok(serving) => serving,
        Err(message) => {
            tell(&message);
            return exit::ERROR;
        }
    };
    let signals = block_stopping_signals();
    let (log, pumps) = match output_to_log(&container) {
        Ok(piped) => piped,
        Err(error) => {
            tell(&format!("cannot keep the container's output: {error}"));
            return exit::ERROR;
        }
    };
    super::cpu::join_limits(
        &container.record.id,
        container.record.run.cpus,
        container.record.run.cpu_shares,
    );
    let container = Arc::new(Mutex::new(container));
    let guest = Arc::new(GuestProcess::default());
    watch_signals(
        signals,
        (store.clone(), container.clone()),
        log,
        &life,
        (guest.clone(), serving.as_ref().map(|s| s.listeners.clone())),
    );
    run_until_done(&container, serving.as_ref(), &guest, |answer| tell(answer));
    drain(pumps);
    finish(&store, &container, &life);
    super::cpu::leave();
    0
}

/// The guest's process while one runs, and whether the container was
/// asked to stop (then it is not started again).
#[derive(Debug, Default)]
struct GuestProcess {
    pid: AtomicI32,
    stopping: AtomicBool,
}

impl GuestProcess {
    /// Sends `signal` to the guest's process, if one runs.
    fn signal(&self, signal: i32) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) on the child this process started and has not
            // yet waited for (the pid cannot have been reused).
            unsafe { libc::kill(pid, signal) };
        }
    }

    /// Kills the guest's process, if one runs, and waits (up to a second)
    /// until it has ended: its cgroup can then be removed.
    fn kill(&self) {
        let pid = self.pid.load(Ordering::SeqCst);
        self.signal(libc::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(1);
        // Ended once it is a zombie (or reaped): it left its cgroup then.
        while pid > 0 && Instant::now() < deadline {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            if matches!(state, None | Some('Z' | 'X')) {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// The container `id` (its full ID) and its supervisor's lock, or why this
/// process cannot supervise it.
fn take_charge(id: &str) -> Result<(Containers, Container, Held), String> {
    let store = Containers::open(paths::containers_dir()).map_err(|e| report::chain(&e))?;
    let container = store
        .find(id)
        .ok()
        .filter(|c| c.record.id == id)
        .ok_or_else(|| format!("no such container: {id}"))?;
    let life = container
        .hold_supervision()
        .map_err(|e| report::chain(&e))?
        .ok_or("another supervisor watches this container")?;
    Ok((store, container, life))
}

/// Ends the guest's output (its pipes' last write ends are this process's
/// stdout and stderr) and waits until the pumps have logged all of it.
fn drain(pumps: Pumps) {
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
fn ready_pipe() -> Option<File> {
    is_open_as(READY_FD, libc::S_IFIFO).then(|| {
        // SAFETY: the descriptor is open, a pipe, and owned by nothing else.
        File::from(unsafe { OwnedFd::from_raw_fd(READY_FD) })
    })
}

/// Blocks the stopping signals in this thread and in every thread it
/// starts from now on; returns the set for `sigwait`.
fn block_stopping_signals() -> libc::sigset_t {
    // SAFETY: the set is initialised by sigemptyset before use; masking
    // signals has no other effect.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in STOPPING {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Points this process's stdout and stderr (the guest's, which its
/// processes inherit) at pipes whose other ends are copied, line by line,
/// into the container's log.
type Pumps = Vec<std::thread::JoinHandle<std::io::Result<()>>>;

fn output_to_log(container: &Container) -> std::io::Result<(Arc<Mutex<LogWriter>>, Pumps)> {
    let log = Arc::new(Mutex::new(LogWriter::open(
        &container.log_path(),
        container.record.log.max_size,
        container.record.log.rotated(),
    )?));
    let mut pumps = Vec::new();
    if container.record.run.tty {
        let leader = super::tty::open_on(&[1, 2])?;
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

/// On a stopping signal: kill the guest's process, record the exit as
/// 128+signal and end this process, under the container's mutex so that
/// the run loop cannot record anything after. A service (`listeners`) is
/// asked to drain instead (its process gets the signal; this one closes
/// its copies of the listeners); a second signal ends it as above.
fn watch_signals(
    set: libc::sigset_t,
    (store, container): (Containers, Arc<Mutex<Container>>),
    log: Arc<Mutex<LogWriter>>,
    life: &Held,
    (guest, listeners): (Arc<GuestProcess>, Option<Listeners>),
) {
    let life = life.clone_handle();
    let watcher = std::thread::Builder::new()
        .name("signals".to_owned())
        .stack_size(64 << 10)
        .spawn(move || {
            let mut signal = 0;
            // SAFETY: the set holds signals blocked in every thread.
            while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            guest.stopping.store(true, Ordering::SeqCst);
            if let Some(listeners) = listeners {
                listeners.lock().unwrap_or_else(|p| p.into_inner()).clear();
                guest.signal(signal);
                // SAFETY: as above.
                while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            }
            let mut container = container.lock().unwrap_or_else(|p| p.into_inner());
            guest.kill();
            let mut state = container.state.clone();
            state.status = Status::Exited;
            state.unsupervised();
            state.exit_code = Some(exit::for_signal(signal));
            state.finished_at = Some(time::rfc3339(SystemTime::now()));
            let _ = container.set_state(state);
            if let Ok(life) = &life {
                let _ = life.write(&exit::for_signal(signal).to_string());
            }
            // Let the pumps take what the guest wrote last, then end with
            // no entry half-written.
            std::thread::sleep(Duration::from_millis(20));
            let _writing = log.lock();
            remove_if_asked(&store, &container);
            super::cpu::leave();
            exit::exit(0)
        });
    if watcher.is_err() {
        // Without a watcher the signals stay blocked: better to take them
        // the default way (they end the process; the guest's process
        // follows, see `spawn_guest`).
        // SAFETY: unblocking signals in this thread only.
        unsafe {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

/// A service's listeners, shared by its runs and the signal watcher.
type Listeners = Arc<Mutex<Vec<TcpListener>>>;

/// A service's listeners and how it is served.
struct Serving {
    /// Kept here and handed to each run of the guest; closed here when the
    /// container is asked to stop, so the ports are free once its last
    /// process lets go of them.
    listeners: Listeners,
    /// The published ports as bound (host port 0 picked).
    bound: Vec<PortBinding>,
}

/// The listeners `wharf start` passed, one per published port.
fn take_listeners(record: ServiceRecord) -> Result<Serving, String> {
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

/// Runs the guest, and again as the restart policy says; `started` hears
/// `ok` once the first run is walled in and recorded as running, or why
/// none can start. A run that fails before its guest starts (a volume that
/// changed, a program gone) is not started again; nor is a service that
/// was stopped (and drained).
fn run_until_done(
    container: &Mutex<Container>,
    serving: Option<&Serving>,
    guest: &GuestProcess,
    started: impl FnOnce(&str),
) {
    let mut answer = Some(started);
    let (id, policy, counts) = {
        let container = container.lock().unwrap_or_else(|p| p.into_inner());
        (
            container.record.id.clone(),
            container.record.restart,
            container.requests_path(),
        )
    };
    let mut backoff = FIRST_BACKOFF;
    loop {
        let begun = Instant::now();
        let ran = spawn_guest(&id, serving).map(|child| {
            guest.pid.store(child.process.id() as i32, Ordering::SeqCst);
            follow(child, container, serving, &counts, &mut answer)
        });
        guest.pid.store(0, Ordering::SeqCst);
        let run = match ran {
            Ok(run) if run.walled => run,
            failed => {
                let message = match failed {
                    Ok(run) => run.error.unwrap_or_else(|| {
                        format!(
                            "its guest's process ended before the guest started (exit {})",
                            run.code
                        )
                    }),
                    Err(error) => format!("cannot start the guest's process: {error}"),
                };
                eprintln!("wharf: {message}");
                if let Some(answer) = answer.take() {
                    answer(&message);
                }
                record(container, |state| {
                    state.status = Status::Exited;
                    state.exit_code = Some(exit::ERROR);
                    state.finished_at = Some(time::rfc3339(SystemTime::now()));
                    state.error = Some(message);
                    state.unsupervised();
                });
                return;
            }
        };
        let restarts = container
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .state
            .restarts;
        let again = policy.restarts(run.code, restarts) && !guest.stopping.load(Ordering::SeqCst);
        record(container, |state| {
            state.status = if again {
                Status::Restarting
            } else {
                Status::Exited
            };
            state.exit_code = Some(run.code);
            state.finished_at = Some(time::rfc3339(SystemTime::now()));
            state.error = run.error;
            if !again {
                state.unsupervised();
            }
        });
        if !again {
            return;
        }
        if begun.elapsed() >= BACKOFF_RESET {
            backoff = FIRST_BACKOFF;
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(LONGEST_BACKOFF);
        record(container, |state| state.restarts += 1);
    }
}

/// A guest's process and the pipe it reports on.
struct GuestChild {
    process: Child,
    reports: File,
}

/// Starts `wharf supervise ID --guest`: stdin empty, stdout and stderr this
/// process's (the log), its reports on READY_FD, a service's listeners on
/// FIRST_LISTENER_FD and after. It is killed if this process dies.
fn spawn_guest(id: &str, serving: Option<&Serving>) -> std::io::Result<GuestChild> {
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
    command
        .args(["supervise", id, "--guest"])
        .stdin(Stdio::null());
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
struct Ran {
    /// Whether its wall went up (the guest started).
    walled: bool,
    code: i32,
    error: Option<String>,
}

/// Follows the guest's process until it ends: records it as running once
/// it is walled in (and answers the starting command), keeps its request
/// count for `wharf stats`, and takes its exit code (its own report, else
/// its exit status).
fn follow(
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
                    let _ = wharf_lifecycle::containers::write_json(counts, &requests);
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

/// Changes the recorded state (a write that fails leaves the old one).
fn record(container: &Mutex<Container>, change: impl FnOnce(&mut State)) {
    let mut container = container.lock().unwrap_or_else(|p| p.into_inner());
    let mut state = container.state.clone();
    change(&mut state);
    if let Err(error) = container.set_state(state) {
        eprintln!(
            "wharf: cannot record the container's state: {}",
            report::chain(&error)
        );
    }
}

/// `--rm`: the container goes when its guest is done, unless a wharf
/// command is changing it (that command removes it).
fn finish(store: &Containers, container: &Mutex<Container>, life: &Held) {
    let container = container.lock().unwrap_or_else(|p| p.into_inner());
    // `wait` reads the exit code here when the container is gone.
    if let Some(code) = container.state.exit_code {
        let _ = life.write(&code.to_string());
    }
    remove_if_asked(store, &container);
}

/// `--rm`: removes the container, unless a wharf command is changing it
/// (that command removes it).
fn remove_if_asked(store: &Containers, container: &Container) {
    if container.record.auto_remove
        && let Ok(Some(_held)) = container.try_lock()
    {
        let _ = super::containers::remove_done(store, container);
    }
}
