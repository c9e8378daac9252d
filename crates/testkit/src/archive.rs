//! Docker-format image archives (`docker save`, `wharf save`): rewritten for
//! engines that refuse a Wasm platform, or written from files for tests.

use std::fs;
use std::io::Read as _;
use std::path::Path;

use serde_json::{Value, json};
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
        let hex = sha256_hex(&bytes);
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

/// One entry of a test image's only layer.
#[derive(Debug, Clone, Copy)]
pub enum LayerEntry<'a> {
    /// A directory (mode 0755).
    Dir(&'a str),
    /// A regular file with its bytes and mode.
    File(&'a str, &'a [u8], u32),
    /// A symbolic link and its target.
    Symlink(&'a str, &'a str),
}

/// Writes `out`, a docker-format archive (`docker load`, `wharf load`) of
/// one image tagged `tag` for linux on the host's architecture, with one
/// layer of `entries` and `config` as the image config's `config` (Env,
/// Entrypoint, Cmd, ...): written file by file, so no registry is needed.
pub fn linux_image_archive(out: &Path, tag: &str, entries: &[LayerEntry<'_>], config: Value) {
    let mut layer = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(0);
        match *entry {
            LayerEntry::Dir(path) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                layer.append_data(&mut header, path, std::io::empty())
            }
            LayerEntry::File(path, bytes, mode) => {
                header.set_mode(mode);
                header.set_size(bytes.len() as u64);
                layer.append_data(&mut header, path, bytes)
            }
            LayerEntry::Symlink(path, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                layer.append_link(&mut header, path, target)
            }
        }
        .expect("layer entry");
    }
    let layer = layer.into_inner().expect("layer tar");
    let layer_hex = sha256_hex(&layer);
    let architecture = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let config = serde_json::to_vec(&json!({
        "architecture": architecture,
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_hex}")]},
    }))
    .expect("config");
    let config_name = format!("{}.json", sha256_hex(&config));
    let layer_name = format!("{layer_hex}/layer.tar");
    let manifest = serde_json::to_vec(&json!([{
        "Config": config_name,
        "RepoTags": [tag],
        "Layers": [layer_name],
    }]))
    .expect("manifest.json");
    let mut archive = tar::Builder::new(fs::File::create(out).expect("create the archive"));
    for (path, bytes) in [
        (config_name.as_str(), config.as_slice()),
        (layer_name.as_str(), layer.as_slice()),
        ("manifest.json", manifest.as_slice()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(bytes.len() as u64);
        archive
            .append_data(&mut header, path, bytes)
            .expect("archive entry");
    }
    archive.finish().expect("finish the archive");
}

/// Writes `out`: [`linux_image_archive`] of a busybox image tagged `tag`,
/// Debian's statically linked `/bin/busybox` with `/bin/sh` linking to it,
/// `PATH=/bin` and `CMD ["/bin/sh"]`.
pub fn busybox_image_archive(out: &Path, tag: &str) {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.is_file(),
        "/bin/busybox is missing: install the Debian package `busybox-static`"
    );
    let binary = fs::read(busybox).expect("read /bin/busybox");
    linux_image_archive(
        out,
        tag,
        &[
            LayerEntry::Dir("bin/"),
            LayerEntry::File("bin/busybox", &binary, 0o755),
            LayerEntry::Symlink("bin/sh", "busybox"),
        ],
        json!({"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]}),
    );
}

/// The lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
