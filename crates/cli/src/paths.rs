//! Where wharf keeps its state, and how much of the disk it takes.

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
