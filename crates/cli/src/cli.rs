//! Command-line definitions: parsing and validation only.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

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
    /// Run a WebAssembly program or image in a sandbox
    Run(Box<RunArgs>),
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
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Run a detached container's guest (started by `wharf run -d`)
    #[command(hide = true)]
    Supervise(SuperviseArgs),
}

/// `wharf container ...`
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Remove every stopped container
    Prune,
}

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
}

/// `wharf logs`
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new output until the container stops
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines
    #[arg(short = 'n', long, value_name = "N")]
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
    #[command(flatten)]
    pub containers: ContainersArgs,
}

/// `wharf stats`
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print one sample and exit
    #[arg(long = "no-stream")]
    pub no_stream: bool,
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
}

/// How to reach a registry.
#[derive(Debug, Args, Clone, Copy)]
pub struct RegistryFlags {
    /// Require HTTPS with a valid certificate (false: allow plain HTTP or
    /// any certificate); localhost and 127.0.0.1 always use plain HTTP
    #[arg(long = "tls-verify", value_name = "BOOL", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub tls_verify: bool,
}

/// `wharf build`
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name (and tag) for the image, e.g. app:1; may be given more than once
    #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]")]
    pub tags: Vec<String>,
    /// The Dockerfile [default: CONTEXT/Dockerfile]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A build argument for ARG
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Target platform: wasi/wasm, wasip1/wasm or wasip2/wasm; linux/amd64
    /// or linux/arm64 make a compat image (a Wasm image that Docker 20.10
    /// and wharf-runc take, marked module.wasm.image/variant=compat)
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Make the CNCF Wasm OCI artifact (one application/wasm layer) instead
    /// of a Docker-style wasi/wasm image
    #[arg(long)]
    pub artifact: bool,
    /// Print only the image ID
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The build context directory
    #[arg(value_name = "CONTEXT")]
    pub context: PathBuf,
}

/// `wharf pull`
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Platform to pull from a multi-platform image (only wasi/wasm images run)
    #[arg(long, value_name = "PLATFORM", default_value = "wasi/wasm")]
    pub platform: String,
    #[command(flatten)]
    pub registry: RegistryFlags,
    /// Print nothing but errors
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The image, e.g. localhost:5000/app:1
    #[arg(value_name = "REF")]
    pub reference: String,
}

/// `wharf compile`
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The compiler: cranelift (optimized, the default), winch (baseline)
    /// or pulley (Wasmtime's interpreter, for hosts that forbid JIT)
    #[arg(long, value_name = "COMPILER", value_parser = flags::parse_compiler)]
    pub compiler: Option<wharf_engine::Compiler>,
    /// Print nothing but errors
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The programs (.wasm or .wat files)
    #[arg(value_name = "PROGRAM", required = true)]
    pub programs: Vec<PathBuf>,
}

/// `wharf push`
#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub registry: RegistryFlags,
    /// Print nothing but errors
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The image, e.g. localhost:5000/app:1
    #[arg(value_name = "REF")]
    pub reference: String,
}

/// `wharf images`
#[derive(Debug, Args)]
pub struct ImagesArgs {
    #[command(flatten)]
    pub listing: ListingFlags,
}

/// `wharf rmi`
#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Remove the name even if a container uses the image (its files stay
    /// until no container needs them)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// The images
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,
}

/// `wharf tag`
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The image
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// Its new name
    #[arg(value_name = "TARGET")]
    pub target: String,
}

/// `wharf inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Print each through a Go template ('{{.State.Status}}') instead of
    /// as JSON
    #[arg(short = 'f', long, value_name = "TEMPLATE", value_parser = crate::format::compile)]
    pub format: Option<crate::format::GoTemplate>,
    /// The containers or images
    #[arg(value_name = "NAME|ID|REF", required = true)]
    pub references: Vec<String>,
}

/// `wharf save`
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to this file instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// docker (what `docker load` reads) or oci (an OCI image layout)
    #[arg(long, value_parser = ["docker", "oci"], default_value = "docker")]
    pub format: String,
    /// The images
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,
}

