//! The run description: everything a guest is given, and nothing more.

use std::path::PathBuf;

use crate::layers::enforced::Layers;
use crate::network::NetworkPolicy;
use crate::volume::Volume;

/// The memory cap applied when a run does not name one: 1 GiB of linear
/// memory and tables, summed over every memory and table of the guest.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;

/// What to run and what the guest may see.
///
/// The sandbox is built from this description alone; the guest gets:
/// - argv: exactly [`RunSpec::args`] (`args[0]` is the program's name);
/// - environment: exactly [`RunSpec::env`], nothing of the host's;
/// - files: only the directories in [`RunSpec::volumes`], each confined to
///   its host directory (`..` and symlinks cannot leave it), read-only ones
///   refusing every write, create, truncate, rename and delete; each opened
///   once per run (once per service) by its resolved path with no link
///   followed, and refused when it is not the directory it was when it was
///   resolved (see [`crate::resolve_volumes`]);
/// - working directory: [`RunSpec::workdir`], `/` when unset;
/// - stdin: empty unless [`RunSpec::stdin`] says otherwise; stdout and
///   stderr: the host's unless [`RunSpec::stdout`]/[`RunSpec::stderr`] name
///   a file or fifo;
/// - network: what [`RunSpec::network`] allows, nothing by default (no
///   TCP, no UDP, no name lookup, no outgoing HTTP); never a listener;
/// - clocks and random numbers: the host's;
/// - the kernel: the thread that runs the guest (and every thread it
///   starts) has no_new_privs, a Landlock domain reaching only the volumes
///   and the code cache, and a seccomp allowlist, unless
///   [`RunSpec::layers`] is [`Layers::Off`];
/// - memory: linear memories and tables capped together at
///   [`RunSpec::memory_limit`] bytes; growing past it fails in the guest.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The program: a `.wasm` core module or component, or `.wat` text.
    pub program: PathBuf,
    /// The guest's argv, program name first.
    pub args: Vec<String>,
    /// The guest's environment, in order.
    pub env: Vec<(String, String)>,
    /// Host directories the guest may open.
    pub volumes: Vec<Volume>,
    /// The guest's initial working directory, an absolute guest path.
    pub workdir: Option<String>,
    /// Where the guest's stdin comes from.
    pub stdin: Stdin,
    /// Where the guest's stdout goes.
    pub stdout: Output,
    /// Where the guest's stderr goes.
    pub stderr: Output,
    /// Cap on the guest's linear memory and tables, in bytes.
    pub memory_limit: u64,
    /// Where the guest may connect (sockets and outgoing HTTP).
    pub network: NetworkPolicy,
    /// The kernel's wall around the guest's thread (see [`Layers`]).
    pub layers: Layers,
}

impl RunSpec {
    /// A spec that runs `program` with argv `[program]` and nothing else.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        let program = program.into();
        let name = program.to_string_lossy().into_owned();
        RunSpec {
            program,
            args: vec![name],
            env: Vec::new(),
            volumes: Vec::new(),
            workdir: None,
            stdin: Stdin::Empty,
            stdout: Output::Inherit,
            stderr: Output::Inherit,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            network: NetworkPolicy::default(),
            layers: Layers::On,
        }
    }
}

/// The guest's standard input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Stdin {
    /// Reads see end of file at once.
    #[default]
    Empty,
    /// The host process's stdin.
    Inherit,
    /// A file or fifo (opened for reading when the guest starts).
    File(PathBuf),
}

/// Where the guest's stdout or stderr goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Output {
    /// The host process's.
    #[default]
    Inherit,
    /// A file (appended to) or fifo, opened when the guest starts; a fifo
    /// is opened read-write so that opening never waits for a reader.
    File(PathBuf),
    /// Discarded.
    Null,
}
