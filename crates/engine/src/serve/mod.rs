//! Serving a `wasi:http` handler component over HTTP/1.1: for 0.2's
//! `incoming-handler` one fresh instance per request, from a
//! pre-instantiated component; for 0.3's `handler` instances reused within
//! stated bounds (see [`reuse`]).

mod connections;
pub(crate) mod limits;
pub(crate) mod outbound;
mod request;
mod reuse;

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use wasmtime_wasi_http::handler::{self, ProxyHandler};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p3::bindings::ServicePre;

use crate::error::{Error, boxed};
use crate::guest::GuestState;
use crate::host::Host;
use crate::memo::Program;
use crate::program;
use crate::spec::RunSpec;
use crate::stop::StopHandle;
use crate::volume::HeldVolume;

pub use reuse::InstanceReuse;

/// How a service is served. [`ServeOptions::new`] gives the defaults.
#[derive(Debug)]
pub struct ServeOptions {
    /// Bound listeners to accept connections on (bound by the caller, so a
    /// port in use is the caller's error, before anything is served).
    pub listeners: Vec<TcpListener>,
    /// How long one request may run, from its headers to the end of its
    /// response: past it, the request answers 504 (or its response is cut
    /// off) and its instance is dropped. Default: 60 s.
    pub request_timeout: Duration,
    /// Requests handled at once; past it, 503 with `Retry-After`.
    /// Default: [`DEFAULT_MAX_CONCURRENCY`].
    pub max_concurrency: usize,
    /// How long a client may take to send a request's headers, and how
    /// long an idle keep-alive connection is kept. Default: 10 s.
    pub header_timeout: Duration,
    /// How long a request's body may pause between two chunks (past it
    /// the request answers 408 and its instance goes), and how long a
    /// client may leave its response unread (past it the connection is
    /// closed). Default: 10 s.
    pub body_timeout: Duration,
    /// Connections open at once; past it a connection is answered 503
    /// with `Retry-After` and closed. Default: [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv6 /64).
    /// Default: [`DEFAULT_MAX_CONNECTIONS_PER_CLIENT`].
    pub max_connections_per_client: usize,
    /// The largest request head (start line and headers), in bytes;
    /// larger ones answer 431. Default: 64 KiB.
    pub max_header_bytes: usize,
    /// The largest request body, in bytes; larger ones answer 413.
    /// Default: 64 MiB.
    pub max_body_bytes: u64,
    /// How long in-flight requests may run on once the server is stopped.
    /// Default: 10 s.
    pub drain_timeout: Duration,
    /// Threads that run requests. Default: one per CPU; a process serving
    /// many services gives each fewer.
    pub workers: usize,
    /// How far a WASI 0.3 handler's instances are reused (0.2 handlers get
    /// a fresh instance per request). Default: [`InstanceReuse::default`].
    pub reuse: InstanceReuse,
}

/// The default cap on requests handled at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 128;
/// The default cap on connections open at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The default cap on connections open at once from one client.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 256;

impl ServeOptions {
    /// Options serving on `listeners` with every default.
    pub fn new(listeners: Vec<TcpListener>) -> Self {
        ServeOptions {
            listeners,
            request_timeout: Duration::from_secs(60),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_client: DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            max_header_bytes: 64 << 10,
            max_body_bytes: 64 << 20,
            drain_timeout: Duration::from_secs(10),
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            reuse: InstanceReuse::default(),
        }
    }
}

/// Counters of a server, readable while it serves (clones share them).
#[derive(Debug, Clone, Default)]
pub struct ServeStats(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    in_flight: AtomicU64,
    server_errors: AtomicU64,
    rejected: AtomicU64,
}

impl ServeStats {
    /// Requests answered (any status).
    pub fn requests(&self) -> u64 {
        self.0.requests.load(Ordering::Relaxed)
    }

    /// Requests being handled now.
    pub fn in_flight(&self) -> u64 {
        self.0.in_flight.load(Ordering::Relaxed)
    }

    /// Requests answered with a 5xx status that wharf chose (a trap, a
    /// timeout, a guest that never answered).
    pub fn server_errors(&self) -> u64 {
        self.0.server_errors.load(Ordering::Relaxed)
    }

    /// Requests refused before reaching the guest (the concurrency cap,
    /// size limits).
    pub fn rejected(&self) -> u64 {
        self.0.rejected.load(Ordering::Relaxed)
    }
}

/// What one server shares between its connections.
struct Server {
    handler: Handler,
    spec: RunSpec,
    /// The spec's volumes, opened once: each request's preopens are made
    /// from these descriptors.
    volumes: Arc<Vec<HeldVolume>>,
    policy: Arc<crate::network::NetworkPolicy>,
    options: ServeOptions,
    slots: Arc<tokio::sync::Semaphore>,
    connections: Arc<connections::Connections>,
    stats: ServeStats,
    /// Set when the drain ran out: every request's guest is interrupted.
    forced: Arc<AtomicBool>,
}

/// How a server gets an instance for a request.
enum Handler {
    /// WASI 0.2: a fresh instance per request.
    Fresh(ProxyPre<GuestState>),
    /// WASI 0.3: workers whose instances take requests within bounds.
    Reused(ProxyHandler<reuse::Workers>),
}

/// An HTTP handler component, compiled and pre-instantiated, ready to
/// serve (see [`Host::service`]).
pub struct Service<'a> {
    host: &'a Host,
    /// A handler of either WASI version.
    pre: handler::ProxyPre<GuestState>,
    spec: RunSpec,
    volumes: Vec<HeldVolume>,
}

impl std::fmt::Debug for Service<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("program", &self.spec.program)
            .finish_non_exhaustive()
    }
}

