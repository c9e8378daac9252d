//! Writing images as one deterministic tarball.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

use super::{
    ArchiveError, ArchiveFormat, ArchivedImage, BLOB_DIR, DOCKER_MANIFEST_FILE, DockerEntry,
    INDEX_FILE, LAYOUT_CONTENT, LAYOUT_FILE, REPOSITORIES_FILE, blob_path, familiar_repository,
};
use crate::blobs::BlobStore;
use crate::digest::Digest;
use crate::manifest::{self, Descriptor, Index, Manifest, Parsed, media_type};
use crate::refs::{NAME_ANNOTATION, REF_NAME_ANNOTATION};

/// Writes the images (each `manifest` is a stored manifest or index) as one
/// tar to `out`.
///
/// Every blob reachable from the images is written once, under
/// `blobs/sha256/<hex>`; of an index, the manifests the store holds are
/// written (a pull keeps only the Wasm one) and at least one must be there.
/// Entries come in a fixed order with mtime 0, owner 0:0 and modes
/// 0644/0755, so the same images always give the same bytes. Each blob is
/// checked against its digest while it is copied.
pub fn save(
    blobs: &BlobStore,
    images: &[ArchivedImage],
    format: ArchiveFormat,
    out: impl Write,
) -> Result<(), ArchiveError> {
    let mut content = BTreeMap::new();
    let mut docker = Vec::<(Manifest, Vec<String>)>::new();
    for image in images {
        let top = collect(blobs, &image.manifest, &mut content)?;
        if format == ArchiveFormat::Docker {
            let manifest = docker_manifest(blobs, &image.manifest, top)?;
            let tag = image
                .name
                .as_ref()
                .and_then(|name| Some(format!("{}:{}", familiar_repository(name), name.tag()?)));
            match docker.iter_mut().find(|(m, _)| *m == manifest) {
                Some((_, tags)) => tags.extend(tag),
                None => docker.push((manifest, tag.into_iter().collect())),
            }
        }
    }

    let mut tar = tar::Builder::new(out);
    append_dir(&mut tar, "blobs/")?;
    append_dir(&mut tar, BLOB_DIR)?;
    for (digest, size) in &content {
        append_blob(&mut tar, blobs, digest, *size)?;
    }
    append_file(&mut tar, INDEX_FILE, &index_json(images)?)?;
    if format == ArchiveFormat::Docker {
        let (manifest_json, repositories) = docker_files(images, &docker)?;
        append_file(&mut tar, DOCKER_MANIFEST_FILE, &manifest_json)?;
        append_file(&mut tar, LAYOUT_FILE, LAYOUT_CONTENT.as_bytes())?;
        append_file(&mut tar, REPOSITORIES_FILE, &repositories)?;
    } else {
        append_file(&mut tar, LAYOUT_FILE, LAYOUT_CONTENT.as_bytes())?;
    }
    tar.into_inner()
        .and_then(|mut out| out.flush())
        .map_err(ArchiveError::Write)
}

/// Adds every blob reachable from `descriptor` to `content`; returns the
/// parsed manifest or index.
fn collect(
    blobs: &BlobStore,
    descriptor: &Descriptor,
    content: &mut BTreeMap<Digest, u64>,
) -> Result<Parsed, ArchiveError> {
    let parsed = read_manifest(blobs, descriptor)?;
    content.insert(descriptor.digest.clone(), descriptor.size);
    match &parsed {
        Parsed::Manifest(manifest) => {
            for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
                if !blobs.contains(&blob.digest) {
                    return Err(ArchiveError::MissingBlob {
                        image: descriptor.digest.clone(),
                        digest: blob.digest.clone(),
                    });
                }
                content.insert(blob.digest.clone(), blob.size);
            }
        }
        Parsed::Index(index) => {
            let stored: Vec<_> = index
                .manifests
                .iter()
                .filter(|m| blobs.contains(&m.digest))
                .collect();
            let Some(first) = index.manifests.first() else {
                return Err(ArchiveError::NoWasmManifest {
                    digest: descriptor.digest.clone(),
                });
            };
            if stored.is_empty() {
                return Err(ArchiveError::MissingBlob {
                    image: descriptor.digest.clone(),
                    digest: first.digest.clone(),
                });
            }
            for child in stored {
                collect(blobs, child, content)?;
            }
        }
    }
    Ok(parsed)
}

/// Reads and parses a stored manifest or index, checking digest and size.
fn read_manifest(blobs: &BlobStore, descriptor: &Descriptor) -> Result<Parsed, ArchiveError> {
    let digest = &descriptor.digest;
    if !blobs.contains(digest) {
        return Err(ArchiveError::MissingBlob {
            image: digest.clone(),
            digest: digest.clone(),
        });
    }
    let bytes = blobs
        .read(digest)
        .map_err(|source| ArchiveError::ReadBlob {
            digest: digest.clone(),
            source,
        })?;
    if bytes.len() as u64 != descriptor.size {
        return Err(ArchiveError::BlobSize {
            digest: digest.clone(),
            expected: descriptor.size,
            actual: bytes.len() as u64,
        });
    }
    manifest::parse(&bytes, Some(&descriptor.media_type)).map_err(|source| ArchiveError::Manifest {
        digest: digest.clone(),
        source,
    })
}

