//! Serving `wasi:http/handler@0.3`: instances that may take several
//! requests, within stated bounds.
//!
//! A 0.3 handler is an async export, so one instance can work on several
//! requests at once and one after another, as `wasmtime serve` does. That
//! saves an instantiation per request but lets requests share the guest's
//! memory: a choice, bounded by [`InstanceReuse`] — at most so many requests
//! per instance, so many at once, and an idle instance is dropped after its
//! idle time. [`InstanceReuse::isolated`] gives every request a fresh
//! instance, as 0.2 handlers always get.
//!
//! Wasmtime's `ProxyHandler` runs the workers: each owns a store and drives
//! its event loop, and takes requests from a queue while its bounds allow.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::{GuestTaskId, ResourceTable};
use wasmtime::{Store, StoreContextMut, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, Proxy, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;

use crate::guest::GuestState;
use crate::limiter::GuestLimiter;
use crate::network::NetworkPolicy;
use crate::serve::outbound::OutboundHooks;
use crate::spec::RunSpec;
use crate::volume::HeldVolume;

/// How far one 0.3 handler instance is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceReuse {
    /// Requests one instance handles in its life; 1 is a fresh instance per
    /// request. Default: 128.
    pub max_requests: usize,
    /// Requests one instance handles at once. Default: 16.
    pub max_concurrent: usize,
    /// How long an instance with nothing to do is kept for the next
    /// request. Default: 10 s.
    pub idle_timeout: Duration,
}

impl Default for InstanceReuse {
    fn default() -> Self {
        InstanceReuse {
            max_requests: 128,
            max_concurrent: crate::config::MAX_CONCURRENT_PER_INSTANCE,
            idle_timeout: Duration::from_secs(10),
        }
    }
}

impl InstanceReuse {
    /// A fresh instance for every request.
    pub fn isolated() -> Self {
        InstanceReuse {
            max_requests: 1,
            max_concurrent: 1,
            idle_timeout: Duration::ZERO,
        }
    }
}

/// What every worker of one 0.3 service is made from.
pub(super) struct Workers {
    pub(super) pre: ServicePre<GuestState>,
    pub(super) spec: RunSpec,
    pub(super) volumes: Arc<Vec<HeldVolume>>,
    pub(super) policy: Arc<NetworkPolicy>,
    pub(super) reuse: InstanceReuse,
    pub(super) request_timeout: Duration,
    /// Set when the drain ran out: every worker's guest is interrupted.
    pub(super) forced: Arc<AtomicBool>,
    /// One permit per live instance (the pool's room): a worker that finds
    /// none makes no store, and its requests answer 503.
    pub(super) instances: Arc<tokio::sync::Semaphore>,
}

/// No instance could be made: as many live as the pool has room for.
#[derive(Debug, thiserror::Error)]
#[error("every instance slot is taken")]
pub(super) struct PoolBusy;

impl HandlerState for Workers {
    type StoreData = GuestState;
    type WorkerExpiration = Expiration;
    type WorkerState = Bounds;

    async fn instantiate(&self) -> wasmtime::Result<Instance<GuestState, Expiration, Bounds>> {
        let slot = self
            .instances
            .clone()
            .try_acquire_owned()
            .map_err(|_| PoolBusy)?;
        let mut store = self.new_store()?;
        let proxy = Proxy::P3(self.pre.instantiate_async(&mut store).await?);
        Ok(Instance {
            store,
            proxy,
            view: wasmtime_wasi_http::WasiHttpView::http,
            expiration: Expiration {
                idle_timeout: self.reuse.idle_timeout,
                request_timeout: self.request_timeout,
                sleep: Box::pin(tokio::time::sleep(Duration::MAX)),
            },
            state: Bounds {
                reuse: self.reuse,
                request_timeout: self.request_timeout,
                _slot: slot,
            },
        })
    }
}

impl Workers {
    /// A worker's store: the spec's sandbox and memory cap for the whole
    /// instance, and an epoch callback that yields to the worker's event
    /// loop (so its timeouts are seen while guest code computes) and
    /// interrupts the guest once the drain ran out.
    fn new_store(&self) -> wasmtime::Result<Store<GuestState>> {
        let names = Arc::<crate::resolved::ResolvedNames>::default();
        let wasi = crate::sandbox::wasi_builder(&self.spec, &self.volumes, &names)?.build();
        let state = GuestState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                policy: self.policy.clone(),
            },
            limiter: GuestLimiter::new(self.spec.memory_limit, Arc::default()),
            names,
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        let forced = self.forced.clone();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_: StoreContextMut<'_, GuestState>| {
            Ok(if forced.load(Ordering::Relaxed) {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });
        Ok(store)
    }
}

/// One worker's bounds on the requests it takes, and its instance's slot
/// (given back after its store is dropped).
pub(super) struct Bounds {
    reuse: InstanceReuse,
    request_timeout: Duration,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl WorkerState for Bounds {
    type StoreData = GuestState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.reuse.max_requests {
            ShouldAccept::Never
        } else if concurrent >= self.reuse.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _: StoreContextMut<'_, GuestState>,
        (): (),
        _: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        Box::pin(tokio::time::sleep(self.request_timeout))
    }

    fn drop(&self, store: Store<GuestState>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            tracing::warn!(
                "a reused instance failed: {}",
                crate::outcome::describe_failure(&error)
            );
        }
        drop(store);
    }
}

/// When a worker's instance is dropped: idle past its idle time, or busy
/// past the request timeout (a guest that computes without end).
pub(super) struct Expiration {
    idle_timeout: Duration,
    request_timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiration {
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        since: Instant,
    ) -> Poll<()> {
        let timeout = match status {
            WorkerStatus::Idle => self.idle_timeout,
            WorkerStatus::Requests | WorkerStatus::PostReturn => self.request_timeout,
        };
        let Some(deadline) = since.checked_add(timeout) else {
            return Poll::Pending;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
        self.sleep.as_mut().poll(cx)
    }
}
