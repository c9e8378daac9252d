//! Command-line definitions: parsing and validation only.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::exit;
use crate::flags;

/// Run WebAssembly applications as containers.
#[derive(Debug, Parser)]
#[command(name = "wharf", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a WebAssembly program in a sandbox
    Run(RunArgs),
}

/// `wharf run [OPTIONS] FILE [ARGS...]`
#[derive(Debug, Args)]
#[command(after_help = RUN_AFTER_HELP)]
pub struct RunArgs {
    /// Set an environment variable (KEY=VALUE, or KEY to copy the host's)
    #[arg(short = 'e', long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,

    /// Read environment variables from a file (KEY=VALUE lines, # comments)
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,

    /// Give the guest a host directory (`:ro` refuses every change)
    #[arg(short = 'v', long = "volume", value_name = "HOST:GUEST[:ro|:rw]",
          value_parser = flags::parse_volume)]
    pub volumes: Vec<wharf_engine::Volume>,

    /// The guest's working directory (an absolute guest path)
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,

    /// Keep stdin open for the guest (without it the guest reads end of file)
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,

    /// Cap on the guest's linear memory and tables, e.g. 64m, 1g [default: 1g]
    #[arg(short = 'm', long = "memory", value_name = "SIZE", value_parser = flags::parse_size)]
    pub memory: Option<u64>,

    /// Stop the guest after this long, e.g. 500ms, 10s, 2m (exit code 124)
    #[arg(long, value_name = "DURATION", value_parser = flags::parse_duration)]
    pub timeout: Option<Duration>,

    /// The program: a .wasm core module or component, or .wat text
    #[arg(value_name = "FILE")]
    pub program: PathBuf,

    /// Arguments for the guest; everything after FILE belongs to it
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

const RUN_AFTER_HELP: &str = "\
Sandbox: the guest sees its arguments, the environment given with -e and
--env-file, the directories given with -v, stdout and stderr, and stdin only
with -i. No host environment, no other files, no network.

Exit codes: the guest's own exit code; 124 timeout; 125 wharf error (bad
flags, unreadable or invalid program); 127 FILE not found; 130/143 stopped
by SIGINT/SIGTERM; 134 the guest trapped.

Environment: WHARF_ROOT (default ~/.local/share/wharf) holds the cache of
compiled code; WHARF_LOG=debug shows what wharf does.";

/// Parses the command line; on failure prints the problem and returns the
/// exit code (0 for --help and --version).
pub fn parse() -> Result<Cli, i32> {
    Cli::try_parse().map_err(|error| {
        let _ = error.print();
        if error.use_stderr() { exit::ERROR } else { 0 }
    })
}
