//! `wharf run REF`: an image's program with the image's defaults.
//!
//! What the guest gets from the image: its files at `/`, read-only (the
//! unpacked tree is shared by every run of the image, so no run can change
//! what the next one sees; data a guest writes goes to `-v` volumes), its
//! `Env` (under `-e`), its `WorkingDir` (unless `-w`), and argv =
//! Entrypoint + Cmd, where `--entrypoint` replaces the first and ARGS the
//! second, as in Docker. Wasm artifacts and component layers carry only the
//! module: the guest gets no files, argv is the image name and ARGS.

use wharf_engine::RunSpec;
use wharf_image::store::{self, PullOptions, Shape};
use wharf_image::{Image, Reference, Store};

use super::{open_store, reference};
use crate::cli::RunArgs;
use crate::progress::Transfers;
use crate::{exit, report};

/// What an image gives a container besides its run.
#[derive(Debug, Clone, Default)]
pub struct ImageDefaults {
    /// The TCP ports it exposes.
    pub exposed: Vec<u16>,
    /// Its labels.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The run the image says (the flags go over it in [`super::request`]),
/// and what else the image says.
pub fn spec_from(args: &RunArgs) -> Result<(RunSpec, ImageDefaults), i32> {
    let name = reference(&args.program)?;
    let store = open_store()?;
    let image = find_or_pull(&store, &name, args)?;
    let spec = match image.shape {
        Shape::Docker => from_files(&store, &image, args)?,
        Shape::Artifact | Shape::Component => from_module(&store, &image, &name, args)?,
    };
    let defaults = ImageDefaults {
        exposed: image.config.config.exposed_tcp_ports(),
        labels: image.config.config.labels.clone().unwrap_or_default(),
    };
    Ok((spec, defaults))
}

fn find_or_pull(store: &Store, name: &Reference, args: &RunArgs) -> Result<Image, i32> {
    let stored = store.resolve(name).map_err(|e| report::fail(&e))?;
    let descriptor = match (stored, args.pull.as_str()) {
        (Some(descriptor), "missing" | "never") => descriptor,
        (None, "never") => {
            return Err(report::fail_with(&format!(
                "no such image: {} (and --pull never)",
                name.familiar()
            )));
        }
        (found, _) => {
            if found.is_none() {
                eprintln!("Unable to find image '{}' locally", name.familiar());
            }
            let options = PullOptions {
                insecure: !args.registry.tls_verify,
            };
            let progress = Transfers::new("Pulling", false);
            let pulled = store::pull(store, name, &options, &progress);
            progress.end();
            return pulled.map_err(|e| report::fail(&e));
        }
    };
    store
        .image(&name.familiar(), &descriptor)
        .map_err(|e| report::fail(&e))
}

fn from_files(store: &Store, image: &Image, args: &RunArgs) -> Result<RunSpec, i32> {
    let config = &image.config.config;
    let mut argv: Vec<String> = match &args.entrypoint {
        Some(entrypoint) => vec![entrypoint.clone()],
        None => config.entrypoint.clone().unwrap_or_default(),
    };
    if !args.args.is_empty() {
        argv.extend(args.args.iter().cloned());
    } else if args.entrypoint.is_none() {
        argv.extend(config.cmd.iter().flatten().cloned());
    }
    let Some(program) = argv.first() else {
        return Err(report::fail_with(
            "the image names no program (no Entrypoint or Cmd): give one after the image",
        ));
    };
    let rootfs = store.rootfs(image).map_err(|e| report::fail(&e))?;
    let workdir = workdir_of(image);
    let host_program = locate(&rootfs, program, workdir.as_deref()).map_err(|e| {
        eprintln!("wharf: {e}");
        exit::NOT_FOUND
    })?;
    let mut spec = RunSpec::new(host_program);
    spec.args = argv;
    spec.env = config
        .env
        .iter()
        .flatten()
        .filter_map(|entry| entry.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    spec.workdir = workdir;
    spec.volumes = wharf_lifecycle::rootfs_volumes(&rootfs, true);
    Ok(spec)
}

fn from_module(
    store: &Store,
    image: &Image,
    name: &Reference,
    args: &RunArgs,
) -> Result<RunSpec, i32> {
    if args.entrypoint.is_some() {
        return Err(report::fail_with(
            "--entrypoint does not apply: a Wasm artifact holds exactly one module",
        ));
    }
    let layer = image
        .module_layer()
        .ok_or_else(|| report::fail_with("the artifact has no module layer"))?;
    let mut spec = RunSpec::new(store.blobs().path(&layer.digest));
    spec.args = vec![name.familiar()];
    spec.args.extend(args.args.iter().cloned());
    Ok(spec)
}

/// The image's absolute working directory, if it names one.
fn workdir_of(image: &Image) -> Option<String> {
    image
        .config
        .config
        .working_dir
        .clone()
        .filter(|w| w.starts_with('/'))
}

/// Where `program` is in the unpacked image, found as a container runtime
/// finds it: symlinks in the image resolve inside the image.
fn locate(
    rootfs: &std::path::Path,
    program: &str,
    workdir: Option<&str>,
) -> Result<std::path::PathBuf, wharf_lifecycle::LifecycleError> {
    wharf_lifecycle::program_in_rootfs(rootfs, program, workdir.unwrap_or("/"))
}

/// The file of the program a plain `wharf run IMAGE` runs: the module of
/// an artifact, or the image's Entrypoint (else Cmd) in its files. `None`
/// when the image names none.
pub fn default_program(store: &Store, image: &Image) -> Result<Option<std::path::PathBuf>, String> {
    if !matches!(image.shape, Shape::Docker) {
        return Ok(image
            .module_layer()
            .map(|layer| store.blobs().path(&layer.digest)));
    }
    let config = &image.config.config;
    let program = config
        .entrypoint
        .iter()
        .flatten()
        .chain(config.cmd.iter().flatten())
        .next();
    let Some(program) = program else {
        return Ok(None);
    };
    let rootfs = store.rootfs(image).map_err(|e| report::chain(&e))?;
    locate(&rootfs, program, workdir_of(image).as_deref())
        .map(Some)
        .map_err(|e| e.to_string())
}
