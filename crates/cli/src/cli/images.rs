//! The arguments of the image and registry commands.

use std::path::PathBuf;

use clap::Args;

use super::ListingFlags;
use crate::flags;

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
    /// Only this repository (and tag), as `--filter reference=` takes it
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub repository: Option<String>,
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
    /// Only containers or only images
    #[arg(long = "type", value_name = "TYPE", value_enum)]
    pub kind: Option<InspectKind>,
    /// The containers or images
    #[arg(value_name = "NAME|ID|REF", required = true)]
    pub references: Vec<String>,
}

/// What `inspect --type` looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InspectKind {
    Container,
    Image,
}

impl InspectArgs {
    /// These arguments, looking only for `kind`.
    pub fn only(self, kind: InspectKind) -> InspectArgs {
        InspectArgs {
            kind: Some(kind),
            ..self
        }
    }
}

/// `wharf history`
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Show full IDs and commands
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Print only the IDs of the layers
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// table, json, or a Go template ('{{.CreatedBy}}')
    #[arg(long, value_name = "FORMAT", value_parser = crate::format::parse_format,
          default_value = "table")]
    pub format: crate::format::Format,
    /// The image
    #[arg(value_name = "REF")]
    pub reference: String,
}

/// `wharf image prune`
#[derive(Debug, Args)]
pub struct ImagePruneArgs {
    /// Every image no container uses, not only those without a name
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not ask for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `wharf system prune`
#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Every image no container uses, not only those without a name
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Anonymous volumes no container uses, too (named ones stay)
    #[arg(long)]
    pub volumes: bool,
    /// Do not ask for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
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
