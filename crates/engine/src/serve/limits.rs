//! What bounds one request: its deadline (through epoch ticks), the size
//! of its body, and how long its body may pause.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// How often the epoch ticks while serving: a spinning request is
/// interrupted at most this long after its deadline.
const TICK: Duration = Duration::from_millis(10);

/// Ticks the engine's epoch while it lives, so each request's store can
/// check its deadline from guest code that never calls the host. One per
/// host, shared by all the services it serves (see `Host::epoch_ticker`).
pub(crate) struct EpochTicker {
    running: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: wasmtime::Engine) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let thread = {
            let running = running.clone();
            std::thread::Builder::new()
                .name("wharf-epoch".into())
                .spawn(move || {
                    while running.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .inspect_err(
                    |error| tracing::warn!(%error, "no epoch ticker: timeouts only end waits"),
                )
                .ok()
        };
        EpochTicker { running, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What cut a request body short.
#[derive(Debug, Default)]
pub(crate) struct BodyFault {
    /// It ran past the size limit (the request answers 413).
    pub(crate) too_large: AtomicBool,
    /// The client sent nothing for the idle time (the request answers 408).
    pub(crate) idle: AtomicBool,
}

/// A request body that ends in an error past `limit` bytes, or when the
/// client sends nothing for `idle`, and says which through `fault`.
pub(crate) struct LimitedBody<B> {
    inner: B,
    left: u64,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    fault: Arc<BodyFault>,
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: u64, idle: Duration, fault: Arc<BodyFault>) -> Self {
        LimitedBody {
            inner,
            left: limit,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            fault,
        }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {
                if self.timer.as_mut().poll(cx).is_ready() {
                    self.fault.idle.store(true, Ordering::SeqCst);
                    return Poll::Ready(Some(Err(
                        wasmtime_wasi_http::Error::ConnectionReadTimeout,
                    )));
                }
                return Poll::Pending;
            }
        };
        let next = tokio::time::Instant::now() + self.idle;
        self.timer.as_mut().reset(next);
        if let Some(data) = frame.data_ref() {
            let len = data.len() as u64;
            if len > self.left {
                self.fault.too_large.store(true, Ordering::SeqCst);
                return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpRequestBodySize(
                    None,
                ))));
            }
            self.left -= len;
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
