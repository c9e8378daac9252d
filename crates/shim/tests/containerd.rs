//! `containerd-shim-wharf-v1` end to end: a private, real containerd
//! (Debian's 1.6.20, started by wharf-testkit) runs Wasm images built by
//! the real `wharf` CLI through the shim, driven by `ctr`, beside Linux
//! containers under runc. Every `ctr` runs under `timeout`, so a shim that
//! hangs fails a test (exit status 124) instead of hanging the suite.
//!
//! What containerd 1.6 needs for a Wasm image, found by hand: the image is
//! imported with `ctr images import --platform wasi/wasm` (a plain import
//! skips it, "image might be filtered out"), and run with
//! `ctr run --platform wasi/wasm --runtime io.containerd.wharf.v1 IMAGE ID
//! [ARGS...]`; containerd then starts `containerd-shim-wharf-v1`, found on
//! its `PATH`. `ctr run` passes its stdin through (there is no `-i`: stdin
//! is always attached unless `--null-io`), exits with the task's exit
//! code, and ARGS replace the image's entrypoint and command. `ctr task
//! delete` of a task that exited non-zero succeeds and warns
//! `task ID exit with non-zero exit code N`.

#[macro_use]
#[path = "support/common.rs"]
mod common;

use std::fs;
use std::time::Duration;

use common::{BUSYBOX_IMAGE, Harness, RUNTIME, WASM_IMAGE, assert_code, path_str, stderr, stdout};

/// The harness alone, with no Wasm: containerd starts, both images
/// import, busybox runs under runc with stdout, stdin and exit codes; and
/// dropping the harness leaves nothing behind.
#[test]
fn harness_runs_busybox_under_runc() {
    let harness = harness!("harness_runs_busybox_under_runc");
    let images = stdout(&harness.ctr_ok(&["images", "ls"]));
    assert!(
        images
            .lines()
            .any(|line| line.starts_with(WASM_IMAGE) && line.contains("wasi/wasm")),
        "the Wasm image is not listed as wasi/wasm:\n{images}"
    );
    assert!(images.contains(BUSYBOX_IMAGE), "{images}");

    let output = harness.ctr(&[
        "run",
        "--rm",
        BUSYBOX_IMAGE,
        "bb1",
        "/bin/busybox",
        "echo",
        "hi",
    ]);
    assert_code(&harness, &output, 0);
    assert_eq!(stdout(&output), "hi\n");

    let output = harness.ctr_with_stdin(
        "bb2",
        &[
            "run",
            "--rm",
            BUSYBOX_IMAGE,
            "bb2",
            "/bin/busybox",
            "tr",
            "a-z",
            "A-Z",
        ],
        b"piped in\n",
    );
    assert_code(&harness, &output, 0);
    assert_eq!(stdout(&output), "PIPED IN\n");

    let output = harness.ctr(&[
        "run",
        "--rm",
        BUSYBOX_IMAGE,
        "bb3",
        "/bin/sh",
        "-c",
        "exit 3",
    ]);
    assert_code(&harness, &output, 3);

    harness.ctr_ok(&[
        "run",
        "-d",
        BUSYBOX_IMAGE,
        "bb4",
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    harness.wait_for_status("bb4", "RUNNING", Duration::from_secs(10));
    let warned = harness.kill_and_delete("bb4", "SIGKILL");
    assert!(warned.contains("exit code 137"), "{warned}");
    harness.assert_no_containers();

    // A container left running, to be cleaned up by the drop.
    harness.ctr_ok(&[
        "run",
        "-d",
        BUSYBOX_IMAGE,
        "bb5",
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    harness.wait_for_status("bb5", "RUNNING", Duration::from_secs(10));
    let dir = harness.containerd.dir().to_owned();
    let namespace = harness.containerd.namespace().to_owned();
    drop(harness);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mounts.contains(path_str(&dir)),
        "mounts left behind:\n{mounts}"
    );
    let left: Vec<String> = fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|entry| {
            fs::read(entry.path().join("cgroup")).is_ok_and(|cgroup| {
                String::from_utf8_lossy(&cgroup).contains(&format!("/{namespace}/"))
            })
        })
        .filter(|entry| {
            // Zombies wait for their reaper, which is not ours.
            fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
            })
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.is_empty(),
        "processes left in {namespace}'s cgroups: {left:?}"
    );
}

#[test]
fn runs_to_completion_with_the_guests_output_and_exit_code() {
    let harness = harness!("runs_to_completion_with_the_guests_output_and_exit_code");
    // The image's own entrypoint and command.
    let output = harness.run_wasm(&[], "w1", &[]);
    assert_code(&harness, &output, 0);
    let out = stdout(&output);
    assert!(
        out.starts_with("arg 0=/args_env.wasm\narg 1=default-arg\n"),
        "{out}"
    );
    assert!(out.contains("env GREETING=hello\n"), "{out}");

    // The guest's exit code is ctr's.
    let output = harness.run_wasm_with_stdin("w2", &["/stdio.wasm", "42"], b"");
    assert_code(&harness, &output, 42);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("read 0 bytes"),
        "{}",
        stderr(&output)
    );

    // --rm removed both.
    harness.assert_no_containers();
    assert_eq!(harness.task_status("w1"), None);
}

