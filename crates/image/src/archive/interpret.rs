//! Making images of what a loaded archive held: `index.json` (OCI layout,
//! Docker 25+) or else `manifest.json` (older `docker save`, skopeo).

use std::io::Read;
use std::path::Path;

use super::contents::{Contents, File, LoadLimits, clean_path};
use super::{
    ArchiveError, ArchivedImage, DOCKER_MANIFEST_FILE, DockerEntry, INDEX_FILE, LAYOUT_FILE,
    REPOSITORIES_FILE, blob_path,
};
use crate::blobs::BlobStore;
use crate::digest::Digest;
use crate::manifest::{self, Descriptor, Index, Manifest, ManifestError, Parsed, media_type};
use crate::reference::Reference;
use crate::refs::{NAME_ANNOTATION, REF_NAME_ANNOTATION};

/// Links followed in a row at most.
const MAX_LINK_HOPS: usize = 8;

/// Whether `path` is one of the files that describe the archive.
pub(super) fn is_metadata(path: &str) -> bool {
    matches!(
        path,
        INDEX_FILE | DOCKER_MANIFEST_FILE | REPOSITORIES_FILE | LAYOUT_FILE
    )
}

/// The images the archive holds, every manifest checked and stored.
pub(super) fn images(
    blobs: &BlobStore,
    contents: &Contents,
    limits: &LoadLimits,
) -> Result<Vec<ArchivedImage>, ArchiveError> {
    let docker: Option<Vec<DockerEntry>> = json(contents, DOCKER_MANIFEST_FILE, limits)?;
    if let Some(index) = json::<Index>(contents, INDEX_FILE, limits)? {
        oci_images(blobs, &index, docker.as_deref())
    } else if let Some(entries) = docker {
        docker_images(blobs, contents, &entries)
    } else {
        Err(ArchiveError::NotAnImage)
    }
}

fn json<T: serde::de::DeserializeOwned>(
    contents: &Contents,
    path: &str,
    limits: &LoadLimits,
) -> Result<Option<T>, ArchiveError> {
    match contents.files.get(path) {
        None => Ok(None),
        Some(File::Memory(bytes)) => {
            serde_json::from_slice(bytes)
                .map(Some)
                .map_err(|source| ArchiveError::Json {
                    path: path.to_owned(),
                    source,
                })
        }
        Some(File::Stored { .. }) => Err(ArchiveError::FileTooLarge {
            path: path.to_owned(),
            limit: limits.max_metadata_bytes,
        }),
    }
}

/// Images of an OCI layout: each `index.json` entry, checked down to its
/// layers. Names from the annotations, else from `manifest.json`.
fn oci_images(
    blobs: &BlobStore,
    index: &Index,
    docker: Option<&[DockerEntry]>,
) -> Result<Vec<ArchivedImage>, ArchiveError> {
    let mut images = Vec::new();
    for descriptor in &index.manifests {
        let config = check(blobs, descriptor, INDEX_FILE)?;
        let mut names = Vec::new();
        if let Some(name) = descriptor.annotations.get(NAME_ANNOTATION) {
            names.push(Some(parse_name(name, INDEX_FILE)?));
        } else if let Some(name) = descriptor
            .annotations
            .get(REF_NAME_ANNOTATION)
            .filter(|name| name.contains([':', '/']))
            .and_then(|name| name.parse::<Reference>().ok())
        {
            names.push(Some(name));
        } else if let (Some(docker), Some(config)) = (docker, config) {
            let config = blob_path(&config);
            for entry in docker.iter().filter(|entry| entry.config == config) {
                for tag in &entry.repo_tags {
                    names.push(Some(parse_name(tag, DOCKER_MANIFEST_FILE)?));
                }
            }
        }
        if names.is_empty() {
            names.push(None);
        }
        let mut manifest = descriptor.clone();
        manifest.annotations.remove(NAME_ANNOTATION);
        manifest.annotations.remove(REF_NAME_ANNOTATION);
        images.extend(names.into_iter().map(|name| ArchivedImage {
            name,
            manifest: manifest.clone(),
        }));
    }
    Ok(images)
}

fn parse_name(name: &str, path: &str) -> Result<Reference, ArchiveError> {
    name.parse().map_err(|source| ArchiveError::Name {
        path: path.to_owned(),
        value: name.to_owned(),
        source,
    })
}

/// Checks that a manifest or index and all it needs are stored; returns
/// the config digest of the manifest `docker load` would use.
fn check(
    blobs: &BlobStore,
    descriptor: &Descriptor,
    from: &str,
) -> Result<Option<Digest>, ArchiveError> {
    let digest = &descriptor.digest;
    let path = blob_path(digest);
    let missing = |digest: &Digest| ArchiveError::Missing {
        from: from.to_owned(),
        missing: blob_path(digest),
    };
    if !matches!(
        descriptor.media_type.as_str(),
        media_type::OCI_MANIFEST
            | media_type::OCI_INDEX
            | media_type::DOCKER_MANIFEST
            | media_type::DOCKER_MANIFEST_LIST
    ) {
        return Err(ArchiveError::Manifest {
            digest: digest.clone(),
            source: ManifestError::MediaType(descriptor.media_type.clone()),
        });
    }
    if !blobs.contains(digest) {
        return Err(missing(digest));
    }
    stored_size(blobs, descriptor)?;
    let bytes = blobs.read(digest).map_err(|source| ArchiveError::Store {
        path: path.clone(),
        source,
    })?;
    let parsed = manifest::parse(&bytes, Some(&descriptor.media_type)).map_err(|source| {
        ArchiveError::Manifest {
            digest: digest.clone(),
            source,
        }
    })?;
    match parsed {
        Parsed::Manifest(manifest) => {
            for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
                if !blobs.contains(&blob.digest) {
                    return Err(ArchiveError::Missing {
                        from: path,
                        missing: blob_path(&blob.digest),
                    });
                }
                stored_size(blobs, blob)?;
            }
            Ok(Some(manifest.config.digest))
        }
        Parsed::Index(index) => {
            let stored: Vec<_> = index
                .manifests
                .iter()
                .filter(|m| blobs.contains(&m.digest))
                .collect();
            if stored.is_empty() {
                let first = index.manifests.first().map_or(digest, |m| &m.digest);
                return Err(ArchiveError::Missing {
                    from: path,
                    missing: blob_path(first),
                });
            }
            let mut config = None;
            for child in &stored {
                let child_config = check(blobs, child, &path)?;
                let wanted = index.wasm_manifest() == Some(*child) || stored.len() == 1;
                if wanted {
                    config = child_config;
                }
            }
            Ok(config)
        }
    }
}

