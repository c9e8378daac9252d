//! `wharf run`: one guest in the foreground.

use std::path::Path;
use std::sync::Arc;

use wharf_engine::{Compiler, RunSpec, Stdin};

use super::{run_image, tty};
use crate::cli::RunArgs;
use crate::{exit, flags, report, watchdog};

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
    let (spec, image) = if names_a_file(&args.program) {
        (spec_from(&args), Default::default())
    } else {
        match run_image::spec_from(&args) {
            Ok((spec, image)) => (Ok(spec), image),
            Err(code) => return code,
        }
    };
    let spec = match spec {
        Ok(spec) => spec,
        Err(message) => {
            eprintln!("wharf: {message}");
            return exit::ERROR;
        }
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
    let (spec, image) = run_image::spec_from(args)?;
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
    super::cpu::join(&format!("run-{}", std::process::id()), args);
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
        super::cpu::leave();
    }
    // The process ends right after this: tearing the engine down would only
    // cost time.
    std::mem::forget(host);
    exit::of_run(outcome)
}

/// A program argument names a file when it exists, ends in `.wasm` or
/// `.wat`, or is a path (`/…`, `./…`, `../…`); anything else is an image.
fn names_a_file(program: &str) -> bool {
    Path::new(program).exists()
        || program.ends_with(".wasm")
        || program.ends_with(".wat")
        || ["/", "./", "../"].iter().any(|p| program.starts_with(p))
}

fn spec_from(args: &RunArgs) -> Result<RunSpec, String> {
    if args.entrypoint.is_some() {
        return Err("--entrypoint applies to images, not to a program file".to_owned());
    }
    let mut spec = RunSpec::new(&args.program);
    // As wasmtime and a shell do: argv[0] is the program's file name.
    if let Some(name) = Path::new(&args.program).file_name() {
        spec.args[0] = name.to_string_lossy().into_owned();
    }
    spec.args.extend(args.args.iter().cloned());
    apply_flags(args, &mut spec)?;
    Ok(spec)
}

/// What the flags say, over what the spec has (an image's defaults):
/// environment entries override, volumes add, the workdir replaces.
pub(super) fn apply_flags(args: &RunArgs, spec: &mut RunSpec) -> Result<(), String> {
    let flagged = flags::environment(&args.env_files, &args.env, ("-e", "env"), |key| {
        std::env::var(key).ok()
    })?;
    for (key, value) in flagged {
        match spec.env.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => spec.env.push((key, value)),
        }
    }
    spec.volumes.extend(args.volumes.iter().cloned());
    // Resolved once, here, where the run is made: every later start of it
    // finds the same directories or refuses.
    wharf_engine::resolve_volumes(&mut spec.volumes).map_err(|e| report::chain(&e))?;
    crate::volumes::refuse_state(&spec.volumes)?;
    if let Some(workdir) = &args.workdir {
        if !workdir.starts_with('/') {
            return Err(format!("working directory `{workdir}` must be absolute"));
        }
        spec.workdir = Some(workdir.clone());
    }
    if args.interactive {
        spec.stdin = Stdin::Inherit;
    }
    if let Some(memory) = args.memory {
        spec.memory_limit = memory;
    }
    spec.network = wharf_engine::NetworkPolicy::new(args.allow_outbound.clone())
        .with_listen(args.allow_listen.clone());
    if args.security_opts.contains(&flags::SecurityOpt::NoLayers) {
        spec.layers = wharf_engine::Layers::Off;
    }
    Ok(())
}
