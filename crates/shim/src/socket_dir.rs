//! The directory of the daemons' sockets and lock files: `/run/wharf-shim`
//! when this user may have it, else `wharf-shim-UID` in the temporary
//! directory (`$TMPDIR`, else `/tmp`).
//!
//! Whoever can write there can answer for a daemon, or make `start` create
//! files where a link points. So the directory is made 0700, and one that
//! already exists is used only when it is a real directory (not a link),
//! this user's, and closed to everyone else; a temporary one that is not
//! is refused, never repaired or used.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

const RUN: &str = "/run/wharf-shim";

/// The socket directory, made when missing.
pub fn socket_dir() -> Result<PathBuf, String> {
    let run = Path::new(RUN);
    if private_dir(run).is_ok() {
        return Ok(run.to_owned());
    }
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let temp = std::env::temp_dir().join(format!("wharf-shim-{uid}"));
    private_dir(&temp)?;
    Ok(temp)
}

/// Makes `dir` (0700), or checks that the `dir` there is private: a
/// directory, not a link, owned by this user, with no permission for the
/// group or others.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    let refuse = |why: String| {
        format!(
            "refusing {} for the shim's sockets: {why}; remove it",
            dir.display()
        )
    };
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
        Err(error) => return Err(format!("{}: {error}", dir.display())),
    }
    let found = fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    if found.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link".to_owned()));
    }
    if !found.is_dir() {
        return Err(refuse("it is not a directory".to_owned()));
    }
    if found.uid() != uid {
        return Err(refuse(format!(
            "it belongs to uid {}, not {uid}",
            found.uid()
        )));
    }
    if found.mode() & 0o077 != 0 {
        return Err(refuse(format!(
            "other users may use it (mode {:o})",
            found.mode() & 0o7777
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).expect("meta").mode() & 0o7777
    }

    #[test]
    fn a_missing_directory_is_made_private() {
        let temp = tempfile::tempdir().expect("dir");
        let dir = temp.path().join("sockets");
        private_dir(&dir).expect("made");
        assert_eq!(mode(&dir), 0o700);
        private_dir(&dir).expect("ours, and private");
    }

    #[test]
    fn a_directory_others_may_use_is_refused() {
        let temp = tempfile::tempdir().expect("dir");
        for open in [0o777, 0o1777, 0o750, 0o701] {
            let dir = temp.path().join(format!("open-{open:o}"));
            fs::create_dir(&dir).expect("dir");
            fs::set_permissions(&dir, fs::Permissions::from_mode(open)).expect("chmod");
            let error = private_dir(&dir).expect_err("refused");
            assert!(error.contains("other users may use it"), "{error}");
            assert_eq!(mode(&dir), open, "left as it was");
        }
    }

    #[test]
    fn a_link_or_a_file_is_refused() {
        let temp = tempfile::tempdir().expect("dir");
        let target = temp.path().join("elsewhere");
        fs::create_dir(&target).expect("dir");
        fs::set_permissions(&target, fs::Permissions::from_mode(0o700)).expect("chmod");
        let link = temp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("link");
        let error = private_dir(&link).expect_err("refused");
        assert!(error.contains("symbolic link"), "{error}");
        let file = temp.path().join("file");
        fs::write(&file, b"").expect("file");
        assert!(
            private_dir(&file)
                .expect_err("refused")
                .contains("not a directory")
        );
    }
}