/// `wharf load`
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from this file instead of stdin
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Print only the names loaded
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `wharf login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// User name
    #[arg(short = 'u', long = "username", value_name = "USER")]
    pub username: Option<String>,
    /// Password (prefer --password-stdin: arguments show in `ps`)
    #[arg(short = 'p', long = "password", value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Read the password from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    #[command(flatten)]
    pub registry_flags: RegistryFlags,
    /// The registry [default: docker.io]
    #[arg(value_name = "REGISTRY")]
    pub registry: Option<String>,
}

/// `wharf logout`
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry [default: docker.io]
    #[arg(value_name = "REGISTRY")]
    pub registry: Option<String>,
}

/// `wharf run [OPTIONS] FILE|REF [ARGS...]`
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
    #[arg(short = 'w', long = "workdir", value_name = "DIR", value_parser = flags::guest_path)]
    pub workdir: Option<String>,

    /// Keep stdin open for the guest (without it the guest reads end of file)
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,

    /// Run in the background, watched by a supervisor; print the container ID
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,

    /// Name the container (with -d)
    #[arg(long, value_name = "NAME", requires = "detach")]
    pub name: Option<String>,

    /// Start the guest again when it exits (with -d): no, always, on-failure or on-failure:N
    #[arg(long, value_name = "POLICY", default_value = "no", requires = "detach")]
    pub restart: String,

    /// Remove the container when it exits (with -d)
    #[arg(long = "rm")]
    pub remove: bool,

    /// How much output to keep (with -d): max-size=SIZE (default 10m), max-file=N (default 3)
    #[arg(long = "log-opt", value_name = "KEY=VALUE", requires = "detach")]
    pub log_opts: Vec<String>,

    /// Cap on the guest's linear memory and tables, e.g. 64m, 1g [default: 1g]
    #[arg(short = 'm', long = "memory", value_name = "SIZE", value_parser = flags::parse_size)]
    pub memory: Option<u64>,

    /// Stop the guest after this long, e.g. 500ms, 10s, 2m (exit code 124)
    #[arg(long, value_name = "DURATION", value_parser = flags::parse_duration)]
    pub timeout: Option<Duration>,

    /// Serve the HTTP service on a host port (IP defaults to 127.0.0.1;
    /// host port 0 picks a free one)
    #[arg(short = 'p', long = "publish", value_name = "[IP:]HOSTPORT:CONTAINERPORT[/tcp]",
          value_parser = flags::parse_publish)]
    pub publish: Vec<wharf_lifecycle::ports::PortBinding>,

    /// Publish the service's exposed ports (8080 when the image names
    /// none) on free host ports of 127.0.0.1
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,

    /// Let the guest reach this destination (repeatable), as Spin writes
    /// them: http://host:8080, https://*.example.com, tcp://127.0.0.1:5432,
    /// *://host:* (default: nothing)
    #[arg(long = "allow-outbound", value_name = "URL", value_parser = flags::parse_outbound)]
    pub allow_outbound: Vec<wharf_engine::OutboundRule>,

    /// The compiler: cranelift (optimized), winch (baseline: compiles
    /// fast, runs slower) or pulley (Wasmtime's interpreter, no JIT)
    /// [default: cranelift, starting a large program that is not compiled
    /// yet on winch while cranelift compiles it for the next run]
    #[arg(long, value_name = "COMPILER", value_parser = flags::parse_compiler)]
    pub compiler: Option<wharf_engine::Compiler>,

    /// Let the guest bind sockets and listen at this address (repeatable):
    /// tcp://127.0.0.1:8000-8100, udp://127.0.0.1:5353, tcp://*:* (default:
    /// nowhere; a service's published ports are wharf's, not the guest's)
    #[arg(long = "allow-listen", value_name = "URL", value_parser = flags::parse_listen)]
    pub allow_listen: Vec<wharf_engine::OutboundRule>,

    /// A served request that runs longer answers 504 and its instance is
    /// dropped
    #[arg(long = "request-timeout", value_name = "DURATION", default_value = "60s",
          value_parser = flags::parse_duration)]
    pub request_timeout: Duration,

    /// Requests served at once; more answer 503 with Retry-After
    #[arg(long = "max-concurrency", value_name = "N", default_value_t = wharf_engine::DEFAULT_MAX_CONCURRENCY,
          value_parser = flags::parse_concurrency)]
    pub max_concurrency: usize,

    /// Give every request a fresh instance of a WASI 0.3 handler (by
    /// default an instance takes up to 128 requests, 16 at once; 0.2
    /// handlers always get a fresh one)
    #[arg(long = "isolate-requests")]
    pub isolate_requests: bool,

    /// Security options: no-layers turns off the kernel's wall around the
    /// guest (no_new_privs, Landlock and seccomp), leaving the Wasm sandbox
    /// alone; no-new-privileges is always on
    #[arg(long = "security-opt", value_name = "OPTION", value_parser = flags::parse_security_opt)]
    pub security_opts: Vec<flags::SecurityOpt>,

    /// CPUs the guest may use, e.g. 0.5 or 2 (a CFS quota in a cgroup of
    /// its own; needs root or a delegated cgroup)
    #[arg(long, value_name = "N", value_parser = flags::parse_cpus)]
    pub cpus: Option<f64>,

    /// The guest's CPU weight under contention, relative to 1024
    #[arg(long = "cpu-shares", short = 'c', value_name = "N", value_parser = flags::parse_cpu_shares)]
    pub cpu_shares: Option<u64>,

    /// Override the image's entrypoint (the program, a path in the image)
    #[arg(long, value_name = "PROGRAM")]
    pub entrypoint: Option<String>,

    /// When to pull the image: missing, always or never
    #[arg(long, value_name = "WHEN", value_parser = ["missing", "always", "never"],
          default_value = "missing")]
    pub pull: String,

    #[command(flatten)]
    pub registry: RegistryFlags,

    /// The program: a .wasm core module or component, .wat text, or an
    /// image (REF); a path that exists, or ends in .wasm/.wat, is a file
    #[arg(value_name = "FILE|REF")]
    pub program: String,

    /// Arguments for the guest; everything after FILE belongs to it,
    /// --help and --version included
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
with -i. No host environment, no other files, no network but what
--allow-outbound names (never a listener). An image's files
are at `/`, read-only (writes go to volumes); its Env and WorkingDir apply
unless -e/-w say otherwise.

Exit codes: the guest's own exit code; 124 timeout; 125 wharf error (bad
flags, unreadable or invalid program or image, registry error); 127 FILE,
or the image's program, not found; 130/143 stopped
by SIGINT/SIGTERM; 134 the guest trapped.

Services: a component exporting wasi:http/incoming-handler is served with
-p (or -P): one fresh instance per request, each under --memory and
--request-timeout (504 past it; a trap answers 500), at most
--max-concurrency at once (503 past it). SIGINT/SIGTERM stop accepting and
let in-flight requests finish (10 s), then wharf exits 0.

Detached (-d): the guest runs under a supervisor process of its own, its
output kept for `wharf logs`; ps, stop, kill, wait, rm, inspect and stats
manage it by name or ID.

Environment: WHARF_ROOT (default ~/.local/share/wharf) holds images,
containers and the cache of compiled code; WHARF_LOG=debug shows what
wharf does.";

/// `wharf run` on its own: parsing only its flags spares every start the
/// building of all other subcommands' definitions.
#[derive(Debug, Parser)]
#[command(
    name = "wharf-run",
    bin_name = "wharf run",
    version,
    about = "Run a WebAssembly program or image in a sandbox"
)]
struct RunOnly {
    #[command(flatten)]
    run: RunArgs,
}

/// Parses the command line; on failure prints the problem and returns the
/// exit code (0 for --help and --version).
pub fn parse() -> Result<Cli, i32> {
    let mut words = std::env::args_os();
    let parsed = if words.nth(1).is_some_and(|word| word == "run") {
        parse_run(words.collect())
    } else {
        Cli::try_parse()
    };
    parsed.map_err(|error| {
        let _ = error.print();
        if error.use_stderr() { exit::ERROR } else { 0 }
    })
}

/// `wharf run`'s words: wharf's flags up to the program, then the guest's
/// arguments untouched — `--help` and `--version` after the program are the
/// guest's, never wharf's.
fn parse_run(words: Vec<OsString>) -> Result<Cli, clap::Error> {
    let command = RunOnly::command();
    let split = program_position(&command, &words).map_or(words.len(), |at| at + 1);
    let (ours, guest) = words.split_at(split);
    let mut parsed = RunOnly::from_arg_matches(
        &command.try_get_matches_from(std::iter::once(&OsString::from("wharf run")).chain(ours))?,
    )?;
    parsed.run.args = guest
        .iter()
        .map(|word| {
            word.to_str().map(str::to_owned).ok_or_else(|| {
                clap::Error::raw(
                    clap::error::ErrorKind::InvalidUtf8,
                    format!("argument {word:?} is not UTF-8\n"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Cli {
        command: Command::Run(Box::new(parsed.run)),
    })
}

/// Where the program (the first positional word) stands among `words`,
/// skipping each flag and the value it takes.
fn program_position(command: &clap::Command, words: &[OsString]) -> Option<usize> {
    let takes_value =
        |arg: Option<&clap::Arg>| arg.is_some_and(|arg| arg.get_action().takes_values());
    let mut index = 0;
    while let Some(word) = words.get(index) {
        let text = word.to_string_lossy();
        if text == "--" {
            return (index + 1 < words.len()).then_some(index + 1);
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = long
                .split_once('=')
                .map_or((long, false), |(n, _)| (n, true));
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_long() == Some(name));
            if takes_value(arg) && !inline {
                index += 1;
            }
        } else if text.len() > 1 && text.starts_with('-') {
            // A cluster of short flags: the first that takes a value takes
            // the rest of the cluster, or the next word.
            for (at, short) in text.char_indices().skip(1) {
                let arg = command
                    .get_arguments()
                    .find(|arg| arg.get_short() == Some(short));
                if takes_value(arg) {
                    if at + short.len_utf8() == text.len() {
                        index += 1;
                    }
                    break;
                }
            }
        } else {
            return Some(index);
        }
        index += 1;
    }
    None
}