#[test]
fn stdin_env_and_args_reach_the_guest() {
    let harness = harness!("stdin_env_and_args_reach_the_guest");
    let output = harness.run_wasm_with_stdin("in1", &["/stdio.wasm", "5"], b"hello wasm\n");
    assert_code(&harness, &output, 5);
    assert_eq!(stdout(&output), "HELLO WASM\n");
    assert!(
        stderr(&output).contains("read 11 bytes"),
        "{}",
        stderr(&output)
    );

    // Larger than a pipe buffer, so that flow control is exercised.
    let big: Vec<u8> = (0..300_000).map(|i| b"abcdefghij\n"[i % 11]).collect();
    let output = harness.run_wasm_with_stdin("in2", &["/stdio.wasm"], &big);
    assert_code(&harness, &output, 0);
    assert_eq!(output.stdout, big.to_ascii_uppercase());

    let output = harness.run_wasm(
        &["--env", "K=V", "--env", "SPACED=a b"],
        "env1",
        &["/args_env.wasm", "one", "two words", ""],
    );
    assert_code(&harness, &output, 0);
    let out = stdout(&output);
    for line in [
        "arg 0=/args_env.wasm\n",
        "arg 1=one\n",
        "arg 2=two words\n",
        "arg 3=\n",
        "env K=V\n",
        "env SPACED=a b\n",
        "env GREETING=hello\n",
    ] {
        assert!(out.contains(line), "{line:?} is missing from:\n{out}");
    }
    assert!(!out.contains("arg 4="), "{out}");
    assert!(
        !out.contains("default-arg"),
        "ARGS replace the command:\n{out}"
    );
}

