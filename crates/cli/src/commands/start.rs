//! `wharf start`, `restart` and `rename`, and the attached container of
//! `run --name`: a container's guest started (again) under a supervisor of
//! its own, with its restart policy, ports and labels as it was made.

use std::time::Duration;

use wharf_lifecycle::containers::{Container, Containers, ExitWatch};

use super::Outcome;
use super::containers::open;
use super::logs::{Printed, follow_until_stopped};
use crate::cli::{RenameArgs, StartArgs, StopArgs};
use crate::report;

pub fn start(args: StartArgs) -> Outcome {
    let store = open()?;
    if args.attach && args.containers.containers.len() > 1 {
        return Err(report::fail_with(
            "start -a takes one container: attach to one at a time",
        ));
    }
    let mut code = 0;
    for query in &args.containers.containers {
        let container = match store.find(query) {
            Ok(container) => container,
            Err(error) => {
                code = report::fail(&error);
                continue;
            }
        };
        if args.attach {
            return attach_from_start(&store, &container);
        }
        match start_one(&container) {
            Ok(()) => println!("{query}"),
            Err(message) => code = report::fail_with(&message),
        }
    }
    Ok(code)
}

/// Starts the container unless its guest runs already (then nothing, as
/// Docker does).
fn start_one(container: &Container) -> Result<(), String> {
    {
        let _held = container.lock().map_err(|e| report::chain(&e))?;
        if container.supervisor_alive() {
            return Ok(());
        }
        super::detach::start(container)?;
    }
    remove_if_done(container);
    Ok(())
}

/// A `--rm` container whose guest ended while this command held its lock
/// could not remove itself: this command does.
pub fn remove_if_done(container: &Container) {
    if !container.record.auto_remove || container.supervisor_alive() {
        return;
    }
    let (Ok(store), Ok(_held)) = (open(), container.lock()) else {
        return;
    };
    if let Ok(done) = store.find(&container.record.id)
        && !done.supervisor_alive()
    {
        let _ = super::containers::remove_done(&store, &done);
    }
}

/// `run --name` without `-d`: starts the container just made, prints its
/// output until it exits and exits with its code; one that cannot start
/// is removed.
pub fn run_attached(container: &Container) -> Result<i32, i32> {
    let store = open()?;
    let printed = Printed::from_now(container).map_err(|e| report::fail(&e))?;
    let exit = container.watch_exit().map_err(|e| report::fail(&e))?;
    if let Err(message) = super::detach::start(container) {
        super::detach::remove_unstarted(container);
        return Err(report::fail_with(&message));
    }
    Ok(attached(&store, container, printed, exit))
}

/// `start -a`: starts it (if it is not running) and stays attached.
fn attach_from_start(store: &Containers, container: &Container) -> Outcome {
    let printed = Printed::from_now(container).map_err(|e| report::fail(&e))?;
    let exit = container.watch_exit().map_err(|e| report::fail(&e))?;
    start_one(container).map_err(|m| report::fail_with(&m))?;
    Ok(attached(store, container, printed, exit))
}

/// Prints the guest's output until its supervisor ends, passing on
/// SIGINT and SIGTERM as `wharf stop` would; then its exit code.
fn attached(store: &Containers, container: &Container, printed: Printed, exit: ExitWatch) -> i32 {
    super::signals::forward_stops(store, std::slice::from_ref(container));
    follow_until_stopped(container, printed, false);
    match exit.wait(store) {
        // No exit recorded: the supervisor was killed.
        Ok(code) => code.unwrap_or(wharf_lifecycle::exit::LOST),
        Err(error) => report::fail(&error),
    }
}

pub fn restart(args: StopArgs) -> Outcome {
    let store = open()?;
    let grace = Duration::from_secs(args.time);
    let mut code = 0;
    for query in &args.containers.containers {
        let restarted = store
            .find(query)
            .map_err(|e| report::chain(&e))
            .and_then(|container| {
                super::signals::stop_one(&store, container.clone(), grace)
                    .map_err(|e| report::chain(&e))?;
                // A `--rm` container is gone once stopped, as with `stop`.
                let container = store
                    .find(&container.record.id)
                    .map_err(|e| report::chain(&e))?;
                start_one(&container)
            });
        match restarted {
            Ok(()) => println!("{query}"),
            Err(message) => code = report::fail_with(&message),
        }
    }
    Ok(code)
}

pub fn rename(args: RenameArgs) -> Outcome {
    let store = open()?;
    let found = store.find(&args.container).map_err(|e| report::fail(&e))?;
    let _held = found.lock().map_err(|e| report::fail(&e))?;
    // Read again under the lock: another rename may have come first.
    let mut container = store.find(&found.record.id).map_err(|e| report::fail(&e))?;
    if container.record.name == args.name {
        return Err(report::fail_with(&format!(
            "renaming a container with the same name as its current name: {}",
            args.name
        )));
    }
    store
        .rename(&mut container, &args.name)
        .map_err(|e| report::fail(&e))?;
    Ok(0)
}
