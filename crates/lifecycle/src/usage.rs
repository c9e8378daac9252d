//! What the kernel counts for a process or one of this process's threads:
//! start time, CPU time and resident memory, read with the procfs crate.

use std::time::Duration;

use procfs::process::{Process, Stat};

/// When process `pid` started, in clock ticks after boot (`None` when it
/// is gone).
pub fn start_time(pid: u32) -> Option<u64> {
    Some(stat_of(pid)?.starttime)
}

/// CPU time (user + system) and resident bytes of process `pid`.
pub fn process_usage(pid: u32) -> Option<(Duration, u64)> {
    let stat = stat_of(pid)?;
    Some((cpu_time(&stat), stat.rss * procfs::page_size()))
}

/// [`process_usage`] of process `pid` and its children together (a
/// supervisor and the process it runs a guest in).
pub fn tree_usage(pid: u32) -> Option<(Duration, u64)> {
    let (mut cpu, mut resident) = process_usage(pid)?;
    for child in children(pid) {
        if let Some((child_cpu, child_resident)) = process_usage(child) {
            cpu += child_cpu;
            resident += child_resident;
        }
    }
    Some((cpu, resident))
}

/// The children of process `pid`, as each of its threads lists them.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// CPU time (user + system) of thread `tid` of this process.
pub fn thread_cpu_time(tid: i32) -> Option<Duration> {
    let stat = Process::myself()
        .ok()?
        .task_from_tid(tid)
        .ok()?
        .stat()
        .ok()?;
    Some(cpu_time(&stat))
}

fn stat_of(pid: u32) -> Option<Stat> {
    Process::new(i32::try_from(pid).ok()?).ok()?.stat().ok()
}

fn cpu_time(stat: &Stat) -> Duration {
    let ticks = stat.utime.saturating_add(stat.stime);
    let per_second = procfs::ticks_per_second().max(1);
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / per_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_its_thread_are_counted() {
        let started = start_time(std::process::id()).expect("own start time");
        assert!(started > 0);
        // SAFETY: gettid has no arguments and cannot fail.
        let tid = unsafe { libc::gettid() };
        // Spin until the kernel has counted a tick of this thread's CPU.
        let spinning = std::time::Instant::now();
        while thread_cpu_time(tid).is_some_and(|t| t == Duration::ZERO) {
            assert!(
                spinning.elapsed() < Duration::from_secs(5),
                "no tick counted"
            );
        }
        let (cpu, resident) = process_usage(std::process::id()).expect("own usage");
        assert!(cpu > Duration::ZERO && resident > 0, "{cpu:?} {resident}");
        assert!(thread_cpu_time(tid).is_some());
        assert_eq!(thread_cpu_time(i32::MAX), None);
        assert_eq!(start_time(u32::MAX), None);
    }
}