#[test]
fn detached_task_is_killed_with_sigkill_and_deleted() {
    let harness = harness!("detached_task_is_killed_with_sigkill_and_deleted");
    harness.run_wasm_detached(&[], "k1", &["/sleep.wasm"]);
    harness.wait_for_status("k1", "RUNNING", Duration::from_secs(15));
    // Still running a moment later: it sleeps, it does not exit.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(harness.task_status("k1").as_deref(), Some("RUNNING"));
    // A running task cannot be deleted.
    let output = harness.ctr(&["task", "delete", "k1"]);
    assert_ne!(output.status.code(), Some(0), "deleted a running task");
    assert_ne!(output.status.code(), Some(124), "ctr task delete hung");

    let warned = harness.kill_and_delete("k1", "SIGKILL");
    assert!(warned.contains("exit code 137"), "not 128+9:\n{warned}");
    assert_eq!(harness.task_status("k1"), None);
    harness.assert_no_containers();
    // No shim is left for a deleted container for long: the shim may
    // linger a while (10 s) for the next container of its group to reuse.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !harness.containerd.shim_pids().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        harness.containerd.shim_pids().is_empty(),
        "shims left: {:?}",
        harness.containerd.shim_pids()
    );
    // The daemon took its group's socket and lock files with it.
    assert_eq!(harness.group_files(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn detached_task_stops_on_sigterm() {
    let harness = harness!("detached_task_stops_on_sigterm");
    harness.run_wasm_detached(&[], "t1", &["/sleep.wasm"]);
    harness.wait_for_status("t1", "RUNNING", Duration::from_secs(15));
    // A guest cannot catch signals: SIGTERM ends it, like an unhandled
    // SIGTERM ends a process (128+15).
    let warned = harness.kill_and_delete("t1", "SIGTERM");
    assert!(warned.contains("exit code 143"), "not 128+15:\n{warned}");
    harness.assert_no_containers();
}

#[test]
fn read_only_mount_can_be_read_not_written() {
    let harness = harness!("read_only_mount_can_be_read_not_written");
    let host = common::temp();
    fs::write(host.path().join("data.txt"), "host data\n").expect("data.txt");
    let ro = format!(
        "type=bind,src={},dst=/data,options=rbind:ro",
        path_str(host.path())
    );
    let rw = format!(
        "type=bind,src={},dst=/data,options=rbind:rw",
        path_str(host.path())
    );

    let output = harness.run_wasm(
        &["--mount", &ro],
        "ro1",
        &["/fs.wasm", "read", "/data/data.txt"],
    );
    assert_code(&harness, &output, 0);
    assert_eq!(stdout(&output), "content: host data\nok\n");

    for (n, args) in [
        ["/fs.wasm", "write", "/data/new.txt"],
        ["/fs.wasm", "append", "/data/data.txt"],
        ["/fs.wasm", "truncate", "/data/data.txt"],
        ["/fs.wasm", "unlink", "/data/data.txt"],
    ]
    .iter()
    .enumerate()
    {
        let output = harness.run_wasm(&["--mount", &ro], &format!("ro-w{n}"), args);
        assert_code(&harness, &output, 1);
        assert!(
            stdout(&output).starts_with("denied: "),
            "{args:?}: {}",
            stdout(&output)
        );
    }
    assert!(
        !host.path().join("new.txt").exists(),
        "a read-only mount was written"
    );
    assert_eq!(
        fs::read_to_string(host.path().join("data.txt")).expect("data.txt"),
        "host data\n"
    );

    // The same mount read-write can be written: the denials above are the
    // read-only option's doing.
    let output = harness.run_wasm(
        &["--mount", &rw],
        "rw1",
        &["/fs.wasm", "write", "/data/new.txt"],
    );
    assert_code(&harness, &output, 0);
    assert_eq!(
        fs::read_to_string(host.path().join("new.txt")).expect("new.txt"),
        "written by guest\n"
    );
}

/// What `alloc.wasm` says it got, in MiB.
fn allocated_mib(out: &str) -> u64 {
    out.strip_prefix("allocated ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output from alloc.wasm: {out:?}"))
}

#[test]
fn memory_limit_caps_the_guest() {
    let harness = harness!("memory_limit_caps_the_guest");
    const MIB: u64 = 1 << 20;
    let small = (32 * MIB).to_string();
    let output = harness.run_wasm(&["--memory-limit", &small], "m1", &["/alloc.wasm"]);
    assert_code(&harness, &output, 0);
    let got = allocated_mib(&stdout(&output));
    assert!(got < 32, "allocated {got} MiB under a 32 MiB limit");

    // A larger limit lets it have more: the cap is the limit given.
    let large = (256 * MIB).to_string();
    let output = harness.run_wasm(&["--memory-limit", &large], "m2", &["/alloc.wasm"]);
    assert_code(&harness, &output, 0);
    let got = allocated_mib(&stdout(&output));
    assert!(
        (128..256).contains(&got),
        "allocated {got} MiB under a 256 MiB limit"
    );
}

#[test]
fn twenty_containers_run_at_once_and_are_deleted() {
    let harness = harness!("twenty_containers_run_at_once_and_are_deleted");
    let ids: Vec<String> = (0..20).map(|i| format!("many{i}")).collect();
    for id in &ids {
        harness.run_wasm_detached(&[], id, &["/sleep.wasm"]);
    }
    for id in &ids {
        harness.wait_for_status(id, "RUNNING", Duration::from_secs(30));
    }
    let mut listed = harness.containers();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    for id in &ids {
        harness.ctr_ok(&["task", "kill", "-s", "SIGKILL", id]);
    }
    for id in &ids {
        harness.wait_for_status(id, "STOPPED", Duration::from_secs(30));
        harness.ctr_ok(&["task", "delete", id]);
        harness.ctr_ok(&["container", "delete", id]);
    }
    harness.assert_no_containers();
    let tasks = stdout(&harness.ctr_ok(&["task", "ls", "-q"]));
    assert!(tasks.trim().is_empty(), "tasks left:\n{tasks}");
}

#[test]
fn killed_shim_leaves_task_and_container_deletable() {
    let harness = harness!("killed_shim_leaves_task_and_container_deletable");
    harness.run_wasm_detached(&[], "dead1", &["/sleep.wasm"]);
    harness.wait_for_status("dead1", "RUNNING", Duration::from_secs(15));
    let shims = harness.containerd.shim_pids();
    assert!(
        !shims.is_empty(),
        "no shim process found for a running task"
    );
    let files = harness.group_files();
    assert_eq!(files.len(), 3, "socket, lock and alive files: {files:?}");
    for pid in &shims {
        let status = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -KILL {pid}");
    }
    // containerd notices: the task is no longer running (runc's shim,
    // killed the same way, makes the task disappear from `ctr task ls`).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while harness.task_status("dead1").as_deref() == Some("RUNNING") {
        assert!(
            std::time::Instant::now() < deadline,
            "the task still shows RUNNING 15 s after its shim was killed\n{}",
            harness.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The task is gone already or can be deleted; neither hangs.
    let output = harness.ctr(&["task", "delete", "dead1"]);
    assert_ne!(output.status.code(), Some(124), "ctr task delete hung");
    assert!(
        output.status.success() || stderr(&output).contains("not found"),
        "ctr task delete: {}",
        stderr(&output)
    );
    harness.ctr_ok(&["container", "delete", "dead1"]);
    harness.assert_no_containers();
    // containerd's `delete` clean-up removed the dead daemon's files.
    assert_eq!(harness.group_files(), Vec::<std::path::PathBuf>::new());
    // And the runtime still works afterwards.
    let output = harness.run_wasm_with_stdin("after1", &["/stdio.wasm", "7"], b"");
    assert_code(&harness, &output, 7);
}

#[test]
fn busybox_under_runc_beside_a_wasm_container() {
    let harness = harness!("busybox_under_runc_beside_a_wasm_container");
    harness.run_wasm_detached(&[], "side-wasm", &["/sleep.wasm"]);
    harness.ctr_ok(&[
        "run",
        "-d",
        BUSYBOX_IMAGE,
        "side-linux",
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    harness.wait_for_status("side-wasm", "RUNNING", Duration::from_secs(15));
    harness.wait_for_status("side-linux", "RUNNING", Duration::from_secs(15));

    let containers = stdout(&harness.ctr_ok(&["container", "ls"]));
    let runtime_of = |id: &str| {
        containers
            .lines()
            .find(|line| line.split_whitespace().next() == Some(id))
            .and_then(|line| line.split_whitespace().last())
            .map(str::to_owned)
    };
    assert_eq!(
        runtime_of("side-wasm").as_deref(),
        Some(RUNTIME),
        "{containers}"
    );
    assert_eq!(
        runtime_of("side-linux").as_deref(),
        Some("io.containerd.runc.v2"),
        "{containers}"
    );

    // Both runtimes serve runs to completion meanwhile.
    let output = harness.ctr(&[
        "run",
        "--rm",
        BUSYBOX_IMAGE,
        "side-bb",
        "/bin/busybox",
        "echo",
        "hi",
    ]);
    assert_code(&harness, &output, 0);
    assert_eq!(stdout(&output), "hi\n");
    let output = harness.run_wasm(&[], "side-w", &["/args_env.wasm", "x"]);
    assert_code(&harness, &output, 0);
    assert!(stdout(&output).contains("arg 1=x\n"), "{}", stdout(&output));

    let warned = harness.kill_and_delete("side-wasm", "SIGKILL");
    assert!(warned.contains("exit code 137"), "{warned}");
    // The Linux container is untouched by the Wasm one's end.
    assert_eq!(
        harness.task_status("side-linux").as_deref(),
        Some("RUNNING")
    );
    harness.kill_and_delete("side-linux", "SIGKILL");
    harness.assert_no_containers();
}

#[test]
fn non_wasm_program_under_wharf_runtime_is_a_clear_error() {
    let harness = harness!("non_wasm_program_under_wharf_runtime_is_a_clear_error");
    let cases: [(&str, Vec<&str>); 2] = [
        // A Linux image (busybox) given to the wharf runtime.
        (
            "nw-linux",
            vec![
                "run",
                "--rm",
                "--runtime",
                RUNTIME,
                BUSYBOX_IMAGE,
                "nw-linux",
                "/bin/busybox",
                "echo",
                "hi",
            ],
        ),
        // A shell script in a Wasm image.
        (
            "nw-script",
            vec![
                "run",
                "--rm",
                "--platform",
                "wasi/wasm",
                "--runtime",
                RUNTIME,
                WASM_IMAGE,
                "nw-script",
                "/notwasm.sh",
            ],
        ),
    ];
    for (id, args) in &cases {
        let output = harness
            .containerd
            .ctr_with_timeout(Duration::from_secs(30))
            .args(args)
            .output()
            .expect("run ctr");
        let code = output.status.code();
        assert_ne!(code, Some(124), "{id}: ctr hung\n{}", harness.log());
        assert_ne!(
            code,
            Some(0),
            "{id}: a non-Wasm program ran: {}",
            stdout(&output)
        );
        assert!(!stdout(&output).contains("hi"), "{id}: {}", stdout(&output));
        let said = format!("{}{}", stdout(&output), stderr(&output)).to_lowercase();
        assert!(
            said.contains("wasm") || said.contains("webassembly"),
            "{id}: the error does not say it is not WebAssembly:\n{said}"
        );
        assert!(
            !harness.containers().contains(&id.to_string()),
            "{id}: container left after --rm"
        );
    }
}

/// A program missing from a Wasm image's rootfs: the shim looks for an
/// artifact module in containerd's content store, finds the image has
/// none, and fails with the rootfs error.
#[test]
fn missing_program_in_a_wasm_image_is_a_clear_error() {
    let harness = harness!("missing_program_in_a_wasm_image_is_a_clear_error");
    let output = harness.run_wasm(&[], "miss1", &["/no/such.wasm"]);
    assert_ne!(
        output.status.code(),
        Some(124),
        "ctr hung\n{}",
        harness.log()
    );
    assert_ne!(output.status.code(), Some(0), "{}", stdout(&output));
    let said = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        said.contains("program `/no/such.wasm` not found in the container's rootfs"),
        "{said}"
    );
    harness.assert_no_containers();
}
