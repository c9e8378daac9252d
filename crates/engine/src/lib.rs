//! wharf's engine host: runs one WebAssembly program in a WASI sandbox.
//!
//! A [`RunSpec`] describes the run (program, arguments, environment,
//! directories, stdio, limits); a [`Host`] owns the Wasmtime engine and the
//! compiled-code cache and turns a spec into an [`Outcome`]. Core modules run
//! with WASI preview 1, components run the `wasi:cli/command` world of WASI
//! preview 2; the host tells them apart by their bytes. Components that
//! export `wasi:http/incoming-handler` are served instead ([`Host::service`]),
//! one fresh instance per request.
//!
//! This crate knows nothing of OCI images or containers.
#![deny(missing_docs)]

mod cache;
mod config;
mod error;
mod guest;
mod host;
mod layers;
mod limiter;
mod memo;
mod names;
mod network;
mod outcome;
mod program;
mod resolved;
mod run;
mod sandbox;
mod serve;
mod spec;
mod stdio;
mod stop;
mod volume;

pub use error::{Error, chain};

/// The Wasmtime release this engine embeds.
pub const WASMTIME_VERSION: &str = env!("WHARF_WASMTIME_VERSION");
/// The WASI versions a guest may target: preview 1 for core modules, 0.2
/// and 0.3 for components.
pub const WASI_VERSIONS: [&str; 3] = ["preview1", "0.2", "0.3"];
pub use config::{
    Compiler, HostConfig, PoolSize, Precompiled, ProgramShape, UnknownCompiler, WallScope,
};
pub use host::Host;
pub use layers::enforced::{Enforced, Layers};
pub use network::{Destination, NetworkPolicy, OutboundRule, RuleError};
pub use outcome::{Outcome, TrapReport};
pub use serve::{
    DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    InstanceReuse, ServeOptions, ServeStats, Service,
};
pub use spec::{DEFAULT_MEMORY_LIMIT, Output, RunSpec, Stdin};
pub use stop::{StopHandle, StopReason};
pub use volume::{DirIdentity, Volume, resolve_volumes};
