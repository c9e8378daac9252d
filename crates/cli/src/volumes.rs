//! Volumes: directories wharf keeps under `WHARF_ROOT/volumes/NAME`. A
//! named one (`-v NAME:/guest`, a Compose file's `volumes`) is made on
//! first use and kept until `compose down -v` removes it; an anonymous one
//! (`-v /guest`, named by 64 random hex digits) goes with its container's
//! `rm -v` or `--rm`, or with `system prune --volumes`, as in Docker.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use crate::paths;

/// Where named volumes live.
pub fn root() -> PathBuf {
    paths::wharf_root().join("volumes")
}

/// Whether `text` names a volume rather than a host path: Docker's rule,
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn is_volume_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    text.len() >= 2
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The volume's directory, made (0755, its parents 0700) if missing.
pub fn ensure(name: &str) -> Result<PathBuf, String> {
    let root = root();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&root)
        .map_err(|e| format!("cannot make {}: {e}", root.display()))?;
    let dir = root.join(name);
    match std::fs::DirBuilder::new().mode(0o755).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot make volume {name}: {e}")),
    }
    dir.canonicalize()
        .map_err(|e| format!("volume {name}: {e}"))
}

/// A new anonymous volume's directory.
pub fn anonymous() -> Result<PathBuf, String> {
    let name = wharf_lifecycle::containers::new_id().map_err(|e| e.to_string())?;
    ensure(&name)
}

/// Whether the volume is anonymous (named by wharf, not by a user).
pub fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The volume name a host directory is, when it is one.
pub fn name_of(host: &Path) -> Option<String> {
    let root = root().canonicalize().ok()?;
    let name = host.strip_prefix(&root).ok()?.to_str()?;
    is_volume_name(name).then(|| name.to_owned())
}

/// Refuses a volume that would hand a guest wharf's own state — the state
/// root, a directory that holds it, or anything in it but a volume's own
/// directory or (read-only) an image's unpacked tree — through which it
/// could rewrite container records or plant compiled code. `volumes` are
/// resolved (canonical host paths).
pub fn refuse_state(volumes: &[wharf_engine::Volume]) -> Result<(), String> {
    if volumes.is_empty() {
        return Ok(());
    }
    let Ok(state) = paths::wharf_root().canonicalize() else {
        return Ok(());
    };
    let below = |dir: PathBuf, host: &Path| {
        dir.canonicalize()
            .is_ok_and(|dir| host.starts_with(&dir) && host != dir)
    };
    for volume in volumes {
        let host = &volume.host;
        let given = below(root(), host) || (volume.read_only && below(state.join("rootfs"), host));
        if state.starts_with(host) || (host.starts_with(&state) && !given) {
            return Err(format!(
                "volume {}: {} would give the guest wharf's own state ({}); give it a directory outside it",
                volume.guest,
                host.display(),
                state.display()
            ));
        }
    }
    Ok(())
}

/// Every named volume.
pub fn list() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root())
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| is_volume_name(n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Removes the volume and what it holds.
pub fn remove(name: &str) -> Result<(), String> {
    let dir = root().join(name);
    std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot remove volume {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_follow_dockers_rule() {
        for name in ["data", "my-app_db.1", "a1"] {
            assert!(is_volume_name(name), "{name}");
        }
        for text in [
            "", "a", ".data", "-x", "data/sub", "./data", "/srv", "da ta", "dä",
        ] {
            assert!(!is_volume_name(text), "{text}");
        }
    }
}
