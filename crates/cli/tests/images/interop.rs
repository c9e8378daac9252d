//! skopeo and umoci, independent OCI clients, against what wharf makes,
//! and wharf against what they make.

use std::fs;
use std::path::Path;
use std::process::Command;

use wharf_testkit::TestRegistry;

use crate::common::{self, assert_code, path_str, stdout, temp};
use crate::layout::{APP_DOCKERFILE, build, context, wharf};

#[track_caller]
fn tool(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program} (install the Debian package {program}): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn what_wharf_pushes_skopeo_copies_and_runs() {
    let registry = TestRegistry::start();
    let name = format!("{}/interop/app:1", registry.address());
    let root = temp();
    build(root.path(), &name, context(APP_DOCKERFILE).path());
    assert_code(&wharf(root.path(), &["push", &name]), 0);

    let work = temp();
    let layout = work.path().join("oci");
    let inspect = tool(
        "skopeo",
        &["inspect", "--tls-verify=false", &format!("docker://{name}")],
    );
    let inspect: serde_json::Value = serde_json::from_str(&inspect).expect("json");
    assert_eq!(inspect["Architecture"], "wasm", "{inspect}");
    assert_eq!(inspect["Os"], "wasi", "{inspect}");
    tool(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{name}"),
            &format!("oci:{}:app", layout.display()),
        ],
    );
    // umoci unpacks only linux images; the layers are plain tar.gz files.
    let rootfs = work.path().join("rootfs");
    fs::create_dir_all(&rootfs).expect("rootfs");
    let blob = |digest: &serde_json::Value| {
        let hex = digest
            .as_str()
            .expect("digest")
            .trim_start_matches("sha256:");
        layout.join("blobs/sha256").join(hex)
    };
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).expect("index")).expect("json");
    let manifest: serde_json::Value = serde_json::from_slice(
        &fs::read(blob(&index["manifests"][0]["digest"])).expect("manifest"),
    )
    .expect("json");
    for layer in manifest["layers"].as_array().expect("layers") {
        tool(
            "tar",
            &[
                "-xzf",
                path_str(&blob(&layer["digest"])),
                "-C",
                path_str(&rootfs),
            ],
        );
    }
    let program = rootfs.join("bin/app.wasm");
    let output = wharf(root.path(), &["run", path_str(&program), "unpacked"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("arg 1=unpacked\n"));
}

#[test]
fn an_image_made_by_umoci_runs_with_wharf() {
    let registry = TestRegistry::start();
    let work = temp();
    let layout = work.path().join("layout");
    let image = format!("{}:v1", layout.display());
    tool("umoci", &["init", "--layout", path_str(&layout)]);
    tool("umoci", &["new", "--image", &image]);
    let bundle = work.path().join("bundle");
    tool(
        "umoci",
        &["unpack", "--rootless", "--image", &image, path_str(&bundle)],
    );
    let rootfs = bundle.join("rootfs");
    fs::create_dir_all(rootfs.join("app")).expect("dir");
    fs::copy(common::c_guest("args_env"), rootfs.join("app/main.wasm")).expect("copy");
    tool("umoci", &["repack", "--image", &image, path_str(&bundle)]);
    tool(
        "umoci",
        &[
            "config",
            "--image",
            &image,
            "--os",
            "wasi",
            "--architecture",
            "wasm",
            "--config.entrypoint",
            "/app/main.wasm",
            "--config.cmd",
            "from-umoci",
            "--config.env",
            "MADE_BY=umoci",
        ],
    );
    let name = format!("{}/umoci/app:v1", registry.address());
    tool(
        "skopeo",
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{image}"),
            &format!("docker://{name}"),
        ],
    );
    let root = temp();
    let output = wharf(root.path(), &["run", &name]);
    assert_code(&output, 0);
    let out = stdout(&output);
    assert!(
        out.contains("arg 0=/app/main.wasm\n") && out.contains("arg 1=from-umoci\n"),
        "{out}"
    );
    assert!(out.contains("env MADE_BY=umoci\n"), "{out}");
}

#[test]
fn skopeo_reads_the_store_as_an_oci_layout() {
    let root = temp();
    build(
        root.path(),
        "layout-check:1",
        context(APP_DOCKERFILE).path(),
    );
    let layout: &Path = &root.path().join("images");
    let inspect = tool(
        "skopeo",
        &["inspect", &format!("oci:{}:1", layout.display())],
    );
    let inspect: serde_json::Value = serde_json::from_str(&inspect).expect("json");
    assert_eq!(inspect["Architecture"], "wasm", "{inspect}");
}
