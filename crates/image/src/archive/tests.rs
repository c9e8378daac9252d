//! Save, and save then load: hand-made Wasm images in a temporary store.

use std::io::{Read, Write};

use super::*;
use crate::blobs::BlobStore;
use crate::manifest::{Index, Manifest, Platform, media_type};
use crate::refs::{NAME_ANNOTATION, REF_NAME_ANNOTATION};

pub(super) const WASM: &[u8] = b"\0asm\x01\0\0\0";
pub(super) const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

pub(super) fn store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open(dir.path().join("layout")).expect("open store");
    (dir, store)
}

/// A tar holding one file `app.wasm`.
pub(super) fn layer_tar(content: &[u8]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    tar.append_data(&mut header, "app.wasm", content)
        .expect("append");
    tar.into_inner().expect("finish tar")
}

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A wasi/wasm image config whose rootfs is `layer` (uncompressed).
pub(super) fn config(layer: &[u8]) -> Vec<u8> {
    format!(
        r#"{{"architecture":"wasm","os":"wasi","config":{{"Entrypoint":["/app.wasm"]}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        Digest::of(layer)
    )
    .into_bytes()
}

fn put(blobs: &BlobStore, media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: blobs.put(bytes).expect("put"),
        size: bytes.len() as u64,
        platform: None,
        annotations: Default::default(),
    }
}

/// Stores a one-layer Wasm image whose module is `module`; its manifest.
pub(super) fn wasm_image(blobs: &BlobStore, module: &[u8]) -> Descriptor {
    let layer = layer_tar(module);
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_type::OCI_MANIFEST.to_owned()),
        config: put(blobs, media_type::OCI_CONFIG, &config(&layer)),
        layers: vec![put(blobs, GZIP_LAYER, &gzip(&layer))],
        annotations: Default::default(),
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifest json");
    put(blobs, media_type::OCI_MANIFEST, &bytes)
}

/// Stores an index of a Wasm image and a linux/amd64 one that is not
/// stored (as a pull leaves it); its descriptor.
fn wasm_index(blobs: &BlobStore) -> Descriptor {
    let platform = |architecture: &str, os: &str| Platform {
        architecture: architecture.to_owned(),
        os: os.to_owned(),
        variant: None,
    };
    let mut linux = wasm_image(blobs, b"not stored");
    linux.digest = Digest::of(b"absent");
    linux.platform = Some(platform("amd64", "linux"));
    let mut wasm = wasm_image(blobs, b"\0asm\x01\0\0\0index");
    wasm.platform = Some(platform("wasm", "wasi"));
    let index = Index {
        schema_version: 2,
        media_type: Some(media_type::OCI_INDEX.to_owned()),
        manifests: vec![linux, wasm],
    };
    let bytes = serde_json::to_vec(&index).expect("index json");
    put(blobs, media_type::OCI_INDEX, &bytes)
}

fn named(name: &str, manifest: &Descriptor) -> ArchivedImage {
    ArchivedImage {
        name: Some(name.parse().expect("reference")),
        manifest: manifest.clone(),
    }
}

/// A named manifest, a named index and an unnamed manifest.
fn three_images(blobs: &BlobStore) -> Vec<ArchivedImage> {
    let other = wasm_image(blobs, b"\0asm\x01\0\0\0other");
    vec![
        named("app:latest", &wasm_image(blobs, WASM)),
        named("localhost:5000/team/app:v1", &wasm_index(blobs)),
        ArchivedImage {
            name: None,
            manifest: other,
        },
    ]
}

pub(super) fn saved(blobs: &BlobStore, images: &[ArchivedImage], format: ArchiveFormat) -> Vec<u8> {
    let mut out = Vec::new();
    save(blobs, images, format, &mut out).expect("save");
    out
}

/// Every entry of a tar: path, header, content.
pub(super) fn entries(tar: &[u8]) -> Vec<(String, tar::Header, Vec<u8>)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .expect("entries")
        .map(|entry| {
            let mut entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).expect("content");
            (path, entry.header().clone(), content)
        })
        .collect()
}

fn file(tar: &[u8], path: &str) -> Vec<u8> {
    entries(tar)
        .into_iter()
        .find(|(p, _, _)| p == path)
        .unwrap_or_else(|| panic!("no {path} in the archive"))
        .2
}

fn assert_round_trip(format: ArchiveFormat) {
    let (_dir, blobs) = store();
    let images = three_images(&blobs);
    let tar = saved(&blobs, &images, format);
    let (_dir2, fresh) = store();
    let loaded = load(&fresh, &tar[..]).expect("load");
    assert_eq!(loaded, images, "same digests, media types and names");
    let mut out = Vec::new();
    save(&fresh, &loaded, format, &mut out).expect("the loaded images are complete");
    assert_eq!(out, tar, "saving what was loaded gives the same bytes");
}

#[test]
fn oci_round_trip_keeps_digests_and_names() {
    assert_round_trip(ArchiveFormat::Oci);
}

#[test]
fn docker_round_trip_keeps_digests_and_names() {
    assert_round_trip(ArchiveFormat::Docker);
}

