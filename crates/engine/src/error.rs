//! Errors of the engine host: the run could not start.

use std::path::PathBuf;

/// A boxed error from Wasmtime or WASI, kept as the source of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a guest could not be run. A guest that ran and failed is an
/// [`crate::Outcome`], not an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A kernel layer around the guest could not be put up.
    #[error("cannot put up the kernel's {layer} layer around the guest")]
    Layers {
        /// `no_new_privs`, `landlock` or `seccomp`.
        layer: &'static str,
        /// The kernel's or the layer crate's error.
        source: BoxError,
    },
    /// The program file could not be read.
    #[error("cannot read {}", path.display())]
    ReadProgram {
        /// The program's path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The program is `.wat` text that does not parse.
    #[error("{} is not valid WebAssembly text", path.display())]
    ParseText {
        /// The program's path.
        path: PathBuf,
        /// The parser's message, with line and column.
        source: wat::Error,
    },
    /// The bytes are neither a core module nor a component.
    #[error("{} is not a WebAssembly module or component (bad magic or version)", path.display())]
    NotWasm {
        /// The program's path.
        path: PathBuf,
    },
    /// Wasmtime rejected the program: malformed or invalid.
    #[error("{} is not a valid WebAssembly program", path.display())]
    Invalid {
        /// The program's path.
        path: PathBuf,
        /// Wasmtime's diagnosis, with the byte offset.
        source: BoxError,
    },
    /// The program imports something the sandbox does not provide.
    #[error("{} needs imports that wharf does not provide", path.display())]
    Link {
        /// The program's path.
        path: PathBuf,
        /// The missing import.
        source: BoxError,
    },
    /// The program has no entry point wharf can call.
    #[error("{} has no entry point: {expected}", path.display())]
    NoEntryPoint {
        /// The program's path.
        path: PathBuf,
        /// What was looked for.
        expected: &'static str,
    },
    /// Instantiation failed before the guest's code ran (for example its
    /// initial memory is larger than the memory limit).
    #[error("cannot instantiate {}", path.display())]
    Instantiate {
        /// The program's path.
        path: PathBuf,
        /// The cause.
        source: BoxError,
    },
    /// The program is an HTTP handler: it is served, not run to an exit.
    #[error(
        "{} is an HTTP service (it exports wasi:http/incoming-handler): publish its port to serve it, e.g. -p 8080:8080",
        path.display()
    )]
    ServesHttp {
        /// The program's path.
        path: PathBuf,
    },
    /// The program was to be served but exports no HTTP handler.
    #[error("{} is not an HTTP service: it exports no wasi:http/incoming-handler@0.2", path.display())]
    NotAService {
        /// The program's path.
        path: PathBuf,
    },
    /// A listener given to serve on cannot be used.
    #[error("cannot serve on the given listener")]
    Listen {
        /// The cause.
        source: std::io::Error,
    },
    /// A volume's host directory cannot be opened.
    #[error("cannot open volume {}", host.display())]
    Volume {
        /// The volume's host directory.
        host: PathBuf,
        /// The cause.
        source: BoxError,
    },
    /// A volume's host path leads through a symbolic link inside another
    /// writable volume of the same run: the guest may have put it there.
    #[error(
        "volume {guest}: its host path {} leads through the symbolic link {} inside volume {inside}, which the guest can rewrite; name the directory it leads to instead",
        host.display(), link.display()
    )]
    VolumeThroughGuestLink {
        /// Where the guest sees the volume.
        guest: String,
        /// The host path as given.
        host: PathBuf,
        /// The link.
        link: PathBuf,
        /// Where the guest sees the volume the link is in.
        inside: String,
    },
    /// A volume's directory is no longer the one the container was made
    /// with: moved, replaced, or its path now runs through a link.
    #[error(
        "volume {guest}: {} is no longer the directory this container was made with (it was moved, replaced or linked elsewhere); refusing to start it: remove the container and make it again",
        host.display()
    )]
    VolumeChanged {
        /// Where the guest sees the volume.
        guest: String,
        /// The recorded host path.
        host: PathBuf,
    },
    /// A compile walled in its own process failed (the message is its
    /// error, or why the process gave none).
    #[error("cannot compile {} walled in: {message}", path.display())]
    WalledCompile {
        /// The program's path.
        path: PathBuf,
        /// What went wrong there.
        message: String,
    },
    /// A file or fifo for the guest's stdio cannot be opened.
    #[error("cannot open {} for the guest's stdio", path.display())]
    Stdio {
        /// The file or fifo.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The Wasmtime engine could not be configured for this host.
    #[error("cannot create the WebAssembly engine")]
    Engine {
        /// The cause.
        source: BoxError,
    },
}

impl Error {
    /// Whether the error means the program file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::ReadProgram { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// `error` and each of its causes as one line, joined by `: ` (a cause
/// whose text the line already ends with is not repeated). Every face
/// prints errors with it (re-exported by the lifecycle crate).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Turns a Wasmtime error into a boxed source error.
pub(crate) fn boxed(error: wasmtime::Error) -> BoxError {
    error.into_boxed_dyn_error()
}
