//! `wharf`: run WebAssembly applications as containers, with no daemon.

mod cli;
mod commands;
mod flags;
mod format;
mod logging;
mod paths;
mod progress;
mod report;
mod volumes;

use wharf_lifecycle::{exit, watchdog};

fn main() {
    limit_wasi_runtime_threads();
    logging::init();
    let code = match cli::parse() {
        Ok(cli) => commands::dispatch(cli),
        Err(code) => code,
    };
    exit::exit(code)
}

/// WASI's blocking calls run on a Tokio runtime that wasmtime-wasi builds on
/// first use, sized from the CPU count (found by reading cgroup files).
/// wharf runs guests synchronously, so one worker does; saying so spares
/// the start-up both the cgroup reads and the extra threads. A value the
/// user set is kept.
fn limit_wasi_runtime_threads() {
    const VARIABLE: &str = "TOKIO_WORKER_THREADS";
    if std::env::var_os(VARIABLE).is_none() {
        // SAFETY: nothing else runs yet: no other thread reads the
        // environment while it is written.
        unsafe { std::env::set_var(VARIABLE, "1") };
    }
}
