//! Errors of the container lifecycle, each naming the file or path at fault.

use std::path::PathBuf;

/// Why a container could not be described, set up or torn down.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The bundle's `config.json` could not be read.
    #[error("cannot read {}", path.display())]
    ReadConfig {
        /// The `config.json` path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bundle's `config.json` is larger than wharf accepts.
    #[error("{} is larger than {limit} bytes", path.display())]
    ConfigTooLarge {
        /// The `config.json` path.
        path: PathBuf,
        /// The largest accepted size, in bytes.
        limit: u64,
    },
    /// The bundle's `config.json` is not a valid OCI runtime spec.
    #[error("{} is not a valid OCI runtime spec", path.display())]
    MalformedConfig {
        /// The `config.json` path.
        path: PathBuf,
        /// The parser's message, with line and column.
        source: serde_json::Error,
    },
    /// The spec names no program: `process.args` is missing or empty.
    #[error("the OCI spec names no program (process.args is empty)")]
    NoProgram,
    /// `root.path` names no directory below the bundle.
    #[error("the OCI spec's root.path `{root_path}` is not a directory inside the bundle {}", bundle.display())]
    RootOutsideBundle {
        /// The spec's `root.path`.
        root_path: String,
        /// The bundle.
        bundle: PathBuf,
    },
    /// A part of the rootfs path inside the bundle is a symbolic link.
    #[error("{} is a symbolic link: the rootfs must lie inside the bundle", path.display())]
    RootIsLink {
        /// The link.
        path: PathBuf,
    },
    /// A part of the rootfs path inside the bundle is not a directory.
    #[error("{} is not a directory", path.display())]
    RootNotDirectory {
        /// The path.
        path: PathBuf,
    },
    /// A part of the rootfs path could not be looked at.
    #[error("cannot read {}", path.display())]
    ReadRoot {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `process.cwd` is not an absolute path.
    #[error("the OCI spec's process.cwd `{cwd}` is not an absolute path")]
    RelativeCwd {
        /// The spec's `process.cwd`.
        cwd: String,
    },
    /// The image has no Entrypoint or Cmd, and the request named no
    /// program.
    #[error("the image names no program (no Entrypoint or Cmd): give one after the image")]
    NoImageProgram,
    /// An entrypoint override for a Wasm artifact or component image.
    #[error("--entrypoint does not apply: a Wasm artifact holds exactly one module")]
    EntrypointOfModule,
    /// An entrypoint override for a program file.
    #[error("--entrypoint applies to images, not to a program file")]
    EntrypointOfFile,
    /// A Wasm artifact or component image without a module layer.
    #[error("the artifact has no module layer")]
    NoModuleLayer,
    /// The image store could not give what the run needs.
    #[error(transparent)]
    Store(#[from] wharf_image::StoreError),
    /// `args[0]` is not a file inside the rootfs.
    #[error("program `{program}` not found in the container's rootfs")]
    ProgramNotFound {
        /// The program as the spec names it, made absolute against `cwd`.
        program: String,
    },
    /// `args[0]` is not a WebAssembly program: the container is for runc.
    #[error("`{program}` is not a WebAssembly program ({reason}); run it with runc")]
    NotWasm {
        /// The program as the spec names it.
        program: String,
        /// Why it was judged not to be Wasm.
        reason: &'static str,
    },
    /// The program file was found but could not be read.
    #[error("cannot read program {}", path.display())]
    ReadProgram {
        /// The program's host path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A path holds a NUL byte and cannot be passed to the kernel.
    #[error("path `{path}` contains a NUL byte")]
    NulInPath {
        /// The path, lossily printed.
        path: String,
    },
    /// A rootfs mount's target names a place outside the rootfs.
    #[error("rootfs mount target `{target}` leaves the rootfs")]
    MountTargetEscapes {
        /// The mount's target, as containerd gave it.
        target: String,
    },
    /// mount(2) failed.
    #[error("cannot mount {kind} `{source_path}` on {}", target.display())]
    Mount {
        /// The filesystem type (`overlay`, `bind`, ...).
        kind: String,
        /// The mount's source.
        source_path: String,
        /// Where it was to be mounted.
        target: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// umount2(2) failed.
    #[error("cannot unmount {}", target.display())]
    Unmount {
        /// The mount point.
        target: PathBuf,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// The target stayed a mount point after many lazy unmounts.
    #[error("{} is still a mount point after {attempts} unmounts", target.display())]
    StillMounted {
        /// The mount point.
        target: PathBuf,
        /// How many unmounts were made.
        attempts: u32,
    },
    /// `/proc/self/mountinfo` could not be read.
    #[error("cannot read /proc/self/mountinfo")]
    MountInfo {
        /// The cause.
        source: std::io::Error,
    },
}
