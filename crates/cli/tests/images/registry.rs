//! Pull and push against the real registry (`docker-registry`) on loopback.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use wharf_testkit::TestRegistry;

use crate::common::{self, assert_code, stderr, stdout, temp};
use crate::layout::{APP_DOCKERFILE, Layout, build, context, wharf};

fn ingest_files(root: &Path) -> usize {
    fs::read_dir(root.join("images/ingest")).map_or(0, |d| d.count())
}

/// Every stored blob and when it was last written, sorted.
fn blob_mtimes(root: &Path) -> Vec<(std::ffi::OsString, std::time::SystemTime)> {
    let mut found: Vec<_> = fs::read_dir(root.join("images/blobs/sha256"))
        .expect("blobs")
        .flatten()
        .map(|e| {
            (
                e.file_name(),
                e.metadata().expect("meta").modified().expect("mtime"),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn push_then_run_from_a_fresh_store() {
    let registry = TestRegistry::start();
    let name = format!("{}/team/app:1", registry.address());
    let builder = temp();
    let ctx = context(APP_DOCKERFILE);
    build(builder.path(), &name, ctx.path());
    let output = wharf(builder.path(), &["push", &name]);
    assert_code(&output, 0);
    assert!(stderr(&output).contains("Pushed"), "{}", stderr(&output));

    // Pushing again uploads nothing.
    let output = wharf(builder.path(), &["push", &name]);
    assert_code(&output, 0);
    let log = stderr(&output);
    assert!(
        !log.contains("Pushed") && log.contains("Already exists"),
        "{log}"
    );

    let user = temp();
    let output = wharf(user.path(), &["run", &name, "from-registry"]);
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("arg 1=from-registry\n"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains("Unable to find image"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn pulling_a_stored_image_moves_no_layer() {
    let registry = TestRegistry::start();
    let name = format!("{}/app:latest", registry.address());
    let builder = temp();
    build(builder.path(), &name, context(APP_DOCKERFILE).path());
    assert_code(&wharf(builder.path(), &["push", &name]), 0);
    let user = temp();
    let first = wharf(user.path(), &["pull", &name]);
    assert_code(&first, 0);
    assert!(stderr(&first).contains("Pulled"), "{}", stderr(&first));
    let before = blob_mtimes(user.path());
    let second = wharf(user.path(), &["pull", &name]);
    assert_code(&second, 0);
    let log = stderr(&second);
    assert!(
        !log.contains("Pulled") && log.contains("Already exists"),
        "{log}"
    );
    assert_eq!(before, blob_mtimes(user.path()), "no blob was rewritten");
}

#[test]
fn a_second_repository_mounts_blobs_instead_of_uploading() {
    let registry = TestRegistry::start();
    let first = format!("{}/one/app:1", registry.address());
    let second = format!("{}/two/app:1", registry.address());
    let root = temp();
    build(root.path(), &first, context(APP_DOCKERFILE).path());
    assert_code(&wharf(root.path(), &["push", &first]), 0);
    assert_code(&wharf(root.path(), &["tag", &first, &second]), 0);
    let output = wharf(root.path(), &["push", &second]);
    assert_code(&output, 0);
    let log = stderr(&output);
    assert!(log.contains("Mounted") && !log.contains("Pushed"), "{log}");
    let user = temp();
    assert_code(&wharf(user.path(), &["run", &second]), 0);
}

#[test]
fn basic_auth_login_push_pull_logout() {
    let registry = TestRegistry::start_with_auth("ada", "s3cret-pw");
    let docker_config = temp();
    let root = temp();
    let name = format!("{}/private/app:1", registry.address());
    build(root.path(), &name, context(APP_DOCKERFILE).path());
    let with_config = |args: &[&str], stdin: Option<&str>| {
        let mut command = common::wharf(root.path());
        command
            .env("DOCKER_CONFIG", docker_config.path())
            .args(args);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn");
        if let Some(text) = stdin {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("write");
        }
        drop(child.stdin.take());
        child.wait_with_output().expect("wait")
    };
    let output = with_config(&["push", &name], None);
    assert_code(&output, 125);
    assert!(stderr(&output).contains("login"), "{}", stderr(&output));

    let address = registry.address();
    let output = with_config(
        &["login", "-u", "ada", "--password-stdin", address],
        Some("wrong\n"),
    );
    assert_code(&output, 125);
    assert!(
        !docker_config.path().join("config.json").exists(),
        "a failed login stores nothing"
    );

    let output = with_config(
        &["login", "-u", "ada", "--password-stdin", address],
        Some("s3cret-pw\n"),
    );
    assert_code(&output, 0);
    let config = fs::read_to_string(docker_config.path().join("config.json")).expect("config.json");
    assert!(config.contains(address), "{config}");
    let mode = fs::metadata(docker_config.path().join("config.json")).expect("meta");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o077,
        0
    );

    assert_code(&with_config(&["push", &name], None), 0);
    assert_code(&with_config(&["rmi", &name], None), 0);
    assert_code(&with_config(&["run", &name], None), 0);

    assert_code(&with_config(&["logout", address], None), 0);
    assert_code(&with_config(&["rmi", &name], None), 0);
    let output = with_config(&["pull", &name], None);
    assert_code(&output, 125);
}

#[test]
fn a_multi_platform_index_resolves_to_its_wasi_entry() {
    let registry = TestRegistry::start();
    let work = temp();
    let mut layout = Layout::new(work.path().join("layout"));
    let wasm = fs::read(common::c_guest("args_env")).expect("guest");
    let wasi = layout.wasi_image(&[("app.wasm", &wasm)], "/app.wasm");
    let linux_config = layout.blob(
        "application/vnd.oci.image.config.v1+json",
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let linux = layout.manifest(linux_config, &[]);
    let mut linux_entry = linux.clone();
    linux_entry["platform"] = serde_json::json!({"architecture": "amd64", "os": "linux"});
    let mut wasi_entry = wasi.clone();
    wasi_entry["platform"] = serde_json::json!({"architecture": "wasm", "os": "wasi"});
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [linux_entry, wasi_entry],
    });
    let index = layout.blob(
        "application/vnd.oci.image.index.v1+json",
        &serde_json::to_vec(&index).expect("json"),
    );
    layout.tag("multi", index);
    layout.tag("linux-only", linux);
    layout.push_with_skopeo("multi", &format!("{}/multi:1", registry.address()));
    layout.push_with_skopeo("linux-only", &format!("{}/linux:1", registry.address()));

    let root = temp();
    let output = wharf(
        root.path(),
        &["run", &format!("{}/multi:1", registry.address()), "hi"],
    );
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("arg 1=hi\n"),
        "{}",
        stdout(&output)
    );
    let output = wharf(
        root.path(),
        &["pull", &format!("{}/linux:1", registry.address())],
    );
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("not a Wasm image"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn concurrent_pulls_of_one_image_both_succeed() {
    let registry = TestRegistry::start();
    let name = format!("{}/app:1", registry.address());
    let builder = temp();
    build(builder.path(), &name, context(APP_DOCKERFILE).path());
    assert_code(&wharf(builder.path(), &["push", &name]), 0);
    let user = temp();
    let pulls: Vec<_> = (0..4)
        .map(|_| {
            common::wharf(user.path())
                .args(["pull", "-q", &name])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for pull in pulls {
        assert_code(&pull.wait_with_output().expect("wait"), 0);
    }
    assert_code(&wharf(user.path(), &["run", &name]), 0);
    assert_eq!(ingest_files(user.path()), 0);
}

#[test]
fn a_pull_killed_at_any_moment_leaves_a_readable_store() {
    let registry = TestRegistry::start();
    let work = temp();
    let mut layout = Layout::new(work.path().join("layout"));
    let wasm = fs::read(common::c_guest("args_env")).expect("guest");
    // Incompressible filler makes the pull long enough to be cut.
    let filler: Vec<u8> = (0..24u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let image = layout.wasi_image(&[("app.wasm", &wasm), ("filler", &filler)], "/app.wasm");
    layout.tag("big", image);
    let name = format!("{}/big:1", registry.address());
    layout.push_with_skopeo("big", &name);

    let root = temp();
    for delay in [30, 120, 300] {
        let mut pull = common::wharf(root.path())
            .args(["pull", "-q", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = pull.kill();
        let _ = pull.wait();
        let output = wharf(root.path(), &["images"]);
        assert_code(&output, 0);
    }
    let output = wharf(root.path(), &["run", &name, "after"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("arg 1=after"));
    assert_eq!(
        ingest_files(root.path()),
        0,
        "ingest files of killed pulls are gone"
    );
}

#[test]
fn wasm_artifacts_and_component_layers_pull_and_run() {
    let registry = TestRegistry::start();
    let work = temp();
    let mut layout = Layout::new(work.path().join("layout"));
    let config = layout.blob(
        "application/vnd.wasm.config.v0+json",
        br#"{"architecture":"wasm","os":"wasip1"}"#,
    );
    let module = fs::read(common::c_guest("args_env")).expect("module");
    let layer = layout.blob("application/wasm", &module);
    let artifact = layout.manifest(config, &[layer]);
    layout.tag("artifact", artifact);
    let config = layout.blob(
        "application/vnd.wasm.config.v0+json",
        br#"{"architecture":"wasm","os":"wasip2"}"#,
    );
    let component = fs::read(common::component_guest("args_env")).expect("component");
    let layer = layout.blob(
        "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
        &component,
    );
    let published = layout.manifest(config, &[layer]);
    layout.tag("component", published);
    for tag in ["artifact", "component"] {
        let name = format!("{}/shapes/{tag}:1", registry.address());
        layout.push_with_skopeo(tag, &name);
        let root = temp();
        let output = wharf(root.path(), &["run", &name, "shape", tag]);
        assert_code(&output, 0);
        let out = stdout(&output);
        assert!(
            out.contains(&format!("arg 1=shape\narg 2={tag}\n")),
            "{tag}: {out}"
        );
        let inspect = wharf(root.path(), &["inspect", &name]);
        let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("json");
        let expected = if tag == "artifact" {
            "Artifact"
        } else {
            "Component"
        };
        assert_eq!(inspect[0]["Shape"], expected);
    }
}

#[test]
fn services_of_all_three_image_shapes_are_served() {
    let registry = TestRegistry::start();
    let root = temp();
    // A Docker-style image that exposes its port: -P publishes it.
    let ctx = temp();
    fs::copy(crate::server::service(), ctx.path().join("service.wasm")).expect("copy");
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nCOPY service.wasm /service.wasm\nEXPOSE 9000\nENTRYPOINT [\"/service.wasm\"]\n",
    )
    .expect("Dockerfile");
    for (tag, extra) in [("web:docker", None), ("web:artifact", Some("--artifact"))] {
        let mut args = vec!["build", "-q", "-t", tag];
        args.extend(extra);
        args.push(common::path_str(ctx.path()));
        assert_code(&wharf(root.path(), &args), 0);
    }
    let served = crate::server::Served::start_in(root.path(), &["-P", "web:docker"]);
    assert_eq!(crate::server::get(&served, "/").body, "hello");
    drop(served);
    let served =
        crate::server::Served::start_in(root.path(), &["-p", "127.0.0.1:0:8080", "web:artifact"]);
    assert_eq!(crate::server::get(&served, "/").body, "hello");
    drop(served);
    // A component layer, pushed by skopeo and pulled on the run.
    let work = temp();
    let mut layout = Layout::new(work.path().join("layout"));
    let config = layout.blob(
        "application/vnd.wasm.config.v0+json",
        br#"{"architecture":"wasm","os":"wasip2"}"#,
    );
    let component = fs::read(crate::server::service()).expect("component");
    let layer = layout.blob(
        "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
        &component,
    );
    let manifest = layout.manifest(config, &[layer]);
    layout.tag("service", manifest);
    let name = format!("{}/shapes/service:1", registry.address());
    layout.push_with_skopeo("service", &name);
    let served = crate::server::Served::start_in(root.path(), &["-p", "127.0.0.1:0:8080", &name]);
    assert_eq!(crate::server::get(&served, "/").body, "hello");
}

#[test]
fn a_pull_compiles_the_image_program_so_its_first_run_is_warm() {
    let registry = TestRegistry::start();
    let name = format!("{}/warm/app:1", registry.address());
    let builder = temp();
    build(builder.path(), &name, context(APP_DOCKERFILE).path());
    assert_code(&wharf(builder.path(), &["push", &name]), 0);
    let user = temp();
    assert_code(&wharf(user.path(), &["pull", &name]), 0);
    let first = common::wharf(user.path())
        .env("WHARF_LOG", "debug")
        .args(["run", &name, "warm"])
        .output()
        .expect("spawn");
    assert_code(&first, 0);
    assert!(
        stdout(&first).contains("arg 1=warm\n"),
        "{}",
        stdout(&first)
    );
    let log = stderr(&first);
    assert!(log.contains("loaded from cache"), "{log}");
    assert!(!log.contains("compiling"), "{log}");
}
