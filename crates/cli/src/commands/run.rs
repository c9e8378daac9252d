//! `wharf run`: one guest in the foreground.

use std::path::PathBuf;

use wharf_engine::{Host, HostConfig, Outcome, RunSpec, Stdin, StopReason};

use crate::cli::RunArgs;
use crate::{exit, flags, watchdog};

pub fn run(args: RunArgs) -> i32 {
    let spec = match spec_from(&args) {
        Ok(spec) => spec,
        Err(message) => {
            eprintln!("wharf: {message}");
            return exit::ERROR;
        }
    };
    // One guest per process: the watchdog stops it by exiting, so guest
    // code needs no interruption checks.
    let host = match Host::new(HostConfig {
        cache_dir: Some(wharf_root().join("cache")),
        interruptible: false,
        exit_after_run: true,
    }) {
        Ok(host) => host,
        Err(error) => return report_error(&error),
    };
    if let Err(error) = watchdog::arm(args.timeout) {
        eprintln!("wharf: cannot watch for signals: {error}");
        return exit::ERROR;
    }
    let outcome = host.run(&spec, &host.stop_handle());
    // The process ends right after this: tearing the engine down would only
    // cost time.
    std::mem::forget(host);
    match outcome {
        Ok(Outcome::Exited(code)) => code,
        Ok(Outcome::Trapped(report)) => {
            eprintln!("wharf: guest trapped: {report}");
            exit::TRAP
        }
        Ok(Outcome::Stopped(StopReason::Signal(signal))) => exit::for_signal(signal),
        Ok(Outcome::Stopped(StopReason::Timeout)) => exit::TIMEOUT,
        Err(error) => report_error(&error),
    }
}

fn spec_from(args: &RunArgs) -> Result<RunSpec, String> {
    let mut spec = RunSpec::new(&args.program);
    spec.args.extend(args.args.iter().cloned());
    spec.env = flags::environment(&args.env_files, &args.env, |key| std::env::var(key).ok())?;
    spec.volumes = args.volumes.clone();
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
    Ok(spec)
}

/// Prints the error and its causes on one line; returns the exit code.
fn report_error(error: &wharf_engine::Error) -> i32 {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    eprintln!("wharf: {message}");
    if error.is_not_found() {
        exit::NOT_FOUND
    } else {
        exit::ERROR
    }
}

/// wharf's state directory: `$WHARF_ROOT`, else the per-user data directory.
fn wharf_root() -> PathBuf {
    if let Some(root) = std::env::var_os("WHARF_ROOT").filter(|v| !v.is_empty()) {
        return PathBuf::from(root);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    data.join("wharf")
}
