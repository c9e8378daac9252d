//! What a build stores: the Docker-style image (layers, OCI config,
//! manifest) or the CNCF Wasm OCI artifact (one module, Wasm config).

use std::collections::BTreeMap;
use std::fs;

use serde::Serialize;

use super::error::BuildError;
use super::eval::Plan;
use super::layer::{self, Node};
use crate::blobs::BlobStore;
use crate::digest::Digest;
use crate::manifest::{Descriptor, Platform, media_type};

#[derive(Serialize)]
struct ImageConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    architecture: &'static str,
    os: &'a str,
    config: RunConfigJson,
    rootfs: RootFs,
    history: Vec<History>,
}

/// Docker's names for the runtime config fields; empty ones are left out.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfigJson {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    exposed_ports: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    working_dir: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_signal: Option<String>,
}

#[derive(Serialize)]
struct RootFs {
    r#type: &'static str,
    diff_ids: Vec<Digest>,
}

#[derive(Serialize)]
struct History {
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    created_by: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    empty_layer: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestJson<'a> {
    schema_version: u32,
    media_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_type: Option<&'static str>,
    config: Descriptor,
    layers: Vec<Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    architecture: &'static str,
    os: &'a str,
    layer_digests: Vec<Digest>,
}

/// Writes the layers, config and manifest of a Docker-style image.
pub(crate) fn docker_image(
    blobs: &BlobStore,
    plan: &Plan,
    target: &super::Target,
    epoch: Option<u64>,
) -> Result<Descriptor, BuildError> {
    let created = epoch.map(rfc3339);
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for step in &plan.steps {
        if let Some(entries) = &step.layer {
            let layer = layer::write(blobs, entries, epoch.unwrap_or(0))?;
            layers.push(layer.descriptor);
            diff_ids.push(layer.diff_id);
        }
        history.push(History {
            created: created.clone(),
            created_by: step.created_by.clone(),
            empty_layer: step.layer.is_none(),
        });
    }
    let run = &plan.config;
    let mut annotations = BTreeMap::new();
    if target.is_compat() {
        // The compat annotation promises Wasm: hold the entrypoint to it.
        entrypoint_module(plan)?;
        annotations.insert(COMPAT_VARIANT.0.to_owned(), COMPAT_VARIANT.1.to_owned());
    }
    let config = ImageConfig {
        created,
        architecture: target.architecture,
        os: target.os,
        config: RunConfigJson {
            exposed_ports: run
                .exposed
                .iter()
                .map(|port| (port.clone(), BTreeMap::new()))
                .collect(),
            env: run.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            entrypoint: run.entrypoint.clone(),
            cmd: run.cmd.clone(),
            working_dir: run.workdir.clone(),
            labels: run.labels.clone(),
            stop_signal: run.stop_signal.clone(),
        },
        rootfs: RootFs {
            r#type: "layers",
            diff_ids,
        },
        history,
    };
    let config = put_json(blobs, media_type::OCI_CONFIG, &config)?;
    let platform = Platform {
        architecture: target.architecture.into(),
        os: target.os.into(),
        variant: None,
    };
    put_manifest(blobs, config, layers, None, &annotations, platform)
}

/// crun's annotation of a compat image: its program is always Wasm.
pub(crate) const COMPAT_VARIANT: (&str, &str) = ("module.wasm.image/variant", "compat");

/// Writes a CNCF Wasm OCI artifact: the entrypoint module as its one
/// layer. What the artifact cannot carry is reported in `warnings`;
/// LABELs become manifest annotations.
pub(crate) fn artifact(
    blobs: &BlobStore,
    plan: &Plan,
    requested_os: &str,
    epoch: Option<u64>,
    warnings: &mut Vec<String>,
) -> Result<Descriptor, BuildError> {
    let run = &plan.config;
    let (command, path, bytes) = entrypoint_module(plan)?;
    let module = &command[0];
    let os = match bytes[4..8] {
        [1, 0, 0, 0] => "wasip1",
        [0x0d, 0, 1, 0] => "wasip2",
        _ => {
            return Err(BuildError::WasmVersion {
                path: module.clone(),
                version: [bytes[4], bytes[5], bytes[6], bytes[7]],
            });
        }
    };
    if requested_os != "wasi" && requested_os != os {
        return Err(BuildError::PlatformMismatch {
            path: module.clone(),
            requested: requested_os.into(),
            actual: os.into(),
        });
    }
    artifact_warnings(plan, command, &path, warnings);
    let layer = Descriptor {
        media_type: media_type::WASM_LAYER.into(),
        digest: blobs.put(&bytes)?,
        size: bytes.len() as u64,
        platform: None,
        annotations: BTreeMap::from([(
            "org.opencontainers.image.title".to_owned(),
            path.rsplit('/').next().unwrap_or(&path).to_owned(),
        )]),
    };
    let config = WasmConfig {
        created: epoch.map(rfc3339),
        architecture: "wasm",
        os,
        layer_digests: vec![layer.digest.clone()],
    };
    let config = put_json(blobs, media_type::WASM_CONFIG, &config)?;
    let platform = Platform {
        architecture: "wasm".into(),
        os: os.into(),
        variant: None,
    };
    let artifact_type = Some(media_type::WASM_CONFIG);
    put_manifest(
        blobs,
        config,
        vec![layer],
        artifact_type,
        &run.labels,
        platform,
    )
}

