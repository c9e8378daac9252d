//! Wasm artifacts (one `application/wasm` layer, no rootfs) under the real
//! containerd: what Debian's containerd 1.6 allows, and the shim reading
//! the module from containerd's content store.

#[macro_use]
#[path = "support/common.rs"]
mod common;

use common::{
    ARTIFACT_IMAGE, Harness, RUNTIME, artifact_archive, assert_code, path_str, stderr, stdout,
};
use wharf_containerd::{Any, Client, Container, Runtime, SPEC_TYPE_URL};

/// A container record for the artifact made through containerd's API, as
/// a client that does not unpack (containerd 1.6's `ctr` and CRI always
/// do) makes it: no snapshot, the spec's process as given.
fn create_artifact_container(harness: &Harness, id: &str, args: &[&str]) {
    let spec = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "args": args,
            "env": ["GREETING=from the spec"],
            "cwd": "/",
        },
        "root": { "path": "rootfs" },
        "linux": { "resources": { "memory": { "limit": 64 << 20 } } },
    });
    let mut client = Client::connect(
        &harness.containerd.address(),
        harness.containerd.namespace(),
    )
    .expect("connect to containerd");
    client
        .create_container(Container {
            id: id.to_owned(),
            image: ARTIFACT_IMAGE.to_owned(),
            runtime: Some(Runtime {
                name: RUNTIME.to_owned(),
            }),
            spec: Some(Any {
                type_url: SPEC_TYPE_URL.to_owned(),
                value: spec.to_string().into_bytes(),
            }),
            ..Container::default()
        })
        .expect("create the container");
}

#[test]
fn a_wasm_artifact_runs_from_containerds_content_store() {
    let harness = harness!("a_wasm_artifact_runs_from_containerds_content_store");
    harness.ctr_ok(&[
        "image",
        "import",
        "--no-unpack",
        "--all-platforms",
        path_str(&artifact_archive()),
    ]);

    // What this containerd allows: its ctr (like its CRI plugin) unpacks
    // before it runs, and refuses an artifact's layers; containerd
    // 1.6.25+ and 1.7.7+ unpack it to an empty rootfs instead.
    let output = harness.ctr(&[
        "run",
        "--rm",
        "--runtime",
        RUNTIME,
        ARTIFACT_IMAGE,
        "refused",
    ]);
    assert!(!output.status.success(), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("mismatched image rootfs and manifest layers"),
        "{}",
        stderr(&output)
    );

    // Without process args, argv is the image name alone.
    create_artifact_container(&harness, "art1", &[]);
    // `ctr task start` attaches, waits, and deletes the task.
    let output = harness.ctr(&["task", "start", "art1"]);
    assert_code(&harness, &output, 0);
    let out = stdout(&output);
    assert!(
        out.starts_with(&format!("arg 0={ARTIFACT_IMAGE}\n")),
        "{out}"
    );
    assert!(out.contains("env GREETING=from the spec\n"), "{out}");
    harness.ctr_ok(&["container", "delete", "art1"]);

    // With args (that name no file: there is no rootfs), they are argv.
    create_artifact_container(&harness, "art2", &["app", "--flag", "x y"]);
    let output = harness.ctr(&["task", "start", "art2"]);
    assert_code(&harness, &output, 0);
    assert!(
        stdout(&output).starts_with("arg 0=app\narg 1=--flag\narg 2=x y\n"),
        "{}",
        stdout(&output)
    );
    harness.ctr_ok(&["container", "delete", "art2"]);
    harness.assert_no_containers();
}
