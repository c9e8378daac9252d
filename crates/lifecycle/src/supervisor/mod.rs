//! The process that watches one detached container (`wharf supervise ID`).
//!
//! Started by `wharf start` (and `run -d`, `run --name`, `compose up`), in
//! a session of its own. It holds the container's
//! supervisor lock for its whole life (so any wharf command can tell
//! whether it lives), keeps the container's log and records each start and
//! exit in its state, and starts the guest again as `--restart` says (with
//! a back-off). It never holds the guest itself: each run of the guest is
//! a process of its own (`wharf supervise ID --guest`, see [`guest()`]),
//! walled whole, whose output is piped into the log. On SIGTERM, SIGINT,
//! SIGHUP, SIGQUIT, SIGUSR1 or SIGUSR2 it kills the guest's process at once
//! and records the exit as 128+signal; a service is asked to drain first.

mod child;
mod guest;
pub mod handoff;
mod output;
mod signals;

pub use guest::guest;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use child::{Serving, follow, spawn_guest, take_listeners};
use output::{drain, output_to_log, ready_pipe};
use signals::{GuestProcess, block_stopping_signals, watch_signals};

use crate::containers::{Container, Containers, Held, State, Status, time};
use crate::{cgroup, exit, report};

/// What a face tells the supervisor it starts.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Where the container records are.
    pub containers: PathBuf,
    /// The compiled-code cache.
    pub cache: PathBuf,
    /// This binary's arguments for one run of container `ID`'s guest.
    pub guest_args: fn(&str) -> Vec<String>,
    /// Removes a `--rm` container that is done, with what the face made
    /// for it.
    pub remove_done: RemoveDone,
}

/// How a face removes a `--rm` container that is done.
pub type RemoveDone = fn(&Containers, &Container);

/// Back-off before a restart: doubling from the first, up to the longest;
/// back to the first after a run that lasted the reset time.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const LONGEST_BACKOFF: Duration = Duration::from_secs(10);
const BACKOFF_RESET: Duration = Duration::from_secs(10);

/// Supervises container `id` (its full ID) until it is done; the exit
/// code is this process's.
pub fn supervise(id: &str, setting: &Setting) -> i32 {
    let mut ready = ready_pipe();
    let mut tell = |message: &str| {
        if let Some(mut pipe) = ready.take() {
            let _ = pipe.write_all(message.as_bytes());
        }
    };
    let (store, container, life) = match take_charge(id, setting) {
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
    cgroup::join_process(
        &container.record.id,
        container.record.run.cpus,
        container.record.run.cpu_shares,
    );
    let container = Arc::new(Mutex::new(container));
    let guest = Arc::new(GuestProcess::default());
    watch_signals(
        signals,
        (store.clone(), container.clone(), setting.remove_done),
        log,
        &life,
        (guest.clone(), serving.as_ref().map(|s| s.listeners.clone())),
    );
    run_until_done(&container, serving.as_ref(), &guest, setting, |answer| {
        tell(answer)
    });
    drain(pumps);
    finish(&store, &container, &life, setting.remove_done);
    cgroup::leave_process();
    0
}

/// The container `id` (its full ID) and its supervisor's lock, or why this
/// process cannot supervise it.
fn take_charge(id: &str, setting: &Setting) -> Result<(Containers, Container, Held), String> {
    let store = Containers::open(setting.containers.clone()).map_err(|e| report::chain(&e))?;
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

/// Runs the guest, and again as the restart policy says; `started` hears
/// `ok` once the first run is walled in and recorded as running, or why
/// none can start. A run that fails before its guest starts (a volume that
/// changed, a program gone) is not started again; nor is a service that
/// was stopped (and drained).
fn run_until_done(
    container: &Mutex<Container>,
    serving: Option<&Serving>,
    guest: &GuestProcess,
    setting: &Setting,
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
        let ran = spawn_guest(&id, serving, setting).map(|child| {
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

/// Changes the recorded state (a write that fails leaves the old one).
pub(super) fn record(container: &Mutex<Container>, change: impl FnOnce(&mut State)) {
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
fn finish(store: &Containers, container: &Mutex<Container>, life: &Held, remove_done: RemoveDone) {
    let container = container.lock().unwrap_or_else(|p| p.into_inner());
    // `wait` reads the exit code here when the container is gone.
    if let Some(code) = container.state.exit_code {
        let _ = life.write(&code.to_string());
    }
    remove_if_asked(store, &container, remove_done);
}

/// `--rm`: removes the container, unless a wharf command is changing it
/// (that command removes it).
pub(super) fn remove_if_asked(store: &Containers, container: &Container, remove_done: RemoveDone) {
    if container.record.auto_remove
        && let Ok(Some(_held)) = container.try_lock()
    {
        (remove_done)(store, container);
    }
}
