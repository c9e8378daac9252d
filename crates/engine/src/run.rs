//! Running a compiled program to its outcome.

use std::sync::Arc;
use std::task::Poll;

use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreContextMut, UpdateDeadline};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::WasiHttpCtx;

use crate::error::{Error, boxed};
use crate::guest::{CoreState, GuestState};
use crate::host::Host;
use crate::limiter::GuestLimiter;
use crate::memo::Program;
use crate::outcome::{Outcome, trap_report};
use crate::program;
use crate::resolved::ResolvedNames;
use crate::serve::outbound::OutboundHooks;
use crate::spec::RunSpec;
use crate::stop::StopHandle;
use crate::volume::HeldVolume;

pub(crate) fn run(host: &Host, spec: &RunSpec, stop: &StopHandle) -> Result<Outcome, Error> {
    // Its blocking pool starts threads only when a host call first needs
    // one, after the wall is up: they are inside it. (WASI's builder needs
    // the runtime's reactor for a fifo stdin; nothing before the wall uses
    // the pool.)
    let runtime = blocking_runtime()?;
    // WASI's host calls find this runtime as the ambient one.
    let _entered = runtime.enter();
    let program = program::load(host, &spec.program)?;
    if let Program::Component(component) = &program
        && crate::program::is_http_handler(component)
    {
        // Told before the wall goes up: the caller serves it instead.
        return Err(Error::ServesHttp {
            path: spec.program.clone(),
        });
    }
    let volumes = HeldVolume::open_all(&spec.volumes)?;
    let names = Arc::<ResolvedNames>::default();
    let mut wasi = crate::sandbox::wasi_builder(spec, &volumes, &names)?;
    crate::layers::wall_in(host, spec, &volumes, stop)?;
    let limiter = GuestLimiter::new(spec.memory_limit, stop.memory_gauge());
    let outcome = match program {
        Program::Module(module) => {
            let state = CoreState {
                wasi: wasi.build_p1(),
                limiter,
            };
            runtime.block_on(run_module(host, spec, stop, &module, state))
        }
        Program::Component(component) => {
            let state = GuestState {
                wasi: wasi.build(),
                http: WasiHttpCtx::new(),
                hooks: OutboundHooks {
                    policy: Arc::new(spec.network.clone()),
                },
                table: ResourceTable::new(),
                limiter,
                names,
            };
            runtime.block_on(run_component(host, spec, stop, &component, state))
        }
    };
    // Dropping the runtime would wait for its blocking-pool threads, and a
    // stopped guest may have left one in a read that never returns: let
    // them end on their own.
    drop(_entered);
    runtime.shutdown_background();
    outcome
}

/// The run's event loop on the guest's thread. Its blocking pool (file
/// I/O) lets an idle thread go after 100 ms, not Tokio's 10 s.
fn blocking_runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_keep_alive(std::time::Duration::from_millis(100))
        .build()
        .map_err(|e| Error::Engine {
            source: Box::new(e),
        })
}

async fn run_module(
    host: &Host,
    spec: &RunSpec,
    stop: &StopHandle,
    module: &wasmtime::Module,
    state: CoreState,
) -> Result<Outcome, Error> {
    let path = || spec.program.clone();
    let pre = host
        .core_linker()?
        .instantiate_pre(module)
        .map_err(|e| Error::Link {
            path: path(),
            source: boxed(e),
        })?;
    let mut store = new_store(host, state, stop);
    let run = async {
        let instance = match pre.instantiate_async(&mut store).await {
            Ok(instance) => instance,
            Err(error) => return instantiate_failure(spec, stop, error),
        };
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(|_| Error::NoEntryPoint {
                path: path(),
                expected: "an exported `_start` function taking and returning nothing",
            })?;
        Ok(match start.call_async(&mut store, ()).await {
            Ok(()) => Outcome::Exited(0),
            Err(error) => guest_failure(stop, error),
        })
    };
    let outcome = until_stopped(run, stop).await;
    finish(host, store);
    outcome
}

async fn run_component(
    host: &Host,
    spec: &RunSpec,
    stop: &StopHandle,
    component: &wasmtime::component::Component,
    state: GuestState,
) -> Result<Outcome, Error> {
    let path = || spec.program.clone();
    let pre = host
        .component_linker()?
        .instantiate_pre(component)
        .map_err(|e| Error::Link {
            path: path(),
            source: boxed(e),
        })?;
    let command = CliCommand::of(pre).ok_or_else(|| Error::NoEntryPoint {
        path: path(),
        expected: "an export of `wasi:cli/run` 0.2 or 0.3 (the `wasi:cli/command` world)",
    })?;
    let mut store = new_store(host, state, stop);
    let run = async {
        let ran = match command {
            CliCommand::P2(pre) => match pre.instantiate_async(&mut store).await {
                Ok(command) => command.wasi_cli_run().call_run(&mut store).await,
                Err(error) => return instantiate_failure(spec, stop, error),
            },
            CliCommand::P3(pre) => match pre.instantiate_async(&mut store).await {
                // 0.3's `run` is an async export: the store's event loop
                // drives it and every task it spawns.
                Ok(command) => store
                    .run_concurrent(async |store| command.wasi_cli_run().call_run(store).await)
                    .await
                    .and_then(|ran| ran),
                Err(error) => return instantiate_failure(spec, stop, error),
            },
        };
        Ok(match ran {
            Ok(Ok(())) => Outcome::Exited(0),
            Ok(Err(())) => Outcome::Exited(1),
            Err(error) => guest_failure(stop, error),
        })
    };
    let outcome = until_stopped(run, stop).await;
    finish(host, store);
    outcome
}

