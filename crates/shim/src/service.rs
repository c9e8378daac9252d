//! Serving a container whose program is an HTTP handler, on
//! `0.0.0.0:PORT` inside the container's network namespace.
//!
//! One daemon serves many containers, so a listener is made on a thread of
//! its own that enters the container's namespace (`setns`), binds and
//! ends: the socket stays in that namespace, and no other thread of the
//! daemon ever leaves the node's. PORT is `WHARF_HTTP_PORT` from the
//! container's environment, else the first TCP port its image exposes
//! (read from containerd's content store: the spec does not carry it),
//! else 8080.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd as _;

use wharf_engine::{Host, RunSpec, ServeOptions, ServeStats};
use wharf_lifecycle::NetworkNamespace;
use wharf_lifecycle::ports::DEFAULT_SERVICE_PORT;

use crate::artifact::{self, Containerd};
use crate::container::Container;

/// The variable naming the port a service listens on in its namespace.
pub const PORT_VARIABLE: &str = "WHARF_HTTP_PORT";

/// Serves `run` until the container is stopped (then drains); the exit
/// status: 0 after a drain, 125 when it cannot serve (said on stderr).
pub fn serve(
    host: &Host,
    container: &Container,
    run: &RunSpec,
    containerd: &Containerd,
) -> Result<u32, String> {
    let service = host.service(run).map_err(|e| crate::report::chain(&e))?;
    let listener = listener_for(container, run, containerd)?;
    container.mark_serving();
    service
        .serve(
            ServeOptions::new(vec![listener]),
            &ServeStats::default(),
            &container.stop,
        )
        .map(|()| 0)
        .map_err(|e| crate::report::chain(&e))
}

/// The container's listener: on `0.0.0.0:PORT` of its network namespace
/// (see the module docs for PORT).
pub fn listener_for(
    container: &Container,
    run: &RunSpec,
    containerd: &Containerd,
) -> Result<TcpListener, String> {
    let port = match run.env.iter().rev().find(|(key, _)| key == PORT_VARIABLE) {
        Some((_, value)) => value
            .parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| format!("{PORT_VARIABLE}={value} is not a port"))?,
        None => {
            artifact::exposed_port_of(containerd, &container.id)?.unwrap_or(DEFAULT_SERVICE_PORT)
        }
    };
    let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    bind_in(&container.network, address)
}

/// A listener on `address` in `namespace`, bound from a thread that is
/// the only one to enter it.
fn bind_in(namespace: &NetworkNamespace, address: SocketAddr) -> Result<TcpListener, String> {
    let namespace = namespace.clone();
    std::thread::Builder::new()
        .name("bind-in-netns".to_owned())
        .stack_size(64 << 10)
        .spawn(move || {
            enter(&namespace)?;
            TcpListener::bind(address).map_err(|e| format!("cannot listen on {address}: {e}"))
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?
        .join()
        .map_err(|_| "the binding thread panicked".to_owned())?
}

/// Moves the calling thread into `namespace`.
fn enter(namespace: &NetworkNamespace) -> Result<(), String> {
    match namespace {
        NetworkNamespace::Host => Ok(()),
        // SAFETY: unshare only changes this thread's namespaces.
        NetworkNamespace::New => match unsafe { libc::unshare(libc::CLONE_NEWNET) } {
            0 => Ok(()),
            _ => Err(format!(
                "cannot make a network namespace: {}",
                std::io::Error::last_os_error()
            )),
        },
        NetworkNamespace::Join(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("network namespace {}: {e}", path.display()))?;
            // SAFETY: setns on an open namespace file; it moves only this
            // thread, which ends after binding.
            match unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } {
                0 => Ok(()),
                _ => Err(format!(
                    "cannot enter network namespace {}: {}",
                    path.display(),
                    std::io::Error::last_os_error()
                )),
            }
        }
    }
}
