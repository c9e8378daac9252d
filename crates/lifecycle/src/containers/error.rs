//! Errors of the container store, each naming the container or file.

use std::path::PathBuf;

/// Why a container could not be created, found, read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// A file or directory of the store could not be read or written.
    #[error("{}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A container's record or state is not what wharf writes.
    #[error("{} is damaged", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        source: serde_json::Error,
    },
    /// A record names another container than the one of its directory.
    #[error("{} names another container than its directory", path.display())]
    WrongId {
        /// The record.
        path: PathBuf,
    },
    /// No container has this name, ID or ID prefix.
    #[error("no such container: {0}")]
    NotFound(String),
    /// More than one container's ID starts with this prefix.
    #[error("`{prefix}` is the start of {count} container IDs: give more of it")]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// How many IDs start with it.
        count: usize,
    },
    /// Another container has this name.
    #[error("the name `{name}` is in use by container {id}: remove it or choose another name")]
    NameInUse {
        /// The name asked for.
        name: String,
        /// The container that has it.
        id: String,
    },
    /// A name wharf does not accept.
    #[error(
        "invalid container name `{0}`: use letters, digits, `_`, `.` and `-`, starting with a letter or digit"
    )]
    InvalidName(String),
    /// Another wharf command is changing this container right now.
    #[error("container {0} is busy: another wharf command is changing it")]
    Busy(String),
    /// The container runs, and the command needs it stopped.
    #[error("container {0} is running: stop it first, or use -f")]
    Running(String),
    /// The container does not run, and the command needs it running.
    #[error("container {0} is not running")]
    NotRunning(String),
    /// A supervisor lives, but the state names another process as it.
    #[error(
        "container {container}: process {pid} is not its supervisor (its state.json is stale or damaged): nothing was signalled"
    )]
    NotItsSupervisor {
        /// The container's name or short ID.
        container: String,
        /// The pid its state names.
        pid: u32,
    },
    /// The supervisor outlived a SIGKILL for as long as wharf waits.
    #[error("the supervisor (pid {pid}) of container {container} outlived SIGKILL")]
    Unkillable {
        /// The container's name or short ID.
        container: String,
        /// The supervisor's pid.
        pid: u32,
    },
    /// The supervisor could not be signalled.
    #[error("cannot signal the supervisor (pid {pid}) of container {container}")]
    Signal {
        /// The container's name or short ID.
        container: String,
        /// The supervisor's pid.
        pid: u32,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// A `--restart` value wharf does not know.
    #[error("invalid restart policy `{0}`: use no, on-failure[:N] or always")]
    InvalidRestart(String),
}

impl ContainerError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ContainerError {
        let path = path.into();
        move |source| ContainerError::Io { path, source }
    }
}
