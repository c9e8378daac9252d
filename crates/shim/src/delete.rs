//! `delete`: containerd's clean-up after a shim that died: unmount the
//! rootfs, remove the group's files if its daemon is gone, and report the
//! task as killed.

use std::io::Write;
use std::time::SystemTime;

use containerd_shim_protos::api::DeleteResponse;
use containerd_shim_protos::protobuf::Message;

use crate::args::Args;
use crate::group;
use crate::time::timestamp;

pub fn delete(args: &Args) -> Result<(), String> {
    let bundle = args.bundle()?;
    if let Some(rootfs) = rootfs_of(&bundle) {
        wharf_lifecycle::unmount_rootfs(&rootfs).map_err(|e| crate::report::chain(&e))?;
    }
    forget_dead_daemon(args, &bundle)?;
    let response = DeleteResponse {
        pid: 0,
        exit_status: wharf_lifecycle::exit::for_signal(libc::SIGKILL) as u32,
        exited_at: timestamp(SystemTime::now()),
        ..Default::default()
    };
    let bytes = response
        .write_to_bytes()
        .map_err(|e| crate::report::chain(&e))?;
    std::io::stdout()
        .write_all(&bytes)
        .map_err(|e| format!("stdout: {e}"))
}

/// Where Create mounted the rootfs: the spec's root.path (`rootfs` when
/// the spec cannot be read); `None` when that is not inside the bundle
/// (Create refused it, so nothing is mounted there).
fn rootfs_of(bundle: &std::path::Path) -> Option<std::path::PathBuf> {
    match wharf_lifecycle::load(bundle) {
        Ok(spec) => spec.rootfs(bundle).ok(),
        Err(_) => wharf_lifecycle::bundle::rootfs_in(bundle, "rootfs").ok(),
    }
}

/// A daemon that was killed leaves its group's socket and lock files.
fn forget_dead_daemon(args: &Args, bundle: &std::path::Path) -> Result<(), String> {
    let group = group::group_of(bundle);
    let socket = group::socket_path(args, &group)?;
    let lock = group::lock(&socket, &group::label(args, &group))?;
    if !group::daemon_alive(&socket)? {
        lock.remove_group();
    }
    Ok(())
}
