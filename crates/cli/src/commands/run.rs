//! `wharf run`: one guest in the foreground.

use std::sync::Arc;

use wharf_engine::{Compiler, RunSpec};
use wharf_lifecycle::tty;

use super::request;
use crate::cli::RunArgs;
use crate::{exit, report, watchdog};

/// What a run makes of its guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `wharf run`: in the foreground; a container when it is named or
    /// restarts, attached to its output.
    Run,
    /// `wharf create`: a container, not started.
    Create,
}

pub fn run(args: RunArgs, mode: Mode) -> i32 {
    if let Err(message) = refused(&args) {
        return report::fail_with(&message);
    }
    if args.init {
        eprintln!("wharf: --init: a Wasm guest starts no processes to reap; nothing to add");
    }
    let container = mode == Mode::Create
        || args.detach
        || args.name.is_some()
        || args.restart != "no"
        || !args.labels.is_empty()
        || !args.label_files.is_empty();
    let how = match (mode, args.detach) {
        (Mode::Create, _) => "create",
        (_, true) => "-d",
        _ => "--name or --restart",
    };
    let detached = if container {
        match super::detach::check_flags(&args, how) {
            Ok(detached) => Some(detached),
            Err(code) => return code,
        }
    } else {
        None
    };
    let (spec, image) = match request::spec_of(&args) {
        Ok(made) => made,
        Err(code) => return code,
    };
    if let Some(detached) = detached {
        let outcome = match (mode, args.detach) {
            (Mode::Create, _) => super::detach::create(&args, detached, spec, &image).map(|c| {
                println!("{}", c.record.id);
                0
            }),
            (_, true) => super::detach::detach(&args, detached, spec, &image),
            _ => super::detach::create(&args, detached, spec, &image)
                .and_then(|c| super::start::run_attached(&c)),
        };
        return outcome.unwrap_or_else(|code| code);
    }
    if args.publish_all || !args.publish.is_empty() {
        return super::serve::serve(&args, &spec, &image.exposed);
    }
    let terminal = if args.tty {
        match tty::saved_stdout().and_then(|out| tty::onto(&[1, 2], out)) {
            Ok(terminal) => Some(terminal),
            Err(error) => return report::fail_with(&format!("cannot open a terminal: {error}")),
        }
    } else {
        None
    };
    let code = run_here(&args, &spec, terminal.as_ref());
    if let Some(terminal) = terminal {
        terminal.finish(&[1, 2]);
    }
    code
}

/// Makes the container `args` describe, not started (`compose`'s way in).
pub fn make_container(args: &RunArgs) -> Result<wharf_lifecycle::containers::Container, i32> {
    refused(args).map_err(|m| report::fail_with(&m))?;
    let detached = super::detach::check_flags(args, "a container")?;
    let (spec, image) = request::image_spec_of(args)?;
    super::detach::create(args, detached, spec, &image)
}

/// Docker's flags that cannot mean anything for a Wasm guest: each a
/// one-line error that says why.
fn refused(args: &RunArgs) -> Result<(), String> {
    if args.privileged {
        return Err("--privileged: a Wasm guest has no privileges to widen; give it what it needs with -v, --allow-outbound and --allow-listen".to_owned());
    }
    if let Some(cap) = args.cap_add.first() {
        return Err(format!(
            "--cap-add {cap}: a Wasm guest makes no system calls, so Linux capabilities mean nothing to it"
        ));
    }
    if let Some(device) = args.device.first() {
        return Err(format!(
            "--device {device}: WASI has no device files; give the guest directories with -v"
        ));
    }
    Ok(())
}

/// One guest in this process, in the foreground; a `terminal`'s copy starts
/// once the process is walled.
fn run_here(args: &RunArgs, spec: &RunSpec, terminal: Option<&Arc<tty::Terminal>>) -> i32 {
    // One guest per process: the watchdog stops it by exiting, so guest
    // code needs no interruption checks.
    let base = super::compile::command_config(Compiler::default());
    let host = match super::compile::host_for(&spec.program, args.compiler, base) {
        Ok(host) => host,
        Err(error) => return exit::of_error(&error),
    };
    if let Err(error) = super::compile::with_progress(&host, &spec.program, false) {
        return exit::of_error(&error);
    }
    if let Err(error) = watchdog::arm(args.timeout) {
        eprintln!("wharf: cannot watch for signals: {error}");
        return exit::ERROR;
    }
    wharf_lifecycle::cgroup::join_process(
        &format!("run-{}", std::process::id()),
        args.cpus,
        args.cpu_shares,
    );
    let stop = host.stop_handle();
    if let Some(terminal) = terminal.cloned() {
        stop.on_walled(move |_| terminal.start());
    }
    // On this thread: the whole process is walled in before the guest
    // runs (the engine logs what holds with WHARF_LOG=debug). Its CPU
    // cgroup, if any, is left for the next run to remove: nothing walled
    // may remove one.
    let outcome = host.run(spec, &stop);
    if spec.layers == wharf_engine::Layers::Off {
        wharf_lifecycle::cgroup::leave_process();
    }
    // The process ends right after this: tearing the engine down would only
    // cost time.
    std::mem::forget(host);
    exit::of_run(outcome)
}
