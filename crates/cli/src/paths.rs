//! Where wharf keeps its state.

use std::path::PathBuf;

/// wharf's state directory: `$WHARF_ROOT`, else the per-user data directory.
pub fn wharf_root() -> PathBuf {
    if let Some(root) = std::env::var_os("WHARF_ROOT").filter(|v| !v.is_empty()) {
        return PathBuf::from(root);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    data.join("wharf")
}
