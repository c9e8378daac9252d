//! Pushing a stored image to a registry.
//!
//! Blobs the registry has are skipped; blobs that another repository of
//! the same registry holds (known from the names in the store) are
//! mounted rather than uploaded; manifests go last, children of an index
//! before the index.

use std::collections::{HashMap, HashSet};

use super::pull::client_for;
use super::{BlobEvent, Progress, Store, StoreError, parallel, parse_manifest};
use crate::digest::Digest;
use crate::manifest::{Descriptor, Parsed};
use crate::reference::Reference;
use crate::registry::Client;

/// How to reach the registry.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Plain HTTP, or HTTPS without certificate checks.
    pub insecure: bool,
}

/// Pushes the image `reference` names; returns the pushed manifest digest.
pub fn push(
    store: &Store,
    reference: &Reference,
    options: &PushOptions,
    progress: &dyn Progress,
) -> Result<Digest, StoreError> {
    let top = store.lookup(reference)?;
    let client = client_for(reference, options.insecure)?;
    let mounts = mount_sources(store, reference)?;
    let bytes = store.blobs.read(&top.digest)?;
    if let Parsed::Index(index) = parse_manifest(&top.digest, &bytes)? {
        for child in index
            .manifests
            .iter()
            .filter(|c| store.blobs.contains(&c.digest))
        {
            push_manifest(
                store,
                &client,
                child,
                &child.digest.to_string(),
                &mounts,
                progress,
            )?;
        }
    }
    push_manifest(
        store,
        &client,
        &top,
        &reference.registry_reference(),
        &mounts,
        progress,
    )?;
    Ok(top.digest)
}

/// Pushes one manifest's blobs, then the manifest under `tag`.
fn push_manifest(
    store: &Store,
    client: &Client,
    descriptor: &Descriptor,
    tag: &str,
    mounts: &HashMap<Digest, String>,
    progress: &dyn Progress,
) -> Result<(), StoreError> {
    let bytes = store.blobs.read(&descriptor.digest)?;
    if let Parsed::Manifest(manifest) = parse_manifest(&descriptor.digest, &bytes)? {
        let mut blobs = vec![manifest.config.clone()];
        blobs.extend(manifest.layers.iter().cloned());
        send_all(store, client, &blobs, mounts, progress)?;
    }
    client.put_manifest(tag, &descriptor.media_type, &bytes)?;
    Ok(())
}

fn send_all(
    store: &Store,
    client: &Client,
    blobs: &[Descriptor],
    mounts: &HashMap<Digest, String>,
    progress: &dyn Progress,
) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    let unique: Vec<&Descriptor> = blobs.iter().filter(|b| seen.insert(&b.digest)).collect();
    parallel::for_each(&unique, |blob| {
        send_one(store, client, blob, mounts, progress)
    })
}

fn send_one(
    store: &Store,
    client: &Client,
    blob: &Descriptor,
    mounts: &HashMap<Digest, String>,
    progress: &dyn Progress,
) -> Result<(), StoreError> {
    if client.blob_exists(&blob.digest)? {
        progress.finish(&blob.digest, BlobEvent::Present);
        return Ok(());
    }
    if let Some(from) = mounts.get(&blob.digest)
        && client.mount_blob(&blob.digest, from)?
    {
        progress.finish(&blob.digest, BlobEvent::Mounted);
        return Ok(());
    }
    progress.start(&blob.digest, blob.size);
    let mut file = store.blobs.open_blob(&blob.digest)?;
    let advance = |done: u64| progress.advance(&blob.digest, done);
    client.push_blob(&blob.digest, blob.size, &mut file, &advance)?;
    progress.finish(&blob.digest, BlobEvent::Transferred);
    Ok(())
}

/// For each blob, another repository of the target's registry that the
/// store has an image of holding it: the registry likely has it there.
fn mount_sources(store: &Store, target: &Reference) -> Result<HashMap<Digest, String>, StoreError> {
    let mut sources = HashMap::new();
    for (name, descriptor) in store.refs.list()? {
        let Ok(other) = name.parse::<Reference>() else {
            continue;
        };
        if other.registry() != target.registry() || other.repository() == target.repository() {
            continue;
        }
        let Ok(image) = store.image(&name, &descriptor) else {
            continue;
        };
        let blobs = std::iter::once(&image.manifest.config).chain(&image.manifest.layers);
        for blob in blobs {
            sources
                .entry(blob.digest.clone())
                .or_insert_with(|| other.repository().to_owned());
        }
    }
    Ok(sources)
}
