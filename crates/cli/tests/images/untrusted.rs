//! Registries that lie: a small scripted server serving a manifest whose
//! layer bytes do not match, and one whose manifest never ends.

use std::fs;
use std::path::Path;

use serde_json::json;
use wharf_testkit::{FakeServer, Response};

use crate::common::{assert_code, stderr, stdout, temp};
use crate::layout::{gzip, sha256_hex, tar_of, wharf};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A registry serving one image whose layer is replaced by other bytes of
/// the same length.
fn lying_registry() -> (FakeServer, String) {
    let layer = gzip(&tar_of(&[("app.wasm", b"\0asm\x01\0\0\0")]));
    let mut forged = layer.clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x55;
    let config = serde_json::to_vec(&json!({
        "architecture": "wasm", "os": "wasi",
        "config": {"Entrypoint": ["/app.wasm"]},
        "rootfs": {"type": "layers", "diff_ids": []},
    }))
    .expect("json");
    let layer_digest = format!("sha256:{}", sha256_hex(&layer));
    let config_digest = format!("sha256:{}", sha256_hex(&config));
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}],
    }))
    .expect("json");
    let served_layer = layer_digest.clone();
    let server = FakeServer::start(move |request| {
        let path = request.path();
        if path == "/v2/" {
            Response::new(200)
        } else if path.contains("/manifests/") {
            Response::new(200)
                .header("Content-Type", MANIFEST)
                .body(manifest.clone())
        } else if path.ends_with(&config_digest) {
            Response::new(200).body(config.clone())
        } else if path.ends_with(&served_layer) {
            Response::new(200).body(forged.clone())
        } else {
            Response::new(404)
        }
    });
    (server, layer_digest)
}

fn stored_blobs(root: &Path) -> Vec<String> {
    fs::read_dir(root.join("images/blobs/sha256"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused_and_not_stored() {
    let (server, layer_digest) = lying_registry();
    let root = temp();
    let name = format!("{}/liar:1", server.address());
    let output = wharf(root.path(), &["pull", &name]);
    assert_code(&output, 125);
    let message = stderr(&output);
    assert!(
        message.contains(layer_digest.trim_start_matches("sha256:")),
        "{message}"
    );
    let hex = layer_digest.trim_start_matches("sha256:").to_owned();
    assert!(
        !stored_blobs(root.path()).contains(&hex),
        "the forged layer was stored"
    );
    let output = wharf(root.path(), &["images", "-q"]);
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "", "a failed pull names nothing");
}

#[test]
fn an_endless_manifest_is_cut_off() {
    let server = FakeServer::start(|request| {
        if request.path() == "/v2/" {
            Response::new(200)
        } else {
            Response::new(200)
                .header("Content-Type", MANIFEST)
                .stream(std::io::repeat(b' '))
        }
    });
    let root = temp();
    let output = wharf(
        root.path(),
        &["pull", "-q", &format!("{}/endless:1", server.address())],
    );
    assert_code(&output, 125);
    assert_eq!(
        stderr(&output).lines().count(),
        1,
        "one clear line: {}",
        stderr(&output)
    );
    assert!(stored_blobs(root.path()).is_empty());
}
