//! Wasm bundles `create` refuses: no static binary, a module that is not
//! one, an image whose wharf directory links elsewhere.

use std::fs;
use std::path::Path;

use serde_json::json;

use super::support::{container_wasm, dynamic_runc, stderr};
use super::{FakeRunc, bundle, config_of, create_args, create_in, create_wasm, spec};

#[test]
fn a_wasm_bundle_needs_the_static_binary_and_a_valid_module() {
    let wasm = fs::read(container_wasm()).expect("guest");
    let config = spec(&["/app.wasm"], json!({}));
    let bundle = bundle(&config, &[("app.wasm", &wasm)]);
    let before = fs::read(bundle.path().join("config.json")).expect("read");
    let fake = FakeRunc::new();
    let output = fake.run(&dynamic_runc(), &create_args(bundle.path(), &[]), 0);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("dynamically linked"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fake.given(), None);
    assert_eq!(
        fs::read(bundle.path().join("config.json")).expect("read"),
        before
    );

    // A module that does not validate is refused at create, bundle intact.
    let config = spec(&["/bad.wasm"], json!({}));
    let broken = b"\0asm\x01\0\0\0\x01\xff\xff";
    let (bundle, _root, fake, output) = create_wasm(&config, &[("bad.wasm", broken)]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("bad.wasm"), "{}", stderr(&output));
    assert_eq!(fake.given(), None);
    assert_eq!(config_of(bundle.path()), config);
}

#[test]
fn an_image_whose_wharf_directory_links_elsewhere_is_refused() {
    let wasm = fs::read(container_wasm()).expect("guest");
    for (link, target) in [
        (".wharf", "/data"),
        (".wharf/root", "/data"),
        (".wharf/cache", "/data"),
        (".wharf/wharf-runc", "/data/keep"),
        // A volume whose destination links onto wharf's mounts or /dev.
        ("x", "/.wharf"),
        ("y", "dev"),
    ] {
        let mut config = spec(&["/app.wasm"], json!({}));
        for volume in ["/x", "/y"] {
            config["mounts"].as_array_mut().expect("mounts").push(json!(
                {"destination": volume, "type": "bind", "source": "/tmp", "options": ["rbind"]}
            ));
        }
        let bundle = bundle(&config, &[("app.wasm", &wasm), ("data/keep", b"")]);
        let rootfs = bundle.path().join("rootfs");
        if let Some(parent) = Path::new(link)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            fs::create_dir_all(rootfs.join(parent)).expect("mkdir");
        }
        std::os::unix::fs::symlink(target, rootfs.join(link)).expect("link");
        let before = fs::read(bundle.path().join("config.json")).expect("read");
        let (_wharf_root, fake, output) = create_in(bundle.path());
        assert_eq!(output.status.code(), Some(1), "{link}");
        assert!(
            stderr(&output).contains("symbolic link"),
            "{}",
            stderr(&output)
        );
        assert_eq!(fake.given(), None, "{link}: runc is not run");
        assert_eq!(
            fs::read(bundle.path().join("config.json")).expect("read"),
            before
        );
    }
}
