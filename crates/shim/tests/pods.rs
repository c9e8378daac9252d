//! Many containers per shim: a Kubernetes pod's containers (and its
//! sandbox, or pause, container) share one shim process, other containers
//! another; and a long-lived shim leaks nothing over hundreds of
//! containers.

#[macro_use]
#[path = "support/common.rs"]
mod common;

use std::fs;
use std::time::Duration;

use common::Harness;

const SANDBOX: &str = "--annotation=io.kubernetes.cri.container-type=sandbox";
const CONTAINER: &str = "--annotation=io.kubernetes.cri.container-type=container";
const POD: &str = "--annotation=io.kubernetes.cri.sandbox-id=pod-a";

#[test]
fn a_pods_containers_share_one_shim_and_its_sandbox_needs_no_program() {
    let harness = harness!("a_pods_containers_share_one_shim_and_its_sandbox_needs_no_program");
    // The pause container's program is not Wasm, and need not exist.
    harness.run_wasm_detached(&[SANDBOX, POD], "pod-a-sandbox", &["/pause"]);
    harness.wait_for_status("pod-a-sandbox", "RUNNING", Duration::from_secs(15));
    for id in ["pod-a-one", "pod-a-two"] {
        harness.run_wasm_detached(&[CONTAINER, POD], id, &["/sleep.wasm"]);
        harness.wait_for_status(id, "RUNNING", Duration::from_secs(15));
    }
    assert_eq!(
        harness.containerd.shim_pids().len(),
        1,
        "one shim for the pod"
    );
    harness.run_wasm_detached(&[], "outside", &["/sleep.wasm"]);
    harness.wait_for_status("outside", "RUNNING", Duration::from_secs(15));
    assert_eq!(
        harness.containerd.shim_pids().len(),
        2,
        "a container outside the pod has a shim of its own group"
    );
    for id in ["pod-a-one", "pod-a-two", "pod-a-sandbox", "outside"] {
        harness.kill_and_delete(id, "SIGKILL");
    }
}

// The leak checks below compare counts read from /proc: a read that fails
// (a wrong path, the shim gone) must fail the test, not count as 0.

fn count_entries(dir: &str) -> usize {
    fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {dir}: {error}"))
        .count()
}

fn threads(pid: u32) -> usize {
    let path = format!("/proc/{pid}/status");
    let status =
        fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no thread count in {path}: {status}"))
}

fn mounts_under(dir: &std::path::Path) -> usize {
    assert!(dir.is_dir(), "no directory {}", dir.display());
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_else(|error| panic!("cannot read /proc/self/mountinfo: {error}"));
    let dir = dir.to_string_lossy();
    mountinfo.lines().filter(|l| l.contains(&*dir)).count()
}

#[test]
fn two_hundred_containers_through_one_shim_leak_nothing() {
    let harness = harness!("two_hundred_containers_through_one_shim_leak_nothing");
    // An anchor keeps the shim alive across the cycles.
    harness.run_wasm_detached(&[], "anchor", &["/sleep.wasm"]);
    harness.wait_for_status("anchor", "RUNNING", Duration::from_secs(15));
    let shims = harness.containerd.shim_pids();
    assert_eq!(shims.len(), 1, "{shims:?}");
    let shim = shims[0];
    // Warm up the ttrpc thread pool and the cache, then take the baseline.
    for i in 0..5 {
        let output = harness.run_wasm(&[], &format!("warm{i}"), &["/args_env.wasm", "w"]);
        assert!(output.status.success(), "{output:?}");
    }
    std::thread::sleep(Duration::from_millis(300));
    let fd_dir = format!("/proc/{shim}/fd");
    let (fds, thread_count) = (count_entries(&fd_dir), threads(shim));
    let mounts = mounts_under(harness.containerd.dir());
    for i in 0..200 {
        let output = harness.run_wasm(&[], &format!("cycle{i}"), &["/args_env.wasm", "c"]);
        assert!(
            output.status.success() && String::from_utf8_lossy(&output.stdout).contains("arg 1=c"),
            "cycle {i}: {output:?}\n{}",
            harness.log()
        );
    }
    // Guests killed while they sleep in a host call leave no thread or fd
    // behind either: the call is dropped with them.
    for i in 0..20 {
        let id = format!("sleeper{i}");
        harness.run_wasm_detached(&[], &id, &["/sleep.wasm"]);
        harness.wait_for_status(&id, "RUNNING", Duration::from_secs(15));
        harness.kill_and_delete(&id, "SIGKILL");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        harness.containerd.shim_pids(),
        vec![shim],
        "the same shim served them all"
    );
    assert!(
        count_entries(&fd_dir) <= fds + 2,
        "fds {fds} -> {}",
        count_entries(&fd_dir)
    );
    assert!(
        threads(shim) <= thread_count + 4,
        "threads {thread_count} -> {}",
        threads(shim)
    );
    assert_eq!(
        mounts_under(harness.containerd.dir()),
        mounts,
        "no mount left behind"
    );
    assert_eq!(harness.containers(), vec!["anchor".to_owned()]);

    // Idle, the shim sleeps: no thread wakes on a timer (ttrpc's client
    // would poll every 10 ms if the events connection stayed open).
    std::thread::sleep(Duration::from_millis(1500));
    let before = context_switches(shim);
    std::thread::sleep(Duration::from_secs(1));
    let woke = context_switches(shim) - before;
    assert!(woke < 20, "an idle shim woke {woke} times in a second");
    harness.kill_and_delete("anchor", "SIGKILL");
}

/// Context switches of all of `pid`'s threads so far.
fn context_switches(pid: u32) -> u64 {
    fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the shim's threads")
        .flatten()
        .filter_map(|task| fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|line| line.contains("ctxt_switches"))
                .filter_map(|line| line.split_whitespace().last()?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}
