//! Image configs, read the way a run reads them (`Store::image`): the
//! bytes are stored as the config blob of a Docker-shaped and of an
//! artifact-shaped manifest, and each image is resolved down to its
//! config and command. Nothing panics; a config that parses serializes
//! back to itself.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wharf_image::manifest::{Descriptor, Manifest, media_type};
use wharf_image::store::ImageConfig;
use wharf_image::{Digest, Store};

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| Store::open(&wharf_fuzz::scratch().join("store")).expect("store"))
}

fn descriptor(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest,
        size,
        platform: None,
        annotations: Default::default(),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = serde_json::from_slice::<ImageConfig>(data) {
        let json = serde_json::to_vec(&config).expect("serialize config");
        let again: ImageConfig = serde_json::from_slice(&json).expect("config parses back");
        assert_eq!(again, config);
    }
    let store = store();
    let blobs = store.blobs();
    let config = blobs.put(data).expect("store config");
    let layer = blobs.put(b"\0asm\x01\0\0\0").expect("store layer");
    let mut stored = vec![config.clone()];
    let shapes = [
        (
            media_type::OCI_CONFIG,
            "application/vnd.oci.image.layer.v1.tar",
        ),
        (
            media_type::DOCKER_CONFIG,
            "application/vnd.oci.image.layer.v1.tar",
        ),
        (media_type::WASM_CONFIG, media_type::WASM_LAYER),
    ];
    for (config_type, layer_type) in shapes {
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.to_owned()),
            config: descriptor(config_type, config.clone(), data.len() as u64),
            layers: vec![descriptor(layer_type, layer.clone(), 8)],
            annotations: Default::default(),
        };
        let bytes = serde_json::to_vec(&manifest).expect("serialize manifest");
        let digest = blobs.put(&bytes).expect("store manifest");
        stored.push(digest.clone());
        let top = descriptor(media_type::OCI_MANIFEST, digest, bytes.len() as u64);
        if let Ok(image) = store.image("fuzz", &top) {
            let _ = image.run_defaults();
            let _ = image.size();
            let _ = image.module_layer();
            let _ = image.id();
        }
    }
    // Keep the store small: what this input added goes again.
    for digest in stored {
        let _ = std::fs::remove_file(blobs.path(&digest));
    }
});
