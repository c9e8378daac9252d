//! Where wharf's state lives: the one lookup every face uses.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A node's state root, where a runtime run by the container engines
/// (the shim, wharf-runc) and root's `wharf` keep their state.
pub const NODE_ROOT: &str = "/var/lib/wharf";

/// The variable that names the state root for every face.
pub const ROOT_VAR: &str = "WHARF_ROOT";

fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// A user's state root, the CLI's: `$WHARF_ROOT`; else
/// `$XDG_DATA_HOME/wharf` or `~/.local/share/wharf`; with neither,
/// [`NODE_ROOT`] for root and `$XDG_RUNTIME_DIR/wharf` (the user's own
/// runtime directory) for anyone else. `None` when none applies: there is
/// no shared default.
pub fn user_root() -> Option<PathBuf> {
    if let Some(root) = var(ROOT_VAR) {
        return Some(PathBuf::from(root));
    }
    if let Some(data) = var("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".local/share")))
    {
        return Some(data.join("wharf"));
    }
    if rustix::process::geteuid().is_root() {
        return Some(PathBuf::from(NODE_ROOT));
    }
    var("XDG_RUNTIME_DIR").map(|runtime| PathBuf::from(runtime).join("wharf"))
}

/// A node runtime's state root: `$WHARF_ROOT`, else [`NODE_ROOT`].
pub fn node_root() -> PathBuf {
    var(ROOT_VAR).map_or_else(|| PathBuf::from(NODE_ROOT), PathBuf::from)
}

/// The compiled-code cache of the state root `root`.
pub fn cache_of(root: &Path) -> PathBuf {
    root.join("cache")
}
