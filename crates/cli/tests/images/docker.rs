//! `wharf save` and `wharf load` against the real Docker Engine (a private
//! `dockerd` from Debian's docker.io, started as root).
//!
//! Debian 12's engine (20.10, classic image store) refuses every image
//! whose OS is not the host's: `docker load` of a wasi/wasm image fails
//! with `"wasi": unknown operating system or architecture` before it looks
//! at anything else (moby 28 says `cannot load wasi image on linux`; only
//! the containerd image store takes wasi images). So the archives cross
//! with their config's platform set to linux/amd64 on the way in, and back
//! to wasi/wasm on the way out: everything else in them — the tar layout,
//! manifest.json, layers, diff IDs, tags, entrypoint, environment — is what
//! wharf wrote and what Docker wrote.

use std::process::Output;

use wharf_testkit::{TestDocker, docker_archive_with_platform};

use crate::common::{assert_code, path_str, stdout, temp};
use crate::layout::{APP_DOCKERFILE, build, context, wharf};

/// Runs the client, which must succeed.
#[track_caller]
fn docker_ok(docker: &TestDocker, args: &[&str]) -> Output {
    let output = docker.docker().args(args).output().expect("run docker");
    assert!(
        output.status.success(),
        "docker {args:?} failed ({})\nstdout:\n{}\nstderr:\n{}\ndockerd's log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        docker.log(),
    );
    output
}

#[test]
fn docker_loads_a_wharf_archive_and_wharf_loads_dockers() {
    let test = "docker_loads_a_wharf_archive_and_wharf_loads_dockers";
    if wharf_testkit::skip_unless_root(test, "dockerd runs as root") {
        return;
    }
    let docker = TestDocker::start();
    let root = temp();
    build(root.path(), "dockersave:1", context(APP_DOCKERFILE).path());
    let work = temp();
    let saved = work.path().join("x.tar");
    // The default format is docker.
    assert_code(
        &wharf(
            root.path(),
            &["save", "-o", path_str(&saved), "dockersave:1"],
        ),
        0,
    );

    let for_docker = work.path().join("x-linux.tar");
    docker_archive_with_platform(&saved, &for_docker, "linux", "amd64");
    let output = docker_ok(&docker, &["load", "-i", path_str(&for_docker)]);
    assert!(
        stdout(&output).contains("Loaded image: dockersave:1"),
        "{}",
        stdout(&output)
    );
    let output = docker_ok(&docker, &["image", "inspect", "dockersave:1"]);
    let inspect: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let image = &inspect[0];
    assert_eq!(image["Os"], "linux", "{inspect}");
    let config = &image["Config"];
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/bin/app.wasm"]),
        "{inspect}"
    );
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["default-arg"]),
        "{inspect}"
    );
    assert_eq!(config["WorkingDir"], "/etc", "{inspect}");
    let env: Vec<&str> = config["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        env.contains(&"GREETING=hello") && env.contains(&"MODE=image"),
        "{inspect}"
    );

    // And back: what docker saves, wharf loads and runs.
    let resaved = work.path().join("y.tar");
    docker_ok(&docker, &["save", "-o", path_str(&resaved), "dockersave:1"]);
    let for_wharf = work.path().join("y-wasi.tar");
    docker_archive_with_platform(&resaved, &for_wharf, "wasi", "wasm");
    let other = temp();
    let output = wharf(other.path(), &["load", "-i", path_str(&for_wharf)]);
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("Loaded image: dockersave:1"),
        "{}",
        stdout(&output)
    );
    let output = wharf(other.path(), &["run", "dockersave:1", "from-docker"]);
    assert_code(&output, 0);
    let out = stdout(&output);
    assert!(out.contains("arg 0=/bin/app.wasm\n"), "{out}");
    assert!(out.contains("arg 1=from-docker\n"), "{out}");
    assert!(
        out.contains("env GREETING=hello\n") && out.contains("env MODE=image\n"),
        "{out}"
    );
}

/// The statically linked wharf-runc `scripts/test` builds (see the
/// wharf-runc crate's tests).
fn static_runc() -> std::path::PathBuf {
    let path = std::env::var_os("WHARF_RUNC_STATIC").unwrap_or_else(|| {
        panic!(
            "WHARF_RUNC_STATIC is not set: run the tests with scripts/test, which builds the \
             statically linked wharf-runc (scripts/build-runc)"
        )
    });
    std::path::PathBuf::from(path)
}

#[test]
fn a_compat_image_loads_into_docker_20_10_and_runs_under_wharf_runc() {
    let test = "a_compat_image_loads_into_docker_20_10_and_runs_under_wharf_runc";
    if wharf_testkit::skip_unless_root(test, "dockerd runs as root") {
        return;
    }
    let root = temp();
    let ctx = context(APP_DOCKERFILE);
    let output = wharf(
        root.path(),
        &[
            "build",
            "-q",
            "--platform",
            "linux/amd64",
            "-t",
            "compat:1",
            path_str(ctx.path()),
        ],
    );
    assert_code(&output, 0);
    // wharf runs its compat images itself.
    let output = wharf(root.path(), &["run", "compat:1"]);
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("arg 1=default-arg\n"),
        "{}",
        stdout(&output)
    );
    let work = temp();
    let saved = work.path().join("compat.tar");
    assert_code(
        &wharf(root.path(), &["save", "-o", path_str(&saved), "compat:1"]),
        0,
    );

    // Docker 20.10 loads it as it is: no platform rewriting.
    let wharf_root = temp();
    let docker = TestDocker::start_with_config(&serde_json::json!({
        "runtimes": {"wharf": {
            "path": static_runc(),
            "runtimeArgs": [format!("--wharf-root={}", wharf_root.path().display())],
        }},
    }));
    let output = docker_ok(&docker, &["load", "-i", path_str(&saved)]);
    assert!(
        stdout(&output).contains("Loaded image: compat:1"),
        "{}",
        stdout(&output)
    );
    let output = docker_ok(
        &docker,
        &[
            "image",
            "inspect",
            "-f",
            "{{.Os}}/{{.Architecture}}",
            "compat:1",
        ],
    );
    assert_eq!(stdout(&output).trim(), "linux/amd64");
    let output = docker_ok(
        &docker,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--runtime",
            "wharf",
            "compat:1",
            "from-docker",
        ],
    );
    let out = stdout(&output);
    assert!(
        out.contains("arg 0=/bin/app.wasm\narg 1=from-docker\n"),
        "{out}"
    );
    assert!(out.contains("env GREETING=hello\n"), "{out}");
    // runc alone cannot run it: the runtime is what makes it run.
    let output = docker
        .docker()
        .args(["run", "--rm", "--network", "none", "compat:1"])
        .output()
        .expect("run docker");
    assert!(!output.status.success(), "runc ran a Wasm program?");
}
