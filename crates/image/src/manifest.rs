//! OCI and Docker manifests, indexes and descriptors, as registries send
//! them: parsed with a size cap, checked for the fields wharf relies on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// The largest manifest or index wharf reads (registries cap theirs at 4 MiB).
pub const MAX_MANIFEST_SIZE: usize = 4 << 20;

/// The largest image config wharf reads (configs are a few KiB).
pub const MAX_CONFIG_SIZE: u64 = 4 << 20;

/// The most bytes the layers of one image may announce, each and in all:
/// the byte budget of unpacking an image.
pub const MAX_IMAGE_SIZE: u64 = 4 << 30;

/// Media types wharf reads and writes.
pub mod media_type {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Docker image manifest, schema 2.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// CNCF Wasm OCI artifact config.
    pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
    /// A Wasm module or component as a layer.
    pub const WASM_LAYER: &str = "application/wasm";
    /// A component published by the Bytecode Alliance tools.
    pub const COMPONENT_LAYER: &str =
        "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";
}

/// A pointer to content: what it is, its digest and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the content is.
    pub media_type: String,
    /// The content's digest.
    pub digest: Digest,
    /// The content's size in bytes.
    pub size: u64,
    /// The platform of the manifest it points to (in an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An operating system and architecture pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// e.g. `wasm`, `amd64`.
    pub architecture: String,
    /// e.g. `wasi`, `wasip1`, `linux`.
    pub os: String,
    /// e.g. `v8` for arm64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// Whether this is a WebAssembly platform wharf runs: architecture
    /// `wasm` with OS `wasi`, `wasip1` or `wasip2`.
    pub fn is_wasm(&self) -> bool {
        self.architecture == "wasm" && matches!(self.os.as_str(), "wasi" | "wasip1" | "wasip2")
    }
}

/// An image manifest: one config and its layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type, when it states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The image config.
    pub config: Descriptor,
    /// The layers, bottom first.
    pub layers: Vec<Descriptor>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An index (manifest list): one manifest per platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// The index's own media type, when it states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests.
    pub manifests: Vec<Descriptor>,
}

impl Manifest {
    /// The layer holding a Wasm artifact's or component image's module:
    /// the first `application/wasm` or component layer, else the first
    /// layer under a Wasm artifact config. `None` for images of files.
    pub fn module_layer(&self) -> Option<&Descriptor> {
        self.layers
            .iter()
            .find(|layer| {
                layer.media_type == media_type::WASM_LAYER
                    || layer.media_type == media_type::COMPONENT_LAYER
            })
            .or_else(|| {
                (self.config.media_type == media_type::WASM_CONFIG)
                    .then(|| self.layers.first())
                    .flatten()
            })
    }

    /// Checks the sizes the manifest announces against wharf's caps, before
    /// any of its content is read: the config against [`MAX_CONFIG_SIZE`],
    /// each layer and their sum against [`MAX_IMAGE_SIZE`].
    pub fn check_sizes(&self) -> Result<(), ManifestError> {
        check_size("config", &self.config, MAX_CONFIG_SIZE)?;
        let mut total: u64 = 0;
        for layer in &self.layers {
            check_size("layer", layer, MAX_IMAGE_SIZE)?;
            total = total.saturating_add(layer.size);
        }
        if total > MAX_IMAGE_SIZE {
            return Err(ManifestError::ImageTooLarge {
                size: total,
                limit: MAX_IMAGE_SIZE,
            });
        }
        Ok(())
    }
}

/// Checks one announced size against its cap.
pub fn check_size(what: &'static str, blob: &Descriptor, limit: u64) -> Result<(), ManifestError> {
    if blob.size > limit {
        return Err(ManifestError::Oversized {
            what,
            digest: blob.digest.clone(),
            size: blob.size,
            limit,
        });
    }
    Ok(())
}

impl Index {
    /// The manifest for a Wasm platform, if the index has one.
    pub fn wasm_manifest(&self) -> Option<&Descriptor> {
        self.manifests
            .iter()
            .find(|m| m.platform.as_ref().is_some_and(Platform::is_wasm))
    }
}

