//! Podman 4.3 (Debian's podman, root, private storage on `vfs`) with
//! `--runtime wharf-runc`: the same Wasm and Linux containers as under
//! Docker, and the wasi/wasm images Podman loads as they are.

mod support;

use std::time::{Duration, Instant};

use support::{
    BUSYBOX_IMAGE, Engine as _, WASM_IMAGE, busybox_archive, static_runc, stderr, stdout,
    wasm_image_archive,
};
use wharf_testkit::{TestPodman, TestRegistry, docker_archive_with_platform, skip_unless_root};

/// Debian's runc, the runtime wharf-runc hands Linux containers to.
const RUNC: &str = "/usr/sbin/runc";

struct Engine {
    podman: TestPodman,
    runtime: Vec<String>,
}

impl Engine {
    fn start() -> Engine {
        let podman = TestPodman::start();
        let runtime = vec![
            "--runtime".to_owned(),
            static_runc().display().to_string(),
            "--runtime-flag".to_owned(),
            format!("wharf-root={}", podman.dir().join("wharf").display()),
        ];
        let engine = Engine { podman, runtime };
        for archive in [wasm_image_archive(), busybox_archive()] {
            engine.ok(&["load", "-q", "-i", archive.to_str().expect("utf-8")]);
        }
        engine
    }
}

impl support::Engine for Engine {
    fn client(&self) -> std::process::Command {
        self.podman.podman()
    }

    fn wharf_global(&self) -> Vec<String> {
        self.runtime.clone()
    }

    fn wharf_run_flags(&self) -> Vec<String> {
        Vec::new()
    }

    fn diagnostics(&self) -> String {
        String::new()
    }
}

#[test]
fn podman_runs_wasm_and_busybox_under_wharf_runc() {
    if skip_unless_root(
        "podman_runs_wasm_and_busybox_under_wharf_runc",
        "podman runs as root",
    ) {
        return;
    }
    let engine = Engine::start();
    let output = engine.wharf_run(&["-e", "GREETING=from-podman"], WASM_IMAGE, &["hello", "p"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "hello from wasm\narg 0=/app.wasm\narg 1=hello\narg 2=p\nGREETING=from-podman\n"
    );
    let output = engine.wharf_run(&[], WASM_IMAGE, &["exit", "9"]);
    assert_eq!(output.status.code(), Some(9), "{}", stderr(&output));

    // busybox: the same under wharf-runc as under runc.
    let script = ["sh", "-c", "echo hi from $0; exit 4"];
    let under_wharf = engine.wharf_run(&[], BUSYBOX_IMAGE, &script);
    let mut plain = vec![
        "--runtime",
        RUNC,
        "run",
        "--rm",
        "--network",
        "none",
        BUSYBOX_IMAGE,
    ];
    plain.extend_from_slice(&script);
    let under_runc = engine.run(&plain);
    for output in [&under_wharf, &under_runc] {
        assert_eq!(output.status.code(), Some(4), "{}", stderr(output));
        assert_eq!(stdout(output), "hi from sh\n");
    }

    // Detached: logs, stats, stop within 2 s with 143, rm.
    let started = engine.wharf(&[
        "run",
        "-d",
        "--name",
        "spin",
        "--network",
        "none",
        WASM_IMAGE,
        "spin",
    ]);
    assert!(started.status.success(), "{}", stderr(&started));
    engine.wait_for_log("spin", "spinning");
    let stats = engine.stats();
    assert!(stats.contains("spin "), "{stats}");
    let started = Instant::now();
    let stopped = engine.wharf(&["stop", "spin"]);
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "podman stop took {took:?}");
    let code = stdout(&engine.ok(&["inspect", "--format", "{{.State.ExitCode}}", "spin"]));
    assert_eq!(code.trim(), "143");
    let removed = engine.wharf(&["rm", "spin"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(stdout(&engine.ok(&["ps", "-a", "-q"])).trim(), "");
}

#[test]
fn podman_flags_bound_the_guest_and_wasi_images_load() {
    if skip_unless_root(
        "podman_flags_bound_the_guest_and_wasi_images_load",
        "podman runs as root",
    ) {
        return;
    }
    let engine = Engine::start();
    let output = engine.wharf_run(&["--memory", "64m"], WASM_IMAGE, &["alloc"]);
    let text = stdout(&output);
    let mib: u64 = text
        .trim()
        .strip_prefix("allocated ")
        .and_then(|rest| rest.strip_suffix(" MiB"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}{}", stderr(&output)));
    assert!(
        (32..64).contains(&mib),
        "--memory 64m let the guest have {mib} MiB"
    );

    let host = tempfile::tempdir().expect("volume");
    std::fs::write(host.path().join("f"), "original\n").expect("seed");
    let ro = format!("{}:/data:ro", host.path().display());
    let output = engine.wharf_run(&["-v", &ro], WASM_IMAGE, &["write", "/data/f"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // The guest's own refusal, not a run that failed.
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

    let output = engine.wharf_run(&["-t"], WASM_IMAGE, &["tty"]);
    assert_eq!(stdout(&output), "tty 1\r\n", "{}", stderr(&output));

    // Podman 4.3 loads a wasi/wasm image as it is (and warns that its
    // platform is not the host's); wharf-runc runs it by its \0asm magic.
    let wasi = engine.podman.dir().join("wasi.tar");
    docker_archive_with_platform(&wasm_image_archive(), &wasi, "wasi", "wasm");
    engine.ok(&["rmi", WASM_IMAGE]);
    engine.ok(&["load", "-q", "-i", wasi.to_str().expect("utf-8")]);
    let platform = stdout(&engine.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Os}}/{{.Architecture}}",
        WASM_IMAGE,
    ]));
    assert_eq!(platform.trim(), "wasi/wasm");
    let output = engine.wharf_run(&[], WASM_IMAGE, &["hello", "wasi"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("arg 2=wasi\n"),
        "{}",
        stdout(&output)
    );

    // And pulls one from a registry (skopeo puts it there), with or
    // without --platform wasi/wasm.
    let registry = TestRegistry::start();
    let reference = format!("{}/wasm-container:1", registry.address());
    let copied = std::process::Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("docker-archive:{}", wasi.display()))
        .arg(format!("docker://{reference}"))
        .output()
        .expect("run skopeo");
    assert!(copied.status.success(), "{}", stderr(&copied));
    for platform in [&[][..], &["--platform", "wasi/wasm"]] {
        let mut pull = vec!["pull", "-q", "--tls-verify=false"];
        pull.extend_from_slice(platform);
        pull.push(&reference);
        engine.ok(&pull);
        let output = engine.wharf_run(&[], &reference, &["hello", "pulled"]);
        assert!(
            stdout(&output).contains("arg 2=pulled\n"),
            "{}",
            stderr(&output)
        );
        engine.ok(&["rmi", &reference]);
    }
}
