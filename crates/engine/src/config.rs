//! How a [`Host`](crate::Host) is configured: its presets' parts, the
//! compiler, the wall's scope, the instance pool; and the Wasmtime
//! configuration they make.

use std::path::PathBuf;

/// Requests one 0.3 handler instance takes at once by default (see
/// [`InstanceReuse`](crate::InstanceReuse)); the pool keeps a stack for each.
pub(crate) const MAX_CONCURRENT_PER_INSTANCE: usize = 16;

/// How to build a [`Host`](crate::Host).
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Where compiled code is cached; `None` compiles on every run.
    pub cache_dir: Option<PathBuf>,
    /// Whether [`StopHandle::stop`](crate::StopHandle::stop) interrupts running guest code (through
    /// Wasmtime's epoch interruption). The check it compiles into every loop
    /// and function entry costs about a tenth of a tight loop's speed; a
    /// process that runs one guest can leave it off and stop the guest by
    /// exiting. Default: on.
    pub interruptible: bool,
    /// Whether the process ends right after its run, so that tearing the
    /// guest down (unmapping its memory and code) is left to the kernel's
    /// exit, which does it at once and for free; such a process also reads
    /// (and hashes) each program file once, however often it looks the
    /// program up. Default: off.
    pub exit_after_run: bool,
    /// Instances to keep ready slots for, when the host serves HTTP: the
    /// engine then allocates from a pool sized for this many concurrent
    /// requests (memories copy-on-write from the module's image), which
    /// makes instantiation per request cheap. `None`: allocate on demand.
    pub pool: Option<PoolSize>,
    /// What turns programs into code. Default: [`Compiler::Cranelift`].
    pub compiler: Compiler,
    /// Which threads the kernel's wall holds (see [`WallScope`]). Default:
    /// [`WallScope::Thread`].
    pub wall: WallScope,
    /// Whether a run is refused on a kernel without Landlock, rather than
    /// run behind seccomp alone (`WHARF_REQUIRE_LANDLOCK=1`, for nodes that
    /// must not fall back). Default: off.
    pub require_landlock: bool,
}

/// Which threads the kernel's wall (no_new_privs, Landlock, seccomp) holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WallScope {
    /// The thread that runs the guest and every thread it starts: a process
    /// that runs many guests (the shim) keeps its control threads free.
    #[default]
    Thread,
    /// Every thread of the process: for a process that holds one guest, so
    /// that code which broke out of the Wasm sandbox finds no thread with
    /// more rights to take over. The run must start on the process's only
    /// thread (threads a compile used are waited for): Landlock reaches
    /// threads that exist already only where the kernel can (ABI 8).
    Process,
}

/// What turns a program into code the host runs. Each keeps its own cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compiler {
    /// Cranelift, Wasmtime's optimizing compiler: the fastest code, and
    /// every proposal. The default.
    #[default]
    Cranelift,
    /// Winch, Wasmtime's baseline compiler: compiles several times faster,
    /// runs slower; no GC, exceptions, tail calls or typed function
    /// references (such programs fail to compile with it).
    Winch,
    /// Pulley, Wasmtime's interpreter: no machine code is made or mapped
    /// executable, for hosts that forbid JIT; runs many times slower.
    Pulley,
}

impl Compiler {
    /// Every compiler, the default first.
    pub const ALL: [Compiler; 3] = [Compiler::Cranelift, Compiler::Winch, Compiler::Pulley];

    /// The name `--compiler` takes.
    pub fn name(self) -> &'static str {
        match self {
            Compiler::Cranelift => "cranelift",
            Compiler::Winch => "winch",
            Compiler::Pulley => "pulley",
        }
    }
}

/// A name that is not a compiler's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a compiler: cranelift, winch or pulley")]
pub struct UnknownCompiler(String);

impl std::str::FromStr for Compiler {
    type Err = UnknownCompiler;

    fn from_str(name: &str) -> Result<Compiler, UnknownCompiler> {
        Compiler::ALL
            .into_iter()
            .find(|compiler| compiler.name() == name)
            .ok_or_else(|| UnknownCompiler(name.to_owned()))
    }
}