/// A manifest or an index, told apart by media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An image manifest.
    Manifest(Manifest),
    /// An index of manifests.
    Index(Index),
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Larger than [`MAX_MANIFEST_SIZE`].
    #[error("manifest of {0} bytes is larger than the 4 MiB wharf reads")]
    TooLarge(usize),
    /// Not JSON of the expected shape.
    #[error("malformed manifest")]
    Malformed(#[source] serde_json::Error),
    /// A schema version other than 2.
    #[error("manifest schema version {0} is not supported (only 2)")]
    SchemaVersion(u32),
    /// A media type wharf does not read.
    #[error("media type `{0}` is not an image manifest or index")]
    MediaType(String),
    /// A descriptor announces more bytes than wharf accepts for its kind.
    #[error(
        "its {what} {digest} announces {size} bytes, more than the {limit} bytes wharf accepts"
    )]
    Oversized {
        /// What the descriptor points at: `config`, `layer`, `manifest`.
        what: &'static str,
        /// The blob.
        digest: Digest,
        /// The size announced.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The layers announce more bytes in all than wharf accepts for an image.
    #[error("its layers announce {size} bytes in all, more than the {limit} bytes wharf accepts")]
    ImageTooLarge {
        /// The sum announced (saturated at `u64::MAX`).
        size: u64,
        /// The cap.
        limit: u64,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
}

/// Parses a manifest or index. `content_type` is the registry's
/// Content-Type header, used when the document does not state its type.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed, ManifestError> {
    if bytes.len() > MAX_MANIFEST_SIZE {
        return Err(ManifestError::TooLarge(bytes.len()));
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(ManifestError::Malformed)?;
    let kind = probe
        .media_type
        .as_deref()
        .or(content_type)
        .map(str::to_owned);
    let is_index = match kind.as_deref() {
        Some(media_type::OCI_INDEX | media_type::DOCKER_MANIFEST_LIST) => true,
        Some(media_type::OCI_MANIFEST | media_type::DOCKER_MANIFEST) => false,
        None => probe.manifests.is_some(),
        Some(other) => return Err(ManifestError::MediaType(other.to_owned())),
    };
    let parsed = if is_index {
        let index: Index = serde_json::from_slice(bytes).map_err(ManifestError::Malformed)?;
        check_schema(index.schema_version)?;
        Parsed::Index(index)
    } else {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(ManifestError::Malformed)?;
        check_schema(manifest.schema_version)?;
        Parsed::Manifest(manifest)
    };
    Ok(parsed)
}

fn check_schema(version: u32) -> Result<(), ManifestError> {
    if version == 2 {
        Ok(())
    } else {
        Err(ManifestError::SchemaVersion(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn artifact() -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{}",
               "config":{{"mediaType":"{}","digest":"{DIGEST}","size":2}},
               "layers":[{{"mediaType":"{}","digest":"{DIGEST}","size":1234,
                           "annotations":{{"org.opencontainers.image.title":"app.wasm"}}}}]}}"#,
            media_type::OCI_MANIFEST,
            media_type::WASM_CONFIG,
            media_type::WASM_LAYER
        )
    }

    #[test]
    fn wasm_artifact_manifest() {
        let Parsed::Manifest(manifest) = parse(artifact().as_bytes(), None).expect("parse") else {
            panic!("not a manifest");
        };
        assert_eq!(manifest.config.media_type, media_type::WASM_CONFIG);
        assert_eq!(manifest.layers.len(), 1);
        assert_eq!(manifest.layers[0].size, 1234);
        assert_eq!(manifest.layers[0].digest.to_string(), DIGEST);
        let again = serde_json::to_vec(&manifest).expect("serialize");
        assert_eq!(
            parse(&again, None).expect("reparse"),
            Parsed::Manifest(manifest)
        );
    }

    #[test]
    fn index_resolves_to_its_wasm_entry() {
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[
                {{"mediaType":"{m}","digest":"{DIGEST}","size":1,"platform":{{"architecture":"amd64","os":"linux"}}}},
                {{"mediaType":"{m}","digest":"{DIGEST}","size":2,"platform":{{"architecture":"wasm","os":"wasip1"}}}}]}}"#,
            m = media_type::OCI_MANIFEST
        );
        let content_type = Some(media_type::OCI_INDEX);
        let Parsed::Index(index) = parse(index.as_bytes(), content_type).expect("parse") else {
            panic!("not an index");
        };
        assert_eq!(index.wasm_manifest().map(|d| d.size), Some(2));
    }

    #[test]
    fn refusals() {
        let huge = vec![b' '; MAX_MANIFEST_SIZE + 1];
        assert!(matches!(
            parse(&huge, None),
            Err(ManifestError::TooLarge(_))
        ));
        assert!(matches!(
            parse(b"{not json", None),
            Err(ManifestError::Malformed(_))
        ));
        let bad_digest = artifact().replace(&DIGEST[7..], "../../etc/passwd");
        assert!(matches!(
            parse(bad_digest.as_bytes(), None),
            Err(ManifestError::Malformed(_))
        ));
        let v1 = artifact().replace("\"schemaVersion\":2", "\"schemaVersion\":1");
        assert!(matches!(
            parse(v1.as_bytes(), None),
            Err(ManifestError::SchemaVersion(1))
        ));
        let other = artifact().replace(media_type::OCI_MANIFEST, "text/html");
        assert!(matches!(
            parse(other.as_bytes(), None),
            Err(ManifestError::MediaType(_))
        ));
        let negative = artifact().replace("1234", "-1");
        assert!(matches!(
            parse(negative.as_bytes(), None),
            Err(ManifestError::Malformed(_))
        ));
        let overflowing = artifact().replace("1234", "18446744073709551616");
        assert!(matches!(
            parse(overflowing.as_bytes(), None),
            Err(ManifestError::Malformed(_))
        ));
    }

    #[test]
    fn announced_sizes_are_capped() {
        let Parsed::Manifest(mut manifest) = parse(artifact().as_bytes(), None).expect("parse")
        else {
            panic!("not a manifest");
        };
        manifest.check_sizes().expect("small sizes pass");
        manifest.config.size = MAX_CONFIG_SIZE + 1;
        assert!(matches!(
            manifest.check_sizes(),
            Err(ManifestError::Oversized { what: "config", .. })
        ));
        manifest.config.size = 2;
        manifest.layers[0].size = MAX_IMAGE_SIZE + 1;
        assert!(matches!(
            manifest.check_sizes(),
            Err(ManifestError::Oversized { what: "layer", .. })
        ));
        manifest.layers[0].size = MAX_IMAGE_SIZE;
        manifest.layers.push(manifest.layers[0].clone());
        assert!(matches!(
            manifest.check_sizes(),
            Err(ManifestError::ImageTooLarge { .. })
        ));
    }
}
