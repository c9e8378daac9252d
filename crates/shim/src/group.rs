//! Which daemon serves a container: one per Kubernetes pod, and one for all
//! other containers of a namespace of one containerd. A group's daemon
//! listens on a socket whose name hashes containerd's address, the
//! namespace and the group; an flock beside it orders starts and the
//! daemon's own exit, so a start never hands out a socket that is closing,
//! and a second flock, held shared by the daemon for its whole life, tells
//! whether it still runs.

use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use wharf_lifecycle::flock;

use crate::args::Args;

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

/// Whose group this is, for people and tests: containerd's address, the
/// namespace and the group, on one line.
pub fn label(args: &Args, group: &str) -> String {
    format!("{} {} {group}\n", args.address, args.namespace)
}

/// The socket of a group's daemon, in the private socket directory (see
/// [`crate::socket_dir`]).
pub fn socket_path(args: &Args, group: &str) -> Result<PathBuf, String> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (args.address.as_str(), args.namespace.as_str(), group).hash(&mut hasher);
    let dir = crate::socket_dir::socket_dir()?;
    Ok(dir.join(format!("{:016x}.sock", hasher.finish())))
}

/// An exclusive hold on a group's socket, released when dropped.
pub struct GroupLock {
    file: File,
    socket: PathBuf,
}

impl GroupLock {
    /// Records that a container was just promised to this group's daemon
    /// (the lock file's mtime), so that an idle daemon does not leave
    /// before containerd connects.
    pub fn claim(&self) {
        let _ = self.file.set_modified(SystemTime::now());
    }

    /// Removes the group's socket and lock files, for a group whose
    /// daemon is ending or gone; the lock stays held until dropped.
    pub fn remove_group(&self) {
        for path in [
            self.socket.clone(),
            alive_path(&self.socket),
            self.socket.with_extension("lock"),
        ] {
            let _ = fs::remove_file(path);
        }
    }

    /// Whether a container was promised to the daemon within `window`.
    pub fn claimed_within(&self, window: Duration) -> bool {
        self.file
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| at.elapsed().is_ok_and(|age| age < window))
    }
}

/// Takes the group's lock. The lock file goes away with the group (see
/// [`GroupLock::remove_group`]): a lock taken on a file that was removed
/// meanwhile is taken again on the new one. A new lock file gets `label`
/// (see [`label`]) as its content.
pub fn lock(socket: &Path, label: &str) -> Result<GroupLock, String> {
    let path = socket.with_extension("lock");
    let failed = |e: std::io::Error| format!("{}: {e}", path.display());
    loop {
        let file = flock::wait_for_lock(&path, true).map_err(failed)?;
        let held = file.metadata().map_err(failed)?;
        match fs::metadata(&path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {
                if held.len() == 0 && !label.is_empty() {
                    (&file).write_all(label.as_bytes()).map_err(failed)?;
                }
                return Ok(GroupLock {
                    file,
                    socket: socket.to_owned(),
                });
            }
            _ => continue,
        }
    }
}

/// Whether a daemon of the group whose socket is `socket` is alive: it
/// holds the group's alive lock shared for as long as it runs, and the
/// kernel lets go of it when the daemon ends, however it ends.
pub fn daemon_alive(socket: &Path) -> Result<bool, String> {
    let path = alive_path(socket);
    flock::lock_file(&path, true, false)
        .map(|free| free.is_none())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The alive lock for a daemon about to start, held shared through the
/// returned file (which the daemon inherits). The caller holds the group
/// lock and found no daemon, so nothing holds it exclusively.
pub fn hold_alive(socket: &Path) -> Result<File, String> {
    let path = alive_path(socket);
    flock::wait_for_lock(&path, false).map_err(|e| format!("{}: {e}", path.display()))
}

fn alive_path(socket: &Path) -> PathBuf {
    socket.with_extension("alive")
}
