//! What a `wharf run`, `create` or compose service asks for, made into
//! the guest's run: from a program file or an image
//! ([`super::run_image`]), with the flags over what either says.

use std::path::Path;

use wharf_engine::{RunSpec, Stdin};

use super::run_image::{self, ImageDefaults};
use crate::cli::RunArgs;
use crate::{flags, report};

/// The run `args` ask for, and what its image says besides (nothing for a
/// program file); the exit code when it cannot be made, said on stderr.
pub fn spec_of(args: &RunArgs) -> Result<(RunSpec, ImageDefaults), i32> {
    if !names_a_file(&args.program) {
        return image_spec_of(args);
    }
    let mut spec = file_spec_of(args).map_err(|message| report::fail_with(&message))?;
    apply_flags(args, &mut spec).map_err(|message| report::fail_with(&message))?;
    Ok((spec, ImageDefaults::default()))
}

/// The run of the image `args` name (pulled as `--pull` says).
pub fn image_spec_of(args: &RunArgs) -> Result<(RunSpec, ImageDefaults), i32> {
    let (mut spec, image) = run_image::spec_from(args)?;
    apply_flags(args, &mut spec).map_err(|message| report::fail_with(&message))?;
    Ok((spec, image))
}

/// A program argument names a file when it exists, ends in `.wasm` or
/// `.wat`, or is a path (`/…`, `./…`, `../…`); anything else is an image.
fn names_a_file(program: &str) -> bool {
    Path::new(program).exists()
        || program.ends_with(".wasm")
        || program.ends_with(".wat")
        || ["/", "./", "../"].iter().any(|p| program.starts_with(p))
}

fn file_spec_of(args: &RunArgs) -> Result<RunSpec, String> {
    if args.entrypoint.is_some() {
        return Err("--entrypoint applies to images, not to a program file".to_owned());
    }
    let mut spec = RunSpec::new(&args.program);
    // As wasmtime and a shell do: argv[0] is the program's file name.
    if let Some(name) = Path::new(&args.program).file_name() {
        spec.args[0] = name.to_string_lossy().into_owned();
    }
    spec.args.extend(args.args.iter().cloned());
    Ok(spec)
}

/// What the flags say, over what the spec has (an image's defaults):
/// environment entries override, volumes add, the workdir replaces.
fn apply_flags(args: &RunArgs, spec: &mut RunSpec) -> Result<(), String> {
    let flagged = flags::environment(&args.env_files, &args.env, ("-e", "env"), |key| {
        std::env::var(key).ok()
    })?;
    for (key, value) in flagged {
        match spec.env.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => spec.env.push((key, value)),
        }
    }
    spec.volumes.extend(args.volumes.iter().cloned());
    // Resolved once, here, where the run is made: every later start of it
    // finds the same directories or refuses.
    wharf_engine::resolve_volumes(&mut spec.volumes).map_err(|e| report::chain(&e))?;
    crate::volumes::refuse_state(&spec.volumes)?;
    if let Some(workdir) = &args.workdir {
        if !workdir.starts_with('/') {
            return Err(format!("working directory `{workdir}` must be absolute"));
        }
        spec.workdir = Some(workdir.clone());
    }
    if args.interactive {
        spec.stdin = Stdin::Inherit;
    }
    if let Some(memory) = args.memory {
        spec.memory_limit = memory;
    }
    spec.network = wharf_engine::NetworkPolicy::new(args.allow_outbound.clone())
        .with_listen(args.allow_listen.clone());
    if args.security_opts.contains(&flags::SecurityOpt::NoLayers) {
        spec.layers = wharf_engine::Layers::Off;
    }
    Ok(())
}
