//! `wharf run REF`: find or pull the image; what it runs is decided in
//! [`wharf_lifecycle::launch`].

use wharf_engine::RunSpec;
use wharf_image::store::{self, PullOptions, RunDefaults};
use wharf_image::{Image, Reference, Store};
use wharf_lifecycle::LifecycleError;
use wharf_lifecycle::launch::{self, Overrides};

use super::{open_store, reference};
use crate::cli::RunArgs;
use crate::progress::Transfers;
use crate::{exit, report};

/// The run the image says (the flags go over it in [`super::request`]),
/// and what else the image says.
pub fn spec_from(args: &RunArgs) -> Result<(RunSpec, RunDefaults), i32> {
    let name = reference(&args.program)?;
    let store = open_store()?;
    let image = find_or_pull(&store, &name, args)?;
    let overrides = Overrides {
        entrypoint: args.entrypoint.as_deref(),
        args: &args.args,
    };
    let spec = launch::image_run(&store, &image, overrides).map_err(|e| fail(&e))?;
    Ok((spec, image.run_defaults()))
}

/// Says why a run cannot be made; 127 when its program is missing.
pub fn fail(error: &LifecycleError) -> i32 {
    let code = report::fail(error);
    match error {
        LifecycleError::ProgramNotFound { .. } => exit::NOT_FOUND,
        _ => code,
    }
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
