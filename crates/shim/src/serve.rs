//! The daemon: the Task service on the group's socket, until containerd
//! shuts it down with no container left.

use std::os::fd::IntoRawFd;
use std::sync::Arc;
use std::time::Duration;

use containerd_shim_protos::shim_async::create_task;
use containerd_shim_protos::ttrpc::r#async::Server;
use tokio::sync::mpsc::unbounded_channel;
use wharf_engine::Host;

use crate::args::Args;
use crate::artifact::Containerd;
use crate::events::Publisher;
use crate::rpc::Rpc;
use crate::start::{ALIVE_FD, LISTENER_FD, inherited};
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
    let config = wharf_lifecycle::hosts::daemon(Some(cache_dir()), compiler()?);
    let host = Host::new(config.clone()).map_err(|e| crate::report::chain(&e))?;
    let publisher = Publisher::new(&args.address, &args.namespace);
    let (shutdown, mut shutdown_requested) = unbounded_channel();
    let containerd = Containerd {
        address: args.address.clone(),
        namespace: args.namespace.clone(),
    };
    let service = Service::new(
        (host, config),
        publisher,
        shutdown,
        socket.clone(),
        containerd,
    );
    let services = create_task(Arc::new(Box::new(Rpc(Arc::new(service)))));
    // One thread answers every connection's requests; Creates borrow a
    // blocking thread, which ends a second after the last one.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_keep_alive(Duration::from_secs(1))
        .build()
        .map_err(|e| format!("cannot start the daemon's runtime: {e}"))?;
    runtime.block_on(async {
        let mut server = Server::new()
            .set_domain_unix()
            .add_listener(listener.into_raw_fd())
            .map_err(|e| format!("cannot serve on {}: {e}", socket.display()))?
            .register_service(services);
        server
            .start()
            .await
            .map_err(|e| format!("cannot serve: {e}"))?;
        let _ = shutdown_requested.recv().await;
        // Let the answer to Shutdown reach containerd, then end at once.
        tokio::time::sleep(Duration::from_millis(20)).await;
        std::process::exit(0)
    })
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
    use wharf_lifecycle::root;
    root::cache_of(&root::node_root())
}
