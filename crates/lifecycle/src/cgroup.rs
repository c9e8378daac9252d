//! CPU limits through the kernel's cgroups: one cgroup of wharf's own per
//! container, `wharf/NAME` at the top of the hierarchy that has the `cpu`
//! controller — cgroup v2's unified one where it has it, else v1's `cpu`
//! (with v1's `cpuacct` beside it for the CPU used).
//!
//! A container may be a whole process (the CLI's) or threads of one
//! process (the shim's guests): v1 places threads freely; v2 places them
//! in a threaded subtree (`wharf/shim-PID`, holding the process, with one
//! threaded child per container). A thread a member thread starts later is
//! a member too.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The CFS period used when only a number of CPUs is given.
pub const DEFAULT_PERIOD_US: u64 = 100_000;

/// How much CPU a container gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuLimit {
    /// CPU time per period, in µs (`None`: no ceiling).
    pub quota_us: Option<u64>,
    /// The period, in µs.
    pub period_us: u64,
    /// The relative weight under contention, in Docker's units (1024 is
    /// one share of the default; `None`: the default).
    pub shares: Option<u64>,
}

impl CpuLimit {
    /// `--cpus N` and `--cpu-shares N`, or `None` when neither is set.
    pub fn of(cpus: Option<f64>, shares: Option<u64>) -> Option<CpuLimit> {
        if cpus.is_none() && shares.is_none() {
            return None;
        }
        Some(CpuLimit {
            quota_us: cpus.map(|cpus| ((cpus * DEFAULT_PERIOD_US as f64) as u64).max(1000)),
            period_us: DEFAULT_PERIOD_US,
            shares,
        })
    }

    /// v2's `cpu.weight` (1..=10000) for Docker's shares (2..=262144), as
    /// runc converts them.
    fn weight(shares: u64) -> u64 {
        let shares = shares.clamp(2, 262_144);
        1 + ((shares - 2) * 9999) / 262_142
    }
}

/// Why a cgroup could not be made or joined.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// No mounted hierarchy has the `cpu` controller.
    #[error("no cgroup hierarchy on this host has the cpu controller")]
    NoCpuController,
    /// A cgroup file could not be written or read (often: not root, and no
    /// delegated subtree).
    #[error("cannot write {}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// One container's cgroup.
#[derive(Debug, Clone)]
pub struct CpuCgroup {
    version: Version,
    /// The cgroup in the `cpu` hierarchy.
    dir: PathBuf,
    /// v1 only: its twin in the `cpuacct` hierarchy, when mounted.
    accounting: Option<PathBuf>,
}

impl CpuCgroup {
    /// Makes (or reuses) the cgroup `wharf/NAME` with `limit` (none: only
    /// for accounting). `threads`: members are threads of this process
    /// (the shim), not whole processes.
    pub fn create(
        name: &str,
        limit: Option<&CpuLimit>,
        threads: bool,
    ) -> Result<CpuCgroup, CgroupError> {
        let (version, top) = cpu_hierarchy().ok_or(CgroupError::NoCpuController)?;
        let cgroup = match version {
            Version::V1 => {
                let dir = make_dir(&make_dir(&top.join("wharf"))?.join(name))?;
                let accounting = mount_of("cpuacct")
                    .and_then(|top| make_dir(&make_dir(&top.join("wharf")).ok()?.join(name)).ok());
                CpuCgroup {
                    version,
                    dir,
                    accounting,
                }
            }
            Version::V2 if threads => {
                // The process lives in its threaded domain; each container is
                // a threaded child of it.
                let wharf = enable_cpu(make_dir(&top.join("wharf"))?, &top)?;
                let domain = make_dir(&wharf.join(format!("shim-{}", std::process::id())))?;
                let dir = make_dir(&domain.join(name))?;
                write(&dir.join("cgroup.type"), "threaded")?;
                write(
                    &domain.join("cgroup.procs"),
                    &std::process::id().to_string(),
                )?;
                enable_cpu(domain, &top)?;
                CpuCgroup {
                    version,
                    dir,
                    accounting: None,
                }
            }
            Version::V2 => {
                let wharf = enable_cpu(make_dir(&top.join("wharf"))?, &top)?;
                CpuCgroup {
                    version,
                    dir: make_dir(&wharf.join(name))?,
                    accounting: None,
                }
            }
        };
        if let Some(limit) = limit {
            cgroup.set(limit)?;
        }
        Ok(cgroup)
    }