/// The image's command (ENTRYPOINT, else CMD), the image path of its
/// program and the program's bytes, which must be binary Wasm.
fn entrypoint_module(plan: &Plan) -> Result<(&[String], String, Vec<u8>), BuildError> {
    let run = &plan.config;
    let command: &[String] = match (&run.entrypoint, &run.cmd) {
        (Some(entrypoint), _) if !entrypoint.is_empty() => entrypoint,
        (_, Some(cmd)) if !cmd.is_empty() => cmd,
        _ => return Err(BuildError::NoEntrypoint),
    };
    let module = &command[0];
    let (path, source) = find_file(plan, module)?;
    let bytes = fs::read(&source).map_err(|e| BuildError::Io {
        path: source.clone(),
        source: e,
    })?;
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(BuildError::NotWasm(module.clone()));
    }
    Ok((command, path, bytes))
}

/// The image path and context file of `module` (relative to WORKDIR when
/// not absolute), following symlinks inside the image.
fn find_file(plan: &Plan, module: &str) -> Result<(String, std::path::PathBuf), BuildError> {
    let mut path = resolve(&plan.config.workdir, module);
    for _ in 0..16 {
        match plan.image.get(&path) {
            Some(Node::File { source, .. }) => return Ok((path, source.clone())),
            Some(Node::Symlink { target }) => {
                let parent = path.rsplit_once('/').map_or("", |(up, _)| up);
                path = resolve(&format!("/{parent}"), target);
            }
            _ => break,
        }
    }
    Err(BuildError::EntrypointNotFound(module.to_owned()))
}

/// `path` against directory `base`, as an image path without leading `/`;
/// `..` stops at the root.
pub(super) fn resolve(base: &str, path: &str) -> String {
    let base = if path.starts_with('/') { "" } else { base };
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

fn artifact_warnings(plan: &Plan, command: &[String], module: &str, warnings: &mut Vec<String>) {
    let run = &plan.config;
    let dropped = "is not part of a Wasm artifact and is dropped";
    if !run.env.is_empty() {
        let names: Vec<&str> = run.env.iter().map(|(k, _)| k.as_str()).collect();
        warnings.push(format!("ENV {} {dropped}", names.join(", ")));
    }
    let mut args: Vec<&String> = command.iter().skip(1).collect();
    if run.entrypoint.as_ref().is_some_and(|e| !e.is_empty()) {
        args.extend(run.cmd.iter().flatten());
    }
    if !args.is_empty() {
        warnings.push(format!(
            "the arguments {args:?} are not part of a Wasm artifact and are dropped"
        ));
    }
    if !run.workdir.is_empty() {
        warnings.push(format!("WORKDIR {} {dropped}", run.workdir));
    }
    if !run.exposed.is_empty() {
        warnings.push(format!("EXPOSE {dropped}"));
    }
    if run.stop_signal.is_some() {
        warnings.push(format!("STOPSIGNAL {dropped}"));
    }
    let others: Vec<&str> = plan
        .image
        .iter()
        .filter(|(path, node)| !matches!(node, Node::Dir { .. }) && path.as_str() != module)
        .map(|(path, _)| path.as_str())
        .collect();
    if !others.is_empty() {
        let shown: Vec<String> = others.iter().take(5).map(|p| format!("/{p}")).collect();
        let more = if others.len() > 5 { ", ..." } else { "" };
        warnings.push(format!(
            "{} copied file(s) besides the module are not part of a Wasm artifact: {}{more}",
            others.len(),
            shown.join(", ")
        ));
    }
}

fn put_json(
    blobs: &BlobStore,
    media_type: &str,
    value: &impl Serialize,
) -> Result<Descriptor, BuildError> {
    let bytes = serde_json::to_vec(value).map_err(BuildError::Encode)?;
    Ok(Descriptor {
        media_type: media_type.into(),
        digest: blobs.put(&bytes)?,
        size: bytes.len() as u64,
        platform: None,
        annotations: BTreeMap::new(),
    })
}

fn put_manifest(
    blobs: &BlobStore,
    config: Descriptor,
    layers: Vec<Descriptor>,
    artifact_type: Option<&'static str>,
    annotations: &BTreeMap<String, String>,
    platform: Platform,
) -> Result<Descriptor, BuildError> {
    let manifest = ManifestJson {
        schema_version: 2,
        media_type: media_type::OCI_MANIFEST,
        artifact_type,
        config,
        layers,
        annotations,
    };
    let mut descriptor = put_json(blobs, media_type::OCI_MANIFEST, &manifest)?;
    descriptor.platform = Some(platform);
    Ok(descriptor)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`; a time past what
/// RFC 3339 can write (after the year 9999) is written as that last second.
pub(crate) fn rfc3339(seconds: u64) -> String {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    let at = jiff::Timestamp::from_second(seconds.min(jiff::Timestamp::MAX.as_second()))
        .unwrap_or(jiff::Timestamp::MAX);
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
