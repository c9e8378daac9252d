//! `wharf supervise ID`: the process that watches one detached container.
//!
//! Started by `wharf start` (and `run -d`, `run --name`, `compose up`: see
//! `detach::start`), in a session of its own. It holds the
//! container's supervisor lock for its whole life (so any wharf command can
//! tell whether it lives), runs the guest with its output piped into the
//! container's log, records each start and exit in the container's state,
//! starts the guest again as `--restart` says (with a back-off), and ends
//! the guest at once on SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 or
//! SIGUSR2, recording the exit as 128+signal. A guest stops by this
//! process exiting, so guest code needs no interruption checks.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use std::net::TcpListener;

use wharf_engine::{
    Host, HostConfig, Outcome, PoolSize, ServeOptions, ServeStats, StopHandle, StopReason,
};
use wharf_lifecycle::containers::logs::{self, LogWriter};
use wharf_lifecycle::containers::{
    Container, Containers, Held, ServiceRecord, State, Status, time,
};
use wharf_lifecycle::ports::PortBinding;

use crate::cli::SuperviseArgs;
use crate::{exit, paths, report};

/// Where the starting command waits to hear that the guest is starting.
pub const READY_FD: i32 = 3;
/// Where a service's listeners are, one per published port, in order.
pub const FIRST_LISTENER_FD: i32 = 4;

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
    let compiler = container
        .record
        .run
        .compiler
        .as_deref()
        .and_then(|name| name.parse().ok())
        .unwrap_or_default();
    let host = match new_host(
        serving.as_ref(),
        container.record.run.memory_limit,
        compiler,
    ) {
        Ok(host) => host,
        Err(error) => {
            tell(&report::chain(&error));
            return exit::ERROR;
        }
    };
    let stop = host.stop_handle();
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
    let drains = serving.is_some().then(|| stop.clone());
    watch_signals(
        signals,
        (store.clone(), container.clone()),
        log,
        &life,
        drains,
    );
    run_until_done(&container, &host, serving.as_ref(), &stop, |answer| {
        tell(answer)
    });
    drain(pumps);
    finish(&store, &container, &life);
    super::cpu::leave();
    0
}

