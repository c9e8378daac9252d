//! One container in the daemon: its run description, status and exit.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use tokio::sync::Notify;
use wharf_engine::{RunSpec, StopHandle, StopReason};
use wharf_lifecycle::NetworkNamespace;
use wharf_lifecycle::cgroup::CpuCgroup;
use wharf_lifecycle::usage::thread_cpu_time;

use crate::isolated::Isolation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Stopped,
}

#[derive(Debug, Clone, Copy)]
pub struct Exit {
    pub status: u32,
    pub at: SystemTime,
}

pub struct State {
    pub status: Status,
    pub exit: Option<Exit>,
}

/// What the guest runs, or nothing for a pod's sandbox (pause) container,
/// which only waits to be killed.
pub enum Workload {
    Guest(Box<RunSpec>),
    Pause,
}

pub struct Container {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub workload: Workload,
    pub stop: StopHandle,
    /// Where its listeners are bound, when it serves HTTP.
    pub network: NetworkNamespace,
    /// Whether its guest is an HTTP service being served (it then drains
    /// on SIGTERM rather than ending at once).
    serving: AtomicBool,
    /// Its cgroup, when its spec limits CPU (its guest's threads are the
    /// members).
    pub cpu: Option<CpuCgroup>,
    /// The guest's thread, once started (0 before).
    guest_thread: AtomicI32,
    /// How the guest is kept from the others'.
    pub isolation: Isolation,
    /// Whether its program is an HTTP handler (it is served).
    pub serves: bool,
    /// The guest's process under process isolation, once started (0
    /// before, and once it was waited for).
    guest_process: AtomicI32,
    state: Mutex<State>,
    /// Wakes Wait requests at the exit: they wait holding no thread.
    exited: Notify,
}

