//! Where a bundle's rootfs is: the spec's `root.path`, inside the bundle.
//!
//! The shim mounts the rootfs there and unmounts it there again, as root:
//! a `root.path` that left the bundle would mount over (or unmount) any
//! place on the host. So it must name a directory below the bundle, by
//! components (`..` may not climb out), and no part of it that exists may
//! be a symbolic link (the kernel would follow it out).

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use crate::LifecycleError;

/// The rootfs directory that `root_path` (a spec's `root.path`) names in
/// `bundle`: relative to the bundle, or absolute and below it. Its parts
/// that do not exist yet are for the caller to make.
pub fn rootfs_in(bundle: &Path, root_path: &str) -> Result<PathBuf, LifecycleError> {
    let outside = || LifecycleError::RootOutsideBundle {
        root_path: root_path.to_owned(),
        bundle: bundle.to_owned(),
    };
    let given = Path::new(root_path);
    let relative = if given.is_absolute() {
        given.strip_prefix(bundle).map_err(|_| outside())?
    } else {
        given
    };
    let mut parts = PathBuf::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir if parts.pop() => {}
            _ => return Err(outside()),
        }
    }
    if parts.as_os_str().is_empty() {
        return Err(outside());
    }
    let mut at = bundle.to_owned();
    for part in parts.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(found) if found.file_type().is_symlink() => {
                return Err(LifecycleError::RootIsLink { path: at });
            }
            Ok(found) if !found.is_dir() => {
                return Err(LifecycleError::RootNotDirectory { path: at });
            }
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::NotFound => break,
            Err(source) => return Err(LifecycleError::ReadRoot { path: at, source }),
        }
    }
    Ok(bundle.join(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_paths_inside_the_bundle_resolve() {
        let dir = tempfile::tempdir().expect("dir");
        let bundle = dir.path();
        let inside = |p: &str| rootfs_in(bundle, p).expect(p);
        assert_eq!(inside("rootfs"), bundle.join("rootfs"));
        assert_eq!(inside("./a/b/"), bundle.join("a/b"));
        assert_eq!(inside("x/../rootfs"), bundle.join("rootfs"));
        let absolute = bundle.join("fs").display().to_string();
        assert_eq!(inside(&absolute), bundle.join("fs"));
    }

    #[test]
    fn root_paths_that_leave_the_bundle_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let bundle = dir.path().join("bundle");
        std::fs::create_dir(&bundle).expect("bundle");
        for hostile in ["", ".", "..", "../rootfs", "a/../../x", "/etc", "/"] {
            assert!(
                matches!(
                    rootfs_in(&bundle, hostile),
                    Err(LifecycleError::RootOutsideBundle { .. })
                ),
                "{hostile:?}"
            );
        }
    }

    #[test]
    fn links_and_files_on_the_way_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let bundle = dir.path().join("bundle");
        std::fs::create_dir_all(bundle.join("real")).expect("bundle");
        std::os::unix::fs::symlink(dir.path(), bundle.join("out")).expect("link");
        std::os::unix::fs::symlink("real", bundle.join("in")).expect("link");
        std::fs::write(bundle.join("file"), b"").expect("file");
        for (path, linked) in [
            ("out", true),
            ("out/x", true),
            ("in", true),
            ("file/x", false),
        ] {
            let refused = rootfs_in(&bundle, path).expect_err(path);
            assert_eq!(
                matches!(refused, LifecycleError::RootIsLink { .. }),
                linked,
                "{path}: {refused}"
            );
        }
        assert_eq!(
            rootfs_in(&bundle, "real/new/fs").expect("missing parts are fine"),
            bundle.join("real/new/fs")
        );
    }
}
