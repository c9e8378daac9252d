//! `wharf build` then `wharf run` of the image, and the local image
//! commands (images, tag, inspect, rmi).

use std::fs;

use crate::common::{assert_code, path_str, stderr, stdout, temp};
use crate::layout::{APP_DOCKERFILE, build, context, wharf};

#[test]
fn an_image_runs_with_its_entrypoint_cmd_env_and_workdir() {
    let root = temp();
    let ctx = context(APP_DOCKERFILE);
    build(root.path(), "app:1", ctx.path());
    let output = wharf(root.path(), &["run", "app:1"]);
    assert_code(&output, 0);
    let out = stdout(&output);
    assert!(out.contains("arg 0=/bin/app.wasm\n"), "{out}");
    assert!(out.contains("arg 1=default-arg\n"), "{out}");
    assert!(
        out.contains("env GREETING=hello\n") && out.contains("env MODE=image\n"),
        "{out}"
    );
    assert!(
        !out.contains("WHARF_HOST_CANARY"),
        "host environment leaked: {out}"
    );

    let output = wharf(
        root.path(),
        &["run", "-e", "GREETING=bye", "app:1", "x", "y"],
    );
    assert_code(&output, 0);
    let out = stdout(&output);
    assert!(
        out.contains("arg 1=x\narg 2=y\n") && !out.contains("default-arg"),
        "{out}"
    );
    assert!(
        out.contains("env GREETING=bye\n") && !out.contains("GREETING=hello"),
        "{out}"
    );
}

#[test]
fn the_entrypoint_can_be_replaced_and_a_missing_program_is_127() {
    let root = temp();
    let ctx = context(APP_DOCKERFILE);
    build(root.path(), "app", ctx.path());
    // --entrypoint drops the image's Cmd, as Docker does.
    let output = wharf(
        root.path(),
        &[
            "run",
            "--entrypoint",
            "/bin/fs.wasm",
            "app",
            "read",
            "data.txt",
        ],
    );
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("image data"),
        "{}",
        stdout(&output)
    );
    let output = wharf(
        root.path(),
        &["run", "--entrypoint", "/bin/nope.wasm", "app"],
    );
    assert_code(&output, 127);
    assert!(
        stderr(&output).contains("/bin/nope.wasm"),
        "{}",
        stderr(&output)
    );
    // A path climbing out of the image is not found either.
    let output = wharf(
        root.path(),
        &["run", "--entrypoint", "/../../../../bin/true", "app"],
    );
    assert_code(&output, 127);
}

