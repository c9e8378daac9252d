//! `wharf stop` and `wharf kill`: signals to a container's supervisor,
//! which ends the guest and records 128+signal; a supervisor that does not
//! end in time, or one killed outright, has its exit recorded for it.

use std::time::Duration;

use wharf_lifecycle::containers::{Container, ContainerError, Containers};

use super::Outcome;
use super::containers::open;
use crate::cli::{KillArgs, StopArgs};
use crate::report;

pub fn stop(args: StopArgs) -> Outcome {
    let store = open()?;
    let grace = Duration::from_secs(args.time);
    let mut code = 0;
    for query in &args.containers.containers {
        let stopped = store
            .find(query)
            .and_then(|container| stop_one(&store, container, grace));
        match stopped {
            Ok(()) => println!("{query}"),
            Err(error) => code = report::fail(&error),
        }
    }
    Ok(code)
}

pub fn kill(args: KillArgs) -> Outcome {
    let number = signal_number(&args.signal)
        .ok_or_else(|| report::fail_with(&format!("invalid signal `{}`", args.signal)))?;
    let store = open()?;
    let mut code = 0;
    for query in &args.containers.containers {
        let killed = store.find(query).and_then(|container| {
            if !container.supervisor_alive() {
                return Err(ContainerError::NotRunning(container.label().to_owned()));
            }
            // A stopping signal ends the supervisor at once; the grace is
            // for one that cannot act on it.
            signal(&store, container, number, Duration::from_secs(10))
        });
        match killed {
            Ok(()) => println!("{query}"),
            Err(error) => code = report::fail(&error),
        }
    }
    Ok(code)
}

/// Stops the container: SIGTERM, then SIGKILL after `grace`.
pub(super) fn stop_one(
    store: &Containers,
    container: Container,
    grace: Duration,
) -> Result<(), ContainerError> {
    signal(store, container, libc::SIGTERM, grace)
}

/// From now on, SIGINT, SIGTERM and SIGHUP to this process stop the
/// containers' guests instead (their supervisors get SIGTERM), as Docker's
/// attached run passes them on.
pub(super) fn forward_stops(store: &Containers, containers: &[Container]) {
    // SAFETY: the set is initialised by sigemptyset before use; masking
    // signals in this thread (and the one started below) has no other
    // effect.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for number in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, number);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let store = store.clone();
    let ids: Vec<String> = containers.iter().map(|c| c.record.id.clone()).collect();
    let _ = std::thread::Builder::new()
        .name("signals".to_owned())
        .stack_size(64 << 10)
        .spawn(move || {
            loop {
                let mut number = 0;
                // SAFETY: the set holds signals blocked in every thread.
                if unsafe { libc::sigwait(&set, &mut number) } != 0 {
                    continue;
                }
                for id in &ids {
                    // Read again: the state names the supervisor once it runs.
                    let running = store.find(id).ok();
                    if let Some(Ok(Some(supervisor))) = running.map(|c| c.supervisor()) {
                        let _ = supervisor.signal(libc::SIGTERM);
                    }
                }
            }
        });
}

/// Sends `number` to the container's supervisor and waits up to `grace`
/// for it to end, then kills it; then records an exit the supervisor could
/// not, and removes a `--rm` container. SIGSTOP and SIGCONT only pause and
/// resume it. Only a process that is the supervisor the state names is
/// signalled (see [`Container::supervisor`]).
fn signal(
    store: &Containers,
    container: Container,
    number: i32,
    grace: Duration,
) -> Result<(), ContainerError> {
    let _held = container.lock()?;
    let Some(supervisor) = container.supervisor()? else {
        return Ok(());
    };
    container.send(&supervisor, number)?;
    if matches!(number, libc::SIGSTOP | libc::SIGCONT | libc::SIGTSTP) {
        return Ok(());
    }
    if !container.supervisor_ended_within(grace) {
        container.kill(&supervisor)?;
    }
    let mut ended = store.find(&container.record.id)?;
    ended.settle_lost()?;
    if ended.record.auto_remove {
        super::containers::remove_done(store, &ended)?;
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