    /// The cgroup's directory in the `cpu` hierarchy.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn set(&self, limit: &CpuLimit) -> Result<(), CgroupError> {
        match self.version {
            Version::V1 => {
                write(
                    &self.dir.join("cpu.cfs_period_us"),
                    &limit.period_us.to_string(),
                )?;
                let quota = limit.quota_us.map_or("-1".to_owned(), |q| q.to_string());
                write(&self.dir.join("cpu.cfs_quota_us"), &quota)?;
                if let Some(shares) = limit.shares {
                    write(&self.dir.join("cpu.shares"), &shares.to_string())?;
                }
            }
            Version::V2 => {
                let quota = limit.quota_us.map_or("max".to_owned(), |q| q.to_string());
                write(
                    &self.dir.join("cpu.max"),
                    &format!("{quota} {}", limit.period_us),
                )?;
                if let Some(shares) = limit.shares {
                    let weight = CpuLimit::weight(shares).to_string();
                    write(&self.dir.join("cpu.weight"), &weight)?;
                }
            }
        }
        Ok(())
    }

    /// Moves process `pid` (all its threads) in.
    pub fn add_process(&self, pid: u32) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Moves the calling thread in (and, from now on, the threads it starts).
    pub fn add_this_thread(&self) -> Result<(), CgroupError> {
        // SAFETY: gettid has no arguments and cannot fail.
        let tid = unsafe { libc::gettid() }.to_string();
        let file = match self.version {
            Version::V1 => "tasks",
            Version::V2 => "cgroup.threads",
        };
        for dir in self.dirs() {
            write(&dir.join(file), &tid)?;
        }
        Ok(())
    }

    /// Moves every member thread out, to the cgroup above (v1's top, or
    /// v2's threaded domain), then removes the cgroup: for members that
    /// cannot leave by themselves.
    pub fn evict_and_remove(&self) {
        let (file, levels) = match self.version {
            Version::V1 => ("tasks", 2),
            Version::V2 => ("cgroup.threads", 1),
        };
        for dir in self.dirs() {
            let Some(above) = dir.ancestors().nth(levels) else {
                continue;
            };
            let members = fs::read_to_string(dir.join(file)).unwrap_or_default();
            for tid in members.lines() {
                let _ = fs::write(above.join(file), tid);
            }
        }
        self.remove();
    }

    /// CPU time used by the members, living and ended.
    pub fn usage(&self) -> Option<Duration> {
        match self.version {
            Version::V1 => {
                let text =
                    fs::read_to_string(self.accounting.as_ref()?.join("cpuacct.usage")).ok()?;
                text.trim().parse().ok().map(Duration::from_nanos)
            }
            Version::V2 => {
                let text = fs::read_to_string(self.dir.join("cpu.stat")).ok()?;
                let usage = text
                    .lines()
                    .find_map(|line| line.strip_prefix("usage_usec "))?;
                usage.trim().parse().ok().map(Duration::from_micros)
            }
        }
    }

    /// Moves this process back to the top of the hierarchies and removes
    /// the cgroup (for a process that was a member itself).
    pub fn leave_and_remove(&self) {
        let pid = std::process::id().to_string();
        for dir in self.dirs() {
            if let Some(top) = dir.parent().and_then(Path::parent) {
                let _ = fs::write(top.join("cgroup.procs"), &pid);
            }
        }
        self.remove();
    }

    /// Removes the cgroup once it has no members left; a cgroup still in
    /// use stays (it is empty of limits' effect once its members end).
    pub fn remove(&self) {
        for dir in self.dirs() {
            let _ = fs::remove_dir(dir);
        }
    }

    /// Removes wharf's cgroups named `PREFIX…` that no process is in any
    /// more: those of runs that were killed before they could remove their
    /// own.
    pub fn remove_unused(prefix: &str) {
        Self::remove_unused_within(prefix, Duration::ZERO);
    }

    /// [`CpuCgroup::remove_unused`], waiting up to `patience` for the
    /// processes still in them to end (a killed supervisor's guest process,
    /// which the kernel ends after it).
    pub fn remove_unused_within(prefix: &str, patience: Duration) {
        let deadline = std::time::Instant::now() + patience;
        let tops = [mount_of("cgroup2"), mount_of("cpu"), mount_of("cpuacct")];
        for top in tops.into_iter().flatten() {
            let Ok(entries) = fs::read_dir(top.join("wharf")) else {
                continue;
            };
            for entry in entries.flatten() {
                if !entry.file_name().to_string_lossy().starts_with(prefix) {
                    continue;
                }
                let unused = || {
                    fs::read_to_string(entry.path().join("cgroup.procs"))
                        .is_ok_and(|procs| procs.trim().is_empty())
                };
                while !unused() && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                if unused() {
                    let _ = fs::remove_dir(entry.path());
                }
            }
        }
    }

    fn dirs(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.dir).chain(&self.accounting)
    }
}

