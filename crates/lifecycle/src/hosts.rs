//! The engine hosts the faces start, named once: a command's, a service's
//! and a daemon's. The node's wall settings ([`crate::walls`]) go into
//! each.

use std::path::PathBuf;

use wharf_engine::{Compiler, HostConfig, PoolSize, WallScope};

/// A command's host: one guest per process, walled whole and stopped by
/// the process ending, so its code has no interruption checks (and its
/// cache entries are not a service's).
pub fn command(cache_dir: Option<PathBuf>, compiler: Compiler) -> HostConfig {
    HostConfig {
        cache_dir,
        interruptible: false,
        exit_after_run: true,
        compiler,
        pool: None,
        wall: WallScope::Process,
        require_landlock: crate::walls::require_landlock(),
    }
}

/// A service's host: one program per process, walled whole; request
/// timeouts interrupt guest code through the epoch, and instances come
/// from `pool` when given.
pub fn service(
    cache_dir: Option<PathBuf>,
    compiler: Compiler,
    pool: Option<PoolSize>,
) -> HostConfig {
    HostConfig {
        interruptible: true,
        pool,
        ..command(cache_dir, compiler)
    }
}

/// A daemon's host: many guests in one process, each walled on its own
/// thread; stopping one is an interrupt, not an exit.
pub fn daemon(cache_dir: Option<PathBuf>, compiler: Compiler) -> HostConfig {
    HostConfig {
        interruptible: true,
        exit_after_run: false,
        wall: WallScope::Thread,
        ..command(cache_dir, compiler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_and_a_daemon_are_interruptible_and_only_a_daemon_outlives_its_run() {
        let command = command(None, Compiler::default());
        let pool = PoolSize {
            instances: 4,
            memory_limit: 1 << 20,
        };
        let service = service(None, Compiler::default(), Some(pool));
        let daemon = daemon(None, Compiler::default());
        assert!(!command.interruptible && service.interruptible && daemon.interruptible);
        assert!(command.exit_after_run && service.exit_after_run && !daemon.exit_after_run);
        assert_eq!(service.pool, Some(pool));
        assert_eq!(daemon.wall, WallScope::Thread);
        assert_eq!(command.wall, WallScope::Process);
    }
}
