//! `wharf save` and `wharf load`, checked by skopeo.

use std::process::Command;

use crate::common::{assert_code, path_str, stderr, stdout, temp};
use crate::layout::{APP_DOCKERFILE, Layout, build, context, tar_of, wharf};

#[test]
fn a_docker_archive_is_read_by_skopeo_and_loads_back() {
    let root = temp();
    let digest = build(root.path(), "saved:1", context(APP_DOCKERFILE).path());
    let work = temp();
    let archive = work.path().join("saved.tar");
    assert_code(
        &wharf(root.path(), &["save", "-o", path_str(&archive), "saved:1"]),
        0,
    );
    let output = Command::new("skopeo")
        .args(["inspect", &format!("docker-archive:{}", archive.display())])
        .output()
        .expect("run skopeo (install the Debian package skopeo)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let inspect: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(inspect["Architecture"], "wasm", "{inspect}");
    assert_eq!(inspect["Os"], "wasi", "{inspect}");

    let other = temp();
    let output = wharf(other.path(), &["load", "-i", path_str(&archive)]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("saved:1"), "{}", stdout(&output));
    let output = wharf(other.path(), &["run", "saved:1", "loaded"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("arg 1=loaded\n"));
    let _ = digest;
}

#[test]
fn an_oci_archive_round_trips_through_skopeo() {
    let root = temp();
    build(root.path(), "ocisave:1", context(APP_DOCKERFILE).path());
    let work = temp();
    let archive = work.path().join("saved.oci.tar");
    assert_code(
        &wharf(
            root.path(),
            &[
                "save",
                "--format",
                "oci",
                "-o",
                path_str(&archive),
                "ocisave:1",
            ],
        ),
        0,
    );
    let copied = work.path().join("copied.tar");
    let status = Command::new("skopeo")
        .args([
            "copy",
            &format!("oci-archive:{}:1", archive.display()),
            &format!("docker-archive:{}:copied/app:2", copied.display()),
        ])
        .status()
        .expect("run skopeo");
    assert!(status.success());
    let other = temp();
    let output = wharf(other.path(), &["load", "-i", path_str(&copied)]);
    assert_code(&output, 0);
    let output = wharf(other.path(), &["run", "copied/app:2", "via-skopeo"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("arg 1=via-skopeo\n"));
}

#[test]
fn a_tampered_archive_loads_nothing() {
    let work = temp();
    let mut layout = Layout::new(work.path().join("layout"));
    let image = layout.wasi_image(&[("app.wasm", b"\0asm\x01\0\0\0")], "/app.wasm");
    layout.tag("1", image.clone());
    // Replace the layer's bytes with others of the same length.
    let manifest_hex = image["digest"]
        .as_str()
        .expect("digest")
        .trim_start_matches("sha256:")
        .to_owned();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(layout.dir.join("blobs/sha256").join(&manifest_hex)).expect("manifest"),
    )
    .expect("json");
    let layer_hex = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer")
        .trim_start_matches("sha256:");
    let layer_path = layout.dir.join("blobs/sha256").join(layer_hex);
    let mut bytes = std::fs::read(&layer_path).expect("layer");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&layer_path, bytes).expect("tamper");
    let archive = work.path().join("tampered.tar");
    let status = Command::new("tar")
        .args(["-C", path_str(&layout.dir), "-cf", path_str(&archive), "."])
        .status()
        .expect("tar");
    assert!(status.success());
    let root = temp();
    let output = wharf(root.path(), &["load", "-i", path_str(&archive)]);
    assert_code(&output, 125);
    assert!(stderr(&output).contains(layer_hex), "{}", stderr(&output));
    let output = wharf(root.path(), &["images", "-q"]);
    assert_eq!(stdout(&output), "");
    let stored = root.path().join("images/blobs/sha256").join(layer_hex);
    assert!(!stored.exists(), "the tampered blob was stored");
}

#[test]
fn a_linux_image_is_refused_with_a_clear_error() {
    let work = temp();
    let mut layout = Layout::new(work.path().join("layout"));
    let layer = layout.blob(
        "application/vnd.oci.image.layer.v1.tar",
        &tar_of(&[("bin/sh", b"ELF")]),
    );
    let config = layout.blob(
        "application/vnd.oci.image.config.v1+json",
        br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let manifest = layout.manifest(config, &[layer]);
    layout.tag("docker.io/library/linux:1", manifest);
    let archive = work.path().join("linux.tar");
    let status = Command::new("tar")
        .args(["-C", path_str(&layout.dir), "-cf", path_str(&archive), "."])
        .status()
        .expect("tar");
    assert!(status.success());
    let root = temp();
    let output = wharf(root.path(), &["load", "-i", path_str(&archive)]);
    assert_code(&output, 0);
    let name = stdout(&output);
    let name = name
        .lines()
        .find_map(|l| l.strip_prefix("Loaded image: "))
        .unwrap_or("linux:1")
        .to_owned();
    let output = wharf(root.path(), &["run", "--pull", "never", &name]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("not a Wasm image"),
        "{}",
        stderr(&output)
    );
}