/// A `wasi:cli/command` of WASI 0.2 or of 0.3, pre-instantiated.
enum CliCommand {
    P2(CommandPre<GuestState>),
    P3(wasmtime_wasi::p3::bindings::CommandPre<GuestState>),
}

impl CliCommand {
    /// The command `pre` exports: 0.3's `run` when it has one, else 0.2's.
    fn of(pre: wasmtime::component::InstancePre<GuestState>) -> Option<CliCommand> {
        if let Ok(p3) = wasmtime_wasi::p3::bindings::CommandPre::new(pre.clone()) {
            return Some(CliCommand::P3(p3));
        }
        CommandPre::new(pre).ok().map(CliCommand::P2)
    }
}

/// `run`'s result, or [`Outcome::Stopped`] as soon as the run is stopped
/// while it waits in a host call: `run` (and with it the guest's fiber and
/// any pending sleep or read) is dropped. Guest code that computes is
/// interrupted by the epoch instead and ends through `run` itself.
async fn until_stopped(
    run: impl Future<Output = Result<Outcome, Error>>,
    stop: &StopHandle,
) -> Result<Outcome, Error> {
    let mut run = std::pin::pin!(run);
    let mut stopped = std::pin::pin!(stop.stopped());
    std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = run.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        stopped
            .as_mut()
            .poll(cx)
            .map(|reason| Ok(Outcome::Stopped(reason)))
    })
    .await
}

/// Drops the store, unless the process is about to exit: then unmapping
/// the guest's memory (gigabytes of reservation) is left to the kernel.
fn finish<T>(host: &Host, store: Store<T>) {
    if host.exit_after_run() {
        std::mem::forget(store);
    }
}

/// Store data that carries the guest's memory limiter.
trait Limited: 'static {
    fn limiter(&mut self) -> &mut GuestLimiter;
}

impl Limited for CoreState {
    fn limiter(&mut self) -> &mut GuestLimiter {
        &mut self.limiter
    }
}

impl Limited for GuestState {
    fn limiter(&mut self) -> &mut GuestLimiter {
        &mut self.limiter
    }
}

/// A store with the memory cap applied, trapping at the next epoch tick if,
/// and only if, this run was asked to stop.
fn new_store<T: Limited>(host: &Host, state: T, stop: &StopHandle) -> Store<T> {
    let mut store = Store::new(host.engine(), state);
    store.limiter(|state| state.limiter());
    if !host.interruptible() {
        return store;
    }
    let handle = stop.clone();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_: StoreContextMut<'_, T>| {
        Ok(if handle.reason().is_some() {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Continue(1)
        })
    });
    // A stop that came before the deadline was set ticked an epoch this
    // store never saw: expire the deadline at once.
    if stop.reason().is_some() {
        store.set_epoch_deadline(0);
    }
    store
}

/// Instantiation runs guest code (start functions, component initializers):
/// failures there are the guest's; others are ours.
fn instantiate_failure(
    spec: &RunSpec,
    stop: &StopHandle,
    error: wasmtime::Error,
) -> Result<Outcome, Error> {
    if stop.reason().is_some()
        || error.downcast_ref::<I32Exit>().is_some()
        || error.downcast_ref::<wasmtime::Trap>().is_some()
    {
        return Ok(guest_failure(stop, error));
    }
    Err(Error::Instantiate {
        path: spec.program.clone(),
        source: boxed(error),
    })
}

/// The outcome of a guest call that returned an error.
fn guest_failure(stop: &StopHandle, error: wasmtime::Error) -> Outcome {
    if let Some(reason) = stop.reason() {
        return Outcome::Stopped(reason);
    }
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return Outcome::Exited(exit.0);
    }
    Outcome::Trapped(trap_report(&error))
}

impl Host {
    /// Runs the guest `spec` describes until it exits, traps or is stopped
    /// through `stop`.
    pub fn run(&self, spec: &RunSpec, stop: &StopHandle) -> Result<Outcome, Error> {
        run(self, spec, stop)
    }
}