pub(crate) fn prepare<'a>(host: &'a Host, spec: &RunSpec) -> Result<Service<'a>, Error> {
    let not_a_service = || Error::NotAService {
        path: spec.program.clone(),
    };
    let Program::Component(component) = program::load(host, &spec.program)? else {
        return Err(not_a_service());
    };
    if !program::is_http_handler(&component) {
        return Err(not_a_service());
    }
    let pre = host
        .component_linker()?
        .instantiate_pre(&component)
        .map_err(|e| Error::Link {
            path: spec.program.clone(),
            source: boxed(e),
        })?;
    let pre = match ServicePre::new(pre.clone()) {
        Ok(p3) => handler::ProxyPre::P3(p3),
        Err(_) => handler::ProxyPre::P2(ProxyPre::new(pre).map_err(|_| not_a_service())?),
    };
    let volumes = HeldVolume::open_all(&spec.volumes)?;
    Ok(Service {
        host,
        pre,
        spec: spec.clone(),
        volumes,
    })
}

impl Service<'_> {
    /// Serves on `options`' listeners until `stop`, then stops accepting
    /// (the ports are free again) and lets in-flight requests finish for
    /// the drain timeout. Each request gets a fresh instance with the
    /// spec's sandbox. Request timeouts end guest code that never calls
    /// the host only on an interruptible host.
    pub fn serve(
        self,
        mut options: ServeOptions,
        stats: &ServeStats,
        stop: &StopHandle,
    ) -> Result<(), Error> {
        // Up before the workers start: they are inside the wall.
        crate::layers::wall_in(self.host, &self.spec, &self.volumes, stop)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.workers.max(1))
            .thread_name("wharf-serve")
            .enable_all()
            .build()
            .map_err(|e| Error::Engine {
                source: Box::new(e),
            })?;
        // Moved out, not copied: once the accept loop drops them, nothing
        // holds the ports while in-flight requests drain.
        let listeners = std::mem::take(&mut options.listeners);
        // A record on disk may say anything: the semaphore panics past its
        // maximum, and no cap means one request at a time.
        let slots = options
            .max_concurrency
            .clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        let policy = Arc::new(self.spec.network.clone());
        let forced = Arc::<AtomicBool>::default();
        let volumes = Arc::new(self.volumes);
        let handler = match self.pre {
            handler::ProxyPre::P2(pre) => Handler::Fresh(pre),
            handler::ProxyPre::P3(pre) => Handler::Reused(ProxyHandler::new(reuse::Workers {
                pre,
                spec: self.spec.clone(),
                volumes: volumes.clone(),
                policy: policy.clone(),
                reuse: options.reuse,
                request_timeout: options.request_timeout,
                forced: forced.clone(),
                instances: Arc::new(tokio::sync::Semaphore::new(slots)),
            })),
        };
        let connections = connections::Connections::new(
            options.max_connections,
            options.max_connections_per_client,
        );
        let server = Arc::new(Server {
            handler,
            policy,
            spec: self.spec,
            volumes,
            slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            connections,
            options,
            stats: stats.clone(),
            forced,
        });
        let ticker = self.host.epoch_ticker();
        let served = runtime.block_on(accept_until_stopped(server.clone(), listeners, stop));
        drop(ticker);
        drop(server);
        // A request still running after the drain was interrupted; its task
        // may still be unwinding: let the runtime's threads end on their own.
        runtime.shutdown_background();
        served
    }
}

/// Accepts connections until `stop`, then stops accepting (the listeners
/// are closed: the port is free again) and lets in-flight requests finish
/// for the drain timeout.
async fn accept_until_stopped(
    server: Arc<Server>,
    listeners: Vec<TcpListener>,
    stop: &StopHandle,
) -> Result<(), Error> {
    let listeners = listeners
        .into_iter()
        .map(|listener| {
            listener.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(listener)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| Error::Listen { source })?;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(server.options.header_timeout)
        .max_header_size(server.options.max_header_bytes)
        .max_buf_size(server.options.max_header_bytes.max(8192) * 2);
    let mut stopped = std::pin::pin!(stop.stopped());
    loop {
        let accepted = tokio::select! {
            accepted = accept_any(&listeners) => accepted,
            _ = &mut stopped => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors and the like: wait, do not spin.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Some(admitted) = server.connections.admit(peer.ip()) else {
            server.stats.0.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "connection refused: too many open");
            tokio::spawn(connections::refuse(stream));
            continue;
        };
        let stream = connections::StallGuard::new(stream, server.options.body_timeout);
        let service = {
            let server = server.clone();
            hyper::service::service_fn(move |req| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(request::handle(server, req).await) }
            })
        };
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _admitted = admitted;
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended");
            }
        });
    }
    drop(listeners);
    tracing::debug!("draining in-flight requests");
    if tokio::time::timeout(server.options.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the drain timeout were stopped");
        server.forced.store(true, Ordering::SeqCst);
    }
    Ok(())
}

/// The next connection on any of `listeners`.
async fn accept_any(
    listeners: &[tokio::net::TcpListener],
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    std::future::poll_fn(|cx| {
        for listener in listeners {
            if let std::task::Poll::Ready(accepted) = listener.poll_accept(cx) {
                return std::task::Poll::Ready(accepted);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

impl Host {
    /// Loads the HTTP handler component `spec` names (a component that
    /// exports `wasi:http/incoming-handler@0.2`) and pre-instantiates it,
    /// ready to [`Service::serve`]. [`Error::NotAService`] for anything else.
    pub fn service(&self, spec: &RunSpec) -> Result<Service<'_>, Error> {
        prepare(self, spec)
    }
}
