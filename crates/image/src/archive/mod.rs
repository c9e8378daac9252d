//! Image tarballs: `wharf save` writes them, `wharf load` reads them, in
//! Docker's and OCI's layouts.
//!
//! Both formats are an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/<hex>`); the Docker one adds the `manifest.json` and
//! `repositories` files that `docker load` reads, as Docker 25 itself does.
//! Loading also reads the legacy `docker save` layout (`<hex>.json` configs
//! and `<id>/layer.tar` layers named from `manifest.json`).

use std::io;

use crate::blobs::BlobError;
use crate::digest::Digest;
use crate::manifest::{Descriptor, ManifestError};
use crate::reference::{Reference, ReferenceError};

mod contents;
mod interpret;
mod load;
mod save;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_load;

pub use contents::LoadLimits;
pub use load::{load, load_with_limits};
pub use save::save;

/// The layout of a saved tarball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// What `docker save` (Docker 25+) writes and `docker load` reads: an
    /// OCI image layout plus `manifest.json` and `repositories`.
    Docker,
    /// An OCI image layout, as containerd and skopeo's `oci-archive:` read it.
    Oci,
}

/// One image in an archive: the name it goes by, and its manifest or index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedImage {
    /// The image's name; `None` for an image the archive leaves unnamed.
    pub name: Option<Reference>,
    /// The image's manifest or index.
    pub manifest: Descriptor,
}

/// Why an archive could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A blob an image needs is not in the store.
    #[error("blob {digest} of image {image} is not in the image store")]
    MissingBlob {
        /// The image's manifest or index.
        image: Digest,
        /// The missing blob.
        digest: Digest,
    },
    /// A stored blob could not be read, or does not hash to its name.
    #[error("cannot read blob {digest} from the image store")]
    ReadBlob {
        /// The blob.
        digest: Digest,
        /// The cause.
        source: BlobError,
    },
    /// A stored blob is not as long as the descriptor pointing to it says.
    #[error("stored blob {digest} is {actual} bytes, not the {expected} its descriptor says")]
    BlobSize {
        /// The blob.
        digest: Digest,
        /// The descriptor's size.
        expected: u64,
        /// The blob's size.
        actual: u64,
    },
    /// A manifest or index is not one wharf reads.
    #[error("manifest {digest} is not a valid image manifest or index")]
    Manifest {
        /// The manifest.
        digest: Digest,
        /// The parser's complaint.
        source: ManifestError,
    },
    /// An index has no manifest to list in `manifest.json`.
    #[error("index {digest} has no wasi/wasm manifest to list in manifest.json")]
    NoWasmManifest {
        /// The index.
        digest: Digest,
    },
    /// The output refused the bytes.
    #[error("cannot write the archive")]
    Write(#[source] io::Error),
    /// The input could not be read as a tar (or gzip-compressed tar).
    #[error("cannot read the archive as a tar file")]
    Read(#[source] io::Error),
    /// One entry could not be read.
    #[error("cannot read archive entry `{path}`")]
    Entry {
        /// The entry's path.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// An entry's path could land outside the archive.
    #[error("archive entry `{path}` is refused: {reason}")]
    UnsafePath {
        /// The entry's path.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry of a kind an image archive never holds.
    #[error(
        "archive entry `{path}` is refused: it is a {kind}, and only files and directories are accepted"
    )]
    EntryKind {
        /// The entry's path.
        path: String,
        /// The entry's kind, e.g. `block device`.
        kind: &'static str,
    },
    /// A link `manifest.json` names leads nowhere in the archive.
    #[error("archive entry `{path}` is a link that leads to no file in the archive")]
    Link {
        /// The link's path.
        path: String,
    },
    /// An entry could not be stored.
    #[error("cannot store archive entry `{path}`")]
    Store {
        /// The entry's path.
        path: String,
        /// The cause: a tampered blob gives a digest mismatch.
        source: BlobError,
    },
    /// A metadata file larger than wharf reads.
    #[error("archive entry `{path}` is larger than the {limit} bytes wharf reads for it")]
    FileTooLarge {
        /// The entry's path.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// More entries than [`LoadLimits::max_entries`].
    #[error("the archive has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: u64,
    },
    /// More bytes than [`LoadLimits::max_total_bytes`].
    #[error("the archive is larger than {limit} bytes unpacked")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// A metadata file that is not the JSON it should be.
    #[error("archive entry `{path}` is not valid JSON of the expected shape")]
    Json {
        /// The entry's path.
        path: String,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// An image name that is not a valid reference.
    #[error("`{value}` in archive entry `{path}` is not a valid image name")]
    Name {
        /// The entry naming the image.
        path: String,
        /// The name.
        value: String,
        /// Why it is not valid.
        source: ReferenceError,
    },
    /// Content an entry refers to is not in the archive.
    #[error("archive entry `{from}` refers to `{missing}`, which is not in the archive")]
    Missing {
        /// The entry that refers to it.
        from: String,
        /// What is missing.
        missing: String,
    },
    /// Neither `index.json` nor `manifest.json`.
    #[error("the archive holds neither index.json nor manifest.json: it is not an image archive")]
    NotAnImage,
}

const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_CONTENT: &str = "{\"imageLayoutVersion\":\"1.0.0\"}";
const INDEX_FILE: &str = "index.json";
const DOCKER_MANIFEST_FILE: &str = "manifest.json";
const REPOSITORIES_FILE: &str = "repositories";
const BLOB_DIR: &str = "blobs/sha256/";

/// Where a blob lives in an archive.
fn blob_path(digest: &Digest) -> String {
    format!("{BLOB_DIR}{}", digest.hex())
}

/// One image in Docker's `manifest.json`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize as _;
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// The familiar name without tag or digest: `app`, `localhost:5000/app`.
fn familiar_repository(reference: &Reference) -> String {
    let mut suffix = String::new();
    if let Some(tag) = reference.tag() {
        suffix.push(':');
        suffix.push_str(tag);
    }
    if let Some(digest) = reference.digest() {
        suffix.push('@');
        suffix.push_str(&digest.to_string());
    }
    let familiar = reference.familiar();
    familiar
        .strip_suffix(&suffix)
        .unwrap_or(&familiar)
        .to_owned()
}
