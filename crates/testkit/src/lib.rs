//! Test support for wharf: the real CNCF registry on loopback, a private
//! Docker Engine, Podman and containerd, and a tiny HTTP server whose answers a
//! test scripts (for registries that lie), and throwaway certificates.
#![deny(missing_docs)]

mod archive;
mod containerd;
mod crafted;
mod docker;
mod fake_server;
mod files;
mod guests;
#[cfg(target_arch = "x86_64")]
pub mod intruder;
mod mounts;
mod netns;
mod podman;
mod process;
mod registry;
mod skip;
mod tls;

pub use archive::{
    LayerEntry, busybox_image_archive, docker_archive_with_platform, linux_image_archive,
    sha256_hex,
};
pub use containerd::TestContainerd;
pub use crafted::{TarEntry, crafted_tar, tar_of};
pub use docker::TestDocker;
pub use fake_server::{Body, FakeServer, Request, Response};
pub use files::files_under;
pub use guests::{build_once, compile_wasi_c, compile_wasi_c_reactor};
pub use netns::TestNetns;
pub use podman::TestPodman;
pub use process::{noise, process_start_time};
pub use registry::TestRegistry;
pub use skip::{in_ci, is_root, skip_unless, skip_unless_root};
pub use tls::TestCertificates;