#[test]
fn oci_index_names_each_image_for_containerd_and_skopeo() {
    let (_dir, blobs) = store();
    let images = three_images(&blobs);
    let tar = saved(&blobs, &images, ArchiveFormat::Oci);
    let index: Index = serde_json::from_slice(&file(&tar, "index.json")).expect("index.json");
    assert_eq!(index.media_type.as_deref(), Some(media_type::OCI_INDEX));
    let names: Vec<_> = index
        .manifests
        .iter()
        .map(|d| {
            (
                d.annotations.get(NAME_ANNOTATION).map(String::as_str),
                d.annotations.get(REF_NAME_ANNOTATION).map(String::as_str),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (Some("docker.io/library/app:latest"), Some("latest")),
            (Some("localhost:5000/team/app:v1"), Some("v1")),
            (None, None),
        ]
    );
    assert_eq!(file(&tar, "oci-layout"), LAYOUT_CONTENT.as_bytes());
    let paths: Vec<_> = entries(&tar).into_iter().map(|(p, _, _)| p).collect();
    assert!(!paths.contains(&"manifest.json".to_owned()));
    // 2 manifests + index + wasm manifest, 3 configs, 3 layers.
    let blob_count = paths
        .iter()
        .filter(|p| p.len() == BLOB_DIR.len() + 64)
        .count();
    assert_eq!(blob_count, 10, "{paths:?}");
}

#[test]
fn docker_archive_lists_the_wasm_manifest_with_familiar_tags() {
    let (_dir, blobs) = store();
    let images = three_images(&blobs);
    let tar = saved(&blobs, &images, ArchiveFormat::Docker);
    let listed: Vec<DockerEntry> =
        serde_json::from_slice(&file(&tar, "manifest.json")).expect("manifest.json");
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].repo_tags, ["app:latest"]);
    assert_eq!(listed[1].repo_tags, ["localhost:5000/team/app:v1"]);
    assert!(listed[2].repo_tags.is_empty());
    let wasm = |descriptor: &Descriptor| -> Manifest {
        serde_json::from_slice(&blobs.read(&descriptor.digest).expect("read")).expect("manifest")
    };
    let first = wasm(&images[0].manifest);
    assert_eq!(listed[0].config, blob_path(&first.config.digest));
    assert_eq!(listed[0].layers, [blob_path(&first.layers[0].digest)]);
    let index: Index =
        serde_json::from_slice(&blobs.read(&images[1].manifest.digest).expect("read"))
            .expect("index");
    let chosen = wasm(index.wasm_manifest().expect("wasm entry"));
    assert_eq!(listed[1].config, blob_path(&chosen.config.digest));
    let all = entries(&tar);
    for path in listed
        .iter()
        .flat_map(|e| std::iter::once(&e.config).chain(&e.layers))
    {
        assert!(
            all.iter().any(|(p, _, _)| p == path),
            "{path} is in the tar"
        );
    }
    let repositories: serde_json::Value =
        serde_json::from_slice(&file(&tar, "repositories")).expect("repositories");
    assert_eq!(
        repositories["app"]["latest"],
        first.layers[0].digest.hex(),
        "{repositories}"
    );
    assert_eq!(
        repositories["localhost:5000/team/app"]["v1"],
        chosen.layers[0].digest.hex()
    );
}

#[test]
fn output_is_deterministic() {
    let (_dir, blobs) = store();
    let images = three_images(&blobs);
    let tar = saved(&blobs, &images, ArchiveFormat::Docker);
    assert_eq!(tar, saved(&blobs, &images, ArchiveFormat::Docker));
    let all = entries(&tar);
    let paths: Vec<_> = all.iter().map(|(p, _, _)| p.clone()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(paths, sorted, "sorted, each entry once");
    for (path, header, _) in &all {
        assert_eq!(header.mtime().expect("mtime"), 0, "{path}");
        assert_eq!(header.uid().expect("uid"), 0, "{path}");
        assert_eq!(header.gid().expect("gid"), 0, "{path}");
        let mode = header.mode().expect("mode");
        let expected = if header.entry_type().is_dir() {
            0o755
        } else {
            0o644
        };
        assert_eq!(mode, expected, "{path}");
    }
    // The same images through another store give the same bytes.
    let (_dir2, other) = store();
    assert_eq!(
        saved(&other, &three_images(&other), ArchiveFormat::Docker),
        tar
    );
}

#[test]
fn save_refuses_an_image_with_a_missing_layer() {
    let (_dir, blobs) = store();
    let image = wasm_image(&blobs, WASM);
    let manifest: Manifest =
        serde_json::from_slice(&blobs.read(&image.digest).expect("read")).expect("manifest");
    std::fs::remove_file(blobs.path(&manifest.layers[0].digest)).expect("remove layer");
    let error = save(
        &blobs,
        &[named("app", &image)],
        ArchiveFormat::Oci,
        Vec::new(),
    )
    .expect_err("missing layer");
    assert!(
        matches!(&error, ArchiveError::MissingBlob { digest, .. } if *digest == manifest.layers[0].digest),
        "{error}"
    );
}

#[test]
fn save_refuses_a_blob_changed_on_disk() {
    let (_dir, blobs) = store();
    let image = wasm_image(&blobs, WASM);
    let manifest: Manifest =
        serde_json::from_slice(&blobs.read(&image.digest).expect("read")).expect("manifest");
    let layer = blobs.path(&manifest.layers[0].digest);
    let mut bytes = std::fs::read(&layer).expect("layer");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&layer, bytes).expect("tamper");
    let error = save(
        &blobs,
        &[named("app", &image)],
        ArchiveFormat::Docker,
        Vec::new(),
    )
    .expect_err("tampered layer");
    assert!(matches!(error, ArchiveError::ReadBlob { .. }), "{error}");
}
