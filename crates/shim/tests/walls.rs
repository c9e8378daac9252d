//! The kernel's wall per guest thread in one shim: each container's guest
//! thread has its own Landlock domain (its own rootfs) and the seccomp
//! allowlist, the daemon's control threads have neither; and a CPU quota
//! in the spec holds for the guest's threads.

#[macro_use]
#[path = "support/common.rs"]
mod common;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use common::{Harness, stdout};
use wharf_testkit::intruder;

const CONTAINER: &str = "--annotation=io.kubernetes.cri.container-type=container";
const POD: &str = "--annotation=io.kubernetes.cri.sandbox-id=pod-w";

fn rootfs_of(harness: &Harness, id: &str) -> PathBuf {
    harness
        .containerd
        .dir()
        .join("state/io.containerd.runtime.v2.task")
        .join(harness.containerd.namespace())
        .join(id)
        .join("rootfs")
}

/// `(thread name, Seccomp, NoNewPrivs)` of every thread of `pid`.
fn threads_of(pid: u32) -> Vec<(String, String, String)> {
    let mut threads = Vec::new();
    for task in fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .flatten()
    {
        let status = fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        threads.push((field("Name:"), field("Seccomp:"), field("NoNewPrivs:")));
    }
    threads
}

#[test]
fn each_guest_thread_is_walled_and_the_daemons_threads_are_not() {
    let harness = harness!("each_guest_thread_is_walled_and_the_daemons_threads_are_not");
    for id in ["walled-a", "walled-b"] {
        harness.run_wasm_detached(&[CONTAINER, POD], id, &["/sleep.wasm"]);
        harness.wait_for_status(id, "RUNNING", Duration::from_secs(15));
    }
    let shims = harness.containerd.shim_pids();
    assert_eq!(shims.len(), 1, "one shim for both");
    let threads = threads_of(shims[0]);
    for id in ["walled-a", "walled-b"] {
        // The kernel keeps 15 bytes of a thread's name.
        let name: String = format!("guest-{id}").chars().take(15).collect();
        let guest = threads
            .iter()
            .find(|(n, ..)| *n == name)
            .unwrap_or_else(|| panic!("no thread {name} in {threads:?}"));
        assert_eq!(
            (guest.1.as_str(), guest.2.as_str()),
            ("2", "1"),
            "{threads:?}"
        );
    }
    let control: Vec<_> = threads
        .iter()
        .filter(|(n, ..)| !n.starts_with("guest-"))
        .collect();
    assert!(!control.is_empty());
    for (name, seccomp, nnp) in control {
        assert_eq!(
            (seccomp.as_str(), nnp.as_str()),
            ("0", "0"),
            "{name} is walled in"
        );
    }
    for id in ["walled-a", "walled-b"] {
        harness.kill_and_delete(id, "SIGKILL");
    }
}

