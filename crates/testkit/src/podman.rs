//! A private Podman (Debian's podman 4.3): its own storage root, run root,
//! temporary directory and containers.conf, all in a temporary directory.
//!
//! Podman's default rlimits for root containers (nofile 1048576) fail
//! under plain runc in sandboxes without CAP_SYS_RESOURCE (`error setting
//! rlimit type 7`), so the configuration sets them to what this process
//! may have; cgroups are managed by cgroupfs and events go to a file, so no
//! systemd is needed.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::mounts::unmount_under;

/// Where Debian's podman package puts it.
const PODMAN: &str = "/usr/bin/podman";

/// Podman with state of its own (the `vfs` driver), removed when dropped.
#[derive(Debug)]
pub struct TestPodman {
    dir: tempfile::TempDir,
}

impl TestPodman {
    /// Sets up the directories and configuration.
    ///
    /// # Panics
    /// When not run as root or when podman is not installed.
    pub fn start() -> TestPodman {
        assert!(
            crate::skip::is_root(),
            "the Podman tests run podman as root (they do in CI); run the test suite as root"
        );
        assert!(
            Path::new(PODMAN).is_file(),
            "{PODMAN} is missing: install the Debian package `podman`"
        );
        let dir = tempfile::Builder::new()
            .prefix("wharf-podman-")
            .tempdir_in("/tmp")
            .expect("temporary directory for podman");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        let nofile = limit.rlim_max.min(1 << 20);
        fs::write(
            dir.path().join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = [\"nofile={nofile}:{nofile}\", \
                 \"nproc=32768:32768\"]\n[engine]\ncgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"file\"\nevents_logfile_path = \"{}\"\n",
                dir.path().join("events.log").display()
            ),
        )
        .expect("write containers.conf");
        for sub in ["root", "runroot", "tmp"] {
            fs::create_dir(dir.path().join(sub)).expect("podman directory");
        }
        TestPodman { dir }
    }

    /// A `podman` command on this state.
    pub fn podman(&self) -> Command {
        let path = self.dir.path();
        let mut command = Command::new(PODMAN);
        command
            .env("CONTAINERS_CONF", path.join("containers.conf"))
            .env_remove("CONTAINER_HOST")
            .env_remove("CONTAINERS_STORAGE_CONF")
            .arg("--root")
            .arg(path.join("root"))
            .arg("--runroot")
            .arg(path.join("runroot"))
            .arg("--tmpdir")
            .arg(path.join("tmp"))
            .args(["--storage-driver", "vfs"])
            .stdin(Stdio::null());
        command
    }

    /// The temporary directory (removed when this is dropped).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestPodman {
    fn drop(&mut self) {
        let _ = self
            .podman()
            .args(["rm", "--all", "--force", "--time", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        unmount_under(self.dir.path());
    }
}