/// The size of a serving host's instance pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize {
    /// Component instances alive at once (the concurrency cap).
    pub instances: u32,
    /// The largest linear memory one instance may grow to, in bytes.
    pub memory_limit: u64,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            cache_dir: None,
            interruptible: true,
            exit_after_run: false,
            pool: None,
            compiler: Compiler::default(),
            wall: WallScope::default(),
            require_landlock: false,
        }
    }
}

/// What a program is, as [`Host::precompile`](crate::Host::precompile) finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramShape {
    /// A core module or a `wasi:cli/command` component: it is run.
    Command,
    /// A component that exports `wasi:http/incoming-handler`: it is served.
    HttpHandler,
}

/// What [`Host::precompile`](crate::Host::precompile) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precompiled {
    /// What the program is.
    pub shape: ProgramShape,
    /// The cache file its compiled code is in, when the host has a cache
    /// and the code could be written there. Its name, relative to the
    /// cache directory, is where a host with the same configuration and a
    /// cache elsewhere looks for it.
    pub code: Option<PathBuf>,
    /// The small files a copy of the cache needs beside the code, under
    /// the same cache directory: the code's seal, and the program file's
    /// identity record when one was written. A copy made with them (and
    /// the code bound, not copied: its identity is sealed) loads without
    /// hashing the code or the program.
    pub records: Vec<PathBuf>,
}

pub(crate) fn engine_config(
    interruptible: bool,
    pool: Option<PoolSize>,
    compiler: Compiler,
) -> wasmtime::Result<wasmtime::Config> {
    let mut config = wasmtime::Config::new();
    match compiler {
        Compiler::Cranelift => {
            config.strategy(wasmtime::Strategy::Cranelift);
        }
        Compiler::Winch => {
            config.strategy(wasmtime::Strategy::Winch);
        }
        Compiler::Pulley => {
            config.target("pulley64")?;
        }
    }
    if let Some(pool) = pool {
        config.allocation_strategy(pooling(pool));
    }
    // Stop requests tick the epoch; each store then checks its own flag.
    config.epoch_interruption(interruptible);
    // Function names come from the name section; DWARF is not parsed.
    config.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Disable);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    // WASI 0.3: the component model's async ABI, streams and futures.
    config.wasm_component_model_async(true);
    Ok(config)
}

/// A pool in which `size.instances` instances of any component the host
/// loads always fit at once, so that the concurrency cap, never the
/// allocator, is what refuses a request. A component is many core
/// instances (a componentize-py one is 14: its modules, the adapter's,
/// shims), with memories and tables: each component may have up to the
/// per-component caps below (one that needs more fails to load, with
/// Wasmtime's error naming the count), and the totals are the caps times
/// the instances. A core instance costs a counter and its vmctx; memory,
/// table and stack slots reserve address space only.
fn pooling(size: PoolSize) -> wasmtime::PoolingAllocationConfig {
    const CORE_INSTANCES: u32 = 128;
    const MEMORIES: u32 = 8;
    const TABLES: u32 = 32;
    // A 0.3 instance may run a request on a fiber of its own while others
    // wait: one stack per request it takes at once, and one to spare.
    let stacks = u32::try_from(MAX_CONCURRENT_PER_INSTANCE + 1).unwrap_or(u32::MAX);
    const KEEP_RESIDENT: usize = 1 << 20;
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    let n = size.instances;
    pool.total_component_instances(n)
        .max_core_instances_per_component(CORE_INSTANCES)
        .total_core_instances(n.saturating_mul(CORE_INSTANCES))
        // A store's GC heap (GC and exceptions) takes a memory slot too.
        .total_memories(n.saturating_mul(MEMORIES + 1))
        .total_tables(n.saturating_mul(TABLES))
        .total_stacks(n.saturating_mul(stacks))
        .total_gc_heaps(n)
        .max_memories_per_component(MEMORIES)
        .max_tables_per_component(TABLES)
        .max_memory_size(usize::try_from(size.memory_limit).unwrap_or(usize::MAX))
        // A slot given back is cleared by writing zeros over its first
        // pages rather than by handing them back to the kernel: a small
        // request's instance then costs no page faults on the next one.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT);
    pool
}
