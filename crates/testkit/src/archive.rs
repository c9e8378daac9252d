//! Docker-format image archives (`docker save`, `wharf save`) rewritten for
//! engines that refuse a Wasm platform.

use std::fs;
use std::io::Read as _;
use std::path::Path;

use sha2::{Digest as _, Sha256};

/// Copies the docker archive `from` to `to` with `os` and `architecture`
/// in each image's config: the new config is added under its digest
/// (next to the old one) and manifest.json points at it. An OCI layout's
/// `index.json` and `oci-layout` are left out (they still point at the old
/// config), so what remains is a plain `docker save` archive.
pub fn docker_archive_with_platform(from: &Path, to: &Path, os: &str, architecture: &str) {
    let mut entries = Vec::new();
    let mut archive = tar::Archive::new(fs::File::open(from).expect("open archive"));
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let path = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        let path = path.trim_start_matches("./").to_owned();
        if path == "index.json" || path == "oci-layout" {
            continue;
        }
        let header = entry.header().clone();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read entry");
        entries.push((path, header, bytes));
    }
    let find = |name: &str| {
        entries
            .iter()
            .position(|(path, _, _)| path == name)
            .unwrap_or_else(|| panic!("{name} is not in {}", from.display()))
    };
    let manifest_at = find("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&entries[manifest_at].2).expect("manifest.json");
    let mut added = Vec::new();
    for item in manifest.as_array_mut().expect("manifest.json is a list") {
        let config_path = item["Config"].as_str().expect("Config").to_owned();
        let mut config: serde_json::Value =
            serde_json::from_slice(&entries[find(&config_path)].2).expect("config");
        config["os"] = os.into();
        config["architecture"] = architecture.into();
        let bytes = serde_json::to_vec(&config).expect("json");
        let hex = format!("{:x}", Sha256::digest(&bytes));
        let path = if config_path.starts_with("blobs/sha256/") {
            format!("blobs/sha256/{hex}")
        } else {
            format!("{hex}.json")
        };
        item["Config"] = path.clone().into();
        added.push((path, bytes));
    }
    entries[manifest_at].2 = serde_json::to_vec(&manifest).expect("json");
    let mut builder = tar::Builder::new(fs::File::create(to).expect("create archive"));
    for (path, mut header, bytes) in entries {
        header.set_size(bytes.len() as u64);
        builder
            .append_data(&mut header, &path, bytes.as_slice())
            .expect("tar entry");
    }
    for (path, bytes) in added {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, &path, bytes.as_slice())
            .expect("tar entry");
    }
    builder.finish().expect("finish archive");
}
