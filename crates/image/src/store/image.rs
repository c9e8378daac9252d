//! A stored image as a runner sees it: its manifest, its config and what
//! shape of Wasm image it is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::manifest::{Descriptor, Manifest, media_type};

/// The three shapes of Wasm image wharf runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An ordinary image for platform `wasi/wasm`: layers of files, the
    /// entrypoint names the module (`docker buildx --platform wasi/wasm`).
    Docker,
    /// The CNCF Wasm OCI artifact: config `application/vnd.wasm.config.v0+json`,
    /// the module as an `application/wasm` layer.
    Artifact,
    /// A component published as one
    /// `application/vnd.bytecodealliance.wasm.component.layer.v0+wasm` layer.
    Component,
}

/// An image resolved down to one manifest.
#[derive(Debug, Clone)]
pub struct Image {
    /// The name it was loaded by (a familiar reference, or a digest).
    pub name: String,
    /// What the name points at: the manifest, or an index holding it.
    pub top: Descriptor,
    /// The manifest's digest.
    pub manifest_digest: Digest,
    /// The manifest.
    pub manifest: Manifest,
    /// The config (for artifacts, only the platform fields are there).
    pub config: ImageConfig,
    /// The image's shape.
    pub shape: Shape,
}

impl Image {
    /// The image ID, as Docker shows it: the config's digest.
    pub fn id(&self) -> &Digest {
        &self.manifest.config.digest
    }

    /// Bytes of config and layers, as stored (compressed).
    pub fn size(&self) -> u64 {
        self.manifest.config.size + self.manifest.layers.iter().map(|l| l.size).sum::<u64>()
    }

    /// The layer holding the module, for artifacts and components.
    pub fn module_layer(&self) -> Option<&Descriptor> {
        match self.shape {
            Shape::Docker => None,
            Shape::Artifact | Shape::Component => self.manifest.module_layer(),
        }
    }

    /// What the image says of a run: its config's Entrypoint, Cmd, Env,
    /// WorkingDir (when absolute), exposed TCP ports and labels.
    pub fn run_defaults(&self) -> RunDefaults {
        let run = &self.config.config;
        RunDefaults {
            entrypoint: run.entrypoint.clone().unwrap_or_default(),
            cmd: run.cmd.clone().unwrap_or_default(),
            env: run
                .env
                .iter()
                .flatten()
                .filter_map(|entry| entry.split_once('='))
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect(),
            workdir: run.working_dir.clone().filter(|w| w.starts_with('/')),
            exposed: run.exposed_tcp_ports(),
            labels: run.labels.clone().unwrap_or_default(),
        }
    }
}

/// What an image says of a run ([`Image::run_defaults`]); a request's
/// flags go over it (the lifecycle crate merges the two).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunDefaults {
    /// The program and its first arguments.
    pub entrypoint: Vec<String>,
    /// Default arguments (the program itself when there is no entrypoint).
    pub cmd: Vec<String>,
    /// The environment, in order (entries without `=` left out).
    pub env: Vec<(String, String)>,
    /// The working directory, when the image names an absolute one.
    pub workdir: Option<String>,
    /// The TCP ports it exposes.
    pub exposed: Vec<u16>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// The fields of an image config (OCI, Docker or Wasm artifact) wharf uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// `wasm` for every image wharf runs.
    #[serde(default)]
    pub architecture: String,
    /// `wasi`, `wasip1` or `wasip2`.
    #[serde(default)]
    pub os: String,
    /// When the image was made, as the config says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// How to run it.
    #[serde(default)]
    pub config: RunConfig,
    /// How it was made, one entry per build step, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
}

/// One step of an image's making, as its config records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When the step ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The instruction (`COPY app.wasm /`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Whether the step made no layer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// The `config` object of an image config: how to run the image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    /// `KEY=VALUE` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// The program and its first arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments (the program itself when there is no entrypoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// The working directory, absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Ports the service listens on: `"8080/tcp": {}` (from `EXPOSE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
}

impl RunConfig {
    /// The exposed TCP ports, in order (`8080/tcp` and `8080`; other
    /// protocols and malformed entries left out).
    pub fn exposed_tcp_ports(&self) -> Vec<u16> {
        self.exposed_ports
            .iter()
            .flatten()
            .filter_map(|(port, _)| {
                let port = port.strip_suffix("/tcp").unwrap_or(port);
                port.parse().ok().filter(|port| *port != 0)
            })
            .collect()
    }
}

/// Tells the shape from the media types; `None` for images that are not
/// Wasm images in any shape wharf knows.
pub(crate) fn shape_of(manifest: &Manifest) -> Option<Shape> {
    let config = manifest.config.media_type.as_str();
    let first_layer = manifest.layers.first().map(|l| l.media_type.as_str());
    if first_layer == Some(media_type::COMPONENT_LAYER) {
        return Some(Shape::Component);
    }
    if config == media_type::WASM_CONFIG || first_layer == Some(media_type::WASM_LAYER) {
        return Some(Shape::Artifact);
    }
    (config == media_type::OCI_CONFIG || config == media_type::DOCKER_CONFIG)
        .then_some(Shape::Docker)
}

/// Whether the config names a platform wharf runs.
pub(crate) fn is_wasm_platform(config: &ImageConfig) -> bool {
    config.architecture == "wasm" && matches!(config.os.as_str(), "wasi" | "wasip1" | "wasip2")
}

/// Whether the manifest carries crun's `module.wasm.image/variant=compat`:
/// a Wasm image built for a Linux platform (`wharf build --platform
/// linux/amd64`), for engines that take only their host's OS.
pub(crate) fn is_compat(manifest: &Manifest) -> bool {
    manifest
        .annotations
        .get("module.wasm.image/variant")
        .is_some_and(|v| v == "compat")
}
