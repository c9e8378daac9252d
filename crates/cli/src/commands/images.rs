//! `wharf images`, `rmi`, `tag`, `inspect`: the images in the store.

use serde_json::json;
use wharf_image::Store;
use wharf_image::manifest::Descriptor;

use super::{Outcome, open_store, reference};
use crate::cli::{ImagesArgs, InspectArgs, RmiArgs, TagArgs};
use crate::progress::human_size;
use crate::report;

pub fn list(args: ImagesArgs) -> Outcome {
    let store = open_store()?;
    let refs = store.refs().list().map_err(|e| report::fail(&e))?;
    if !args.listing.quiet && args.listing.format == "table" {
        println!(
            "{:<40} {:<16} {:<14} {:>10}",
            "REPOSITORY", "TAG", "IMAGE ID", "SIZE"
        );
    }
    for (name, descriptor) in refs {
        let Ok(parsed) = name.parse::<wharf_image::Reference>() else {
            continue;
        };
        // An image that cannot be read is still listed, so it can be removed.
        let (id, size) = match store.image(&name, &descriptor) {
            Ok(image) => (image.id().hex().to_owned(), image.size()),
            Err(_) => (descriptor.digest.hex().to_owned(), descriptor.size),
        };
        let shown_id = if args.listing.no_trunc {
            format!("sha256:{id}")
        } else {
            id[..12].to_owned()
        };
        let familiar = parsed.familiar();
        let repository = familiar
            .rsplit_once(':')
            .filter(|_| parsed.tag().is_some() && parsed.digest().is_none())
            .map_or(familiar.as_str(), |(repo, _)| repo);
        let tag = parsed.tag().unwrap_or("<none>");
        match (args.listing.quiet, args.listing.format.as_str()) {
            (true, _) => println!("{shown_id}"),
            (false, "json") => println!(
                "{}",
                json!({"Repository": repository, "Tag": tag, "ID": shown_id,
                       "Digest": descriptor.digest.to_string(), "Size": size})
            ),
            _ => println!(
                "{repository:<40} {tag:<16} {shown_id:<14} {:>10}",
                human_size(size)
            ),
        }
    }
    Ok(0)
}

pub fn remove(args: RmiArgs) -> Outcome {
    let store = open_store()?;
    let mut code = 0;
    for text in &args.references {
        let Ok(reference) = reference(text) else {
            code = crate::exit::ERROR;
            continue;
        };
        match store.untag(&reference) {
            Ok(descriptor) => {
                println!("Untagged: {}", reference.familiar());
                if !still_named(&store, &descriptor) {
                    println!("Deleted: {}", descriptor.digest);
                }
            }
            Err(error) => code = report::fail(&error),
        }
    }
    store.collect_garbage().map_err(|e| report::fail(&e))?;
    Ok(code)
}

fn still_named(store: &Store, descriptor: &Descriptor) -> bool {
    store
        .refs()
        .list()
        .is_ok_and(|refs| refs.iter().any(|(_, d)| d.digest == descriptor.digest))
}

pub fn tag(args: TagArgs) -> Outcome {
    let store = open_store()?;
    let source = reference(&args.source)?;
    let target = reference(&args.target)?;
    store.tag(&source, &target).map_err(|e| report::fail(&e))?;
    Ok(0)
}

pub fn inspect(args: InspectArgs) -> Outcome {
    let store = open_store()?;
    let mut found = Vec::new();
    for text in &args.references {
        if let Some(container) = super::containers::inspect(text) {
            found.push(container);
            continue;
        }
        let reference = reference(text)?;
        let descriptor = store.lookup(&reference).map_err(|e| report::fail(&e))?;
        let image = store
            .image(&reference.familiar(), &descriptor)
            .map_err(|e| report::fail(&e))?;
        found.push(json!({
            "Id": image.id().to_string(),
            "RepoTags": [reference.familiar()],
            "Digest": descriptor.digest.to_string(),
            "MediaType": descriptor.media_type,
            "ManifestDigest": image.manifest_digest.to_string(),
            "Shape": format!("{:?}", image.shape),
            "Os": image.config.os,
            "Architecture": image.config.architecture,
            "Created": image.config.created,
            "Size": image.size(),
            "Config": image.config.config,
            "Layers": image.manifest.layers.iter().map(|l| json!({
                "MediaType": l.media_type, "Digest": l.digest.to_string(), "Size": l.size,
            })).collect::<Vec<_>>(),
        }));
    }
    let text = serde_json::to_string_pretty(&found)
        .map_err(|e| report::fail_with(&format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(0)
}
