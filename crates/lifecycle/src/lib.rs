//! Container lifecycle: what a container runs, and the rootfs mounts a
//! container is started on.
//!
//! [`launch`] makes a program file's or an image's run; [`spec::load`] reads a bundle's `config.json`; [`run::run_spec`] turns
//! it into the engine's [`wharf_engine::RunSpec`]; [`mount::mount_rootfs`]
//! and [`mount::unmount_rootfs`] set up and tear down the rootfs that
//! containerd hands a shim; [`containers`] keeps detached containers'
//! records, states, names and logs on disk. Shared by every face of wharf
//! (CLI, shim, runc-compatible runtime).
#![deny(missing_docs)]

pub mod bundle;
pub mod cgroup;
pub mod containers;
mod error;
pub mod exit;
pub mod flock;
pub mod hosts;
pub mod launch;
pub mod mount;
pub mod ports;
pub mod report;
pub mod root;
pub mod run;
pub mod spec;
pub mod supervisor;
pub mod tty;
pub mod usage;
pub mod walls;
pub mod watchdog;

pub use error::LifecycleError;
pub use mount::{RootfsMount, is_mount_point, mount_rootfs, unmount_rootfs};
pub use run::{
    annotated_as_wasm, destination_in_rootfs, guest_path, module_run_spec, mount_volumes,
    program_in_rootfs, program_on_path, rootfs_volumes, run_spec, spec_or_module_run, without_init,
};
pub use spec::{NetworkNamespace, OciSpec, SpecMount, load};
