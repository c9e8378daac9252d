//! `wharf save` and `wharf load` against an independent OCI client: skopeo.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use wharf_image::archive::{ArchiveFormat, ArchivedImage, load, save};
use wharf_image::manifest::{Descriptor, Index, Manifest, media_type};
use wharf_image::{BlobStore, Digest, REF_NAME_ANNOTATION};

const WASM: &[u8] = b"\0asm\x01\0\0\0";
const SKOPEO: &str = "/usr/bin/skopeo";

/// Runs skopeo; its stdout. Panics with skopeo's complaint on failure.
fn skopeo(args: &[&str]) -> String {
    assert!(
        Path::new(SKOPEO).exists(),
        "skopeo is missing: install it (apt-get install skopeo) to run these tests"
    );
    let output = Command::new(SKOPEO)
        .arg("--insecure-policy")
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        output.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn layer_tar(content: &[u8]) -> Vec<u8> {
    wharf_testkit::tar_of(&[("app.wasm", content)])
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
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

/// Stores a wasi/wasm image with one gzip layer holding `app.wasm`.
fn wasm_image(blobs: &BlobStore) -> Descriptor {
    let layer = layer_tar(WASM);
    let config = format!(
        r#"{{"architecture":"wasm","os":"wasi","config":{{"Entrypoint":["/app.wasm"]}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        Digest::of(&layer)
    );
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(media_type::OCI_MANIFEST.to_owned()),
        config: put(blobs, media_type::OCI_CONFIG, config.as_bytes()),
        layers: vec![put(
            blobs,
            "application/vnd.oci.image.layer.v1.tar+gzip",
            &gzip(&layer),
        )],
        annotations: Default::default(),
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifest");
    put(blobs, media_type::OCI_MANIFEST, &bytes)
}

fn manifest_of(blobs: &BlobStore, descriptor: &Descriptor) -> Manifest {
    serde_json::from_slice(&blobs.read(&descriptor.digest).expect("read")).expect("manifest")
}

/// Saves one image named `name` into `dir/image.tar`; its manifest.
fn save_one(dir: &Path, name: &str, format: ArchiveFormat) -> (Descriptor, Manifest) {
    let blobs = BlobStore::open(dir.join("store")).expect("store");
    let image = wasm_image(&blobs);
    let images = [ArchivedImage {
        name: Some(name.parse().expect("reference")),
        manifest: image.clone(),
    }];
    let file = std::fs::File::create(dir.join("image.tar")).expect("create");
    save(&blobs, &images, format, file).expect("save");
    let manifest = manifest_of(&blobs, &image);
    (image, manifest)
}

#[test]
fn skopeo_inspects_our_docker_archive_as_a_wasi_wasm_image() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, manifest) = save_one(dir.path(), "app:latest", ArchiveFormat::Docker);
    let archive = format!("docker-archive:{}", dir.path().join("image.tar").display());
    let inspect: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", &archive])).expect("inspect json");
    assert_eq!(inspect["Architecture"], "wasm", "{inspect}");
    assert_eq!(inspect["Os"], "wasi", "{inspect}");
    // skopeo names docker-archive layers by their uncompressed digest.
    let diff_id = Digest::of(&layer_tar(WASM));
    assert_eq!(
        inspect["Layers"],
        serde_json::json!([diff_id.to_string()]),
        "{inspect}"
    );
    assert_ne!(
        diff_id, manifest.layers[0].digest,
        "the layer went in gzipped"
    );
    let named = format!("{archive}:docker.io/library/app:latest");
    let by_name: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", &named])).expect("inspect json");
    assert_eq!(by_name["Os"], "wasi", "RepoTags name the image: {by_name}");
}

#[test]
fn skopeo_copies_our_oci_archive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (image, manifest) = save_one(dir.path(), "registry.local/app:v1", ArchiveFormat::Oci);
    let source = format!("oci-archive:{}", dir.path().join("image.tar").display());
    let copy = dir.path().join("copy");
    skopeo(&["copy", &source, &format!("oci:{}:copied", copy.display())]);
    let index: Index =
        serde_json::from_slice(&std::fs::read(copy.join("index.json")).expect("index.json"))
            .expect("index");
    assert_eq!(index.manifests.len(), 1);
    assert_eq!(
        index.manifests[0].digest, image.digest,
        "skopeo kept our manifest byte for byte"
    );
    assert_eq!(
        index.manifests[0].annotations.get(REF_NAME_ANNOTATION),
        Some(&"copied".to_owned())
    );
    let layer = copy
        .join("blobs/sha256")
        .join(manifest.layers[0].digest.hex());
    assert_eq!(
        Digest::of(&std::fs::read(layer).expect("layer copied")),
        manifest.layers[0].digest
    );
}

#[test]
fn load_reads_the_docker_archive_skopeo_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    // An OCI layout written by hand: our blob store plus an index.json.
    let layout = dir.path().join("layout");
    let source = BlobStore::open(&layout).expect("layout");
    let mut image = wasm_image(&source);
    image
        .annotations
        .insert(REF_NAME_ANNOTATION.to_owned(), "latest".to_owned());
    let index = Index {
        schema_version: 2,
        media_type: Some(media_type::OCI_INDEX.to_owned()),
        manifests: vec![image],
    };
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).expect("index"),
    )
    .expect("write index.json");
    let tarball = dir.path().join("skopeo.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:latest", layout.display()),
        &format!(
            "docker-archive:{}:registry.local/team/app:v3",
            tarball.display()
        ),
    ]);

    let blobs = BlobStore::open(dir.path().join("store")).expect("store");
    let file = std::fs::File::open(&tarball).expect("open tarball");
    let loaded = load(&blobs, file).expect("load skopeo's archive");
    assert_eq!(loaded.len(), 1);
    assert_eq!(
        loaded[0].name.as_ref().map(ToString::to_string).as_deref(),
        Some("registry.local/team/app:v3")
    );
    let manifest = manifest_of(&blobs, &loaded[0].manifest);
    let config: serde_json::Value =
        serde_json::from_slice(&blobs.read(&manifest.config.digest).expect("config"))
            .expect("config json");
    assert_eq!(
        (&config["architecture"], &config["os"]),
        (&"wasm".into(), &"wasi".into())
    );
    assert_eq!(manifest.layers.len(), 1);
    let layer = blobs.open_blob(&manifest.layers[0].digest).expect("layer");
    let reader: Box<dyn Read> = if manifest.layers[0].media_type.ends_with("gzip") {
        Box::new(flate2::read::GzDecoder::new(layer))
    } else {
        Box::new(layer)
    };
    let mut tar = tar::Archive::new(reader);
    let mut entry = tar
        .entries()
        .expect("layer tar")
        .next()
        .expect("one file")
        .expect("entry");
    assert_eq!(entry.path().expect("path").to_str(), Some("app.wasm"));
    let mut module = Vec::new();
    entry.read_to_end(&mut module).expect("module");
    assert_eq!(module, WASM);
}
