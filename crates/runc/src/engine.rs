//! The engine a Wasm container runs on, as `create` compiles for it and as
//! the container's first process runs it: one configuration for both, so
//! the code compiled outside the container is the code loaded inside.

use std::path::{Path, PathBuf};

use wharf_engine::{DEFAULT_MAX_CONCURRENCY, HostConfig, PoolSize};
use wharf_lifecycle::hosts;

/// Where wharf's pieces appear inside a Wasm container: the engine binary,
/// the container's rootfs without anything mounted on it, the cache.
pub const IN_CONTAINER_DIR: &str = "/.wharf";
/// The engine (this binary, statically linked), read-only.
pub const IN_CONTAINER_ENGINE: &str = "/.wharf/wharf-runc";
/// The rootfs alone (a non-recursive bind: no `/proc`, `/sys`, `/dev`).
pub const IN_CONTAINER_ROOTFS: &str = "/.wharf/root";
/// The compiled-code cache, read-only.
pub const IN_CONTAINER_CACHE: &str = "/.wharf/cache";
/// The command the engine runs as inside the container.
pub const INIT_COMMAND: &str = "wasm-init";

/// What the engine itself needs beside its guest under a memory limit: the
/// guest gets the limit less this (a quarter of limits under 64 MiB), so
/// that the cgroup's limit turns into a failed `memory.grow` in the guest
/// and not into the kernel's OOM killer.
const ENGINE_RESERVE: u64 = 16 << 20;

/// The guest's memory cap under a container memory limit of `limit`.
pub fn guest_memory(limit: u64) -> u64 {
    limit - ENGINE_RESERVE.min(limit / 4)
}

/// The compiled-code cache of `wharf_root`: `$WHARF_ROOT`, else
/// `/var/lib/wharf` (the shim's, shared with it).
pub fn cache_root(wharf_root: Option<&Path>) -> PathBuf {
    use wharf_lifecycle::root;
    root::cache_of(&wharf_root.map_or_else(root::node_root, Path::to_owned))
}

/// A command's host: one guest per process, stopped by ending the process.
pub fn command_host(cache: &Path) -> HostConfig {
    hosts::command(Some(cache.to_owned()), wharf_engine::Compiler::default())
}

/// A service's host: request timeouts interrupt guest code, instances come
/// from a pool sized for the default concurrency.
pub fn service_host(cache: &Path, memory_limit: u64) -> HostConfig {
    let pool = PoolSize {
        instances: u32::try_from(DEFAULT_MAX_CONCURRENCY).unwrap_or(u32::MAX),
        memory_limit,
    };
    hosts::service(
        Some(cache.to_owned()),
        wharf_engine::Compiler::default(),
        Some(pool),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guest_gets_the_limit_less_the_engine() {
        assert_eq!(guest_memory(64 << 20), 48 << 20);
        assert_eq!(guest_memory(1 << 30), (1 << 30) - (16 << 20));
        assert_eq!(guest_memory(32 << 20), 24 << 20);
        assert_eq!(guest_memory(0), 0);
    }
}