/// The container `id` (its full ID) and its supervisor's lock, or why this
/// process cannot supervise it.
fn take_charge(id: &str) -> Result<(Containers, Container, Held), String> {
    let store =
        Containers::open(paths::wharf_root().join("containers")).map_err(|e| report::chain(&e))?;
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
        use std::os::fd::AsRawFd;
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
    // SAFETY: fstat writes into the stat we pass; a closed fd fails.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    let is_pipe = unsafe { libc::fstat(READY_FD, &mut stat) } == 0
        && stat.st_mode & libc::S_IFMT == libc::S_IFIFO;
    // SAFETY: the descriptor is open, a pipe, and owned by nothing else.
    is_pipe.then(|| File::from(unsafe { OwnedFd::from_raw_fd(READY_FD) }))
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

/// Points this process's stdout and stderr (the guest's) at pipes whose
/// other ends are copied, line by line, into the container's log.
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
        if unsafe { libc::dup2(write, fd) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `write` was duplicated onto `fd`; this copy is ours to close.
        unsafe { libc::close(write) };
        // SAFETY: `read` is a fresh descriptor nothing else owns.
        let read = File::from(unsafe { OwnedFd::from_raw_fd(read) });
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

fn pipe() -> std::io::Result<(i32, i32)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

/// On a stopping signal: record the exit as 128+signal and end the process
/// (and with it the guest), under the container's mutex so that the run
/// loop cannot record anything after. A service (`drains`) is asked to stop
/// instead, and drains; a second signal ends it as above.
fn watch_signals(
    set: libc::sigset_t,
    (store, container): (Containers, Arc<Mutex<Container>>),
    log: Arc<Mutex<LogWriter>>,
    life: &Held,
    drains: Option<StopHandle>,
) {
    let life = life.clone_handle();
    let watcher = std::thread::Builder::new()
        .name("signals".to_owned())
        .stack_size(64 << 10)
        .spawn(move || {
            let mut signal = 0;
            // SAFETY: the set holds signals blocked in every thread.
            while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            if let Some(service) = drains {
                service.stop(StopReason::Signal(signal));
                // SAFETY: as above.
                while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
            }
            let mut container = container.lock().unwrap_or_else(|p| p.into_inner());
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
        // the default way (they end the process).
        // SAFETY: unblocking signals in this thread only.
        unsafe {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

/// A service's listeners and how it is served.
struct Serving {
    /// Taken by the run that serves: a service's run ends only when it is
    /// stopped, and then the ports must close with it, not with this
    /// process.
    listeners: Mutex<Vec<TcpListener>>,
    /// The published ports as bound (host port 0 picked).
    bound: Vec<PortBinding>,
    record: ServiceRecord,
}

/// The listeners `wharf start` passed, one per published port.
fn take_listeners(record: ServiceRecord) -> Result<Serving, String> {
    let listeners: Vec<TcpListener> = (0..record.ports.len())
        .map(|index| {
            let fd = FIRST_LISTENER_FD + index as i32;
            // SAFETY: fstat writes into the stat we pass.
            let mut stat: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstat(fd, &mut stat) } != 0
                || stat.st_mode & libc::S_IFMT != libc::S_IFSOCK
            {
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
        listeners: Mutex::new(listeners),
        bound,
        record,
    })
}

/// The host: a service's is interruptible (request timeouts) and pools its
/// instances; a command's stops by this process exiting.
fn new_host(
    serving: Option<&Serving>,
    memory_limit: u64,
    compiler: wharf_engine::Compiler,
) -> Result<Host, wharf_engine::Error> {
    Host::new(HostConfig {
        cache_dir: Some(paths::wharf_root().join("cache")),
        interruptible: serving.is_some(),
        exit_after_run: false,
        compiler,
        pool: serving.map(|serving| PoolSize {
            instances: u32::try_from(serving.record.max_concurrency).unwrap_or(u32::MAX),
            memory_limit,
        }),
        wall: wharf_engine::WallScope::Thread,
        require_landlock: wharf_lifecycle::walls::require_landlock(),
    })
}

/// Runs the guest, and again as the restart policy says; `started` hears
/// `ok` once the first run is recorded as running, or why none can start.
/// A service that was stopped (and drained) is not started again.
fn run_until_done(
    container: &Mutex<Container>,
    host: &Host,
    serving: Option<&Serving>,
    stop: &StopHandle,
    started: impl FnOnce(&str),
) {
    let mut answer = Some(started);
    let (spec, policy) = {
        let container = container.lock().unwrap_or_else(|p| p.into_inner());
        (container.record.run.spec(), container.record.restart)
    };
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        let service = match serving.map(|_| host.service(&spec)).transpose() {
            Ok(service) => service,
            Err(error) => {
                let message = report::chain(&error);
                eprintln!("wharf: {message}");
                if let Some(answer) = answer.take() {
                    answer(&message);
                }
                record(container, |state| {
                    state.status = Status::Exited;
                    state.exit_code = Some(exit::ERROR);
                    state.error = Some(message);
                    state.unsupervised();
                });
                return;
            }
        };
        record(container, |state| {
            state.status = Status::Running;
            state.supervised_here();
            state.started_at = Some(time::rfc3339(SystemTime::now()));
            state.error = None;
            state.ports = serving.map(|s| s.bound.clone()).unwrap_or_default();
        });
        if let Some(answer) = answer.take() {
            answer("ok");
        }
        let (code, error) = match (service, serving) {
            (Some(service), Some(serving)) => {
                let counts = container
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .requests_path();
                walled(container, stop, || {
                    serve_once(service, serving, stop, &counts)
                })
            }
            _ => {
                let run_stop = host.stop_handle();
                walled(container, &run_stop, || {
                    exit_code(host.run(&spec, &run_stop))
                })
            }
        };
        let restarts = container
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .state
            .restarts;
        let again = policy.restarts(code, restarts) && stop.reason().is_none();
        record(container, |state| {
            state.status = if again {
                Status::Restarting
            } else {
                Status::Exited
            };
            state.exit_code = Some(code);
            state.finished_at = Some(time::rfc3339(SystemTime::now()));
            state.error = error;
            if !again {
                state.unsupervised();
            }
        });
        if !again {
            return;
        }
        if started.elapsed() >= BACKOFF_RESET {
            backoff = FIRST_BACKOFF;
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(LONGEST_BACKOFF);
        record(container, |state| state.restarts += 1);
    }
}

/// Runs `run` walled in on a thread of its own (see `guest_thread`), and
/// records what the wall enforces once it is up.
fn walled(
    container: &Mutex<Container>,
    stop: &StopHandle,
    run: impl FnOnce() -> (i32, Option<String>) + Send,
) -> (i32, Option<String>) {
    let up = |enforced: wharf_engine::Enforced| {
        record(container, |state| state.layers = Some(enforced.to_string()));
    };
    super::guest_thread::run_walled(Some((stop, &up)), run)
        .unwrap_or_else(|message| (exit::ERROR, Some(message)))
}

/// Serves until stopped; the exit code is 0 after a drain. The count of
/// requests served is kept in `counts` (for `wharf stats`), twice a second.
fn serve_once(
    service: wharf_engine::Service<'_>,
    serving: &Serving,
    stop: &StopHandle,
    counts: &std::path::Path,
) -> (i32, Option<String>) {
    let listeners =
        std::mem::take(&mut *serving.listeners.lock().unwrap_or_else(|p| p.into_inner()));
    if listeners.is_empty() {
        return (
            exit::ERROR,
            Some("its listeners were closed by an earlier run".to_owned()),
        );
    }
    let mut options = ServeOptions::new(listeners);
    options.request_timeout = Duration::from_millis(serving.record.request_timeout_ms);
    options.max_concurrency = serving.record.max_concurrency;
    if serving.record.isolate_requests {
        options.reuse = wharf_engine::InstanceReuse::isolated();
    }
    for port in &serving.bound {
        eprintln!("Serving HTTP on http://{}/", port.host_addr());
    }
    let stats = ServeStats::default();
    let done = Arc::new(AtomicBool::new(false));
    let counter = {
        let (stats, done, counts) = (stats.clone(), done.clone(), counts.to_owned());
        std::thread::Builder::new()
            .name("requests".to_owned())
            .stack_size(64 << 10)
            .spawn(move || keep_count(&stats, &done, &counts))
            .ok()
    };
    let served = service.serve(options, &stats, stop);
    done.store(true, Ordering::SeqCst);
    if let Some(counter) = counter {
        let _ = counter.join();
    }
    exit_code(served.map(|()| Outcome::Exited(0)))
}

/// Writes the count of requests served to `counts` whenever it changed,
/// twice a second, until `done` (and once more then).
fn keep_count(stats: &ServeStats, done: &AtomicBool, counts: &std::path::Path) {
    let mut written = None;
    loop {
        let finished = done.load(Ordering::SeqCst);
        let requests = stats.requests();
        if written != Some(requests) {
            written = Some(requests);
            let _ = wharf_lifecycle::containers::write_json(counts, &requests);
        }
        if finished {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The exit code of a run, and wharf's own error when it failed the run
/// (also written to the log).
fn exit_code(outcome: Result<Outcome, wharf_engine::Error>) -> (i32, Option<String>) {
    match outcome {
        Ok(Outcome::Exited(code)) => (code, None),
        Ok(Outcome::Trapped(report)) => {
            eprintln!("wharf: guest trapped: {report}");
            (exit::TRAP, None)
        }
        Ok(Outcome::Stopped(StopReason::Signal(signal))) => (exit::for_signal(signal), None),
        Ok(Outcome::Stopped(StopReason::Timeout)) => (exit::TIMEOUT, None),
        Err(error) => {
            let message = report::chain(&error);
            eprintln!("wharf: {message}");
            let code = if error.is_not_found() {
                exit::NOT_FOUND
            } else {
                exit::ERROR
            };
            (code, Some(message))
        }
    }
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
        && let Ok(_held) = container.lock()
    {
        let _ = super::containers::remove_done(store, container);
    }
}
