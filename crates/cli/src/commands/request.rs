//! What a `wharf run`, `create` or compose service asks for, made into
//! the guest's run: from a program file or an image
//! ([`super::run_image`]), with the flags over what either says.

use wharf_engine::{RunSpec, Stdin};
use wharf_image::store::RunDefaults;
use wharf_lifecycle::launch::{self, Overrides};

use super::run_image;
use crate::cli::RunArgs;
use crate::{flags, report};

/// The run `args` ask for, and what its image says besides (nothing for a
/// program file); the exit code when it cannot be made, said on stderr.
pub fn spec_of(args: &RunArgs) -> Result<(RunSpec, RunDefaults), i32> {
    if !launch::names_a_file(&args.program) {
        return image_spec_of(args);
    }
    let overrides = Overrides {
        entrypoint: args.entrypoint.as_deref(),
        args: &args.args,
    };
    let mut spec = launch::file_run(&args.program, overrides).map_err(|e| run_image::fail(&e))?;
    apply_flags(args, &mut spec).map_err(|message| report::fail_with(&message))?;
    Ok((spec, RunDefaults::default()))
}

/// The run of the image `args` name (pulled as `--pull` says).
pub fn image_spec_of(args: &RunArgs) -> Result<(RunSpec, RunDefaults), i32> {
    let (mut spec, image) = run_image::spec_from(args)?;
    apply_flags(args, &mut spec).map_err(|message| report::fail_with(&message))?;
    Ok((spec, image))
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
