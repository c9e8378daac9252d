//! Why a build failed: one line each, naming the Dockerfile line or the path.

use std::io;
use std::path::PathBuf;

use crate::blobs::BlobError;

/// Why `wharf build` failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An instruction of the Dockerfile was refused.
    #[error("{file}:{line}: {kind}")]
    Instruction {
        /// The Dockerfile, as the user named it.
        file: String,
        /// The 1-based line the instruction starts on.
        line: usize,
        /// What is wrong with it.
        kind: InstructionError,
    },
    /// The Dockerfile has no `FROM`.
    #[error("{file}: no FROM instruction (a Wasm image starts with FROM scratch)")]
    NoFrom {
        /// The Dockerfile.
        file: String,
    },
    /// A file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A `.dockerignore` line is not a valid pattern.
    #[error("{}:{line}: invalid pattern `{pattern}`", path.display())]
    IgnorePattern {
        /// The `.dockerignore` file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        source: globset::Error,
    },
    /// The build context is not a directory.
    #[error("build context {} is not a directory", .0.display())]
    ContextNotDirectory(PathBuf),
    /// The Dockerfile is larger than wharf reads.
    #[error("{} is larger than the {limit} bytes a Dockerfile may have", path.display())]
    DockerfileTooLarge {
        /// The Dockerfile.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// `--platform` names something other than a Wasm platform.
    #[error(
        "platform `{0}` is not supported: use wasi/wasm, wasip1/wasm, wasip2/wasm, or \
         linux/amd64 or linux/arm64 for a compat image"
    )]
    Platform(String),
    /// A compat image (a Linux platform) asked of an artifact.
    #[error("an artifact is always wasi/wasm: build a compat image without --artifact")]
    CompatArtifact,
    /// An artifact needs to know which file is its module.
    #[error("an artifact needs an ENTRYPOINT or CMD naming its Wasm module")]
    NoEntrypoint,
    /// The entrypoint is not a file the Dockerfile copied into the image.
    #[error("entrypoint {0} is not a file the Dockerfile copied into the image")]
    EntrypointNotFound(String),
    /// The entrypoint does not start with the Wasm magic `\0asm`.
    #[error("entrypoint {0} is not a Wasm module (it does not start with \\0asm)")]
    NotWasm(String),
    /// The entrypoint has a Wasm header of a version wharf does not know.
    #[error("entrypoint {path} has an unknown Wasm version {version:02x?}")]
    WasmVersion {
        /// The entrypoint in the image.
        path: String,
        /// Bytes 4..8 of the file.
        version: [u8; 4],
    },
    /// `--platform` asks for a WASI version the module is not built for.
    #[error("--platform asks for {requested} but entrypoint {path} is a {actual} module")]
    PlatformMismatch {
        /// The entrypoint in the image.
        path: String,
        /// The OS of `--platform`.
        requested: String,
        /// The OS the module's header says.
        actual: String,
    },
    /// A blob could not be stored.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The config or manifest could not be encoded.
    #[error("cannot encode the image's JSON")]
    Encode(#[source] serde_json::Error),
}

/// What is wrong with one instruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstructionError {
    /// An instruction wharf refuses, with the reason.
    #[error("{instruction} is not supported: {reason}")]
    Unsupported {
        /// The instruction, upper case.
        instruction: String,
        /// Why.
        reason: &'static str,
    },
    /// A COPY source is not a valid pattern.
    #[error("invalid pattern `{pattern}`")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        source: globset::Error,
    },
    /// Not a Dockerfile instruction at all.
    #[error("unknown instruction {0}")]
    Unknown(String),
    /// A base image other than scratch.
    #[error("FROM {0}: only FROM scratch is supported (a Wasm image has no base image)")]
    NotScratch(String),
    /// A second `FROM`.
    #[error("a second FROM: multi-stage builds are not supported")]
    SecondFrom,
    /// An instruction other than `ARG` before `FROM`.
    #[error("{0} before FROM (only ARG may come before FROM)")]
    BeforeFrom(String),
    /// An instruction without the arguments it needs.
    #[error("{instruction} needs {what}")]
    Missing {
        /// The instruction.
        instruction: String,
        /// What it needs.
        what: &'static str,
    },
    /// A quote that is never closed.
    #[error("unterminated {0} quote")]
    UnterminatedQuote(char),
    /// A `${...}` wharf cannot expand.
    #[error("bad variable substitution `{0}`")]
    BadSubstitution(String),
    /// `${NAME:?message}` with NAME unset.
    #[error("{name}: {message}")]
    RequiredVariable {
        /// The variable.
        name: String,
        /// The message the Dockerfile gives.
        message: String,
    },
    /// `NAME=value` expected.
    #[error("`{0}` is not of the form name=value")]
    NotNameValue(String),
    /// A variable name that is empty or has characters a name cannot have.
    #[error("`{0}` is not a valid variable name")]
    BadName(String),
    /// An unknown `--flag`.
    #[error("{instruction}: unknown flag {flag}")]
    UnknownFlag {
        /// The instruction.
        instruction: String,
        /// The flag.
        flag: String,
    },
    /// `--chmod` with something other than octal digits.
    #[error("--chmod={0}: only octal modes (e.g. 755) are supported")]
    BadChmod(String),
    /// `# escape=` with something other than `\` or `` ` ``.
    #[error("escape character `{0}` is not supported (only \\ and `)")]
    BadEscape(String),
    /// An `EXPOSE` port that is not `PORT[/tcp|/udp]`.
    #[error("EXPOSE {0}: not a port (PORT, PORT/tcp or PORT/udp)")]
    BadPort(String),
    /// A COPY source that resolves outside the build context.
    #[error("COPY source {0} is outside the build context")]
    OutsideContext(String),
    /// A COPY source that matches nothing.
    #[error("COPY source {0} is not in the build context")]
    NotFound(String),
    /// A COPY source that is a symlink into somewhere outside the context.
    #[error("COPY source {0} is a symlink that leads outside the build context")]
    SymlinkOutsideContext(String),
    /// A symlink whose target, once in the image, leaves the image's root.
    #[error("{path} is a symlink to {target}, which is outside the image")]
    SymlinkOutsideImage {
        /// The symlink in the context.
        path: String,
        /// Its target.
        target: String,
    },
    /// A file larger than the build accepts.
    #[error("{path} is {size} bytes, larger than the {limit} bytes a build accepts")]
    TooLarge {
        /// The file in the context.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A FIFO, socket or device.
    #[error("{0} is not a regular file, directory or symlink")]
    NotRegular(String),
    /// A path in the image that must be a directory is something else.
    #[error("{0} is not a directory in the image")]
    NotDirectory(String),
    /// A source path wharf cannot represent (not UTF-8).
    #[error("{0} is not a UTF-8 path")]
    NotUtf8(String),
    /// An image path a layer cannot hold: a NUL byte, a name longer than
    /// 255 bytes, or a whiteout's name (`.wh.`).
    #[error("image path {path:?} cannot be unpacked: {reason}")]
    BadImagePath {
        /// The path as the instruction gives it.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}
