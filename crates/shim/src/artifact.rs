//! What a container's image in containerd's content store says beyond its
//! rootfs: the one module of Wasm artifacts and component-layer images,
//! and the ports an image exposes.
//!
//! containerd 1.6 refuses to unpack artifact images (its clients stop at
//! "mismatched image rootfs and manifest layers"), and later versions
//! unpack them to an empty rootfs; either way the container's record names
//! the image, and what is needed is read from there: image → manifest (the
//! wasm entry of an index, else its first) → its module layer
//! ([`Manifest::module_layer`]), or the config.

use std::fs;
use std::path::{Path, PathBuf};

use wharf_containerd::{CallError, Client};
use wharf_image::Digest;
use wharf_image::manifest::{self, MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE, Manifest, Parsed};
use wharf_image::store::ImageConfig;

/// Where the containerd that runs the daemon's containers listens, and the
/// namespace they are in.
#[derive(Debug, Clone)]
pub struct Containerd {
    /// containerd's gRPC socket.
    pub address: String,
    pub namespace: String,
}

/// The largest module read from the content store.
const MAX_MODULE_SIZE: u64 = 1 << 30;

/// The module of container `id`'s image, copied into the bundle, with the
/// image's name; `None` when the container names no image or its image
/// has no module layer (a rootfs image whose program is missing).
pub fn module_of(
    containerd: &Containerd,
    id: &str,
    bundle: &Path,
) -> Result<Option<(PathBuf, String)>, String> {
    let mut client = connect(containerd, id)?;
    let Some((manifest, image)) = image_manifest(&mut client, id)? else {
        return Ok(None);
    };
    let Some(layer) = manifest.module_layer() else {
        return Ok(None);
    };
    let module = read_verified(&mut client, &layer.digest.to_string(), MAX_MODULE_SIZE)?;
    let path = bundle.join("wharf-module.wasm");
    fs::write(&path, module).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some((path, image)))
}

/// The first TCP port container `id`'s image exposes (`EXPOSE`), if its
/// image says one.
pub fn exposed_port_of(containerd: &Containerd, id: &str) -> Result<Option<u16>, String> {
    let mut client = connect(containerd, id)?;
    let Some((manifest, image)) = image_manifest(&mut client, id)? else {
        return Ok(None);
    };
    let bytes = read_verified(
        &mut client,
        &manifest.config.digest.to_string(),
        MAX_CONFIG_SIZE,
    )?;
    let config: ImageConfig =
        serde_json::from_slice(&bytes).map_err(|e| format!("the config of image {image}: {e}"))?;
    Ok(config.config.exposed_tcp_ports().first().copied())
}

fn connect(containerd: &Containerd, id: &str) -> Result<Client, String> {
    Client::connect(Path::new(&containerd.address), &containerd.namespace)
        .map_err(|error| reading(id, error))
}

fn reading(id: &str, error: CallError) -> String {
    format!("reading the image of {id} from containerd: {error}")
}

/// The manifest of container `id`'s image and the image's name; `None`
/// when the container names no image, or no such image is known.
fn image_manifest(client: &mut Client, id: &str) -> Result<Option<(Manifest, String)>, String> {
    let container = client.container(id).map_err(|e| reading(id, e))?;
    if container.image.is_empty() {
        return Ok(None);
    }
    let image = match client.image(&container.image) {
        Ok(image) => image,
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(reading(id, error)),
    };
    let target = image
        .target
        .ok_or_else(|| format!("image {} has no target", container.image))?;
    let mut manifest_digest = target.digest;
    let mut media = target.media_type;
    // An index first, then its wasm manifest.
    for _ in 0..2 {
        let bytes = read_verified(client, &manifest_digest, MAX_MANIFEST_SIZE as u64)?;
        let parsed = manifest::parse(&bytes, Some(&media))
            .map_err(|e| format!("image {}: {e}", container.image))?;
        match parsed {
            Parsed::Index(index) => {
                let Some(entry) = index.wasm_manifest().or(index.manifests.first()) else {
                    return Ok(None);
                };
                manifest_digest = entry.digest.to_string();
                media = entry.media_type.clone();
            }
            Parsed::Manifest(manifest) => return Ok(Some((manifest, container.image))),
        }
    }
    Err(format!(
        "image {}: an index inside an index",
        container.image
    ))
}

/// Blob `digest`, checked against its digest: containerd verified it on the
/// way in, but a module is what the guest runs.
fn read_verified(client: &mut Client, digest: &str, limit: u64) -> Result<Vec<u8>, String> {
    let expected: Digest = digest
        .parse()
        .map_err(|e| format!("content {digest}: {e}"))?;
    let bytes = client
        .read_content(digest, limit)
        .map_err(|e| format!("reading {digest} from containerd's content store: {e}"))?;
    if Digest::of(&bytes) != expected {
        return Err(format!("content {digest} does not match its digest"));
    }
    Ok(bytes)
}
