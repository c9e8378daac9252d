//! The host: one Wasmtime engine per process and its compiled-code cache.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cache::CodeCache;
use crate::config::{Compiler, HostConfig, WallScope, engine_config};
use crate::error::{Error, boxed};
use crate::guest::{CoreState, GuestState};
use crate::memo::ProgramMemo;
use crate::stop::StopHandle;

/// Owns the Wasmtime engine, the linkers and the compiled-code cache. Build
/// one per process and run any number of guests on it, from any thread.
pub struct Host {
    engine: wasmtime::Engine,
    interruptible: bool,
    exit_after_run: bool,
    compiler: Compiler,
    wall: WallScope,
    require_landlock: bool,
    cache: Option<CodeCache>,
    compilations: AtomicU64,
    memo: ProgramMemo,
    core_linker: OnceLock<wasmtime::Linker<CoreState>>,
    component_linker: OnceLock<wasmtime::component::Linker<GuestState>>,
    /// The epoch ticker every service of this host shares while any serves.
    ticker: std::sync::Mutex<std::sync::Weak<crate::serve::limits::EpochTicker>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("cache", &self.cache)
            .field("compilations", &self.compilations)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Builds the engine and opens the cache. A cache that cannot be opened
    /// safely is left out (with a warning); runs then compile every time.
    pub fn new(config: HostConfig) -> Result<Host, Error> {
        let engine = engine_config(config.interruptible, config.pool, config.compiler)
            .and_then(|config| wasmtime::Engine::new(&config))
            .map_err(|e| Error::Engine { source: boxed(e) })?;
        let cache = config.cache_dir.and_then(|dir| {
            CodeCache::open(&dir, &engine, config.compiler.name())
                .inspect_err(|error| {
                    tracing::warn!(dir = %dir.display(), %error, "compiled-code cache disabled");
                })
                .ok()
        });
        Ok(Host {
            engine,
            interruptible: config.interruptible,
            exit_after_run: config.exit_after_run,
            compiler: config.compiler,
            wall: config.wall,
            require_landlock: config.require_landlock,
            cache,
            compilations: AtomicU64::new(0),
            memo: ProgramMemo::default(),
            core_linker: OnceLock::new(),
            component_linker: OnceLock::new(),
            ticker: std::sync::Mutex::default(),
        })
    }

    /// A handle that stops the run it is passed to.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle::new(self.engine.clone())
    }

    /// What this host compiles with.
    pub fn compiler(&self) -> Compiler {
        self.compiler
    }

    /// Whether the host has its compiled-code cache (it is left out when it
    /// cannot be opened safely).
    pub fn has_cache(&self) -> bool {
        self.cache.is_some()
    }

    /// How many programs this host compiled (cache misses).
    pub fn compilations(&self) -> u64 {
        self.compilations.load(Ordering::Relaxed)
    }

    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }

    pub(crate) fn interruptible(&self) -> bool {
        self.interruptible
    }

    pub(crate) fn exit_after_run(&self) -> bool {
        self.exit_after_run
    }

    pub(crate) fn wall(&self) -> WallScope {
        self.wall
    }

    pub(crate) fn require_landlock(&self) -> bool {
        self.require_landlock
    }

    pub(crate) fn cache(&self) -> Option<&CodeCache> {
        self.cache.as_ref()
    }

    pub(crate) fn memo(&self) -> &ProgramMemo {
        &self.memo
    }

    pub(crate) fn count_compilation(&self) {
        self.compilations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn core_linker(&self) -> Result<&wasmtime::Linker<CoreState>, Error> {
        if let Some(linker) = self.core_linker.get() {
            return Ok(linker);
        }
        let mut linker = wasmtime::Linker::new(&self.engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |state: &mut CoreState| {
            &mut state.wasi
        })
        .map_err(|e| Error::Engine { source: boxed(e) })?;
        Ok(self.core_linker.get_or_init(|| linker))
    }

    /// The running epoch ticker, started if no service holds one.
    pub(crate) fn epoch_ticker(&self) -> std::sync::Arc<crate::serve::limits::EpochTicker> {
        let mut shared = self.ticker.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ticker) = shared.upgrade() {
            return ticker;
        }
        let ticker = std::sync::Arc::new(crate::serve::limits::EpochTicker::start(
            self.engine.clone(),
        ));
        *shared = std::sync::Arc::downgrade(&ticker);
        ticker
    }

    /// The one linker of every component guest, a command's or a
    /// request's: WASI 0.2 and 0.3, HTTP, and the policed name lookups.
    pub(crate) fn component_linker(
        &self,
    ) -> Result<&wasmtime::component::Linker<GuestState>, Error> {
        if let Some(linker) = self.component_linker.get() {
            return Ok(linker);
        }
        let mut linker = wasmtime::component::Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))
            .and_then(|()| wasmtime_wasi::p3::add_to_linker(&mut linker))
            .and_then(|()| wasmtime_wasi_http::p3::add_to_linker(&mut linker))
            .and_then(|()| crate::names::add_to_linker(&mut linker, GuestState::policed))
            .map_err(|e| Error::Engine { source: boxed(e) })?;
        Ok(self.component_linker.get_or_init(|| linker))
    }
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;
