//! `wharf run`'s arguments, and the parsing that keeps the guest's words its own.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser};

use super::{Cli, Command, RegistryFlags};
use crate::{exit, flags};

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

    /// Give the guest a host directory, a named volume (made on first use,
    /// kept under WHARF_ROOT/volumes), or with GUEST alone an anonymous
    /// volume (gone with the container's `rm -v` or `--rm`); `:ro` refuses
    /// every change
    #[arg(short = 'v', long = "volume", value_name = "[HOST|NAME:]GUEST[:ro|:rw]",
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

    /// Name the container; without -d the run is a container still,
    /// attached to its output until it exits
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Start the guest again when it exits: no, always, on-failure or
    /// on-failure:N (not no: the run is a container, as with --name)
    #[arg(long, value_name = "POLICY", default_value = "no")]
    pub restart: String,

    /// Remove the container when it exits
    #[arg(long = "rm")]
    pub remove: bool,

    /// How much output a container keeps: max-size=SIZE (default 10m),
    /// max-file=N (default 3)
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    pub log_opts: Vec<String>,

    /// Set metadata on the container (shown by inspect, matched by
    /// `ps --filter label=`)
    #[arg(short = 'l', long = "label", value_name = "KEY[=VALUE]")]
    pub labels: Vec<String>,

    /// Read labels from a file (KEY=VALUE lines, # comments)
    #[arg(long = "label-file", value_name = "FILE")]
    pub label_files: Vec<PathBuf>,

    /// Give the guest a pseudo-terminal for stdout and stderr (WASI's
    /// terminal interfaces report one; stderr joins stdout)
    #[arg(short = 't', long = "tty")]
    pub tty: bool,

    /// Accepted, and already so: an image's files are always read-only to
    /// the guest (writes go to volumes)
    #[arg(long = "read-only")]
    pub read_only: bool,

    /// Accepted as a no-op: a Wasm guest has no child processes to reap,
    /// so it needs no init
    #[arg(long)]
    pub init: bool,

    /// Refused: a Wasm guest has no privileges to widen
    #[arg(long)]
    pub privileged: bool,

    /// Refused: a Wasm guest makes no system calls, so Linux capabilities
    /// mean nothing to it
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,

    /// Accepted: a Wasm guest holds no capabilities to drop
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,

    /// Refused: WASI has no device files (give directories with -v)
    #[arg(long, value_name = "DEVICE")]
    pub device: Vec<String>,

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

    /// A served request whose body pauses longer answers 408 and its
    /// instance is dropped; a response its client leaves unread as long
    /// closes the connection
    #[arg(long = "body-timeout", value_name = "DURATION", default_value = "10s",
          value_parser = flags::parse_duration)]
    pub body_timeout: Duration,

    /// How long a client may take to send a request's headers, and an idle
    /// keep-alive connection is kept
    #[arg(long = "keep-alive-timeout", value_name = "DURATION", default_value = "10s",
          value_parser = flags::parse_duration)]
    pub keep_alive_timeout: Duration,

    /// Connections a service holds open at once; more are answered 503 with
    /// Retry-After and closed
    #[arg(long = "max-connections", value_name = "N", default_value_t = wharf_engine::DEFAULT_MAX_CONNECTIONS,
          value_parser = flags::parse_connections)]
    pub max_connections: usize,

    /// Connections one client address (an IPv6 /64) holds open at once
    #[arg(long = "max-connections-per-client", value_name = "N",
          default_value_t = wharf_engine::DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
          value_parser = flags::parse_connections)]
    pub max_connections_per_client: usize,

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

/// `wharf run PROGRAM`'s arguments with every flag at its default, for a
/// caller (`compose`) to set the rest.
pub fn run_args_for(program: &str) -> Result<RunArgs, String> {
    RunOnly::try_parse_from(["wharf run", "--", program])
        .map(|parsed| parsed.run)
        .map_err(|e| e.to_string().trim().to_owned())
}

/// `wharf supervise ID` on its own.
#[derive(Debug, Parser)]
#[command(name = "wharf-supervise", bin_name = "wharf supervise")]
struct SuperviseOnly {
    #[command(flatten)]
    supervise: super::SuperviseArgs,
}

/// Makes the command a run's arguments belong to.
type MakeRun = fn(Box<RunArgs>) -> Command;

/// Parses the command line; on failure prints the problem and returns the
/// exit code (0 for --help and --version).
pub fn parse() -> Result<Cli, i32> {
    let words: Vec<OsString> = std::env::args_os().skip(1).collect();
    let leading: Vec<&str> = words
        .iter()
        .take(2)
        .map(|w| w.to_str().unwrap_or(""))
        .collect();
    let run: Option<(usize, &str, MakeRun)> = match leading.as_slice() {
        ["run", ..] => Some((1, "wharf run", Command::Run)),
        ["container", "run"] => Some((2, "wharf container run", Command::Run)),
        ["create", ..] => Some((1, "wharf create", Command::Create)),
        ["container", "create"] => Some((2, "wharf container create", Command::Create)),
        _ => None,
    };
    let parsed = match run {
        Some((skip, name, make)) => parse_run(name, words[skip..].to_vec(), make),
        // A supervisor lives as long as its container: building every
        // command's definitions would leave their memory in it for good.
        None if leading.first() == Some(&"supervise") => SuperviseOnly::try_parse_from(
            std::iter::once(OsString::from("wharf supervise")).chain(words[1..].iter().cloned()),
        )
        .map(|only| Cli {
            command: Command::Supervise(only.supervise),
        }),
        None => Cli::try_parse(),
    };
    parsed.map_err(|error| {
        let _ = error.print();
        if error.use_stderr() { exit::ERROR } else { 0 }
    })
}

/// `wharf run`'s (or `create`'s) words: wharf's flags up to the program,
/// then the guest's arguments untouched — `--help` and `--version` after
/// the program are the guest's, never wharf's.
fn parse_run(name: &'static str, words: Vec<OsString>, make: MakeRun) -> Result<Cli, clap::Error> {
    let command = RunOnly::command().bin_name(name);
    let split = program_position(&command, &words).map_or(words.len(), |at| at + 1);
    let (ours, guest) = words.split_at(split);
    let mut parsed = RunOnly::from_arg_matches(
        &command.try_get_matches_from(std::iter::once(&OsString::from(name)).chain(ours))?,
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
        command: make(Box::new(parsed.run)),
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
