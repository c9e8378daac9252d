//! Command-line definitions: parsing and validation only. Docker's short
//! forms (`wharf ps`) and its management commands (`wharf container ls`)
//! share one argument struct each, so they cannot drift apart.

mod compose;
mod containers;
mod images;
mod run;

use clap::{Args, Parser, Subcommand};

pub use compose::*;
pub use containers::*;
pub use images::*;
pub use run::{RunArgs, parse, run_args_for};

/// Run WebAssembly applications as containers.
#[derive(Debug, Parser)]
#[command(name = "wharf", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a WebAssembly program or image in a sandbox
    Run(Box<RunArgs>),
    /// Make a container without starting it (`wharf start` starts it)
    Create(Box<RunArgs>),
    /// Start created or stopped containers
    Start(StartArgs),
    /// Stop containers and start them again
    Restart(StopArgs),
    /// Give a container another name
    Rename(RenameArgs),
    /// Build an image from a Dockerfile
    Build(BuildArgs),
    /// Compile programs into the cache, so that their runs start warm
    Compile(CompileArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// List images
    Images(ImagesArgs),
    /// Remove images
    Rmi(RmiArgs),
    /// Give an image another name
    Tag(TagArgs),
    /// Show how an image was built, layer by layer
    History(HistoryArgs),
    /// Show a container's or an image's details as JSON
    Inspect(InspectArgs),
    /// Write images to a tar archive
    Save(SaveArgs),
    /// Read images from a tar archive
    Load(LoadArgs),
    /// Store credentials for a registry
    Login(LoginArgs),
    /// Forget the credentials for a registry
    Logout(LogoutArgs),
    /// List containers
    Ps(PsArgs),
    /// Show a container's output
    Logs(LogsArgs),
    /// Stop containers (their guests end at once; -t is the grace before kill)
    Stop(StopArgs),
    /// Send a signal to containers (any stops a Wasm guest; KILL by default)
    Kill(KillArgs),
    /// Wait until containers stop, then print their exit codes
    Wait(ContainersArgs),
    /// Remove containers
    Rm(RmArgs),
    /// Show where a container's ports are published
    Port(PortArgs),
    /// Show containers' memory and CPU use, live
    Stats(StatsArgs),
    /// Not for Wasm: a container is one guest, with nothing to run beside it
    Exec(RefusedArgs),
    /// Show wharf's version, Wasmtime's and the WASI versions served
    Version(FormatArgs),
    /// Show what wharf runs with: engine, compilers, store, kernel layers
    Info(FormatArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage wharf's store
    #[command(subcommand)]
    System(SystemCommand),
    /// Run multi-container applications from a Compose file, with no daemon
    Compose(ComposeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completion(CompletionArgs),
    /// Write wharf's man pages, one per command, into a directory
    Man(ManArgs),
    /// Run a detached container's guest (started by `wharf start`)
    #[command(hide = true)]
    Supervise(SuperviseArgs),
}

/// `wharf container ...`: the container commands under Docker's names.
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// List containers
    #[command(visible_alias = "list", alias = "ps")]
    Ls(PsArgs),
    /// Run a WebAssembly program or image in a sandbox
    Run(Box<RunArgs>),
    /// Make a container without starting it
    Create(Box<RunArgs>),
    /// Start created or stopped containers
    Start(StartArgs),
    /// Stop containers
    Stop(StopArgs),
    /// Stop containers and start them again
    Restart(StopArgs),
    /// Send a signal to containers
    Kill(KillArgs),
    /// Remove containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Show a container's output
    Logs(LogsArgs),
    /// Show containers' details as JSON
    Inspect(InspectArgs),
    /// Wait until containers stop, then print their exit codes
    Wait(ContainersArgs),
    /// Show containers' memory and CPU use, live
    Stats(StatsArgs),
    /// Remove every stopped container
    Prune(PruneArgs),
    /// Give a container another name
    Rename(RenameArgs),
    /// Show where a container's ports are published
    Port(PortArgs),
    /// Not for Wasm: a container is one guest, with nothing to run beside it
    Exec(RefusedArgs),
}

/// `wharf image ...`: the image commands under Docker's names.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(visible_alias = "list")]
    Ls(ImagesArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Remove images
    #[command(visible_alias = "remove", alias = "rmi")]
    Rm(RmiArgs),
    /// Give an image another name
    Tag(TagArgs),
    /// Show images' details as JSON
    Inspect(InspectArgs),
    /// Write images to a tar archive
    Save(SaveArgs),
    /// Read images from a tar archive
    Load(LoadArgs),
    /// Build an image from a Dockerfile
    Build(BuildArgs),
    /// Remove images no name and no container uses
    Prune(ImagePruneArgs),
    /// Show how an image was built, layer by layer
    History(HistoryArgs),
}

/// `wharf system ...`
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show how much disk images, containers and the cache of compiled
    /// code take
    Df(FormatArgs),
    /// Remove stopped containers, dangling (or, with -a, unused) images,
    /// unused anonymous volumes (--volumes) and the compiled-code cache
    Prune(SystemPruneArgs),
    /// Show what wharf runs with: engine, compilers, store, kernel layers
    Info(FormatArgs),
}