#[test]
fn image_files_are_readable_and_never_changed_by_a_guest() {
    let root = temp();
    let ctx = context(&APP_DOCKERFILE.replace("/bin/app.wasm\"]", "/bin/fs.wasm\"]"));
    build(root.path(), "files", ctx.path());
    let output = wharf(root.path(), &["run", "files", "read", "/etc/data.txt"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("image data"));
    for attempt in [
        vec!["write", "/etc/data.txt"],
        vec!["write", "/etc/new.txt"],
        vec!["unlink", "/bin/app.wasm"],
        vec!["rename", "/etc/data.txt", "/etc/moved.txt"],
        vec!["mkdir", "/newdir"],
    ] {
        let mut args = vec!["run", "files"];
        args.extend(attempt.iter().copied());
        let output = wharf(root.path(), &args);
        assert_ne!(output.status.code(), Some(0), "{attempt:?} succeeded");
    }
    let output = wharf(root.path(), &["run", "files", "read", "/etc/data.txt"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("image data"), "the image changed");
    // Writes go to volumes.
    let volume = temp();
    let mount = format!("{}:/out", path_str(volume.path()));
    let output = wharf(
        root.path(),
        &["run", "-v", &mount, "files", "write", "/out/x.txt"],
    );
    assert_code(&output, 0);
    assert!(volume.path().join("x.txt").exists());
}

#[test]
fn builds_are_reproducible() {
    let root = temp();
    let ctx = context(APP_DOCKERFILE);
    let first = build(root.path(), "repro:1", ctx.path());
    let file = ctx.path().join("data.txt");
    let content = fs::read(&file).expect("read");
    fs::remove_file(&file).expect("remove");
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&file, content).expect("rewrite with a new mtime");
    let other_root = temp();
    let second = build(other_root.path(), "repro:2", ctx.path());
    assert_eq!(first, second);
    assert!(first.starts_with("sha256:"), "{first}");
    fs::write(&file, "changed\n").expect("change");
    assert_ne!(build(root.path(), "repro:3", ctx.path()), first);
}

#[test]
fn an_artifact_build_runs_too() {
    let root = temp();
    let ctx = context("FROM scratch\nCOPY app.wasm /app.wasm\nENTRYPOINT [\"/app.wasm\"]\n");
    let output = wharf(
        root.path(),
        &[
            "build",
            "-q",
            "--artifact",
            "-t",
            "art:1",
            path_str(ctx.path()),
        ],
    );
    assert_code(&output, 0);
    let output = wharf(root.path(), &["inspect", "art:1"]);
    assert_code(&output, 0);
    let inspect: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(inspect[0]["Shape"], "Artifact", "{inspect}");
    assert_eq!(inspect[0]["Layers"][0]["MediaType"], "application/wasm");
    let output = wharf(root.path(), &["run", "art:1", "one"]);
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("arg 1=one\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn tag_inspect_images_and_rmi() {
    let root = temp();
    let ctx = context(APP_DOCKERFILE);
    let digest = build(root.path(), "app:1", ctx.path());
    assert_code(
        &wharf(root.path(), &["tag", "app:1", "example.com/team/app:2"]),
        0,
    );
    let output = wharf(root.path(), &["images"]);
    assert_code(&output, 0);
    let listing = stdout(&output);
    assert!(
        listing.contains("app") && listing.contains("example.com/team/app"),
        "{listing}"
    );
    // Docker's templates, by field name.
    let output = wharf(
        root.path(),
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
    );
    assert_code(&output, 0);
    let mut names: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    names.sort();
    assert_eq!(names, ["app:1", "example.com/team/app:2"]);
    let output = wharf(
        root.path(),
        &["images", "--format", "table {{.Repository}}\\t{{.Tag}}"],
    );
    let table = stdout(&output);
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("REPOSITORY ") && header.trim_end().ends_with("   TAG"),
        "{table}"
    );
    let output = wharf(
        root.path(),
        &["inspect", "-f", "{{.Os}}/{{.Architecture}}", "app:1"],
    );
    assert_eq!(stdout(&output), "wasi/wasm\n");
    let output = wharf(root.path(), &["inspect", "example.com/team/app:2"]);
    assert_code(&output, 0);
    let inspect: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(inspect[0]["Digest"], digest.as_str());
    assert_eq!(inspect[0]["Config"]["Entrypoint"][0], "/bin/app.wasm");
    assert_eq!(inspect[0]["Config"]["WorkingDir"], "/etc");
    assert_eq!(inspect[0]["Os"], "wasi");
    assert_eq!(inspect[0]["Architecture"], "wasm");

    assert_code(&wharf(root.path(), &["rmi", "app:1"]), 0);
    let blobs = root.path().join("images/blobs/sha256");
    assert!(
        fs::read_dir(&blobs).expect("blobs").count() > 0,
        "still named once"
    );
    assert_code(&wharf(root.path(), &["rmi", "example.com/team/app:2"]), 0);
    assert_eq!(
        fs::read_dir(&blobs).expect("blobs").count(),
        0,
        "every blob collected"
    );
    let output = wharf(root.path(), &["images", "-q"]);
    assert_eq!(stdout(&output), "");
    let output = wharf(root.path(), &["rmi", "app:1"]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("no such image"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn dockerfile_errors_name_the_line() {
    let root = temp();
    let ctx = context("FROM scratch\nCOPY app.wasm /app.wasm\nRUN make\n");
    let output = wharf(root.path(), &["build", "-t", "bad", path_str(ctx.path())]);
    assert_code(&output, 125);
    assert!(stderr(&output).contains(":3"), "{}", stderr(&output));
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    let ctx = context("FROM scratch\nCOPY ../outside /x\n");
    let output = wharf(root.path(), &["build", "-t", "bad", path_str(ctx.path())]);
    assert_code(&output, 125);
    let output = wharf(root.path(), &["images", "-q"]);
    assert_eq!(stdout(&output), "", "a failed build names nothing");
}

#[test]
fn bad_references_and_missing_images_are_clear_errors() {
    let root = temp();
    let output = wharf(root.path(), &["run", "--pull", "never", "nothing-here:1"]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("no such image"),
        "{}",
        stderr(&output)
    );
    let output = wharf(root.path(), &["tag", "UPPER:case", "x"]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("invalid reference"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn half_unpacked_trees_of_dead_runs_are_cleared() {
    let root = temp();
    build(root.path(), "app", context(APP_DOCKERFILE).path());
    let rootfs = root.path().join("rootfs");
    // pid 2^22+1 is above Linux's pid_max: no such process.
    let dead = rootfs.join("0123.partial-4194305");
    let live = rootfs.join(format!("4567.partial-{}", std::process::id()));
    for dir in [&dead, &live] {
        fs::create_dir_all(dir.join("half")).expect("partial tree");
    }
    assert_code(&wharf(root.path(), &["images"]), 0);
    assert!(!dead.exists(), "a dead unpacker's tree is removed");
    assert!(live.exists(), "a live unpacker's tree stays");
}
