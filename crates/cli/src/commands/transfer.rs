//! `wharf pull` and `wharf push`.

use wharf_image::store::{self, PullOptions, PushOptions};

use super::{Outcome, open_store, reference};
use crate::cli::{PullArgs, PushArgs};
use crate::progress::Transfers;
use crate::report;

pub fn pull(args: PullArgs) -> Outcome {
    check_platform(&args.platform)?;
    let store = open_store()?;
    let reference = reference(&args.reference)?;
    if !args.quiet {
        eprintln!("Pulling {}", reference.familiar());
    }
    let progress = Transfers::new("Pulling", args.quiet);
    let options = PullOptions {
        insecure: !args.registry.tls_verify,
    };
    let image = store::pull(&store, &reference, &options, &progress);
    progress.end();
    let image = image.map_err(|e| report::fail(&e))?;
    if !args.quiet {
        eprintln!("Digest: {}", image.top.digest);
    }
    super::compile::ahead(&store, &image, args.quiet);
    println!("{}", reference.familiar());
    Ok(0)
}

pub fn push(args: PushArgs) -> Outcome {
    let store = open_store()?;
    let reference = reference(&args.reference)?;
    if !args.quiet {
        eprintln!("Pushing {}", reference.familiar());
    }
    let progress = Transfers::new("Pushing", args.quiet);
    let options = PushOptions {
        insecure: !args.registry.tls_verify,
    };
    let digest = store::push(&store, &reference, &options, &progress);
    progress.end();
    let digest = digest.map_err(|e| report::fail(&e))?;
    if !args.quiet {
        eprintln!("{}: digest: {digest}", reference.familiar());
    }
    Ok(0)
}

/// Only Wasm platforms run here; anything else is refused up front.
pub fn check_platform(platform: &str) -> Result<(), i32> {
    match platform {
        "wasi/wasm" | "wasip1/wasm" | "wasip2/wasm" => Ok(()),
        other => Err(report::fail_with(&format!(
            "platform `{other}` is not supported: wharf runs wasi/wasm images"
        ))),
    }
}
