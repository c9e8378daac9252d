//! The OCI runtime spec (a bundle's `config.json`): the subset wharf reads.
//!
//! Fields wharf does not use are ignored; missing fields and JSON `null`
//! take the spec's defaults (no args, empty env, `cwd` `/`, no mounts, no
//! annotations, no memory limit).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::LifecycleError;

/// The largest `config.json` wharf reads. Real specs are a few KiB; the cap
/// keeps a hostile bundle from making the shim read without bound.
pub const MAX_CONFIG_SIZE: u64 = 4 << 20;

/// Annotation naming the kind of a CRI container (`sandbox` or `container`).
pub const CRI_CONTAINER_TYPE: &str = "io.kubernetes.cri.container-type";
/// Annotation naming the pod sandbox a CRI container belongs to.
pub const CRI_SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";
/// crun's annotation for Wasm images (`compat` or `compat-smart`).
pub const WASM_VARIANT: &str = "module.wasm.image/variant";
/// crun's annotation choosing a handler (`wasm`).
pub const OCI_HANDLER: &str = "run.oci.handler";

/// A parsed `config.json`: the parts of the OCI runtime spec wharf uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciSpec {
    #[serde(default, deserialize_with = "or_default")]
    oci_version: String,
    #[serde(default, deserialize_with = "or_default")]
    process: Process,
    #[serde(default, deserialize_with = "or_default")]
    root: Root,
    #[serde(default, deserialize_with = "or_default")]
    mounts: Vec<SpecMount>,
    #[serde(default, deserialize_with = "or_default")]
    annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "or_default")]
    linux: Linux,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Process {
    #[serde(default, deserialize_with = "or_default")]
    terminal: bool,
    #[serde(default, deserialize_with = "or_default")]
    args: Vec<String>,
    #[serde(default, deserialize_with = "or_default")]
    env: Vec<String>,
    #[serde(default = "slash", deserialize_with = "or_slash")]
    cwd: String,
}