/// The hierarchy with the `cpu` controller: v2's unified one if it has
/// it, else v1's `cpu` mount.
fn cpu_hierarchy() -> Option<(Version, PathBuf)> {
    if let Some(unified) = mount_of("cgroup2")
        && fs::read_to_string(unified.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"))
    {
        return Some((Version::V2, unified));
    }
    mount_of("cpu").map(|dir| (Version::V1, dir))
}

/// Where `what` is mounted: `cgroup2` for the unified hierarchy, or a v1
/// controller's name (its mount's super options list it).
fn mount_of(what: &str) -> Option<PathBuf> {
    let mounts = procfs::process::Process::myself().ok()?.mountinfo().ok()?;
    mounts.into_iter().find_map(|mount| {
        let found = match what {
            "cgroup2" => mount.fs_type == "cgroup2",
            // A v1 hierarchy names its controllers among its options.
            controller => mount.fs_type == "cgroup" && mount.super_options.contains_key(controller),
        };
        found.then_some(mount.mount_point)
    })
}

fn enable_cpu(dir: PathBuf, top: &Path) -> Result<PathBuf, CgroupError> {
    // Every ancestor from the top must hand the controller down.
    let mut chain: Vec<&Path> = dir.ancestors().take_while(|d| d.starts_with(top)).collect();
    chain.reverse();
    for ancestor in chain {
        let control = ancestor.join("cgroup.subtree_control");
        let enabled = fs::read_to_string(&control).is_ok_and(|c| c.contains("cpu"));
        if !enabled {
            write(&control, "+cpu")?;
        }
    }
    Ok(dir)
}

fn make_dir(dir: &Path) -> Result<PathBuf, CgroupError> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(dir.to_owned()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(dir.to_owned()),
        Err(source) => Err(CgroupError::Write {
            path: dir.to_owned(),
            source,
        }),
    }
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    fs::write(path, value).map_err(|source| CgroupError::Write {
        path: path.to_owned(),
        source,
    })
}

/// The cgroup this process joined ([`join_process`]), for [`leave_process`].
static JOINED: std::sync::OnceLock<CpuCgroup> = std::sync::OnceLock::new();

/// `--cpus` and `--cpu-shares` for a whole process (a foreground run, or a
/// detached container's supervisor): moves it into cgroup `wharf/NAME`
/// with those limits; nothing without limits, or (said on stderr) when the
/// host does not let this user make one.
pub fn join_process(name: &str, cpus: Option<f64>, shares: Option<u64>) {
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

/// Leaves and removes the cgroup [`join_process`] made, if any (from a
/// thread that is not walled in).
pub fn leave_process() {
    if let Some(cgroup) = JOINED.get() {
        cgroup.leave_and_remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_become_a_quota_of_the_default_period() {
        let half = CpuLimit::of(Some(0.5), None).expect("a limit");
        assert_eq!(half.quota_us, Some(50_000));
        assert_eq!(half.period_us, DEFAULT_PERIOD_US);
        assert_eq!(CpuLimit::of(None, None), None);
        let shares = CpuLimit::of(None, Some(512)).expect("a limit");
        assert_eq!((shares.quota_us, shares.shares), (None, Some(512)));
    }

    #[test]
    fn shares_map_onto_v2_weights_as_runc_does() {
        assert_eq!(CpuLimit::weight(2), 1);
        assert_eq!(CpuLimit::weight(1024), 39);
        assert_eq!(CpuLimit::weight(262_144), 10_000);
    }
}
