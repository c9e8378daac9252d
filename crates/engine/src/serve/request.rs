//! One request: a fresh store and instance, bounded in time, memory and
//! size, answered with the guest's response or with the status that says
//! why there is none.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt as _;
use tokio::time::Instant;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreContextMut, UpdateDeadline};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpView as _};

use crate::guest::GuestState;
use crate::limiter::GuestLimiter;
use crate::serve::limits::{BodyFault, LimitedBody};
use crate::serve::outbound::OutboundHooks;
use crate::serve::reuse::{self, Workers};
use crate::serve::{Handler, Server};
use wasmtime_wasi_http::handler::{ExpirationError, ProxyHandler};

type Response = hyper::Response<HyperOutgoingBody>;

/// Answers `req`: never an error, every failure is a status.
pub(super) async fn handle(
    server: Arc<Server>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Response {
    let counters = &server.stats.0;
    let Ok(permit) = server.slots.clone().try_acquire_owned() else {
        counters.rejected.fetch_add(1, Ordering::Relaxed);
        return answered(counters, busy());
    };
    if declared_length(&req).is_some_and(|len| len > server.options.max_body_bytes) {
        counters.rejected.fetch_add(1, Ordering::Relaxed);
        return answered(
            counters,
            plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n"),
        );
    }
    counters.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = run_guest(&server, req, permit).await;
    counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    answered(counters, response)
}

/// Runs the guest on `req` until it sets a response or fails.
async fn run_guest(
    server: &Arc<Server>,
    req: hyper::Request<hyper::body::Incoming>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Response {
    let deadline = Instant::now() + server.options.request_timeout;
    let pre = match &server.handler {
        Handler::Fresh(pre) => pre.clone(),
        Handler::Reused(workers) => {
            return run_on_a_worker(server, workers, req, permit, deadline).await;
        }
    };
    let fault = Arc::<BodyFault>::default();
    let mut store = match new_store(server, &pre, deadline) {
        Ok(store) => store,
        Err(error) => {
            tracing::error!(%error, "cannot set up the request's sandbox");
            return server_error(
                server,
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot set up the request\n",
            );
        }
    };
    let req = req.map(|body| {
        let options = &server.options;
        LimitedBody::new(
            body,
            options.max_body_bytes,
            options.body_timeout,
            fault.clone(),
        )
    });
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let resources = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)
        .and_then(|req| Ok((req, store.data_mut().http().new_response_outparam(sender)?)));
    let (req, out) = match resources {
        Ok(resources) => resources,
        Err(error) => {
            tracing::debug!(%error, "request refused before the guest");
            return plain(StatusCode::BAD_REQUEST, "bad request\n");
        }
    };
    // The guest runs on in its own task after it sets the response, to
    // stream the body; the task (and the store) ends at the deadline. The
    // request's slot is given back only after its store, and so its
    // instance, is gone: the cap counts instances.
    let held = Held {
        store,
        _permit: permit,
    };
    let task = tokio::spawn(async move {
        let mut held = held;
        let store = &mut held.store;
        let work = async {
            let proxy = match pre.instantiate_async(&mut *store).await {
                Ok(proxy) => proxy,
                Err(error) if is_pool_full(&error) => return Ok(Err(Failure::Busy)),
                Err(error) => return Err(error),
            };
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut *store, req, out)
                .await
                .map(Ok)
        };
        match tokio::time::timeout_at(deadline, work).await {
            // The epoch callback interrupts guest code past the deadline.
            Ok(Err(error))
                if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) =>
            {
                Err(Failure::Timeout)
            }
            Ok(Ok(result)) => result,
            Ok(Err(error)) => Err(Failure::Guest(error)),
            Err(_) => Err(Failure::Timeout),
        }
    });
    let response = tokio::time::timeout_at(deadline, receiver).await;
    if let Some(cut) = body_fault(&fault) {
        return cut;
    }
    match response {
        Ok(Ok(Ok(response))) => response,
        Ok(Ok(Err(code))) => {
            tracing::info!(?code, "the guest answered with an error");
            server_error(
                server,
                StatusCode::INTERNAL_SERVER_ERROR,
                "the service failed\n",
            )
        }
        Ok(Err(_no_response)) => match task.await {
            Ok(Err(Failure::Busy)) => {
                server.stats.0.rejected.fetch_add(1, Ordering::Relaxed);
                busy()
            }
            Ok(Err(Failure::Timeout)) => timed_out(server),
            Ok(Err(Failure::Guest(error))) => guest_failed(server, &error),
            Ok(Ok(())) => {
                tracing::warn!("the guest returned without setting a response");
                server_error(
                    server,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the service gave no response\n",
                )
            }
            Err(error) => {
                tracing::warn!(%error, "request task failed");
                server_error(
                    server,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the service failed\n",
                )
            }
        },
        Err(_elapsed) => {
            task.abort();
            timed_out(server)
        }
    }
}