impl Container {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        bundle: PathBuf,
        rootfs: PathBuf,
        stdio: [String; 3],
        workload: Workload,
        stop: StopHandle,
        network: NetworkNamespace,
    ) -> Container {
        let [stdin, stdout, stderr] = stdio;
        Container {
            id,
            bundle,
            rootfs,
            stdin,
            stdout,
            stderr,
            workload,
            stop,
            network,
            serving: AtomicBool::new(false),
            cpu: None,
            guest_thread: AtomicI32::new(0),
            isolation: Isolation::Thread,
            serves: false,
            guest_process: AtomicI32::new(0),
            state: Mutex::new(State {
                status: Status::Created,
                exit: None,
            }),
            exited: Notify::new(),
        }
    }

    /// With `cpu` as its cgroup.
    pub fn with_cpu(mut self, cpu: Option<CpuCgroup>) -> Container {
        self.cpu = cpu;
        self
    }

    /// Kept from the others as `isolation` says; `serves`: its program is
    /// an HTTP handler.
    pub fn with_isolation(mut self, isolation: Isolation, serves: bool) -> Container {
        self.isolation = isolation;
        self.serves = serves;
        self
    }

    /// Notes the guest's process (process isolation) and moves it into the
    /// container's cgroup.
    pub fn enter_guest_process(&self, pid: u32) {
        self.guest_process
            .store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
        if let Some(cpu) = &self.cpu
            && let Err(error) = cpu.add_process(pid)
        {
            eprintln!(
                "containerd-shim-wharf-v1: container {}: the CPU limit is not applied: {}",
                self.id,
                crate::report::chain(&error)
            );
        }
    }

    /// Forgets the guest's process once it was waited for (its pid may be
    /// another's after).
    pub fn left_guest_process(&self) {
        self.guest_process.store(0, Ordering::SeqCst);
    }

    /// Bytes of memory the guest holds: its linear memories and tables,
    /// or its process's resident memory under process isolation.
    pub fn memory_used(&self) -> u64 {
        match self.guest_process.load(Ordering::SeqCst) {
            0 => self.stop.memory_used(),
            pid => wharf_lifecycle::usage::process_usage(pid as u32).map_or(0, |(_, rss)| rss),
        }
    }

    /// Called first on the guest's thread: moves it into the container's
    /// cgroup (before the engine walls it in) and notes it for `stats`.
    pub fn enter_guest_thread(&self) {
        // SAFETY: gettid has no arguments and cannot fail.
        self.guest_thread
            .store(unsafe { libc::gettid() }, Ordering::SeqCst);
        if let Some(cpu) = &self.cpu
            && let Err(error) = cpu.add_this_thread()
        {
            eprintln!(
                "containerd-shim-wharf-v1: container {}: the CPU limit is not applied: {}",
                self.id,
                crate::report::chain(&error)
            );
        }
    }

    /// CPU time the guest used: its cgroup's count, else its thread's.
    pub fn cpu_used(&self) -> Duration {
        if let Some(used) = self.cpu.as_ref().and_then(CpuCgroup::usage) {
            return used;
        }
        if let pid @ 1.. = self.guest_process.load(Ordering::SeqCst) {
            return wharf_lifecycle::usage::process_usage(pid as u32)
                .map_or_else(Duration::default, |(cpu, _)| cpu);
        }
        match self.guest_thread.load(Ordering::SeqCst) {
            0 => Duration::ZERO,
            tid => thread_cpu_time(tid).unwrap_or_default(),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks the container running; false if it was not freshly created.
    pub fn mark_running(&self) -> bool {
        let mut state = self.state();
        if state.status != Status::Created {
            return false;
        }
        state.status = Status::Running;
        true
    }

    /// Records the exit; the first one wins. Returns it if this call set it.
    pub fn mark_exited(&self, status: u32) -> Option<Exit> {
        let mut state = self.state();
        if state.status == Status::Stopped {
            return None;
        }
        let exit = Exit {
            status,
            at: SystemTime::now(),
        };
        state.status = Status::Stopped;
        state.exit = Some(exit);
        self.exited.notify_waiters();
        Some(exit)
    }

    /// The exit, once the container has exited.
    pub async fn exited(&self) -> Exit {
        loop {
            // Registered before the look, so an exit between the two wakes it.
            let mut woken = std::pin::pin!(self.exited.notified());
            woken.as_mut().enable();
            if let Some(exit) = self.state().exit {
                return exit;
            }
            woken.await;
        }
    }

    /// Marks the guest as a service being served.
    pub fn mark_serving(&self) {
        self.serving.store(true, Ordering::SeqCst);
    }

    /// Stops the guest: a Wasm guest cannot catch signals, so every signal
    /// whose default action ends a process ends it, at once; it exits
    /// 128 + signal, as runc reports. A service drains instead on SIGTERM,
    /// SIGINT, SIGHUP or SIGQUIT, as a server process that handles them
    /// would, and exits 0 once drained (its guest thread records that).
    /// Returns the exit if this call set it.
    pub fn kill(&self, signal: u32) -> Option<Exit> {
        if ignored_by_default(signal) {
            return None;
        }
        let drains =
            [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT].contains(&(signal as i32));
        let process = self.guest_process.load(Ordering::SeqCst);
        if drains && self.serving.load(Ordering::SeqCst) {
            match process {
                // Its process drains on the signal, as the thread does.
                1.. => kill_process(process, signal as i32),
                _ => self.stop.stop(StopReason::Signal(signal as i32)),
            }
            return None;
        }
        if process > 0 && self.state().status == Status::Running {
            kill_process(process, libc::SIGKILL);
        }
        let status = self.state().status;
        match status {
            Status::Stopped => None,
            Status::Created | Status::Running => {
                self.stop.stop(StopReason::Signal(signal as i32));
                self.mark_exited(wharf_lifecycle::exit::for_signal(signal as i32) as u32)
            }
        }
    }
}

/// kill(2) on the guest's process, which this daemon started and has not
/// yet waited for (so the pid is still its).
fn kill_process(pid: i32, signal: i32) {
    // SAFETY: a plain kill(2) of the daemon's own child.
    unsafe { libc::kill(pid, signal) };
}

/// Signals whose default action does not end a process.
fn ignored_by_default(signal: u32) -> bool {
    let signal = signal as i32;
    signal == 0 || [libc::SIGCHLD, libc::SIGCONT, libc::SIGURG, libc::SIGWINCH].contains(&signal)
}
