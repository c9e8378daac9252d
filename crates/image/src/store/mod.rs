//! The image store: named images in an OCI image layout, their unpacked
//! file trees, and moving them to and from registries.
//!
//! Layout under the root given to [`Store::open`]:
//! - `images/`: an OCI image layout (`oci-layout`, `index.json` naming the
//!   images, `blobs/sha256/`), readable by skopeo and umoci as is;
//! - `rootfs/<manifest hex>/`: an image's layers unpacked once, shared by
//!   every run of it (guests get it read-only);
//! - `images/store.lock`: held shared by writers of blobs (pull, build,
//!   load) and exclusively by garbage collection, so a collection never
//!   removes the blobs of an image that is still arriving.

mod gc;
mod image;
mod parallel;
mod progress;
mod pull;
mod push;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use gc::{Collected, StoreLock};
pub use image::{HistoryEntry, Image, ImageConfig, RunConfig, RunDefaults, Shape};
pub use progress::{BlobEvent, Progress, Silent};
pub use pull::{PullOptions, pull};
pub use push::{PushOptions, push};

use crate::blobs::{BlobError, BlobStore};
use crate::digest::Digest;
use crate::manifest::{self, Descriptor, Manifest, ManifestError, Parsed};
use crate::reference::Reference;
use crate::refs::{Refs, RefsError};
use crate::registry::RegistryError;
use crate::unpack::{UnpackError, UnpackLimits, unpack_layers};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A blob could not be stored or read.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The image names could not be read or changed.
    #[error(transparent)]
    Refs(#[from] RefsError),
    /// A manifest or index is malformed.
    #[error("manifest {digest}")]
    Manifest {
        /// The manifest.
        digest: Digest,
        /// What is wrong with it.
        source: ManifestError,
    },
    /// An image config is malformed.
    #[error("image config {digest} is malformed")]
    Config {
        /// The config blob.
        digest: Digest,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The registry failed or refused.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A layer could not be unpacked.
    #[error("unpacking {digest}")]
    Unpack {
        /// The image's manifest.
        digest: Digest,
        /// Why.
        source: UnpackError,
    },
    /// The file system refused.
    #[error("{}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// No image of that name is stored.
    #[error("no such image: {0}")]
    NoSuchImage(String),
    /// The image is not a Wasm image (e.g. linux/amd64).
    #[error("{reference} is not a Wasm image: {why}")]
    NotWasm {
        /// The image.
        reference: String,
        /// What it is instead.
        why: String,
    },
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Images on disk, under one root directory.
#[derive(Debug, Clone)]
pub struct Store {
    layout: PathBuf,
    rootfs: PathBuf,
    blobs: BlobStore,
    refs: Refs,
}

impl Store {
    /// Opens (creating) the store under `root`.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let layout = root.join("images");
        let rootfs = root.join("rootfs");
        // Private to its owner: what runs comes from here.
        for dir in [&layout, &rootfs] {
            use std::os::unix::fs::DirBuilderExt as _;
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_error(dir))?;
        }
        let blobs = BlobStore::open(&layout)?;
        let refs = Refs::new(&layout);
        clear_abandoned_unpacks(&rootfs);
        Ok(Store {
            layout,
            rootfs,
            blobs,
            refs,
        })
    }

    /// The blobs.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The names.
    pub fn refs(&self) -> &Refs {
        &self.refs
    }

    /// The OCI image layout directory (for tools that read one).
    pub fn layout(&self) -> &Path {
        &self.layout
    }

    /// What `reference` names in the store: by name, or a stored manifest
    /// when it pins a digest.
    pub fn resolve(&self, reference: &Reference) -> Result<Option<Descriptor>, StoreError> {
        if let Some(found) = self.refs.resolve(reference)? {
            return Ok(Some(found));
        }
        let Some(digest) = reference.digest() else {
            return Ok(None);
        };
        if !self.blobs.contains(digest) {
            return Ok(None);
        }
        let bytes = self.blobs.read(digest)?;
        let media_type = match parse_manifest(digest, &bytes)? {
            Parsed::Manifest(m) => m.media_type,
            Parsed::Index(i) => i.media_type,
        };
        Ok(Some(Descriptor {
            media_type: media_type.unwrap_or_else(|| manifest::media_type::OCI_MANIFEST.to_owned()),
            digest: digest.clone(),
            size: bytes.len() as u64,
            platform: None,
            annotations: Default::default(),
        }))
    }

    /// Like [`Store::resolve`], but a missing image is an error.
    pub fn lookup(&self, reference: &Reference) -> Result<Descriptor, StoreError> {
        self.resolve(reference)?
            .ok_or_else(|| StoreError::NoSuchImage(reference.familiar()))
    }

    /// Loads the image `top` points at, down to its Wasm manifest and config.
    pub fn image(&self, name: &str, top: &Descriptor) -> Result<Image, StoreError> {
        let bytes = self.blobs.read(&top.digest)?;
        let (manifest_digest, manifest) = match parse_manifest(&top.digest, &bytes)? {
            Parsed::Manifest(manifest) => (top.digest.clone(), manifest),
            Parsed::Index(index) => {
                let entry = index.wasm_manifest().ok_or_else(|| StoreError::NotWasm {
                    reference: name.to_owned(),
                    why: "its index has no wasi/wasm manifest".to_owned(),
                })?;
                let bytes = self.blobs.read(&entry.digest)?;
                match parse_manifest(&entry.digest, &bytes)? {
                    Parsed::Manifest(manifest) => (entry.digest.clone(), manifest),
                    Parsed::Index(_) => {
                        return Err(StoreError::NotWasm {
                            reference: name.to_owned(),
                            why: "its index points at another index".to_owned(),
                        });
                    }
                }
            }
        };
        let (shape, config) = self.check_runnable(name, &manifest)?;
        Ok(Image {
            name: name.to_owned(),
            top: top.clone(),
            manifest_digest,
            manifest,
            config,
            shape,
        })
    }

    /// The manifest's shape and config, if it is a Wasm image wharf runs
    /// (its config must be stored).
    pub(crate) fn check_runnable(
        &self,
        name: &str,
        manifest: &Manifest,
    ) -> Result<(Shape, ImageConfig), StoreError> {
        let shape = image::shape_of(manifest).ok_or_else(|| StoreError::NotWasm {
            reference: name.to_owned(),
            why: format!("config media type `{}`", manifest.config.media_type),
        })?;
        let config = match self.config(&manifest.config.digest) {
            Ok(config) => config,
            // An artifact's config says nothing wharf needs to run it.
            Err(StoreError::Config { .. }) if shape != Shape::Docker => ImageConfig::default(),
            Err(error) => return Err(error),
        };
        if shape == Shape::Docker
            && !image::is_wasm_platform(&config)
            && !image::is_compat(manifest)
        {
            return Err(StoreError::NotWasm {
                reference: name.to_owned(),
                why: format!("its platform is {}/{}", config.os, config.architecture),
            });
        }
        Ok((shape, config))
    }

    fn config(&self, digest: &Digest) -> Result<ImageConfig, StoreError> {
        let bytes = self.blobs.read_at_most(digest, manifest::MAX_CONFIG_SIZE)?;
        serde_json::from_slice(&bytes).map_err(|source| StoreError::Config {
            digest: digest.clone(),
            source,
        })
    }

    /// The image's files, unpacked on first use. Layers are unpacked into
    /// a fresh directory that is renamed into place only when complete, so
    /// a tree under `rootfs/` is always whole.
    pub fn rootfs(&self, image: &Image) -> Result<PathBuf, StoreError> {
        let target = self.rootfs.join(image.manifest_digest.hex());
        if target.is_dir() {
            return Ok(target);
        }
        let _hold = self.writing()?;
        let layers: Vec<(PathBuf, String)> = image
            .manifest
            .layers
            .iter()
            .map(|layer| (self.blobs.path(&layer.digest), layer.media_type.clone()))
            .collect();
        match unpack_layers(&layers, &target, UnpackLimits::default()) {
            Ok(()) => Ok(target),
            // Another run unpacked the same image first.
            Err(_) if target.is_dir() => Ok(target),
            Err(source) => Err(StoreError::Unpack {
                digest: image.manifest_digest.clone(),
                source,
            }),
        }
    }

    /// Names `target` what `source` names.
    pub fn tag(&self, source: &Reference, target: &Reference) -> Result<(), StoreError> {
        let descriptor = self.lookup(source)?;
        self.refs.set(target, &descriptor)?;
        Ok(())
    }
}

/// Removes half-unpacked trees (`<hex>.partial-<pid>`) whose unpacker is
/// gone; those of live ones stay.
fn clear_abandoned_unpacks(rootfs: &Path) {
    let Ok(entries) = fs::read_dir(rootfs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let unpacker = name
            .to_str()
            .and_then(|n| n.rsplit_once(".partial-"))
            .and_then(|(_, pid)| pid.parse::<i32>().ok());
        if unpacker.is_some_and(|pid| !crate::blobs::process_runs(pid)) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

pub(crate) fn parse_manifest(digest: &Digest, bytes: &[u8]) -> Result<Parsed, StoreError> {
    manifest::parse(bytes, None).map_err(|source| StoreError::Manifest {
        digest: digest.clone(),
        source,
    })
}
