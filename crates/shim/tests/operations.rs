//! What operators do to running Wasm containers: restart containerd under
//! them, read their metrics, and ask for a tty (refused, never a hang).

#[macro_use]
#[path = "support/common.rs"]
mod common;

use std::process::Command;
use std::time::Duration;

use common::{Harness, RUNTIME, WASM_IMAGE, stdout};

#[test]
fn a_restarted_containerd_finds_running_containers_again() {
    let Some(mut harness) = Harness::start("a_restarted_containerd_finds_running_containers_again")
    else {
        return;
    };
    harness.run_wasm_detached(&[], "survivor", &["/sleep.wasm"]);
    harness.wait_for_status("survivor", "RUNNING", Duration::from_secs(15));
    let shims = harness.containerd.shim_pids();
    harness.containerd.restart();
    harness.wait_for_status("survivor", "RUNNING", Duration::from_secs(15));
    assert_eq!(
        harness.containerd.shim_pids(),
        shims,
        "the same shim, reconnected"
    );
    harness.kill_and_delete("survivor", "SIGKILL");
    let deleted = harness.ctr_ok(&["task", "ls", "-q"]);
    assert!(stdout(&deleted).trim().is_empty());
}

#[test]
fn metrics_show_the_guests_memory() {
    let harness = harness!("metrics_show_the_guests_memory");
    harness.run_wasm_detached(&[], "measured", &["/sleep.wasm"]);
    harness.wait_for_status("measured", "RUNNING", Duration::from_secs(15));
    let metrics = stdout(&harness.ctr_ok(&["task", "metrics", "measured"]));
    let usage: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("memory.usage_in_bytes"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no memory usage in:\n{metrics}"));
    // At least the guest's one 64 KiB page of linear memory.
    assert!(usage >= 65536, "{metrics}");
    harness.kill_and_delete("measured", "SIGKILL");
}

#[test]
fn a_tty_is_a_clear_error_not_a_hang() {
    let harness = harness!("a_tty_is_a_clear_error_not_a_hang");
    // `ctr run -t` wants a terminal: `script` gives it one, and the outer
    // `timeout` bounds it (an inner one would stop ctr with SIGTTOU).
    let ctr = harness.containerd.ctr_without_limit();
    let mut words: Vec<String> = vec!["env".to_owned()];
    words.extend(ctr.get_envs().filter_map(|(key, value)| {
        let value = value?;
        Some(format!(
            "{}={}",
            key.to_string_lossy(),
            value.to_string_lossy()
        ))
    }));
    words.push(ctr.get_program().to_string_lossy().into_owned());
    words.extend(ctr.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.extend(
        [
            "run",
            "--rm",
            "-t",
            "--platform",
            "wasi/wasm",
            "--runtime",
            RUNTIME,
            WASM_IMAGE,
            "tty1",
        ]
        .map(str::to_owned),
    );
    // script runs the line with $SHELL; fix it so the test does not
    // depend on the caller's.
    let output = Command::new("timeout")
        .args(["60", "script", "-qec", &words.join(" "), "/dev/null"])
        .env("SHELL", "/bin/sh")
        .output()
        .expect("run script (bsdutils)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_ne!(output.status.code(), Some(124), "ctr hung: {text}");
    assert!(text.contains("tty is not supported"), "{text}");
    let _ = harness.ctr(&["container", "delete", "tty1"]);
}

#[test]
fn the_daemon_refuses_to_serve_without_what_start_hands_it() {
    let dir = common::temp();
    let output = Command::new(common::shim_binary())
        .args([
            "-namespace",
            "default",
            "-address",
            "/nonexistent/containerd.sock",
        ])
        .args(["-id", "orphan", "-socket"])
        .arg(dir.path().join("group.sock"))
        .arg("serve")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the shim");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        common::stderr(&output),
        "containerd-shim-wharf-v1: serve needs its listening socket on descriptor 3: run by `start` only\n"
    );
    assert!(!dir.path().join("group.sock").exists(), "nothing made");
}