/// Checks a stored blob's size against its descriptor.
fn stored_size(blobs: &BlobStore, descriptor: &Descriptor) -> Result<(), ArchiveError> {
    let path = blobs.path(&descriptor.digest);
    let actual = std::fs::metadata(&path)
        .map_err(|source| ArchiveError::ReadBlob {
            digest: descriptor.digest.clone(),
            source: crate::blobs::BlobError::Io { path, source },
        })?
        .len();
    if actual != descriptor.size {
        return Err(ArchiveError::BlobSize {
            digest: descriptor.digest.clone(),
            expected: descriptor.size,
            actual,
        });
    }
    Ok(())
}

/// Images of a `manifest.json` without `index.json`: a Docker v2 manifest
/// is made and stored for each entry, one image per `RepoTags` name.
fn docker_images(
    blobs: &BlobStore,
    contents: &Contents,
    entries: &[DockerEntry],
) -> Result<Vec<ArchivedImage>, ArchiveError> {
    let mut images = Vec::new();
    for entry in entries {
        let (config, config_size, _) = resolve(blobs, contents, &entry.config)?;
        let config_bytes = blobs.read(&config).map_err(|source| ArchiveError::Store {
            path: entry.config.clone(),
            source,
        })?;
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&config_bytes)
            .map_err(|source| ArchiveError::Json {
                path: entry.config.clone(),
                source,
            })?;
        let mut layers = Vec::new();
        for layer in &entry.layers {
            let (digest, size, gzip) = resolve(blobs, contents, layer)?;
            let media_type = if gzip {
                "application/vnd.docker.image.rootfs.diff.tar.gzip"
            } else {
                "application/vnd.docker.image.rootfs.diff.tar"
            };
            layers.push(descriptor(media_type, digest, size));
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_type::DOCKER_MANIFEST.to_owned()),
            config: descriptor(media_type::DOCKER_CONFIG, config, config_size),
            layers,
            annotations: Default::default(),
        };
        let bytes = serde_json::to_vec(&manifest).map_err(|source| ArchiveError::Json {
            path: DOCKER_MANIFEST_FILE.to_owned(),
            source,
        })?;
        let digest = blobs.put(&bytes).map_err(|source| ArchiveError::Store {
            path: DOCKER_MANIFEST_FILE.to_owned(),
            source,
        })?;
        let manifest = descriptor(media_type::DOCKER_MANIFEST, digest, bytes.len() as u64);
        let mut names = entry
            .repo_tags
            .iter()
            .map(|tag| parse_name(tag, DOCKER_MANIFEST_FILE).map(Some))
            .collect::<Result<Vec<_>, _>>()?;
        if names.is_empty() {
            names.push(None);
        }
        images.extend(names.into_iter().map(|name| ArchivedImage {
            name,
            manifest: manifest.clone(),
        }));
    }
    Ok(images)
}

fn descriptor(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest,
        size,
        platform: None,
        annotations: Default::default(),
    }
}

/// The stored content `manifest.json` names by `path` (following links
/// inside the archive): its digest, size, and whether it is gzip.
fn resolve(
    blobs: &BlobStore,
    contents: &Contents,
    path: &str,
) -> Result<(Digest, u64, bool), ArchiveError> {
    let mut current = clean_path(Path::new(path)).map_err(|reason| ArchiveError::UnsafePath {
        path: path.to_owned(),
        reason,
    })?;
    for hop in 0..=MAX_LINK_HOPS {
        if let Some(file) = contents.files.get(&current) {
            return match file {
                File::Memory(bytes) => {
                    let digest = blobs.put(bytes).map_err(|source| ArchiveError::Store {
                        path: current.clone(),
                        source,
                    })?;
                    Ok((digest, bytes.len() as u64, is_gzip(bytes)))
                }
                File::Stored { digest, size } => {
                    let mut magic = [0u8; 2];
                    let gzip = blobs
                        .open_blob(digest)
                        .ok()
                        .and_then(|mut f| f.read_exact(&mut magic).ok())
                        .is_some_and(|()| is_gzip(&magic));
                    Ok((digest.clone(), *size, gzip))
                }
            };
        }
        match contents.links.get(&current) {
            Some(target) => current = target.clone(),
            None if hop == 0 => {
                return Err(ArchiveError::Missing {
                    from: DOCKER_MANIFEST_FILE.to_owned(),
                    missing: path.to_owned(),
                });
            }
            None => break,
        }
    }
    Err(ArchiveError::Link {
        path: path.to_owned(),
    })
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}
