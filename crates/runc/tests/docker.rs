//! Docker Engine 20.10 (Debian's docker.io, a private dockerd started as
//! root) with wharf-runc as a runtime beside runc: Wasm and Linux
//! containers in one daemon, with Docker's flags meaning what they mean.

mod support;

use std::time::{Duration, Instant};

use support::{
    BUSYBOX_IMAGE, Engine as _, SERVICE_GREETING, SERVICE_IMAGE, WASM_IMAGE, busybox_archive,
    service_image_archive, static_runc, stderr, stdout, wasm_image_archive,
};
use wharf_testkit::{TestDocker, skip_unless_root};

/// A daemon whose runtime `wharf` is wharf-runc (its cache in a temporary
/// root), with the Wasm and busybox images loaded.
struct Engine {
    docker: TestDocker,
    _wharf_root: tempfile::TempDir,
}

impl Engine {
    fn start() -> Engine {
        let wharf_root = tempfile::tempdir().expect("wharf root");
        let docker = TestDocker::start_with_config(&serde_json::json!({
            "runtimes": {"wharf": {
                "path": static_runc(),
                "runtimeArgs": [format!("--wharf-root={}", wharf_root.path().display())],
            }},
        }));
        let engine = Engine {
            docker,
            _wharf_root: wharf_root,
        };
        for archive in [
            wasm_image_archive(),
            busybox_archive(),
            service_image_archive(),
        ] {
            engine.ok(&["load", "-i", archive.to_str().expect("utf-8")]);
        }
        engine
    }
}

impl support::Engine for Engine {
    fn client(&self) -> std::process::Command {
        self.docker.docker()
    }

    fn wharf_global(&self) -> Vec<String> {
        Vec::new()
    }

    fn wharf_run_flags(&self) -> Vec<String> {
        vec!["--runtime".to_owned(), "wharf".to_owned()]
    }

    fn diagnostics(&self) -> String {
        format!("dockerd:\n{}", self.docker.log())
    }
}

#[test]
fn wasm_and_busybox_share_one_daemon() {
    if skip_unless_root("wasm_and_busybox_share_one_daemon", "dockerd runs as root") {
        return;
    }
    let engine = Engine::start();
    let output = engine.wharf_run(
        &["-e", "GREETING=from-docker"],
        WASM_IMAGE,
        &["hello", "a b", "c"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "hello from wasm\narg 0=/app.wasm\narg 1=hello\narg 2=a b\narg 3=c\nGREETING=from-docker\n"
    );
    // The image's own Cmd and Env.
    let output = engine.wharf_run(&[], WASM_IMAGE, &[]);
    assert!(
        stdout(&output).contains("arg 1=hello\nGREETING=from-image\n"),
        "{}",
        stdout(&output)
    );
    // Exception handling, as C++ programs need it.
    let output = engine.wharf_run(&["--entrypoint", "/exceptions.wasm"], WASM_IMAGE, &[]);
    assert_eq!(
        stdout(&output),
        "caught 42 after cleanup\n",
        "{}",
        stderr(&output)
    );
    let output = engine.wharf_run(&[], WASM_IMAGE, &["exit", "7"]);
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));

    // busybox under wharf-runc is busybox under runc.
    for runtime in [&["--runtime", "wharf"][..], &[]] {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(runtime);
        args.extend([BUSYBOX_IMAGE, "sh", "-c", "echo hi from $0; exit 3"]);
        let output = engine.run(&args);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{runtime:?}: {}",
            stderr(&output)
        );
        assert_eq!(stdout(&output), "hi from sh\n", "{runtime:?}");
    }

    // Both at once, detached: ps, logs, stats, stop, rm.
    engine.ok(&[
        "run",
        "-d",
        "--name",
        "spin",
        "--network",
        "none",
        "--runtime",
        "wharf",
        WASM_IMAGE,
        "spin",
    ]);
    engine.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--network",
        "none",
        "--runtime",
        "wharf",
        BUSYBOX_IMAGE,
        "busybox",
        "sleep",
        "60",
    ]);
    let names = stdout(&engine.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]));
    assert!(
        names.contains("spin Up") && names.contains("box Up"),
        "{names}"
    );
    engine.wait_for_log("spin", "spinning");
    let stats = engine.stats();
    assert!(stats.contains("spin ") && stats.contains("box "), "{stats}");
    let started = Instant::now();
    engine.ok(&["stop", "spin"]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "docker stop took {took:?}");
    let code = stdout(&engine.ok(&["inspect", "-f", "{{.State.ExitCode}}", "spin"]));
    assert_eq!(code.trim(), "143", "SIGTERM ends the guest as 128+15");
    engine.ok(&["rm", "spin"]);
    engine.ok(&["rm", "-f", "box"]);
    let left = stdout(&engine.ok(&["ps", "-a", "-q"]));
    assert_eq!(left.trim(), "", "every container is gone");
}

