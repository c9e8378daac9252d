//! The arguments of the container commands.

use clap::Args;

/// `wharf port NAME [PORT[/tcp]]`
#[derive(Debug, Args)]
pub struct PortArgs {
    /// The container
    #[arg(value_name = "NAME|ID")]
    pub container: String,
    /// Only this container port
    #[arg(value_name = "PORT[/tcp]")]
    pub port: Option<String>,
}

/// Containers named by name, ID or unique ID prefix.
#[derive(Debug, Args)]
pub struct ContainersArgs {
    /// The containers
    #[arg(value_name = "NAME|ID", required = true)]
    pub containers: Vec<String>,
}

/// `wharf ps`
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show stopped containers too
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show the N containers created last, in any state
    #[arg(short = 'n', long = "last", value_name = "N")]
    pub last: Option<usize>,
    /// Show the container created last, in any state
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Show each container's size on disk (and its program's, as virtual)
    #[arg(short = 's', long)]
    pub size: bool,
    #[command(flatten)]
    pub listing: ListingFlags,
}

/// How `images` and `ps` print their lists.
#[derive(Debug, Args)]
pub struct ListingFlags {
    /// Print only IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Show full IDs (and, for containers, full commands)
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// table, json (one object per line), or a Go template, as Docker's
    /// `--format` ('{{.ID}}', 'table {{.Names}}\t{{.Status}}')
    #[arg(long, value_name = "FORMAT", value_parser = crate::format::parse_format,
          default_value = "table")]
    pub format: crate::format::Format,
    /// Show only what matches (repeatable; the same key twice matches
    /// either): ps takes name=, id=, status=, label=, ancestor=, exited=;
    /// images take dangling=, reference=, label=
    #[arg(short = 'f', long = "filter", value_name = "KEY=VALUE",
          value_parser = crate::flags::parse_filter)]
    pub filters: Vec<(String, String)>,
}

/// `wharf logs`
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new output until the container stops
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines (all: every line)
    #[arg(short = 'n', long, value_name = "N|all", value_parser = crate::flags::parse_tail)]
    pub tail: Option<usize>,
    /// Only output since a time (RFC 3339) or for a duration back (10s, 5m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Prefix each line with the time it was written
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// The container
    #[arg(value_name = "NAME|ID")]
    pub container: String,
}

/// `wharf stop`
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait for the guest to stop before killing it
    #[arg(
        short = 't',
        long = "time",
        value_name = "SECONDS",
        default_value_t = 10
    )]
    pub time: u64,
    #[command(flatten)]
    pub containers: ContainersArgs,
}

/// `wharf kill`
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The signal, by name (KILL, SIGTERM, ...) or number
    #[arg(
        short = 's',
        long = "signal",
        value_name = "SIGNAL",
        default_value = "KILL"
    )]
    pub signal: String,
    #[command(flatten)]
    pub containers: ContainersArgs,
}

/// `wharf rm`
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Kill running containers first
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove the anonymous volumes (`-v /path`) the containers used;
    /// named volumes and bind mounts stay, as in Docker
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    #[command(flatten)]
    pub containers: ContainersArgs,
}

/// `wharf start`
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Stay attached: print the guest's output until it exits, then exit
    /// with its exit code
    #[arg(short = 'a', long)]
    pub attach: bool,
    #[command(flatten)]
    pub containers: ContainersArgs,
}

/// `wharf rename OLD NEW`
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The container
    #[arg(value_name = "NAME|ID")]
    pub container: String,
    /// Its new name
    #[arg(value_name = "NEW_NAME")]
    pub name: String,
}

/// `wharf container prune`
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `wharf stats`
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print one sample and exit
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Stopped containers too
    #[arg(short = 'a', long)]
    pub all: bool,
    /// table, json, or a Go template ('{{.Name}} {{.MemUsage}}')
    #[arg(long, value_name = "FORMAT", value_parser = crate::format::parse_format,
          default_value = "table")]
    pub format: crate::format::Format,
    /// Show full IDs
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// The containers [default: every running one]
    #[arg(value_name = "NAME|ID")]
    pub containers: Vec<String>,
}

/// `wharf supervise`
#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// The container's full ID
    #[arg(value_name = "ID")]
    pub id: String,
    /// Run the guest once, in this process (the supervisor starts one for
    /// each run)
    #[arg(long, hide = true)]
    pub guest: bool,
}
