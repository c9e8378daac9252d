//! A detached container's kernel wall and CPU limit: `inspect` says what is
//! enforced, the limit is in the container's cgroup while it runs, and the
//! cgroup is gone once it is removed.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::{c_guest, state_root};
use crate::support::{detached, eventually, inspect, ok};

/// The container's cgroup file holding its CPU quota, in whichever
/// hierarchy has the cpu controller.
fn quota_file(id: &str) -> Option<(PathBuf, &'static str)> {
    let v2 = PathBuf::from("/sys/fs/cgroup/wharf")
        .join(id)
        .join("cpu.max");
    let v1 = PathBuf::from("/sys/fs/cgroup/cpu/wharf")
        .join(id)
        .join("cpu.cfs_quota_us");
    [(v2, "50000 100000"), (v1, "50000")]
        .into_iter()
        .find(|(file, _)| file.exists())
}

#[test]
fn a_detached_container_reports_its_wall_and_keeps_its_cpu_limit_in_its_cgroup() {
    if wharf_testkit::skip_unless_root(
        "a_detached_container_reports_its_wall_and_keeps_its_cpu_limit_in_its_cgroup",
        "cgroups are made by root",
    ) {
        return;
    }
    let root = state_root();
    let root = root.path();
    let id = detached(root, "limited", &["--cpus", "0.5"], &c_guest("ticker"));
    eventually(Duration::from_secs(10), "the wall is up", || {
        inspect(root, "limited")["State"]["KernelLayers"]
            .as_str()
            .is_some_and(|layers| layers.contains("seccomp") && layers.contains("no_new_privs"))
    });
    let state = inspect(root, "limited");
    assert_eq!(state["HostConfig"]["NanoCpus"], 500_000_000u64);
    let (file, quota) = quota_file(&id).expect("the container's cgroup");
    assert_eq!(std::fs::read_to_string(&file).expect("quota").trim(), quota);
    let pid = state["State"]["Pid"].as_u64().expect("pid");
    let procs = std::fs::read_to_string(file.with_file_name("cgroup.procs")).expect("procs");
    assert!(procs.lines().any(|p| p == pid.to_string()), "{procs}");

    ok(root, &["rm", "-f", "limited"]);
    eventually(Duration::from_secs(10), "the cgroup is removed", || {
        !file.parent().expect("dir").exists()
    });
}

#[test]
fn a_detached_container_without_layers_says_so() {
    let root = state_root();
    let root = root.path();
    detached(
        root,
        "bare",
        &["--security-opt", "no-layers"],
        &c_guest("ticker"),
    );
    let state = inspect(root, "bare");
    assert_eq!(state["HostConfig"]["SecurityOpt"][0], "no-layers");
    eventually(Duration::from_secs(10), "the run is recorded", || {
        inspect(root, "bare")["State"]["KernelLayers"] == "none"
    });
    ok(root, &["rm", "-f", "bare"]);
}
