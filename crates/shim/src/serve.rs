//! The daemon: the Task service on the group's socket, until containerd
//! shuts it down with no container left.

use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Duration;

use containerd_shim_protos::create_task;
use containerd_shim_protos::ttrpc::Server;
use wharf_engine::{Host, HostConfig};

use crate::args::Args;
use crate::artifact::Containerd;
use crate::events::Publisher;
use crate::start::{ALIVE_FD, LISTENER_FD};
use crate::task::Service;

pub fn serve(args: &Args) -> Result<(), String> {
    let socket = args.socket.clone().ok_or("serve needs -socket")?;
    let listener = inherited(LISTENER_FD, libc::S_IFSOCK, "listening socket")?;
    // Held until this process ends: `start` sees the daemon alive.
    let _alive = inherited(ALIVE_FD, libc::S_IFREG, "alive lock")?;
    // glibc gives each thread that allocates an arena of its own, up to
    // eight per core, and each keeps its free memory: an idle daemon of
    // many threads needs two.
    // SAFETY: mallopt only sets an allocator parameter; no other thread
    // runs yet.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
    let host = Host::new(HostConfig {
        cache_dir: Some(cache_dir()),
        // Many guests share this process: stopping one is an interrupt,
        // not an exit.
        interruptible: true,
        exit_after_run: false,
        compiler: compiler()?,
        pool: None,
    })
    .map_err(|e| crate::report::chain(&e))?;
    let publisher = Publisher::new(&args.address, &args.namespace);
    let (shutdown, shutdown_requested) = channel();
    let containerd = Containerd {
        address: args.address.clone(),
        namespace: args.namespace.clone(),
    };
    let service = Service::new(host, publisher, shutdown, socket.clone(), containerd);
    let services = create_task(Arc::new(Box::new(service)));
    let mut server = Server::new()
        .add_listener(listener.into_raw_fd())
        .map_err(|e| format!("cannot serve on {}: {e}", socket.display()))?
        .register_service(services)
        // Each connection (containerd opens one per container) keeps one
        // idle worker beside the one its Wait request blocks: an idle
        // container should cost few threads.
        .set_thread_count_default(2)
        .set_thread_count_min(1)
        // Wait requests block a thread each until their guest exits.
        .set_thread_count_max(100_000);
    server.start().map_err(|e| format!("cannot serve: {e}"))?;
    let _ = shutdown_requested.recv();
    // Let the answer to Shutdown reach containerd, then end at once.
    std::thread::sleep(Duration::from_millis(20));
    std::process::exit(0)
}

/// The descriptor `fd` that `start` passed, which must be of type `kind`.
fn inherited(fd: i32, kind: libc::mode_t, what: &str) -> Result<OwnedFd, String> {
    let refused = || format!("serve needs its {what} on descriptor {fd}: run by `start` only");
    // SAFETY: fstat writes into the stat we pass; a closed fd fails.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut stat) } != 0 || stat.st_mode & libc::S_IFMT != kind {
        return Err(refused());
    }
    // SAFETY: the descriptor is open, of the right type, and nothing else
    // in this process owns it; nothing this daemon starts inherits it.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Compiled code, shared by every container on the node:
/// The compiler every container of this daemon uses: `$WHARF_COMPILER`
/// (cranelift, winch or pulley; set it in containerd's environment), else
/// Cranelift.
fn compiler() -> Result<wharf_engine::Compiler, String> {
    match std::env::var("WHARF_COMPILER") {
        Ok(name) => name.parse().map_err(|e| format!("WHARF_COMPILER: {e}")),
        Err(_) => Ok(wharf_engine::Compiler::default()),
    }
}

/// `$WHARF_ROOT/cache`, else `/var/lib/wharf/cache`.
fn cache_dir() -> std::path::PathBuf {
    let root = std::env::var_os("WHARF_ROOT")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/var/lib/wharf".into());
    root.join("cache")
}
