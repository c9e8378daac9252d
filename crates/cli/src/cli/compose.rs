//! `wharf compose`'s arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `wharf compose [-f FILE] [-p NAME] COMMAND`
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// The Compose file [default: compose.yaml, compose.yml,
    /// docker-compose.yaml or docker-compose.yml, in this directory]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The project's name [default: the file's `name`, else its directory's]
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project: Option<String>,
    #[command(subcommand)]
    pub command: ComposeCommand,
}

#[derive(Debug, Subcommand)]
pub enum ComposeCommand {
    /// Make and start the services' containers (after those they depend on)
    Up(ComposeUpArgs),
    /// Stop and remove the services' containers
    Down(ComposeDownArgs),
    /// List the services' containers
    Ps(ComposePsArgs),
    /// Show the services' output, each line prefixed by its container
    Logs(ComposeLogsArgs),
    /// Stop the services' containers
    Stop(ComposeStopArgs),
    /// Start the services' stopped containers
    Start(ComposeServices),
    /// Stop the services' containers and start them again
    Restart(ComposeStopArgs),
    /// Pull the services' images
    Pull(ComposeServices),
    /// Build the services that have a `build` section
    Build(ComposeServices),
    /// Check the file and print it as wharf reads it
    Config(ComposeConfigArgs),
}

/// Services by name [default: all].
#[derive(Debug, Args)]
pub struct ComposeServices {
    /// The services
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// `wharf compose up`
#[derive(Debug, Args)]
pub struct ComposeUpArgs {
    /// Leave the services running in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Build images before starting
    #[arg(long)]
    pub build: bool,
    #[command(flatten)]
    pub services: ComposeServices,
}

/// `wharf compose down`
#[derive(Debug, Args)]
pub struct ComposeDownArgs {
    /// Remove the project's named volumes too
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    /// Seconds to wait for each guest to stop before killing it
    #[arg(
        short = 't',
        long = "timeout",
        value_name = "SECONDS",
        default_value_t = 10
    )]
    pub timeout: u64,
}

/// `wharf compose ps`
#[derive(Debug, Args)]
pub struct ComposePsArgs {
    /// Show stopped containers too
    #[arg(short = 'a', long)]
    pub all: bool,
    #[command(flatten)]
    pub listing: super::ListingFlags,
    #[command(flatten)]
    pub services: ComposeServices,
}

/// `wharf compose logs`
#[derive(Debug, Args)]
pub struct ComposeLogsArgs {
    /// Keep printing new output until every container stops
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines of each container (all: every line)
    #[arg(short = 'n', long, value_name = "N|all", value_parser = crate::flags::parse_tail)]
    pub tail: Option<usize>,
    /// Prefix each line with the time it was written
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Print no container-name prefix
    #[arg(long = "no-log-prefix")]
    pub no_prefix: bool,
    #[command(flatten)]
    pub services: ComposeServices,
}

/// `wharf compose stop` and `restart`
#[derive(Debug, Args)]
pub struct ComposeStopArgs {
    /// Seconds to wait for each guest to stop before killing it
    #[arg(
        short = 't',
        long = "timeout",
        value_name = "SECONDS",
        default_value_t = 10
    )]
    pub timeout: u64,
    #[command(flatten)]
    pub services: ComposeServices,
}

/// `wharf compose config`
#[derive(Debug, Args)]
pub struct ComposeConfigArgs {
    /// Only check the file; print nothing
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print only the services' names
    #[arg(long)]
    pub services: bool,
}
