//! Pulling an image from a registry into the store.
//!
//! Every size the registry announces is checked against wharf's caps
//! before a byte of that content is read (see
//! [`Manifest::check_sizes`](crate::manifest::Manifest::check_sizes)).
//! Order makes it crash-safe: blobs first (each verified and renamed into
//! place whole), manifests after them, the name last. A pull killed or
//! failed at any moment leaves only complete blobs and ingest files that
//! the next open clears; pulling again fetches only what is missing. Two pulls of one image at once
//! both succeed (a blob stored twice is stored once).

use super::{Image, Progress, Store, StoreError, parallel, parse_manifest};
use crate::blobs::{BlobError, Expected};
use crate::manifest::{
    Descriptor, MAX_MANIFEST_SIZE, ManifestError, Parsed, check_size, media_type,
};
use crate::reference::Reference;
use crate::registry::{Client, ClientOptions, stored_credentials};
use crate::store::BlobEvent;

/// How to reach the registry.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Plain HTTP, or HTTPS without certificate checks.
    pub insecure: bool,
}

/// Pulls `reference` and names it; returns the image.
pub fn pull(
    store: &Store,
    reference: &Reference,
    options: &PullOptions,
    progress: &dyn Progress,
) -> Result<Image, StoreError> {
    let client = client_for(reference, options.insecure)?;
    let _hold = store.writing()?;
    let fetched = client.manifest(&reference.registry_reference())?;
    let top_type = parse_manifest(&fetched.digest, &fetched.bytes)?;
    let mut top = Descriptor {
        media_type: media_type_of(&top_type, fetched.media_type.as_deref()),
        digest: fetched.digest.clone(),
        size: fetched.bytes.len() as u64,
        platform: None,
        annotations: Default::default(),
    };
    let (manifest, child) = match top_type {
        Parsed::Manifest(manifest) => (manifest, None),
        Parsed::Index(index) => {
            let entry = index.wasm_manifest().ok_or_else(|| StoreError::NotWasm {
                reference: reference.familiar(),
                why: platforms(&index.manifests),
            })?;
            check_size("manifest", entry, MAX_MANIFEST_SIZE as u64)
                .map_err(|source| manifest_error(&fetched.digest, source))?;
            let child = client.manifest(&entry.digest.to_string())?;
            if child.bytes.len() as u64 != entry.size {
                return Err(BlobError::SizeMismatch {
                    digest: entry.digest.clone(),
                    expected: entry.size,
                    actual: child.bytes.len() as u64,
                }
                .into());
            }
            match parse_manifest(&entry.digest, &child.bytes)? {
                Parsed::Manifest(manifest) => (manifest, Some((entry.clone(), child.bytes))),
                Parsed::Index(_) => {
                    return Err(StoreError::NotWasm {
                        reference: reference.familiar(),
                        why: "its index points at another index".to_owned(),
                    });
                }
            }
        }
    };
    let manifest_digest = child.as_ref().map_or(&fetched.digest, |(e, _)| &e.digest);
    manifest
        .check_sizes()
        .map_err(|source| manifest_error(manifest_digest, source))?;
    // The config first: an image for another platform is refused before
    // any of its layers moves.
    fetch_all(
        &client,
        store,
        std::slice::from_ref(&manifest.config),
        progress,
    )?;
    store.check_runnable(&reference.familiar(), &manifest)?;
    fetch_all(&client, store, &manifest.layers, progress)?;
    if let Some((entry, bytes)) = &child
        && !store.blobs.contains(&entry.digest)
    {
        store.blobs.write(&manifest_expected(entry), &bytes[..])?;
    }
    if !store.blobs.contains(&fetched.digest) {
        store.blobs.write(
            &Expected {
                digest: fetched.digest.clone(),
                size: Some(top.size),
                limit: MAX_MANIFEST_SIZE as u64,
            },
            &fetched.bytes[..],
        )?;
    }
    let image = store.image(&reference.familiar(), &top)?;
    top.platform = None;
    store.refs.set(reference, &top)?;
    Ok(image)
}

/// A client for the reference's repository, with the user's stored
/// credentials for its registry.
pub(crate) fn client_for(reference: &Reference, insecure: bool) -> Result<Client, StoreError> {
    let credentials = stored_credentials(reference.registry())?;
    Ok(Client::new(
        reference.registry(),
        reference.repository(),
        ClientOptions {
            insecure,
            credentials,
        },
    )?)
}

fn manifest_error(digest: &crate::digest::Digest, source: ManifestError) -> StoreError {
    StoreError::Manifest {
        digest: digest.clone(),
        source,
    }
}

fn manifest_expected(entry: &Descriptor) -> Expected {
    Expected {
        digest: entry.digest.clone(),
        size: Some(entry.size),
        limit: MAX_MANIFEST_SIZE as u64,
    }
}

/// Fetches the blobs the store lacks, a few at a time.
fn fetch_all(
    client: &Client,
    store: &Store,
    blobs: &[Descriptor],
    progress: &dyn Progress,
) -> Result<(), StoreError> {
    let missing: Vec<&Descriptor> = blobs
        .iter()
        .filter(|blob| {
            let present = store.blobs.contains(&blob.digest);
            if present {
                progress.finish(&blob.digest, BlobEvent::Present);
            }
            !present
        })
        .collect();
    parallel::for_each(&missing, |blob| fetch_one(client, store, blob, progress))
}

fn fetch_one(
    client: &Client,
    store: &Store,
    blob: &Descriptor,
    progress: &dyn Progress,
) -> Result<(), StoreError> {
    progress.start(&blob.digest, blob.size);
    let advance = |done: u64| progress.advance(&blob.digest, done);
    client.fetch_blob(&blob.digest, blob.size, &store.blobs, &advance)?;
    progress.finish(&blob.digest, BlobEvent::Transferred);
    Ok(())
}

fn media_type_of(parsed: &Parsed, header: Option<&str>) -> String {
    let stated = match parsed {
        Parsed::Manifest(m) => m.media_type.clone(),
        Parsed::Index(i) => i.media_type.clone(),
    };
    stated
        .or_else(|| header.map(str::to_owned))
        .unwrap_or_else(|| {
            match parsed {
                Parsed::Manifest(_) => media_type::OCI_MANIFEST,
                Parsed::Index(_) => media_type::OCI_INDEX,
            }
            .to_owned()
        })
}

fn platforms(manifests: &[Descriptor]) -> String {
    let found: Vec<String> = manifests
        .iter()
        .filter_map(|m| m.platform.as_ref())
        .map(|p| format!("{}/{}", p.os, p.architecture))
        .collect();
    format!("it has no wasi/wasm entry, only {}", found.join(", "))
}