#[test]
fn docker_flags_bound_the_guest() {
    if skip_unless_root("docker_flags_bound_the_guest", "dockerd runs as root") {
        return;
    }
    let engine = Engine::start();
    let allocated = |flags: &[&str]| -> u64 {
        let output = engine.wharf_run(flags, WASM_IMAGE, &["alloc"]);
        assert!(output.status.success(), "{flags:?}: {}", stderr(&output));
        let text = stdout(&output);
        text.trim()
            .strip_prefix("allocated ")
            .and_then(|rest| rest.strip_suffix(" MiB"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{text}"))
    };
    let capped = allocated(&["--memory", "64m"]);
    assert!(
        (32..64).contains(&capped),
        "--memory 64m let the guest have {capped} MiB"
    );
    let free = allocated(&[]);
    assert!(free > 256, "without --memory the guest got only {free} MiB");

    // A read-only volume refuses writes and the host file stays as it was;
    // the same volume read-write takes them (so the refusal is the flag's).
    let host = tempfile::tempdir().expect("volume");
    std::fs::write(host.path().join("f"), "original\n").expect("seed");
    let ro = format!("{}:/data:ro", host.path().display());
    let output = engine.wharf_run(&["-v", &ro], WASM_IMAGE, &["write", "/data/f"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).starts_with("denied: /data/f"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        std::fs::read_to_string(host.path().join("f")).expect("read"),
        "original\n"
    );
    let rw = format!("{}:/data", host.path().display());
    let output = engine.wharf_run(&["-v", &rw], WASM_IMAGE, &["write", "/data/g"]);
    assert!(output.status.success(), "{}", stdout(&output));
    assert_eq!(
        std::fs::read_to_string(host.path().join("g")).expect("read"),
        "written\n"
    );
    let output = engine.wharf_run(&["-v", &rw], WASM_IMAGE, &["read", "/data/f"]);
    assert_eq!(stdout(&output), "content: original\n");

    // --read-only: the rootfs takes no writes; without it, it does. The
    // refusal is the guest's own line: Docker or wharf-runc failing the run
    // also exits non-zero, with nothing on stdout.
    let output = engine.wharf_run(&["--read-only"], WASM_IMAGE, &["write", "/tmp/x"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("denied: /tmp/x: "),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let output = engine.wharf_run(&[], WASM_IMAGE, &["write", "/tmp/x"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "ok\n");

    // What runc mounts for Linux processes is not the guest's: the guest
    // ran and was refused the file.
    for path in [
        "/proc/self/status",
        "/sys/kernel/uevent_seqnum",
        "/dev/null",
    ] {
        let output = engine.wharf_run(&[], WASM_IMAGE, &["read", path]);
        assert_eq!(output.status.code(), Some(1), "{path}: {}", stderr(&output));
        assert!(
            stdout(&output).starts_with(&format!("denied: {path}: ")),
            "{path}: {}{}",
            stdout(&output),
            stderr(&output)
        );
    }
    // Nor is the engine: the guest's `/` shows only the empty mount point,
    // which it reads (exit 0) and finds empty. A run that failed would
    // print nothing too, so the exit is checked first.
    let output = engine.wharf_run(&[], WASM_IMAGE, &["read", "/.wharf/wharf-runc"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "",
        "the engine's bytes are not the guest's"
    );
}

#[test]
fn a_terminal_a_user_and_init_as_docker_gives_them() {
    if skip_unless_root(
        "a_terminal_and_init_as_docker_gives_them",
        "dockerd runs as root",
    ) {
        return;
    }
    let engine = Engine::start();
    let output = engine.wharf_run(&["-t"], WASM_IMAGE, &["tty"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "tty 1\r\n",
        "a pseudo-terminal (the console socket)"
    );
    let output = engine.wharf_run(&[], WASM_IMAGE, &["tty"]);
    assert_eq!(stdout(&output), "tty 0\n");
    // A user that is not root cannot read root's cache: the engine compiles
    // for itself, and the guest runs all the same.
    let output = engine.wharf_run(&["--user", "1000:1000"], WASM_IMAGE, &["hello", "u"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("arg 2=u\n"), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("compiling at start"),
        "{}",
        stderr(&output)
    );
    // As root, the code compiled at create is what runs.
    let output = engine.wharf_run(&[], WASM_IMAGE, &["hello"]);
    assert_eq!(stderr(&output), "", "no compile inside the container");
    let output = engine.wharf_run(&["--init"], WASM_IMAGE, &["hello", "i"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("arg 0=/app.wasm\narg 1=hello\narg 2=i\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_http_component_serves_in_the_container_network() {
    if skip_unless_root(
        "an_http_component_serves_in_the_container_network",
        "dockerd runs as root",
    ) {
        return;
    }
    let engine = Engine::start();
    engine.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "none",
        "--runtime",
        "wharf",
        SERVICE_IMAGE,
    ]);
    let pid = stdout(&engine.ok(&["inspect", "-f", "{{.State.Pid}}", "web"]));
    let pid = pid.trim();
    // Inside the container's own network namespace (loopback only): the
    // service listens on 8080 there, and nowhere on the host.
    let curl = |url: &str| {
        std::process::Command::new("nsenter")
            .args([
                "-t",
                pid,
                "-n",
                "curl",
                "-s",
                "--max-time",
                "5",
                "--retry",
                "20",
            ])
            .args(["--retry-connrefused", "--retry-delay", "0", url])
            .output()
            .expect("run nsenter curl")
    };
    let output = curl("http://127.0.0.1:8080/");
    assert!(
        output.status.success(),
        "{}{}",
        stderr(&output),
        stdout(&engine.ok(&["logs", "web"]))
    );
    assert_eq!(stdout(&output), SERVICE_GREETING);
    let logs = engine.ok(&["logs", "web"]);
    assert!(
        stderr(&logs).contains("Serving HTTP on http://0.0.0.0:8080/"),
        "{}",
        stderr(&logs)
    );
    // docker stop drains it: exit 0, quickly.
    let started = Instant::now();
    engine.ok(&["stop", "web"]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let code = stdout(&engine.ok(&["inspect", "-f", "{{.State.ExitCode}}", "web"]));
    assert_eq!(code.trim(), "0");
}

#[test]
fn a_module_that_does_not_validate_fails_at_create_with_the_reason() {
    if skip_unless_root(
        "a_module_that_does_not_validate_fails_at_create_with_the_reason",
        "dockerd runs as root",
    ) {
        return;
    }
    let engine = Engine::start();
    let output = engine.wharf_run(&["--entrypoint", "/bad.wasm"], WASM_IMAGE, &[]);
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(text.contains("OCI runtime create failed"), "{text}");
    assert!(
        text.contains("/bad.wasm"),
        "Docker shows wharf-runc's reason: {text}"
    );
    assert_eq!(
        stdout(&engine.ok(&["ps", "-a", "-q"])).trim(),
        "",
        "--rm left nothing"
    );
}
