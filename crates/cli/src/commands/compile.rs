//! Compiling ahead of a run: `wharf compile`, the host a foreground run
//! starts on (compiling in tiers), and the compile of an image's program
//! that `pull`, `load` and `build` do so its first run starts warm.

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use wharf_engine::{Compiler, Host, HostConfig, ProgramShape};
use wharf_image::manifest::Descriptor;
use wharf_image::{Image, Reference, Store};

use super::Outcome;
use crate::cli::CompileArgs;
use crate::{paths, report};
use wharf_lifecycle::hosts;

/// Programs at least this large start on Winch's code when they are not
/// in the cache yet: below it Cranelift compiles in a blink, and a second
/// compile in the background would cost more than it saves.
const TIER_FROM_BYTES: u64 = 1 << 20;

/// How long a compile runs before it says so on a terminal.
const QUIET_FOR: Duration = Duration::from_secs(1);

/// `wharf compile PROGRAM...`: each program's code into the cache.
pub fn compile(args: CompileArgs) -> Outcome {
    for program in &args.programs {
        for_runs(program, args.compiler.unwrap_or_default(), args.quiet)?;
    }
    Ok(0)
}

/// The host a command runs on: one guest per process, walled whole and
/// stopped by the process ending, so its code has no interruption checks
/// (and so its cache entries are not a service's).
pub fn command_config(compiler: Compiler) -> HostConfig {
    hosts::command(Some(paths::cache_dir()), compiler)
}

/// Compiles `program` for the runs that will use it: as a command, and
/// when it is an HTTP service, as a service too (interruptible code).
fn for_runs(program: &Path, compiler: Compiler, quiet: bool) -> Result<(), i32> {
    let compile = |config: HostConfig| {
        let host = Host::new(config).map_err(|e| report::fail(&e))?;
        if !host.has_cache() {
            return Err(report::fail_with("the compiled-code cache cannot be used"));
        }
        with_progress(&host, program, quiet).map_err(|e| report::fail(&e))
    };
    let compiled = compile(command_config(compiler))?;
    if compiled.shape == ProgramShape::HttpHandler {
        compile(hosts::service(Some(paths::cache_dir()), compiler, None))?;
    }
    Ok(())
}

/// The host a foreground run of `program` starts on, from `base`: the
/// compiler asked for; else Cranelift when its code is ready; else, for a
/// large program Winch can compile, Winch — Cranelift's code then compiles
/// for the cache in a process of its own that outlives this run, so the
/// next run starts warm; else Cranelift, compiling now.
pub fn host_for(
    program: &Path,
    asked: Option<Compiler>,
    base: HostConfig,
) -> Result<Host, wharf_engine::Error> {
    if let Some(compiler) = asked {
        return Host::new(HostConfig { compiler, ..base });
    }
    let optimized = Host::new(base.clone())?;
    let large = std::fs::metadata(program).is_ok_and(|m| m.len() >= TIER_FROM_BYTES);
    if !large || !optimized.has_cache() || optimized.is_warm(program) {
        return Ok(optimized);
    }
    let baseline = Host::new(HostConfig {
        compiler: Compiler::Winch,
        cache_dir: None,
        ..base
    })?;
    match baseline.precompile(program) {
        Ok(_) => {
            tracing::debug!(program = %program.display(), "starting on Winch's code; Cranelift's compiles in the background");
            compile_in_background(program);
            Ok(baseline)
        }
        Err(error) => {
            tracing::debug!(%error, "Winch cannot compile the program: Cranelift compiles it now");
            Ok(optimized)
        }
    }
}

/// Compiles `program` on `host` unless its code is ready, saying so on a
/// terminal when it takes a while (never in a pipe).
pub fn with_progress(
    host: &Host,
    program: &Path,
    quiet: bool,
) -> Result<wharf_engine::Precompiled, wharf_engine::Error> {
    let show = !quiet && std::io::stderr().is_terminal() && !host.is_warm(program);
    if !show {
        return host.precompile(program);
    }
    let (done, finished) = mpsc::channel::<()>();
    let line = compiling_line(program);
    let shower = std::thread::spawn(move || {
        // Said only when the compile outlasts QUIET_FOR (it hangs up
        // sooner otherwise).
        if finished.recv_timeout(QUIET_FOR) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprint!("{line}");
            let _ = finished.recv();
            // Clear the line the output would otherwise follow.
            eprint!("\r\x1b[K");
        }
    });
    let compiled = host.precompile(program);
    drop(done);
    let _ = shower.join();
    compiled
}

fn compiling_line(program: &Path) -> String {
    let name = program.file_name().map_or_else(
        || program.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let size = std::fs::metadata(program).map_or(0, |m| m.len());
    format!("Compiling {name} ({:.0} MB)…", size as f64 / 1e6)
}

/// Starts `wharf compile --quiet PROGRAM` as a process of its own (its own
/// process group, no stdio), which writes Cranelift's code to the cache
/// atomically after this run may have ended.
fn compile_in_background(program: &Path) {
    use std::os::unix::process::CommandExt as _;
    use std::process::{Command, Stdio};
    let spawned = std::env::current_exe().and_then(|wharf| {
        Command::new(wharf)
            .args(["compile", "--quiet", "--compiler", "cranelift", "--"])
            .arg(program)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot compile the optimized code in the background");
    }
}

/// Compiles the program `image` runs by default, so that its first run
/// starts warm. A program that cannot be found or compiled is a warning:
/// the image is stored all the same, and its run will say what is wrong.
pub fn ahead(store: &Store, image: &Image, quiet: bool) {
    match wharf_lifecycle::launch::image_program(store, image) {
        Ok(Some(program)) => {
            if for_runs(&program, Compiler::default(), quiet).is_err() {
                eprintln!("wharf: warning: the image's program was not compiled ahead");
            }
        }
        Ok(None) => {}
        Err(error) => not_ahead(&report::chain(&error)),
    }
}

/// [`ahead`] for the image just stored as `manifest` under `name` (if it
/// has one).
pub fn ahead_of_stored(
    store: &Store,
    name: Option<&Reference>,
    manifest: &Descriptor,
    quiet: bool,
) {
    let label = name.map_or_else(|| manifest.digest.to_string(), Reference::familiar);
    match store.image(&label, manifest) {
        Ok(image) => ahead(store, &image, quiet),
        Err(error) => not_ahead(&report::chain(&error)),
    }
}

fn not_ahead(why: &str) {
    eprintln!("wharf: warning: the image's program was not compiled ahead: {why}");
}
