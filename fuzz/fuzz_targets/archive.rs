//! Image archives (`wharf_image::archive::load`: `docker save` and OCI
//! layouts, gzip or not) loaded into a fresh store beside a sentinel.
//! Nothing outside the store changes; every blob the store holds
//! afterwards hashes to its name and no ingest file is left, whether the
//! load failed or not; a load that succeeds names images whose
//! manifests are stored and parse.
#![no_main]

use std::fs;

use libfuzzer_sys::fuzz_target;
use wharf_image::archive::{LoadLimits, load_with_limits};
use wharf_image::{BlobStore, Digest, manifest};

fuzz_target!(|data: &[u8]| {
    let case = wharf_fuzz::fresh_dir();
    let sentinel = wharf_fuzz::Sentinel::new(case.path());
    let root = case.path().join("images");
    let blobs = BlobStore::open(&root).expect("blob store");
    let limits = LoadLimits {
        max_total_bytes: 4 << 20,
        max_entries: 512,
        max_metadata_bytes: 64 << 10,
        max_memory_bytes: 1 << 20,
    };
    let result = load_with_limits(&blobs, data, &limits);
    sentinel.check();
    assert_eq!(wharf_fuzz::names(case.path()), ["images", "sentinel"]);
    assert_eq!(
        wharf_fuzz::names(&root.join("ingest")),
        Vec::<String>::new(),
        "ingest files left behind"
    );
    for name in wharf_fuzz::names(&root.join("blobs/sha256")) {
        let digest: Digest = format!("sha256:{name}")
            .parse()
            .expect("a blob name is a digest");
        let bytes = fs::read(blobs.path(&digest)).expect("read blob");
        assert_eq!(
            Digest::of(&bytes),
            digest,
            "blob {name} is not what its name says"
        );
    }
    let Ok(images) = result else {
        return;
    };
    for image in images {
        let bytes = blobs.read(&image.manifest.digest).unwrap_or_else(|e| {
            panic!("loaded manifest {} unreadable: {e}", image.manifest.digest)
        });
        manifest::parse(&bytes, Some(&image.manifest.media_type))
            .unwrap_or_else(|e| panic!("loaded manifest does not parse: {e}"));
        if let Some(name) = image.name {
            let _ = name.familiar();
        }
    }
});
