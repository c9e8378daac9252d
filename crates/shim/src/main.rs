//! `containerd-shim-wharf-v1`: runs Wasm containers for containerd (shim v2).
//!
//! containerd runs this binary with `start` to get a shim's address, talks
//! the Task ttrpc service to the daemon behind it, and runs it with
//! `delete` to clean up after a shim that died. One daemon serves many
//! containers: all containers of a Kubernetes pod, and all other
//! containers of one namespace, so an idle container costs memory, not a
//! process.

mod args;
mod artifact;
mod container;
mod creating;
mod delete;
mod drain;
mod events;
mod group;
mod isolated;
mod node;
mod outcome;
mod report;
mod rpc;
mod serve;
mod service;
mod socket_dir;
mod start;
mod task;
mod time;
mod unmounts;

use std::process::ExitCode;

fn main() -> ExitCode {
    // A guest's own process (process isolation), started by the daemon.
    if std::env::args().nth(1).as_deref() == Some("guest") {
        let status = isolated::main();
        return ExitCode::from(u8::try_from(status & 0xff).unwrap_or(u8::MAX));
    }
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("containerd-shim-wharf-v1: {message}");
            return ExitCode::from(2);
        }
    };
    let result = match args.action.as_str() {
        "start" => start::start(&args),
        "delete" => delete::delete(&args),
        "serve" => serve::serve(&args),
        "version" => {
            println!("containerd-shim-wharf-v1 {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        other => Err(format!("unknown action `{other}` (start, delete)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("containerd-shim-wharf-v1: {message}");
            ExitCode::FAILURE
        }
    }
}