/// `(thread name, Seccomp, NoNewPrivs)` of the threads of `pid` once no
/// more than `control` of them are outside a guest's walls (a blocking
/// thread that served a Create ends a second after it), or after 5 s.
fn settled_threads(pid: u32, control: usize) -> Vec<(String, String, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let threads = threads_of(pid);
        if control_threads(&threads) <= control || std::time::Instant::now() > deadline {
            return threads;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many of `threads` are the daemon's own (not walled in).
fn control_threads(threads: &[(String, String, String)]) -> usize {
    threads
        .iter()
        .filter(|(_, seccomp, _)| seccomp != "2")
        .count()
}

#[test]
fn an_idle_container_costs_at_most_two_threads_both_walled_even_while_waited_on() {
    let harness =
        harness!("an_idle_container_costs_at_most_two_threads_both_walled_even_while_waited_on");
    harness.run_wasm_detached(&[CONTAINER, POD], "idle-0", &["/sleep.wasm"]);
    harness.wait_for_status("idle-0", "RUNNING", Duration::from_secs(15));
    let shim = harness.containerd.shim_pids()[0];
    // The daemon's own threads with one container: main, and the
    // publisher of events.
    let before = settled_threads(shim, 2);
    const MORE: usize = 4;
    let mut waiters = Vec::new();
    for n in 1..=MORE {
        let id = format!("idle-{n}");
        // An attached `ctr run` waits for the exit (a Wait request), as
        // the CRI does.
        let waiter = harness
            .containerd
            .ctr()
            .args(common::wasm_run_args(
                true,
                &[CONTAINER, POD],
                &id,
                &["/sleep.wasm"],
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ctr run");
        harness.wait_for_status(&id, "RUNNING", Duration::from_secs(15));
        waiters.push(waiter);
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = settled_threads(shim, control_threads(&before));
    assert!(
        after.len() <= before.len() + 2 * MORE,
        "{MORE} idle containers took {} threads more: {after:?}",
        after.len().saturating_sub(before.len())
    );
    // What they took is inside their walls: the daemon grew no thread.
    assert_eq!(
        control_threads(&after),
        control_threads(&before),
        "{before:?}\n{after:?}"
    );
    assert!(
        after.len() - control_threads(&after) <= 2 * (MORE + 1),
        "{after:?}"
    );
    harness.kill_and_delete("idle-0", "SIGKILL");
    for n in 1..=MORE {
        harness.ctr_ok(&["task", "kill", "-s", "SIGKILL", &format!("idle-{n}")]);
    }
    // Each waiter was answered with the exit, 128 + SIGKILL, and removed
    // its container.
    for waiter in waiters {
        let output = waiter.wait_with_output().expect("ctr run");
        assert_eq!(
            output.status.code(),
            Some(137),
            "{}",
            common::stderr(&output)
        );
    }
    harness.assert_no_containers();
}

/// Tried as code that broke out of the Wasm sandbox of one container would
/// try it: system calls made as that container's guest thread (see
/// `wharf_testkit::intruder`), each refused with its wall's errno, and the
/// neighbour's rootfs unchanged.
#[test]
fn two_containers_in_one_shim_each_reach_only_their_own_rootfs() {
    let harness = harness!("two_containers_in_one_shim_each_reach_only_their_own_rootfs");
    for id in ["neighbour", "prober"] {
        harness.run_wasm_detached(&[CONTAINER, POD], id, &["/sleep.wasm"]);
        harness.wait_for_status(id, "RUNNING", Duration::from_secs(15));
    }
    let shims = harness.containerd.shim_pids();
    assert_eq!(shims.len(), 1, "one shim for both");
    let prober = intruder::thread_named(shims[0], "guest-prober").expect("the prober's thread");
    let theirs = rootfs_of(&harness, "neighbour");
    let ours = rootfs_of(&harness, "prober");
    assert!(theirs.join("data.txt").exists(), "the neighbour's rootfs");
    let path = |p: PathBuf| p.to_str().expect("path").to_owned();
    let read = libc::O_RDONLY;
    let create = libc::O_WRONLY | libc::O_CREAT;
    let denied = [
        (path(theirs.join("data.txt")), read, libc::EACCES),
        (path(theirs.join("planted.txt")), create, libc::EACCES),
        (
            path(theirs.join("data.txt")),
            libc::O_WRONLY | libc::O_TRUNC,
            libc::EACCES,
        ),
        ("/etc/shadow".to_owned(), read, libc::EACCES),
    ];
    for (file, flags, errno) in &denied {
        let result = intruder::open(prober, file, *flags).expect("open as the guest");
        assert_eq!(result, -i64::from(*errno), "{file} ({flags:#o})");
    }
    assert!(
        !theirs.join("planted.txt").exists(),
        "written into the neighbour"
    );
    assert_eq!(
        fs::read_to_string(theirs.join("data.txt")).expect("their data"),
        fs::read_to_string(ours.join("data.txt")).expect("our data"),
        "the neighbour's file is as the image made it"
    );
    assert_eq!(
        intruder::socket(prober).expect("socket"),
        -i64::from(libc::EPERM)
    );
    let exec = intruder::execve(prober, "/nonexistent/wharf-test").expect("execve");
    assert_eq!(exec, -i64::from(libc::EPERM));
    // Its own rootfs it reaches (so the refusals above can fail).
    let own = intruder::open(prober, &path(ours.join("data.txt")), read).expect("open");
    assert!(own >= 0, "{own}");
    assert_eq!(harness.containerd.shim_pids().len(), 1, "the same shim");
    for id in ["neighbour", "prober"] {
        harness.kill_and_delete(id, "SIGKILL");
    }
}

/// The container's CPU cgroup in the `cpu` hierarchy: v1's
/// `wharf/shim-ID`, or v2's threaded `wharf/shim-PID/shim-ID`.
fn cgroup_of(id: &str) -> Option<PathBuf> {
    let name = format!("shim-{id}");
    let v1 = PathBuf::from("/sys/fs/cgroup/cpu/wharf").join(&name);
    if v1.exists() {
        return Some(v1);
    }
    fs::read_dir("/sys/fs/cgroup/wharf")
        .ok()?
        .flatten()
        .map(|shim| shim.path().join(&name))
        .find(|dir| dir.exists())
}

#[test]
fn a_cpu_quota_in_the_spec_holds_for_the_guests_thread_and_metrics_count_its_cpu() {
    let harness =
        harness!("a_cpu_quota_in_the_spec_holds_for_the_guests_thread_and_metrics_count_its_cpu");
    let quota = ["--cpu-quota", "50000", "--cpu-period", "100000"];
    harness.run_wasm_detached(&quota, "spin-limited", &["/spin.wasm"]);
    harness.wait_for_status("spin-limited", "RUNNING", Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(500));
    let cgroup = cgroup_of("spin-limited").expect("the container's cgroup");
    let v1 = cgroup.join("cpu.cfs_quota_us").exists();
    let read = |file: &str| fs::read_to_string(cgroup.join(file)).expect(file);
    if v1 {
        assert_eq!(read("cpu.cfs_quota_us").trim(), "50000");
        assert_eq!(read("cpu.cfs_period_us").trim(), "100000");
    } else {
        assert_eq!(read("cpu.max").trim(), "50000 100000");
    }
    // The guest's thread is the member, not the daemon.
    let members = read(if v1 { "tasks" } else { "cgroup.threads" });
    let shim = harness.containerd.shim_pids()[0];
    let guest_tid = fs::read_dir(format!("/proc/{shim}/task"))
        .expect("tasks")
        .flatten()
        .find(|task| {
            fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim() == "guest-spin-limi")
        })
        .map(|task| task.file_name().to_string_lossy().into_owned())
        .expect("the guest's thread");
    assert!(members.lines().any(|tid| tid == guest_tid), "{members}");
    assert!(
        !members.lines().any(|tid| tid == shim.to_string()),
        "{members}"
    );
    // The kernel held it to its quota: it was throttled.
    let throttled: u64 = read("cpu.stat")
        .lines()
        .find_map(|l| l.strip_prefix("nr_throttled "))
        .and_then(|n| n.trim().parse().ok())
        .expect("nr_throttled");
    assert!(throttled > 0, "{}", read("cpu.stat"));

    let metrics = stdout(&harness.ctr_ok(&["task", "metrics", "spin-limited"]));
    let cpu: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("cpuacct.usage"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no CPU use in:\n{metrics}"));
    assert!(cpu > 100_000_000, "at least 0.1 s of CPU: {metrics}");
    harness.kill_and_delete("spin-limited", "SIGKILL");
    assert!(
        !cgroup.exists(),
        "{} outlived its container",
        cgroup.display()
    );
}

/// `--annotation io.wharf.security-opt=no-layers` turns the kernel's wall
/// off only on a node whose containerd allows it (`WHARF_ALLOW_NO_LAYERS=1`
/// in its environment, here the runtime `io.containerd.wharfopen.v1`, the
/// same shim started with it): elsewhere Create refuses it in one line.
#[test]
fn the_no_layers_annotation_is_honoured_only_where_the_node_allows_it() {
    let harness = harness!("the_no_layers_annotation_is_honoured_only_where_the_node_allows_it");
    let annotation = "--annotation=io.wharf.security-opt=no-layers";
    let refused = harness.ctr(&common::wasm_run_args(
        true,
        &[annotation],
        "walled",
        &["/sleep.wasm"],
    ));
    assert_ne!(refused.status.code(), Some(0), "{refused:?}");
    let said = common::stderr(&refused);
    assert!(
        said.contains("no-layers is refused: this node does not allow"),
        "{said}"
    );
    let mut open = common::wasm_run_args(
        false,
        &[annotation, CONTAINER, POD],
        "bare",
        &["/sleep.wasm"],
    );
    let runtime = open
        .iter()
        .position(|a| *a == common::RUNTIME)
        .expect("runtime");
    open[runtime] = common::ALLOWING_RUNTIME;
    harness.ctr_ok(&open);
    harness.wait_for_status("bare", "RUNNING", Duration::from_secs(15));
    let guest = harness
        .containerd
        .shim_pids()
        .into_iter()
        .flat_map(threads_of)
        .find(|(name, _, _)| name == "guest-bare")
        .expect("the guest's thread");
    assert_eq!(
        (guest.1.as_str(), guest.2.as_str()),
        ("0", "0"),
        "no wall where allowed"
    );
    harness.kill_and_delete("bare", "SIGKILL");
}

/// The process isolation (`io.wharf.isolation=process`): the guest runs in
/// a process of its own, a child of the daemon, every thread of it walled;
/// code that took it over reaches neither the neighbour's rootfs nor the
/// daemon's memory; its output, exit code and kill are a container's.
#[test]
fn in_process_isolation_each_guest_is_a_process_of_its_own_walled_whole() {
    let harness = harness!("in_process_isolation_each_guest_is_a_process_of_its_own_walled_whole");
    let isolated = "--annotation=io.wharf.isolation=process";
    harness.run_wasm_detached(&[CONTAINER, POD], "neighbour", &["/sleep.wasm"]);
    harness.run_wasm_detached(&[isolated, CONTAINER, POD], "alone", &["/sleep.wasm"]);
    for id in ["neighbour", "alone"] {
        harness.wait_for_status(id, "RUNNING", Duration::from_secs(15));
    }
    let shims = harness.containerd.shim_pids();
    assert_eq!(shims.len(), 1, "one daemon for both");
    let children =
        fs::read_to_string(format!("/proc/{0}/task/{0}/children", shims[0])).unwrap_or_default();
    let guests: Vec<u32> = children
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect();
    assert_eq!(guests.len(), 1, "one guest process: {children:?}");
    let guest = guests[0];
    let walls = threads_of(guest);
    assert!(!walls.is_empty());
    for (name, seccomp, no_new_privs) in &walls {
        assert_eq!(
            (seccomp.as_str(), no_new_privs.as_str()),
            ("2", "1"),
            "{name}"
        );
    }
    assert!(
        !threads_of(shims[0])
            .iter()
            .any(|(name, _, _)| name == "guest-alone"),
        "no guest thread in the daemon"
    );
    let theirs = rootfs_of(&harness, "neighbour").join("data.txt");
    let ours = rootfs_of(&harness, "alone").join("data.txt");
    for (tid, _) in intruder::threads(guest).expect("threads") {
        let read = intruder::open(tid, theirs.to_str().expect("path"), libc::O_RDONLY);
        assert_eq!(read.expect("open"), -i64::from(libc::EACCES));
    }
    let own = intruder::open(guest, ours.to_str().expect("path"), libc::O_RDONLY).expect("open");
    assert!(own >= 0, "{own}");
    // The daemon's memory is not this process's to read.
    let daemon = format!("/proc/{}/mem", shims[0]);
    let peek = intruder::open(guest, &daemon, libc::O_RDONLY).expect("open");
    assert!(peek < 0, "opened the daemon's memory: {peek}");
    harness.ctr_ok(&["task", "kill", "-s", "SIGKILL", "alone"]);
    harness.wait_for_status("alone", "STOPPED", Duration::from_secs(15));
    let status = stdout(&harness.ctr_ok(&["task", "ls"]));
    assert!(status.contains("alone"), "{status}");
    assert!(
        !std::path::Path::new(&format!("/proc/{guest}")).exists(),
        "the process is gone"
    );
    harness.ctr_ok(&["task", "delete", "alone"]);
    harness.ctr_ok(&["container", "delete", "alone"]);
    harness.kill_and_delete("neighbour", "SIGKILL");
    // A command's output and exit code, as under the thread isolation.
    let ran = harness.run_wasm(&[isolated], "command", &["/args_env.wasm", "isolated-arg"]);
    assert_eq!(ran.status.code(), Some(0), "{ran:?}");
    assert!(stdout(&ran).contains("isolated-arg"), "{}", stdout(&ran));
    let refused = harness.run_wasm(
        &["--annotation=io.wharf.isolation=vm"],
        "bad",
        &["/args_env.wasm"],
    );
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        common::stderr(&refused).contains("io.wharf.isolation=vm is not an isolation"),
        "{}",
        common::stderr(&refused)
    );
}
