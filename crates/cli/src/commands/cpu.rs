//! `--cpus` and `--cpu-shares`: a cgroup of the run's own, joined by the
//! whole process (a foreground run, or a detached container's supervisor).

use std::sync::OnceLock;

use wharf_lifecycle::cgroup::{CpuCgroup, CpuLimit};

use crate::cli::RunArgs;

/// The cgroup this process joined, for [`leave`].
static JOINED: OnceLock<CpuCgroup> = OnceLock::new();

/// Moves this process into cgroup `wharf/NAME` with the flags' limits;
/// nothing without limits, or (said on stderr) when the host does not let
/// this user make one.
pub fn join(name: &str, args: &RunArgs) {
    join_limits(name, args.cpus, args.cpu_shares);
}

/// As [`join`], from the recorded limits.
pub fn join_limits(name: &str, cpus: Option<f64>, shares: Option<u64>) {
    let Some(limit) = CpuLimit::of(cpus, shares) else {
        return;
    };
    // A foreground run ended by a signal could not remove its own.
    CpuCgroup::remove_unused("run-");
    let joined = CpuCgroup::create(name, Some(&limit), false)
        .and_then(|cgroup| cgroup.add_process(std::process::id()).map(|()| cgroup));
    match joined {
        Ok(cgroup) => {
            tracing::debug!(cgroup = %cgroup.dir().display(), ?limit, "CPU limit");
            let _ = JOINED.set(cgroup);
        }
        Err(error) => eprintln!(
            "wharf: warning: the CPU limit is not applied: {}",
            crate::report::chain(&error)
        ),
    }
}

/// Leaves and removes the cgroup [`join`] made, if any (from a thread that
/// is not walled in).
pub fn leave() {
    if let Some(cgroup) = JOINED.get() {
        cgroup.leave_and_remove();
    }
}