/// The manifest `manifest.json` lists for an image: the image's own, or of
/// an index its Wasm manifest (else its only stored one).
fn docker_manifest(
    blobs: &BlobStore,
    descriptor: &Descriptor,
    parsed: Parsed,
) -> Result<Manifest, ArchiveError> {
    let index: Index = match parsed {
        Parsed::Manifest(manifest) => return Ok(manifest),
        Parsed::Index(index) => index,
    };
    let stored: Vec<_> = index
        .manifests
        .iter()
        .filter(|m| blobs.contains(&m.digest))
        .collect();
    let chosen = match (index.wasm_manifest(), stored.as_slice()) {
        (Some(wasm), _) if blobs.contains(&wasm.digest) => wasm,
        (_, [only]) => *only,
        _ => {
            return Err(ArchiveError::NoWasmManifest {
                digest: descriptor.digest.clone(),
            });
        }
    };
    match read_manifest(blobs, chosen)? {
        Parsed::Manifest(manifest) => Ok(manifest),
        Parsed::Index(_) => Err(ArchiveError::NoWasmManifest {
            digest: descriptor.digest.clone(),
        }),
    }
}

/// `index.json`: one descriptor per image, named as containerd and skopeo
/// read it.
fn index_json(images: &[ArchivedImage]) -> Result<Vec<u8>, ArchiveError> {
    let manifests = images
        .iter()
        .map(|image| {
            let mut entry = image.manifest.clone();
            entry.annotations.remove(NAME_ANNOTATION);
            entry.annotations.remove(REF_NAME_ANNOTATION);
            if let Some(name) = &image.name {
                entry
                    .annotations
                    .insert(NAME_ANNOTATION.to_owned(), name.to_string());
                if let Some(tag) = name.tag() {
                    entry
                        .annotations
                        .insert(REF_NAME_ANNOTATION.to_owned(), tag.to_owned());
                }
            }
            entry
        })
        .collect();
    let index = Index {
        schema_version: 2,
        media_type: Some(media_type::OCI_INDEX.to_owned()),
        manifests,
    };
    serde_json::to_vec(&index).map_err(json_error)
}

/// `manifest.json` and `repositories`, as `docker load` reads them.
fn docker_files(
    images: &[ArchivedImage],
    docker: &[(Manifest, Vec<String>)],
) -> Result<(Vec<u8>, Vec<u8>), ArchiveError> {
    let entries: Vec<DockerEntry> = docker
        .iter()
        .map(|(manifest, tags)| DockerEntry {
            config: blob_path(&manifest.config.digest),
            repo_tags: tags.clone(),
            layers: manifest
                .layers
                .iter()
                .map(|l| blob_path(&l.digest))
                .collect(),
        })
        .collect();
    // repositories: familiar repository -> tag -> the top layer's hex.
    let mut repositories = BTreeMap::<String, BTreeMap<String, String>>::new();
    for image in images {
        let Some(name) = &image.name else { continue };
        let Some(tag) = name.tag() else { continue };
        let repository = familiar_repository(name);
        let wanted = format!("{repository}:{tag}");
        let top = docker
            .iter()
            .find(|(_, tags)| tags.contains(&wanted))
            .and_then(|(manifest, _)| manifest.layers.last());
        if let Some(top) = top {
            repositories
                .entry(repository)
                .or_default()
                .insert(tag.to_owned(), top.digest.hex().to_owned());
        }
    }
    let manifest_json = serde_json::to_vec(&entries).map_err(json_error)?;
    let repositories = serde_json::to_vec(&repositories).map_err(json_error)?;
    Ok((manifest_json, repositories))
}

fn json_error(error: serde_json::Error) -> ArchiveError {
    ArchiveError::Write(error.into())
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, path: &str) -> Result<(), ArchiveError> {
    let mut header = header(tar::EntryType::Directory, 0o755, 0);
    tar.append_data(&mut header, path, io::empty())
        .map_err(ArchiveError::Write)
}

fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    bytes: &[u8],
) -> Result<(), ArchiveError> {
    let mut header = header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
    tar.append_data(&mut header, path, bytes)
        .map_err(ArchiveError::Write)
}

/// Copies a stored blob into the tar, hashing it on the way: a blob that
/// changed on disk fails the save instead of going out wrong.
fn append_blob<W: Write>(
    tar: &mut tar::Builder<W>,
    blobs: &BlobStore,
    digest: &Digest,
    size: u64,
) -> Result<(), ArchiveError> {
    let read_error = |source| ArchiveError::ReadBlob {
        digest: digest.clone(),
        source,
    };
    let file = blobs.open_blob(digest).map_err(read_error)?;
    let actual = file
        .metadata()
        .map_err(|source| {
            read_error(crate::blobs::BlobError::Io {
                path: blobs.path(digest),
                source,
            })
        })?
        .len();
    if actual != size {
        return Err(ArchiveError::BlobSize {
            digest: digest.clone(),
            expected: size,
            actual,
        });
    }
    let mut hashing = Hashing {
        inner: file.take(size),
        hasher: Sha256::new(),
        count: 0,
    };
    let mut header = header(tar::EntryType::Regular, 0o644, size);
    tar.append_data(&mut header, blob_path(digest), &mut hashing)
        .map_err(ArchiveError::Write)?;
    let actual_digest = Digest::from_hasher(hashing.hasher);
    if hashing.count != size || &actual_digest != digest {
        return Err(read_error(crate::blobs::BlobError::DigestMismatch {
            expected: digest.clone(),
            actual: actual_digest,
        }));
    }
    Ok(())
}

struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
