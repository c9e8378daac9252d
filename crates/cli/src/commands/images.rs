//! `wharf images`, `rmi`, `tag`, `inspect`: the images in the store.

use serde_json::json;
use wharf_image::manifest::Descriptor;
use wharf_image::{Digest, Reference, Store};

use super::{Outcome, open_store, print_listing, reference};
use crate::cli::{ImagesArgs, InspectArgs, InspectKind, RmiArgs, TagArgs};
use crate::progress::human_size;
use crate::report;

/// The column of each field of `images`' rows, for `--format 'table ...'`.
const IMAGE_HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("ID", "IMAGE ID"),
    ("Digest", "DIGEST"),
    ("Size", "SIZE"),
];

pub fn list(args: ImagesArgs) -> Outcome {
    let mut filters = args.listing.filters.clone();
    filters.extend(
        args.repository
            .iter()
            .map(|r| ("reference".to_owned(), r.clone())),
    );
    let filters = ImageFilters::parse(&filters).map_err(|m| report::fail_with(&m))?;
    let store = open_store()?;
    let refs = store.refs().list().map_err(|e| report::fail(&e))?;
    let mut rows = Vec::new();
    for (name, descriptor) in refs {
        let Ok(parsed) = name.parse::<wharf_image::Reference>() else {
            continue;
        };
        // An image that cannot be read is still listed, so it can be removed.
        let image = store.image(&name, &descriptor).ok();
        let (id, size) = match &image {
            Some(image) => (image.id().hex().to_owned(), image.size()),
            None => (descriptor.digest.hex().to_owned(), descriptor.size),
        };
        if !filters.matches(&parsed, image.as_ref()) {
            continue;
        }
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
        rows.push(json!({
            "Repository": repository,
            "Tag": parsed.tag().unwrap_or("<none>"),
            "ID": shown_id,
            "Digest": descriptor.digest.to_string(),
            "Size": human_size(size),
        }));
    }
    if print_listing(&args.listing, &rows, IMAGE_HEADERS)? {
        return Ok(0);
    }
    println!(
        "{:<40} {:<16} {:<14} {:>10}",
        "REPOSITORY", "TAG", "IMAGE ID", "SIZE"
    );
    for row in &rows {
        let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
        println!(
            "{:<40} {:<16} {:<14} {:>10}",
            field("Repository"),
            field("Tag"),
            field("ID"),
            field("Size")
        );
    }
    Ok(0)
}

/// `images --filter`: `dangling=` (an image with no tag: wharf removes an
/// image as its last name goes, so only images named by digest alone are
/// left untagged), `reference=` (a glob on the name, as Docker's), `label=`.
struct ImageFilters(Vec<(String, String)>);

impl ImageFilters {
    const KEYS: &[&str] = &["dangling", "reference", "label"];

    fn parse(filters: &[(String, String)]) -> Result<ImageFilters, String> {
        for (key, value) in filters {
            if !Self::KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "invalid filter '{key}': images take {}",
                    Self::KEYS.join(", ")
                ));
            }
            if key == "dangling" && !["true", "false", "1", "0"].contains(&value.as_str()) {
                return Err(format!(
                    "invalid filter 'dangling={value}': use true or false"
                ));
            }
            if key == "reference" {
                reference_glob(value)?;
            }
        }
        Ok(ImageFilters(filters.to_vec()))
    }

    /// As Docker's: every key must match, a key given twice by either
    /// value, but `label` by every one.
    fn matches(&self, name: &Reference, image: Option<&wharf_image::Image>) -> bool {
        Self::KEYS.iter().all(|key| {
            let mut values = self.0.iter().filter(|(k, _)| k == key).peekable();
            if values.peek().is_none() {
                return true;
            }
            if *key == "label" {
                values.all(|(_, value)| Self::one(key, value, name, image))
            } else {
                values.any(|(_, value)| Self::one(key, value, name, image))
            }
        })
    }

    fn one(key: &str, value: &str, name: &Reference, image: Option<&wharf_image::Image>) -> bool {
        match key {
            "dangling" => name.tag().is_none() == matches!(value, "true" | "1"),
            "reference" => reference_glob(value).is_ok_and(|pattern| {
                let familiar = name.familiar();
                let bare = familiar
                    .rsplit_once(':')
                    .map_or(familiar.as_str(), |(repo, _)| repo);
                pattern.is_match(&familiar) || pattern.is_match(bare)
            }),
            "label" => {
                let labels = image.and_then(|i| i.config.config.labels.as_ref());
                match value.split_once('=') {
                    Some((k, v)) => labels.and_then(|l| l.get(k)).is_some_and(|have| have == v),
                    None => labels.is_some_and(|l| l.contains_key(value)),
                }
            }
            _ => false,
        }
    }
}

/// A `reference=` pattern, as Go's `path.Match` reads it: `*` stops at `/`.
fn reference_glob(pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|glob| glob.compile_matcher())
        .map_err(|e| format!("invalid filter 'reference={pattern}': {e}"))
}

pub fn remove(args: RmiArgs) -> Outcome {
    let store = open_store()?;
    let in_use = images_in_use(&store)?;
    let mut code = 0;
    for text in &args.references {
        let Ok(reference) = reference(text) else {
            code = crate::exit::ERROR;
            continue;
        };
        if !args.force
            && let Err(message) = check_unused(&store, &reference, &in_use)
        {
            code = report::fail_with(&message);
            continue;
        }
        match store.untag(&reference) {
            Ok(descriptor) => {
                println!("Untagged: {}", reference.familiar());
                if !still_named(&store, &descriptor) && !used(&store, &descriptor.digest, &in_use) {
                    println!("Deleted: {}", descriptor.digest);
                }
            }
            Err(error) => code = report::fail(&error),
        }
    }
    let keep: Vec<Digest> = in_use.iter().map(|(_, digest)| digest.clone()).collect();
    store.collect_garbage(&keep).map_err(|e| report::fail(&e))?;
    Ok(code)
}

