//! `wharf stop` and `wharf kill`: signals to a container's supervisor,
//! which ends the guest and records 128+signal; a supervisor that does not
//! end in time, or one killed outright, has its exit recorded for it.

use std::time::{Duration, Instant, SystemTime};

use wharf_lifecycle::containers::{
    Container, ContainerError, Containers, SUPERVISOR_DIED, Status, time,
};

use super::Outcome;
use super::containers::open;
use crate::cli::{KillArgs, StopArgs};
use crate::{exit, report};

pub fn stop(args: StopArgs) -> Outcome {
    let store = open()?;
    let grace = Duration::from_secs(args.time);
    let mut code = 0;
    for query in &args.containers.containers {
        match signal_one(&store, query, libc::SIGTERM, Some(grace)) {
            Ok(()) => println!("{query}"),
            Err(error) => code = report::fail(&error),
        }
    }
    Ok(code)
}

pub fn kill(args: KillArgs) -> Outcome {
    let signal = signal_number(&args.signal)
        .ok_or_else(|| report::fail_with(&format!("invalid signal `{}`", args.signal)))?;
    let store = open()?;
    let mut code = 0;
    for query in &args.containers.containers {
        let found = store.find(query);
        let running = found.as_ref().is_ok_and(|c| c.supervisor_alive());
        let result = match found {
            Err(error) => Err(error),
            Ok(c) if !running => Err(ContainerError::NotRunning(c.label().to_owned())),
            Ok(_) => signal_one(&store, query, signal, None),
        };
        match result {
            Ok(()) => println!("{query}"),
            Err(error) => code = report::fail(&error),
        }
    }
    Ok(code)
}

/// Sends `signal` to the container's supervisor and waits until it ends:
/// up to `grace`, then it is killed (`None`: as long as a stopping signal
/// takes, then killed too).
fn signal_one(
    store: &Containers,
    query: &str,
    signal: i32,
    grace: Option<Duration>,
) -> Result<(), ContainerError> {
    let container = store.find(query)?;
    let _held = container.lock()?;
    if !container.supervisor_alive() {
        return Ok(());
    }
    let Some(pid) = container.state.pid else {
        return Ok(());
    };
    // SAFETY: kill has no memory effects; the pid is the live supervisor's
    // (it holds its lock, so it has not ended and been reused).
    unsafe { libc::kill(pid as i32, signal) };
    if matches!(signal, libc::SIGSTOP | libc::SIGCONT | libc::SIGTSTP) {
        return Ok(());
    }
    let grace = grace.unwrap_or(Duration::from_secs(10));
    if !ended_within(&container, grace) {
        kill_supervisor(&container, libc::SIGKILL);
    }
    after_end(store, &container)
}

/// Kills the supervisor with `signal` and waits until it is gone; records
/// the exit unless the supervisor did (a SIGKILL leaves it no chance).
pub(super) fn kill_supervisor(container: &Container, signal: i32) {
    if let Some(pid) = container.state.pid {
        // SAFETY: as in `signal_one`: the pid is the live supervisor's.
        unsafe { libc::kill(pid as i32, signal) };
    }
    ended_within(container, Duration::from_secs(30));
}

fn ended_within(container: &Container, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while container.supervisor_alive() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// After the supervisor ended: record an exit it could not, and remove a
/// `--rm` container.
fn after_end(store: &Containers, container: &Container) -> Result<(), ContainerError> {
    let mut now = store.find(&container.record.id)?;
    if now.state.error.as_deref() == Some(SUPERVISOR_DIED) {
        let mut state = now.state.clone();
        state.status = Status::Exited;
        state.exit_code = Some(exit::for_signal(libc::SIGKILL));
        state.finished_at = Some(time::rfc3339(SystemTime::now()));
        state.error = None;
        now.set_state(state)?;
    }
    if now.record.auto_remove {
        store.remove(&now)?;
    }
    Ok(())
}

/// `KILL`, `SIGKILL`, `kill` or `9`.
fn signal_number(name: &str) -> Option<i32> {
    if let Ok(number) = name.parse::<i32>() {
        return (1..=64).contains(&number).then_some(number);
    }
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    Some(match bare {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(signal_number("KILL"), Some(9));
        assert_eq!(signal_number("sigterm"), Some(15));
        assert_eq!(signal_number("SIGUSR1"), Some(libc::SIGUSR1));
        assert_eq!(signal_number("2"), Some(2));
        assert_eq!(signal_number("0"), None);
        assert_eq!(signal_number("FOO"), None);
    }
}
