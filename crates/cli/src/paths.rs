//! Where wharf keeps its state, and how much of the disk it takes.
//!
//! The state root holds what runs: container records (their volumes,
//! network rules, labels), images and compiled code. So it is never a
//! directory another user could have made or can write: there is no shared
//! default (no `/tmp/wharf`), and [`check_root`] refuses a root, or a store,
//! containers or volumes directory in it, that is not the caller's or is
//! writable by group or others. It makes them private (0700).

use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The root [`check_root`] found good.
static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// The directories under the root that hold state. (The compiled-code
/// cache checks its own, and is left out when it is not private.)
const STATE_DIRS: [&str; 4] = ["images", "rootfs", "containers", "volumes"];

/// Finds the state root, makes it (0700) if missing, and checks that it and
/// the state directories in it are the caller's alone (see the module
/// docs); the one-line reason when not.
pub fn check_root() -> Result<(), String> {
    if ROOT.get().is_some() {
        return Ok(());
    }
    let root = wharf_lifecycle::root::user_root().ok_or(
        "no state directory: set WHARF_ROOT, HOME or XDG_DATA_HOME (wharf uses no shared default)",
    )?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&root)
        .map_err(|e| format!("cannot make the state directory {}: {e}", root.display()))?;
    check_private(&root)?;
    for dir in STATE_DIRS {
        let dir = root.join(dir);
        if std::fs::symlink_metadata(&dir).is_ok() {
            check_private(&dir)?;
        }
    }
    let _ = ROOT.set(root);
    Ok(())
}

/// Refuses `dir` unless it is a directory of the caller's that group and
/// others cannot write; then makes it 0700.
fn check_private(dir: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let me = rustix::process::geteuid().as_raw();
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    if meta.uid() != me {
        return Err(format!(
            "refusing the state directory {}: it belongs to uid {}, not to you (uid {me})",
            dir.display(),
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "refusing the state directory {}: group or others may write it (mode {mode:o}); \
             `chmod go-w` it if that is yours",
            dir.display()
        ));
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {} private: {e}", dir.display()))?;
    }
    Ok(())
}

/// wharf's state directory, as [`check_root`] found it (every command that
/// touches state checks it first; one that did not gets the same lookup).
pub fn wharf_root() -> PathBuf {
    if let Some(root) = ROOT.get() {
        return root.clone();
    }
    wharf_lifecycle::root::user_root().unwrap_or_else(|| PathBuf::from("/nonexistent/wharf"))
}

/// The container records' directory in the state root.
pub fn containers_dir() -> PathBuf {
    wharf_root().join("containers")
}

/// The compiled-code cache in the state root.
pub fn cache_dir() -> PathBuf {
    wharf_lifecycle::root::cache_of(&wharf_root())
}

/// Bytes of the regular files under `dir` (links not followed).
pub fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_size(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