/// How many images there are, how many containers use, and their bytes.
pub struct ImageUsage {
    pub total: usize,
    pub used: usize,
    pub bytes: u64,
    pub unused_bytes: u64,
}

pub fn usage(store: &Store) -> Result<ImageUsage, i32> {
    let in_use = images_in_use(store)?;
    let refs = store.refs().list().map_err(|e| report::fail(&e))?;
    let mut usage = ImageUsage {
        total: refs.len(),
        used: 0,
        bytes: 0,
        unused_bytes: 0,
    };
    for (name, descriptor) in &refs {
        let size = store
            .image(name, descriptor)
            .map_or(descriptor.size, |i| i.size());
        usage.bytes += size;
        if used(store, &descriptor.digest, &in_use) {
            usage.used += 1;
        } else {
            usage.unused_bytes += size;
        }
    }
    Ok(usage)
}

/// `image prune`: an image loses its blobs as its last name goes, so only
/// leftovers are collected; with `all`, every name of an image no container
/// uses goes first. The bytes freed.
pub fn prune_unused(all: bool) -> Result<u64, i32> {
    let store = open_store()?;
    let in_use = images_in_use(&store)?;
    if all {
        println!("Deleted Images:");
        let refs = store.refs().list().map_err(|e| report::fail(&e))?;
        for (name, descriptor) in &refs {
            if used(&store, &descriptor.digest, &in_use) {
                continue;
            }
            let Ok(parsed) = name.parse::<Reference>() else {
                continue;
            };
            if store.untag(&parsed).is_ok() {
                println!("untagged: {}", parsed.familiar());
            }
        }
    }
    let keep: Vec<Digest> = in_use.iter().map(|(_, digest)| digest.clone()).collect();
    let collected = store.collect_garbage(&keep).map_err(|e| report::fail(&e))?;
    Ok(collected.bytes)
}

pub fn prune(args: crate::cli::ImagePruneArgs) -> Outcome {
    let warning = if args.all {
        "This will remove all images without at least one container associated to them."
    } else {
        "This will remove all dangling images."
    };
    if !args.force && !super::confirm(warning) {
        return Ok(0);
    }
    let freed = prune_unused(args.all)?;
    println!("Total reclaimed space: {}", human_size(freed));
    Ok(0)
}

/// Each container (its short ID) and the stored image its program lives in,
/// whatever its state: running, stopped or restarting.
fn images_in_use(store: &Store) -> Result<Vec<(String, Digest)>, i32> {
    let containers = super::containers::open()?;
    let (containers, _damaged) = containers.list().map_err(|e| report::fail(&e))?;
    Ok(containers
        .iter()
        .filter_map(|c| {
            let digest = store.holding(&c.record.run.program)?;
            Some((c.record.id.chars().take(12).collect(), digest))
        })
        .collect())
}

/// Refuses to remove the last name of an image a container uses, in
/// Docker's words.
fn check_unused(
    store: &Store,
    reference: &Reference,
    in_use: &[(String, Digest)],
) -> Result<(), String> {
    let Ok(descriptor) = store.lookup(reference) else {
        return Ok(()); // untag says why
    };
    let names = store.refs().list().map_err(|e| e.to_string())?;
    let other_names = names
        .iter()
        .filter(|(name, d)| d.digest == descriptor.digest && *name != reference.to_string())
        .count();
    if other_names > 0 {
        return Ok(());
    }
    let reached = store.reachable(vec![descriptor.digest.clone()]);
    let Some((container, _)) = in_use.iter().find(|(_, digest)| reached.contains(digest)) else {
        return Ok(());
    };
    let id = store
        .image(&reference.familiar(), &descriptor)
        .map_or_else(|_| descriptor.digest.clone(), |image| image.id().clone());
    Err(format!(
        "conflict: unable to remove repository reference \"{}\" (must force) - container {container} is using its referenced image {}",
        reference.familiar(),
        id.hex().get(..12).unwrap_or_default()
    ))
}

fn used(store: &Store, top: &Digest, in_use: &[(String, Digest)]) -> bool {
    let reached = store.reachable(vec![top.clone()]);
    in_use.iter().any(|(_, digest)| reached.contains(digest))
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
        if args.kind != Some(InspectKind::Image)
            && let Some(container) = super::containers::inspect(text)
        {
            found.push(container);
            continue;
        }
        if args.kind == Some(InspectKind::Container) {
            return Err(report::fail_with(&format!("no such container: {text}")));
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
            "Labels": image.config.config.labels,
            "Config": image.config.config,
            "Layers": image.manifest.layers.iter().map(|l| json!({
                "MediaType": l.media_type, "Digest": l.digest.to_string(), "Size": l.size,
            })).collect::<Vec<_>>(),
        }));
    }
    if let Some(template) = &args.format {
        for item in &found {
            let line = template.render(item).map_err(|e| report::fail_with(&e))?;
            println!("{line}");
        }
        return Ok(0);
    }
    let text = serde_json::to_string_pretty(&found)
        .map_err(|e| report::fail_with(&format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(0)
}