impl Default for Process {
    fn default() -> Self {
        Process {
            terminal: false,
            args: Vec::new(),
            env: Vec::new(),
            cwd: slash(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Root {
    #[serde(default, deserialize_with = "or_default")]
    path: String,
    #[serde(default, deserialize_with = "or_default")]
    readonly: bool,
}

impl Default for Root {
    fn default() -> Self {
        Root {
            path: "rootfs".to_owned(),
            readonly: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Linux {
    #[serde(default, deserialize_with = "or_default")]
    resources: Resources,
    #[serde(default, deserialize_with = "or_default")]
    namespaces: Vec<Namespace>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Namespace {
    #[serde(rename = "type", default, deserialize_with = "or_default")]
    kind: String,
    #[serde(default, deserialize_with = "or_default")]
    path: String,
}

/// The network a container's listeners belong to, from the spec's
/// `linux.namespaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkNamespace {
    /// No network namespace: the host's network.
    Host,
    /// A namespace of its own, made for it (only loopback, down).
    New,
    /// The namespace at this path (`/var/run/netns/NAME`, a pod's).
    Join(PathBuf),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Resources {
    #[serde(default, deserialize_with = "or_default")]
    memory: Memory,
    #[serde(default, deserialize_with = "or_default")]
    cpu: Cpu,
}

/// `linux.resources.cpu`: what of it applies to a guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cpu {
    #[serde(default, deserialize_with = "or_default")]
    shares: Option<u64>,
    #[serde(default, deserialize_with = "or_default")]
    quota: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    period: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Memory {
    #[serde(default, deserialize_with = "or_default")]
    limit: Option<i64>,
}

/// One entry of the spec's `mounts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecMount {
    /// Where the container sees it: an absolute path in the container.
    #[serde(default, deserialize_with = "or_default")]
    pub destination: String,
    /// The filesystem type (`bind`, `proc`, `tmpfs`, ...); empty when unset.
    #[serde(rename = "type", default, deserialize_with = "or_default")]
    pub kind: String,
    /// The host path (bind mounts) or device name.
    #[serde(default, deserialize_with = "or_default")]
    pub source: String,
    /// Mount options (`ro`, `rbind`, `nosuid`, ...).
    #[serde(default, deserialize_with = "or_default")]
    pub options: Vec<String>,
}

impl SpecMount {
    /// Whether this is a bind mount: type `bind`, or a `bind`/`rbind` option.
    pub fn is_bind(&self) -> bool {
        self.kind == "bind" || self.options.iter().any(|o| o == "bind" || o == "rbind")
    }

    /// Whether the options ask for a read-only mount (the last of
    /// `ro`/`rw` wins).
    pub fn is_read_only(&self) -> bool {
        self.options
            .iter()
            .rev()
            .find(|o| *o == "ro" || *o == "rw")
            .is_some_and(|o| o == "ro")
    }
}

/// A JSON `null` reads as the field's default.
fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn or_slash<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .filter(|c| !c.is_empty())
        .unwrap_or_else(slash))
}

fn slash() -> String {
    "/".to_owned()
}

/// Reads `bundle/config.json` (at most [`MAX_CONFIG_SIZE`] bytes).
pub fn load(bundle: &Path) -> Result<OciSpec, LifecycleError> {
    let path = bundle.join("config.json");
    let read_error = |source| LifecycleError::ReadConfig {
        path: path.clone(),
        source,
    };
    let file = std::fs::File::open(&path).map_err(read_error)?;
    let mut bytes = Vec::new();
    // One byte past the cap tells a file at the cap from a larger one.
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(LifecycleError::ConfigTooLarge {
            path,
            limit: MAX_CONFIG_SIZE,
        });
    }
    OciSpec::parse(&bytes, &path)
}

impl OciSpec {
    /// Parses the bytes of a `config.json`; `file` names it in errors.
    pub fn parse(json: &[u8], file: &Path) -> Result<OciSpec, LifecycleError> {
        serde_json::from_slice(json).map_err(|source| LifecycleError::MalformedConfig {
            path: file.to_owned(),
            source,
        })
    }

    /// The spec's `ociVersion`.
    pub fn oci_version(&self) -> &str {
        &self.oci_version
    }

    /// `process.args`: argv, the program first.
    pub fn args(&self) -> &[String] {
        &self.process.args
    }

    /// `process.env` as (key, value) pairs, in order; entries without `=`
    /// or with an empty key are skipped.
    pub fn env(&self) -> Vec<(String, String)> {
        self.process
            .env
            .iter()
            .filter_map(|entry| entry.split_once('='))
            .filter(|(key, _)| !key.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// `process.cwd`, `/` when unset.
    pub fn cwd(&self) -> &str {
        &self.process.cwd
    }

    /// `process.terminal`: whether the container wants a pseudo-terminal.
    pub fn terminal(&self) -> bool {
        self.process.terminal
    }

    /// The spec's annotations.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// The network namespace the container is to live in.
    pub fn network_namespace(&self) -> NetworkNamespace {
        match self.linux.namespaces.iter().find(|ns| ns.kind == "network") {
            None => NetworkNamespace::Host,
            Some(ns) if ns.path.is_empty() => NetworkNamespace::New,
            Some(ns) => NetworkNamespace::Join(PathBuf::from(&ns.path)),
        }
    }

    /// Whether this is a Kubernetes pod sandbox (the "pause" container),
    /// which has no program of its own to run.
    pub fn is_pod_sandbox(&self) -> bool {
        self.annotation(CRI_CONTAINER_TYPE) == Some("sandbox")
    }

    /// The id of the pod sandbox this container belongs to, under CRI.
    pub fn sandbox_id(&self) -> Option<&str> {
        self.annotation(CRI_SANDBOX_ID)
    }

    /// `linux.resources.memory.limit` in bytes, when set and positive.
    pub fn memory_limit(&self) -> Option<u64> {
        self.linux
            .resources
            .memory
            .limit
            .and_then(|limit| u64::try_from(limit).ok())
            .filter(|limit| *limit > 0)
    }

    /// `linux.resources.cpu`'s quota, period and shares, when any is set
    /// (a quota of 0 or below is none, as are the default 1024 shares; the
    /// period defaults to 100 ms).
    pub fn cpu_limit(&self) -> Option<crate::cgroup::CpuLimit> {
        let cpu = &self.linux.resources.cpu;
        let quota = cpu
            .quota
            .and_then(|quota| u64::try_from(quota).ok())
            .filter(|quota| *quota > 0);
        // 1024 is the kernel's default weight (and what `ctr run` always
        // sends): nothing to apply.
        let shares = cpu.shares.filter(|shares| *shares > 0 && *shares != 1024);
        if quota.is_none() && shares.is_none() {
            return None;
        }
        Some(crate::cgroup::CpuLimit {
            quota_us: quota,
            period_us: cpu
                .period
                .filter(|period| *period > 0)
                .unwrap_or(crate::cgroup::DEFAULT_PERIOD_US),
            shares,
        })
    }

    /// `root.path` as written: absolute, or relative to the bundle.
    pub fn root_path(&self) -> &str {
        &self.root.path
    }

    /// The rootfs directory of this spec's bundle `bundle`, which must lie
    /// inside it (see [`crate::bundle::rootfs_in`]).
    pub fn rootfs(&self, bundle: &Path) -> Result<PathBuf, LifecycleError> {
        crate::bundle::rootfs_in(bundle, &self.root.path)
    }

    /// `root.readonly`: whether the container may not change its rootfs.
    pub fn root_readonly(&self) -> bool {
        self.root.readonly
    }

    /// The spec's `mounts`, in order.
    pub fn mounts(&self) -> &[SpecMount] {
        &self.mounts
    }

    /// The value of annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