/// `--format` alone, for `version`, `info` and `system df`.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// A Go template ('{{.Server.Version}}'), or json
    #[arg(short = 'f', long, value_name = "FORMAT", value_parser = crate::format::parse_format,
          default_value = "table")]
    pub format: crate::format::Format,
}

/// The words of a command wharf refuses: taken whole, so that the refusal
/// is the one error.
#[derive(Debug, Args)]
pub struct RefusedArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub words: Vec<String>,
}

/// `wharf completion SHELL`
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `wharf man DIR`
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Where to write wharf.1, wharf-run.1, ... (made if missing)
    #[arg(value_name = "DIR")]
    pub dir: std::path::PathBuf,
}

/// Every container command but `prune` has a short form; `prune` is
/// handed back.
impl TryFrom<ContainerCommand> for Command {
    type Error = PruneArgs;

    fn try_from(command: ContainerCommand) -> Result<Command, PruneArgs> {
        Ok(match command {
            ContainerCommand::Ls(args) => Command::Ps(args),
            ContainerCommand::Run(args) => Command::Run(args),
            ContainerCommand::Create(args) => Command::Create(args),
            ContainerCommand::Start(args) => Command::Start(args),
            ContainerCommand::Stop(args) => Command::Stop(args),
            ContainerCommand::Restart(args) => Command::Restart(args),
            ContainerCommand::Kill(args) => Command::Kill(args),
            ContainerCommand::Rm(args) => Command::Rm(args),
            ContainerCommand::Logs(args) => Command::Logs(args),
            ContainerCommand::Inspect(args) => Command::Inspect(args.only(InspectKind::Container)),
            ContainerCommand::Wait(args) => Command::Wait(args),
            ContainerCommand::Stats(args) => Command::Stats(args),
            ContainerCommand::Rename(args) => Command::Rename(args),
            ContainerCommand::Port(args) => Command::Port(args),
            ContainerCommand::Exec(args) => Command::Exec(args),
            ContainerCommand::Prune(args) => return Err(args),
        })
    }
}

/// Every image command but `prune` has a short form; `prune` is handed
/// back.
impl TryFrom<ImageCommand> for Command {
    type Error = ImagePruneArgs;

    fn try_from(command: ImageCommand) -> Result<Command, ImagePruneArgs> {
        Ok(match command {
            ImageCommand::Ls(args) => Command::Images(args),
            ImageCommand::Pull(args) => Command::Pull(args),
            ImageCommand::Push(args) => Command::Push(args),
            ImageCommand::Rm(args) => Command::Rmi(args),
            ImageCommand::Tag(args) => Command::Tag(args),
            ImageCommand::Inspect(args) => Command::Inspect(args.only(InspectKind::Image)),
            ImageCommand::Save(args) => Command::Save(args),
            ImageCommand::Load(args) => Command::Load(args),
            ImageCommand::Build(args) => Command::Build(args),
            ImageCommand::History(args) => Command::History(args),
            ImageCommand::Prune(args) => return Err(args),
        })
    }
}
