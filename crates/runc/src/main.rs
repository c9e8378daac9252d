//! wharf-runc: a runc-compatible runtime for Docker (`--runtime`, Engine
//! 20.10's daemon.json `runtimes`) and Podman (`--runtime`). Every command
//! goes to runc with its argv unchanged; at `create` and `run`, the bundle
//! of a Wasm container is first rewritten to run wharf's engine inside the
//! container runc makes (see [`create`]).

mod argv;
mod create;
mod engine;
mod init;
mod log;
mod rewrite;

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;

use argv::{Invocation, RUNC_ENV};
use log::Log;

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == engine::INIT_COMMAND) {
        let rest: Vec<String> = args[1..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        wharf_lifecycle::exit::exit(init::main(&rest));
    }
    let invocation = Invocation::parse(args, std::env::var_os(RUNC_ENV));
    let log = Log::new(invocation.log.clone(), invocation.log_json);
    if invocation.version && invocation.command.is_none() {
        println!("wharf-runc version {}", env!("CARGO_PKG_VERSION"));
    }
    if matches!(invocation.command.as_deref(), Some("create" | "run")) {
        let Some(bundle) = invocation.bundle() else {
            log.error("cannot tell the bundle: no --bundle and no current directory");
            std::process::exit(1);
        };
        if let Err(message) = create::prepare(&bundle, invocation.wharf_root.as_deref()) {
            log.error(&message);
            std::process::exit(1);
        }
    }
    // runc takes over this process: its pid, its descriptors (the console
    // socket's, `--preserve-fds`), its exit code.
    let error = std::process::Command::new(&invocation.runc)
        .args(&invocation.runc_args)
        .exec();
    log.error(&format!(
        "cannot run runc at {} (set it with --runc or ${RUNC_ENV}): {error}",
        invocation.runc.display()
    ));
    std::process::exit(1);
}
