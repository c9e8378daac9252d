//! The store data of one request's instance.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use std::sync::Arc;

use wasmtime_wasi::sockets::WasiSocketsCtxView;

use crate::limiter::GuestLimiter;
use crate::names::PolicedView;
use crate::resolved::ResolvedNames;
use crate::serve::outbound::OutboundHooks;

/// What a request's guest holds: its WASI context (the same sandbox as a
/// command's), its HTTP context, and its memory limiter.
pub(crate) struct ServeState {
    pub(super) wasi: WasiCtx,
    pub(super) http: WasiHttpCtx,
    pub(super) table: ResourceTable,
    pub(super) hooks: OutboundHooks,
    pub(super) limiter: GuestLimiter,
    pub(super) names: Arc<ResolvedNames>,
}

impl ServeState {
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

impl WasiView for ServeState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for ServeState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