/// Runs `req` on one of a 0.3 handler's workers (see `reuse`), until it
/// answers or the deadline passes.
async fn run_on_a_worker(
    server: &Arc<Server>,
    workers: &ProxyHandler<Workers>,
    req: hyper::Request<hyper::body::Incoming>,
    permit: tokio::sync::OwnedSemaphorePermit,
    deadline: Instant,
) -> Response {
    let fault = Arc::<BodyFault>::default();
    let req = with_absolute_uri(req).map(|body| {
        let options = &server.options;
        LimitedBody::new(
            body,
            options.max_body_bytes,
            options.body_timeout,
            fault.clone(),
        )
        .boxed_unsync()
    });
    let answered = tokio::time::timeout_at(deadline, workers.handle((), req)).await;
    if let Some(cut) = body_fault(&fault) {
        return cut;
    }
    match answered {
        // The slot is held until the response's body is sent.
        Ok(Ok(response)) => response.map(|body| HeldBody::new(body, permit).boxed_unsync()),
        Ok(Err(error)) if error.is::<ExpirationError>() => timed_out(server),
        Ok(Err(error)) if is_pool_full(&error) => {
            server.stats.0.rejected.fetch_add(1, Ordering::Relaxed);
            busy()
        }
        Ok(Err(error)) => guest_failed(server, &error),
        Err(_elapsed) => timed_out(server),
    }
}

enum Failure {
    Guest(wasmtime::Error),
    Timeout,
    /// No instance could be had: the pool is full.
    Busy,
}

/// A request's store and its slot, dropped in that order.
struct Held {
    store: Store<GuestState>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// A response body that holds its request's slot until it is sent.
struct HeldBody<B> {
    inner: B,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl<B> HeldBody<B> {
    fn new(inner: B, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        HeldBody {
            inner,
            _permit: permit,
        }
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for HeldBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error` says the instance pool had no room (the cap, not the
/// guest, is what refuses then): the request answers 503.
fn is_pool_full(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
            || cause.downcast_ref::<reuse::PoolBusy>().is_some()
    })
}

/// 413 or 408 when the request's body was cut short.
fn body_fault(fault: &BodyFault) -> Option<Response> {
    if fault.too_large.load(Ordering::SeqCst) {
        return Some(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large\n",
        ));
    }
    if fault.idle.load(Ordering::SeqCst) {
        let mut slow = plain(
            StatusCode::REQUEST_TIMEOUT,
            "the request's body stopped coming\n",
        );
        slow.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Some(slow);
    }
    None
}

/// 503 with `Retry-After`: the service is at its cap.
fn busy() -> Response {
    let mut busy = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "server busy: too many requests at once\n",
    );
    busy.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    busy
}

/// A store for one request: the spec's sandbox, its memory cap, and an
/// epoch deadline that interrupts guest code past `deadline` (or once the
/// drain ran out).
fn new_store(
    server: &Server,
    pre: &ProxyPre<GuestState>,
    deadline: Instant,
) -> Result<Store<GuestState>, crate::Error> {
    let names = Arc::<crate::resolved::ResolvedNames>::default();
    let wasi = crate::sandbox::wasi_builder(&server.spec, &server.volumes, &names)?.build();
    let state = GuestState {
        wasi,
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        hooks: OutboundHooks {
            policy: server.policy.clone(),
        },
        limiter: GuestLimiter::new(server.spec.memory_limit, Arc::default()),
        names,
    };
    let mut store = Store::new(pre.engine(), state);
    store.limiter(|state| &mut state.limiter);
    let forced = server.forced.clone();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_: StoreContextMut<'_, GuestState>| {
        Ok(
            if forced.load(Ordering::Relaxed) || Instant::now() >= deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Continue(1)
            },
        )
    });
    Ok(store)
}

/// The request with its URI made absolute (`http://HOST/path`), as 0.3's
/// `request` carries scheme and authority; the authority comes from the
/// `Host` header. A URI that cannot be made absolute is left as it was.
fn with_absolute_uri<B>(mut req: hyper::Request<B>) -> hyper::Request<B> {
    let mut parts = req.uri().clone().into_parts();
    if parts.scheme.is_none() {
        parts.scheme = Some(http::uri::Scheme::HTTP);
    }
    if parts.authority.is_none() {
        parts.authority = req
            .headers()
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .and_then(|host| host.parse().ok());
    }
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    if let Ok(uri) = http::Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
    req
}

fn declared_length<B>(req: &hyper::Request<B>) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn timed_out(server: &Server) -> Response {
    tracing::warn!(
        timeout = ?server.options.request_timeout,
        "request ran past its timeout; its instance was dropped"
    );
    server_error(
        server,
        StatusCode::GATEWAY_TIMEOUT,
        "the service did not answer in time\n",
    )
}

fn guest_failed(server: &Server, error: &wasmtime::Error) -> Response {
    tracing::warn!(
        "request failed: {}",
        crate::outcome::describe_failure(error)
    );
    server_error(
        server,
        StatusCode::INTERNAL_SERVER_ERROR,
        "the service failed\n",
    )
}

fn server_error(server: &Server, status: StatusCode, text: &'static str) -> Response {
    server.stats.0.server_errors.fetch_add(1, Ordering::Relaxed);
    plain(status, text)
}

fn answered(counters: &super::Counters, response: Response) -> Response {
    counters.requests.fetch_add(1, Ordering::Relaxed);
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let body = http_body_util::Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
