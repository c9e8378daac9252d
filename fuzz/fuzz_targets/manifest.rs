//! Manifests and indexes (`wharf_image::manifest::parse`), under every
//! Content-Type a registry may send with them: refused with an error or
//! parsed, and what parses serializes back to the same manifest or index.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_image::manifest::{self, Parsed, media_type};

const CONTENT_TYPES: [Option<&str>; 6] = [
    None,
    Some(media_type::OCI_MANIFEST),
    Some(media_type::OCI_INDEX),
    Some(media_type::DOCKER_MANIFEST),
    Some(media_type::DOCKER_MANIFEST_LIST),
    Some("text/html"),
];

fuzz_target!(|data: &[u8]| {
    for content_type in CONTENT_TYPES {
        let Ok(parsed) = manifest::parse(data, content_type) else {
            continue;
        };
        let again = match &parsed {
            Parsed::Manifest(manifest) => serde_json::to_vec(manifest).expect("serialize manifest"),
            Parsed::Index(index) => {
                let _ = index.wasm_manifest();
                serde_json::to_vec(index).expect("serialize index")
            }
        };
        let reparsed = manifest::parse(&again, content_type)
            .unwrap_or_else(|e| panic!("a parsed manifest does not parse back: {e}"));
        assert_eq!(reparsed, parsed, "round trip under {content_type:?}");
    }
});
