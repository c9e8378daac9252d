//! Unmounting a deleted container's rootfs after Delete has answered.
//!
//! An unmount waits out the kernel's RCU grace period (0.7 ms of each
//! `ctr run --rm` here), and containerd unmounts whatever is still mounted
//! itself before it removes the bundle, so nothing waits for ours. A Create
//! that mounts on the same path again first waits for the unmount there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;

#[derive(Default)]
pub struct Unmounts {
    pending: Mutex<HashMap<PathBuf, JoinHandle<()>>>,
}

impl Unmounts {
    /// Starts unmounting `rootfs`. An unmount that fails leaves the mount
    /// to containerd's own clean-up of the bundle, which reports it.
    pub fn begin(&self, rootfs: PathBuf) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, unmount| !unmount.is_finished());
        let path = rootfs.clone();
        let unmount = std::thread::Builder::new()
            .name("unmount".to_owned())
            .spawn(move || {
                let _ = wharf_lifecycle::unmount_rootfs(&path);
            });
        match unmount {
            Ok(unmount) => {
                pending.insert(rootfs, unmount);
            }
            Err(_) => {
                let _ = wharf_lifecycle::unmount_rootfs(&rootfs);
            }
        }
    }

    /// Waits until an unmount of `rootfs` begun earlier has ended.
    pub fn finish(&self, rootfs: &Path) {
        let unmount = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(rootfs);
        if let Some(unmount) = unmount {
            let _ = unmount.join();
        }
    }
}
