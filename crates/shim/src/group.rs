//! Which daemon serves a container: one per Kubernetes pod, and one for all
//! other containers of a namespace of one containerd. A group's daemon
//! listens on a socket whose name hashes containerd's address, the
//! namespace and the group; an flock beside it orders starts and the
//! daemon's own exit, so a start never hands out a socket that is closing.

use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::args::Args;

/// Where group sockets live: under /run when we may write there.
fn socket_dir() -> PathBuf {
    let run = PathBuf::from("/run/wharf-shim");
    if fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&run)
        .is_ok()
    {
        return run;
    }
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    std::env::temp_dir().join(format!("wharf-shim-{uid}"))
}

/// The group of the container in `bundle`.
pub fn group_of(bundle: &Path) -> String {
    let config = bundle.join("config.json");
    let sandbox = fs::read(&config)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|spec| {
            spec["annotations"]["io.kubernetes.cri.sandbox-id"]
                .as_str()
                .map(str::to_owned)
        });
    sandbox.unwrap_or_else(|| "shared".to_owned())
}

/// The socket of a group's daemon.
pub fn socket_path(args: &Args, group: &str) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (args.address.as_str(), args.namespace.as_str(), group).hash(&mut hasher);
    let dir = socket_dir();
    let _ = fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    dir.join(format!("{:016x}.sock", hasher.finish()))
}

/// An exclusive hold on a group's socket, released when dropped.
pub struct GroupLock {
    file: File,
}

impl GroupLock {
    /// Records that a container was just promised to this group's daemon
    /// (the lock file's mtime), so that an idle daemon does not leave
    /// before containerd connects.
    pub fn claim(&self) {
        let _ = self.file.set_modified(SystemTime::now());
    }

    /// Whether a container was promised to the daemon within `window`.
    pub fn claimed_within(&self, window: Duration) -> bool {
        self.file
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| at.elapsed().is_ok_and(|age| age < window))
    }
}

pub fn lock(socket: &Path) -> Result<GroupLock, String> {
    let path = socket.with_extension("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own; blocks until granted.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "{}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(GroupLock { file })
}
