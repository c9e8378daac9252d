//! `--cpus` and `--cpu-shares`: a cgroup of the run's own, joined by the
//! whole process (a foreground run, or a detached container's supervisor).

use wharf_lifecycle::cgroup::{CpuCgroup, CpuLimit};

use crate::cli::RunArgs;

/// Moves this process into cgroup `wharf/NAME` with the flags' limits;
/// `None` without limits, or (said on stderr) when the host does not let
/// this user make one.
pub fn join(name: &str, args: &RunArgs) -> Option<CpuCgroup> {
    join_limits(name, args.cpus, args.cpu_shares)
}

/// As [`join`], from the recorded limits.
pub fn join_limits(name: &str, cpus: Option<f64>, shares: Option<u64>) -> Option<CpuCgroup> {
    let limit = CpuLimit::of(cpus, shares)?;
    let joined = CpuCgroup::create(name, Some(&limit), false)
        .and_then(|cgroup| cgroup.add_process(std::process::id()).map(|()| cgroup));
    match joined {
        Ok(cgroup) => {
            tracing::debug!(cgroup = %cgroup.dir().display(), ?limit, "CPU limit");
            Some(cgroup)
        }
        Err(error) => {
            eprintln!(
                "wharf: warning: the CPU limit is not applied: {}",
                crate::report::chain(&error)
            );
            None
        }
    }
}
