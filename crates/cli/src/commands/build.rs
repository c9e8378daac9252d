//! `wharf build`: an image from a Dockerfile, named in the store.

use wharf_image::build::{BuildOptions, build as build_image};

use super::{Outcome, open_store, reference};
use crate::cli::BuildArgs;
use crate::report;

pub fn build(args: BuildArgs) -> Outcome {
    let digest = make_image(&args)?;
    println!("{digest}");
    Ok(0)
}

/// Builds the image `args` describe and names it; its manifest's digest.
pub fn make_image(args: &BuildArgs) -> Result<String, i32> {
    let names = args
        .tags
        .iter()
        .map(|tag| reference(tag))
        .collect::<Result<Vec<_>, _>>()?;
    let build_args = args
        .build_args
        .iter()
        .map(|arg| match arg.split_once('=') {
            Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
            // `--build-arg KEY` takes the value from the environment, as Docker does.
            None => std::env::var(arg)
                .map(|value| (arg.clone(), value))
                .map_err(|_| {
                    report::fail_with(&format!("--build-arg {arg}: not set in the environment"))
                }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => Some(text.parse::<u64>().map_err(|_| {
            report::fail_with(&format!(
                "SOURCE_DATE_EPOCH `{text}` is not a number of seconds"
            ))
        })?),
        Err(_) => None,
    };
    let store = open_store()?;
    let _hold = store.writing().map_err(|e| report::fail(&e))?;
    let options = BuildOptions {
        context: args.context.clone(),
        dockerfile: args.file.clone(),
        build_args,
        artifact: args.artifact,
        platform: args.platform.clone(),
        source_date_epoch,
    };
    let built = build_image(store.blobs(), &options).map_err(|e| report::fail(&e))?;
    for warning in &built.warnings {
        eprintln!("wharf: warning: {warning}");
    }
    for name in &names {
        store
            .refs()
            .set(name, &built.manifest)
            .map_err(|e| report::fail(&e))?;
        if !args.quiet {
            eprintln!("Named {}", name.familiar());
        }
    }
    drop(_hold);
    super::compile::ahead_of_stored(&store, names.first(), &built.manifest, args.quiet);
    Ok(built.manifest.digest.to_string())
}
