//! What a guest's store holds: for a core module, WASI preview 1; for a
//! component (a command or a request's instance alike), WASI, outgoing
//! HTTP under the network policy, and the names its lookups resolved.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::sockets::WasiSocketsCtxView;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::limiter::GuestLimiter;
use crate::names::PolicedView;
use crate::resolved::ResolvedNames;
use crate::serve::outbound::OutboundHooks;

/// Store data of a core module run.
pub(crate) struct CoreState {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limiter: GuestLimiter,
}

/// Store data of a component: its WASI context (the sandbox), its HTTP
/// context and outbound hooks, its memory limiter.
pub(crate) struct GuestState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) hooks: OutboundHooks,
    pub(crate) limiter: GuestLimiter,
    pub(crate) names: Arc<ResolvedNames>,
}

impl GuestState {
    /// What the policed name lookups see (see [`crate::names`]).
    pub(crate) fn policed(&mut self) -> PolicedView<'_> {
        PolicedView {
            sockets: WasiSocketsCtxView {
                ctx: self.wasi.sockets(),
                table: &mut self.table,
            },
            policy: &self.hooks.policy,
            names: &self.names,
        }
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for GuestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
