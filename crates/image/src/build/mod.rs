//! `wharf build`: images of Wasm apps from a Dockerfile.
//!
//! A Wasm image has no base image and no shell, so the Dockerfile is the
//! part of Docker's that makes sense without them:
//!
//! - `FROM scratch` (only scratch; one stage), `ARG` before and after it.
//! - `COPY [--chmod=OCTAL] SRC... DEST`, shell or JSON form. Sources are
//!   files, directories (their contents go into DEST) or `*`/`?` globs,
//!   relative to the context (an absolute source too, as in Docker); one
//!   that leaves the context, directly or through a symlink, is refused.
//!   `.dockerignore` is honoured (`*`, `?`, `**`, `!` exceptions). DEST is
//!   relative to WORKDIR; it is a directory when it ends in `/`, is one
//!   already, or several sources are copied. Symlinks inside copied
//!   directories stay symlinks if their target stays inside the image.
//!   `--chown` is ignored with a warning, `--link` accepted.
//! - `ENTRYPOINT`, `CMD`: the JSON form as is; the shell form is split on
//!   whitespace (no quotes, no variables), since there is no shell.
//! - `ENV` (`K=V ...` and `K V`), `LABEL`, `WORKDIR`, `EXPOSE`,
//!   `STOPSIGNAL`: into the image config under Docker's field names.
//! - `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`,
//!   `${VAR:?msg}` where Docker expands them (COPY, ENV, LABEL, WORKDIR,
//!   EXPOSE, STOPSIGNAL, ARG defaults, FROM), with quotes and escapes.
//! - `USER`, `VOLUME`, `HEALTHCHECK`, `MAINTAINER`: ignored with a warning.
//!   `RUN`, `ADD`, `SHELL`, `ONBUILD`, anything else: an error naming the
//!   line.
//! - Parser directives: `# escape=` (`\` or `` ` ``), `# syntax=` ignored.
//!
//! The result is reproducible: entries sorted, parents included, uid/gid
//! 0 without names, modes normalized (directories 0755, files 0644 or
//! 0755 when any exec bit is set, or `--chmod`), one mtime
//! (`source_date_epoch` or 0), gzip without name or time, no `created`
//! unless `source_date_epoch` is given.

pub(crate) mod context;
mod dockerfile;
mod error;
mod eval;
mod image;
mod layer;

#[cfg(test)]
mod artifact_tests;
#[cfg(test)]
mod dockerfile_tests;
#[cfg(test)]
mod tests;

use std::fs;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

pub use error::{BuildError, InstructionError};

use crate::blobs::BlobStore;
use crate::manifest::Descriptor;

/// The largest Dockerfile a build reads.
const MAX_DOCKERFILE_SIZE: u64 = 4 << 20;

/// What to build and how.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The build context directory.
    pub context: PathBuf,
    /// The Dockerfile; `CONTEXT/Dockerfile` when `None`.
    pub dockerfile: Option<PathBuf>,
    /// `--build-arg NAME=VALUE`, in order (the last one of a name wins).
    pub build_args: Vec<(String, String)>,
    /// Build a CNCF Wasm OCI artifact instead of a Docker-style image.
    pub artifact: bool,
    /// `wasi/wasm` (the default), `wasip1/wasm` or `wasip2/wasm`. For an
    /// artifact the OS comes from the module's header; `wasip1`/`wasip2`
    /// then only checks it.
    pub platform: Option<String>,
    /// `SOURCE_DATE_EPOCH`: the mtime of every layer entry and the
    /// `created` time of the image; without it mtimes are 0 and the image
    /// has no `created`.
    pub source_date_epoch: Option<u64>,
}

/// A built image, stored but not yet named.
#[derive(Debug, Clone)]
pub struct Built {
    /// The manifest: media type, digest, size and platform.
    pub manifest: Descriptor,
    /// What the build ignored or dropped, one line each.
    pub warnings: Vec<String>,
}

/// Builds the image the Dockerfile describes and stores its layers,
/// config and manifest in `blobs`.
pub fn build(blobs: &BlobStore, options: &BuildOptions) -> Result<Built, BuildError> {
    let target = Target::of(options.platform.as_deref())?;
    if target.is_compat() && options.artifact {
        return Err(BuildError::CompatArtifact);
    }
    let path = options
        .dockerfile
        .clone()
        .unwrap_or_else(|| options.context.join("Dockerfile"));
    let file = display_name(&path);
    let text = read_dockerfile(&path)?;
    let at = |(line, kind)| BuildError::Instruction {
        file: file.clone(),
        line,
        kind,
    };
    let parsed = dockerfile::parse(&text).map_err(at)?;
    if !parsed.instructions.iter().any(|i| i.keyword == "FROM") {
        return Err(BuildError::NoFrom { file: file.clone() });
    }
    let context = context::Context::open(&options.context)?;
    let plan = eval::evaluate(
        &parsed,
        &file,
        &context,
        &options.build_args,
        (target.os, target.architecture),
    )
    .map_err(at)?;
    let mut warnings = plan.warnings.clone();
    let manifest = if options.artifact {
        image::artifact(
            blobs,
            &plan,
            target.os,
            options.source_date_epoch,
            &mut warnings,
        )?
    } else {
        image::docker_image(blobs, &plan, &target, options.source_date_epoch)?
    };
    Ok(Built { manifest, warnings })
}

/// The platform an image is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    /// `wasi`, `wasip1`, `wasip2`, or `linux` for a compat image.
    pub os: &'static str,
    /// `wasm`, or the Linux architecture of a compat image.
    pub architecture: &'static str,
}

impl Target {
    /// What `--platform` names: a Wasm platform (`wasi/wasm` by default),
    /// or `linux/amd64`/`linux/arm64` for a compat image — a Wasm image
    /// that engines which take only their host's OS accept (Docker 20.10
    /// refuses `os: wasi`), marked with crun's `compat` annotation.
    fn of(platform: Option<&str>) -> Result<Target, BuildError> {
        let (os, architecture) = match platform.unwrap_or("wasi/wasm") {
            "wasi/wasm" => ("wasi", "wasm"),
            "wasip1/wasm" => ("wasip1", "wasm"),
            "wasip2/wasm" => ("wasip2", "wasm"),
            "linux/amd64" => ("linux", "amd64"),
            "linux/arm64" => ("linux", "arm64"),
            other => return Err(BuildError::Platform(other.to_owned())),
        };
        Ok(Target { os, architecture })
    }

    /// Whether this is a compat image (a Linux platform).
    pub fn is_compat(&self) -> bool {
        self.os == "linux"
    }
}

/// The Dockerfile as errors name it: without a leading `./`.
fn display_name(path: &Path) -> String {
    let mut components = path.components();
    if path.components().next() == Some(Component::CurDir) {
        components.next();
    }
    components.as_path().display().to_string()
}

fn read_dockerfile(path: &Path) -> Result<String, BuildError> {
    let io = |source| BuildError::Io {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCKERFILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_DOCKERFILE_SIZE {
        return Err(BuildError::DockerfileTooLarge {
            path: path.to_owned(),
            limit: MAX_DOCKERFILE_SIZE,
        });
    }
    String::from_utf8(bytes)
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}
