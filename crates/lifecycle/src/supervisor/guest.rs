//! `wharf supervise ID --guest`: one run of a detached container's guest,
//! in a process of its own that the supervisor starts for each run.
//!
//! It reads the container's record, loads the program, opens the volumes
//! it was made with, walls the whole process in, and runs (or serves) the
//! guest. It reports to the supervisor on READY_FD, one line each:
//! `walled LAYERS` once the wall is up (the guest starts), `requests N`
//! twice a second while a service's count changes, `error MESSAGE` when
//! the run failed, and `exit CODE` last. Its stdout and stderr are the
//! container's log. It holds no lock and writes nothing of the container's
//! state: a guest that broke out of its sandbox finds no right here that it
//! lacks inside. A service drains on SIGTERM, SIGINT, SIGHUP or SIGQUIT.

use std::fs::File;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wharf_engine::{Host, Outcome, PoolSize, RunSpec, ServeStats, StopHandle};

use super::Setting;
use super::handoff::{FIRST_LISTENER_FD, READY_FD, is_open_as};
use crate::containers::{Containers, ServiceRecord};
use crate::{exit, watchdog};

/// The report that the wall is up, with what it enforces.
pub const WALLED: &str = "walled";
/// The report of a service's request count.
pub const REQUESTS: &str = "requests";
/// The report of why the run failed.
pub const ERROR: &str = "error";
/// The last report: the guest's exit code.
pub const EXIT: &str = "exit";

/// Runs the guest of container `id` once; the exit code is the guest's.
pub fn guest(id: &str, setting: &Setting) -> i32 {
    let reports = if is_open_as(READY_FD, libc::S_IFIFO) {
        // SAFETY: a pipe the supervisor passed to this process alone.
        File::from(unsafe { OwnedFd::from_raw_fd(READY_FD) })
    } else {
        eprintln!("wharf: supervise --guest is started by a container's supervisor");
        return exit::ERROR;
    };
    let reports = Arc::new(Mutex::new(reports));
    let report_line = {
        let reports = reports.clone();
        move |line: String| {
            let mut reports = reports.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(reports, "{line}");
        }
    };
    let (code, error) = run(id, setting, &report_line);
    if let Some(error) = &error {
        eprintln!("wharf: {error}");
        report_line(format!("{ERROR} {}", error.replace('\n', " ")));
    }
    report_line(format!("{EXIT} {code}"));
    // The process ends now: the engine's teardown is left to the kernel.
    exit::exit(code)
}

/// The guest's exit code, and wharf's own error when it failed the run.
fn run(
    id: &str,
    setting: &Setting,
    report: &(impl Fn(String) + Clone + Send + 'static),
) -> (i32, Option<String>) {
    let record = match Containers::open(setting.containers.clone()).and_then(|store| store.find(id))
    {
        Ok(container) if container.record.id == id => container.record,
        Ok(_) | Err(_) => return (exit::ERROR, Some(format!("no such container: {id}"))),
    };
    let spec = record.run.spec();
    let compiler = record
        .run
        .compiler
        .as_deref()
        .and_then(|name| name.parse().ok())
        .unwrap_or_default();
    let service = record.run.service.as_ref();
    let cache = Some(setting.cache.clone());
    let config = match service {
        Some(service) => {
            let pool = PoolSize {
                instances: u32::try_from(service.max_concurrency).unwrap_or(u32::MAX),
                memory_limit: spec.memory_limit,
            };
            crate::hosts::service(cache, compiler, Some(pool))
        }
        None => crate::hosts::command(cache, compiler),
    };
    let host = match Host::new(config) {
        Ok(host) => host,
        Err(error) => return exit_code(Err(error)),
    };
    let stop = host.stop_handle();
    let outcome = match service {
        Some(service) => serve(&host, &spec, service, &stop, report),
        None => {
            let report = report.clone();
            stop.on_walled(move |enforced| report(format!("{WALLED} {enforced}")));
            host.run(&spec, &stop)
        }
    };
    let code = exit_code(outcome);
    std::mem::forget(host);
    code
}

/// Serves until stopped (a stop signal drains); the outcome is an exit of
/// 0 after a drain.
fn serve(
    host: &Host,
    spec: &RunSpec,
    record: &ServiceRecord,
    stop: &StopHandle,
    report: &(impl Fn(String) + Clone + Send + 'static),
) -> Result<Outcome, wharf_engine::Error> {
    let listeners = take_listeners(record.ports.len());
    if listeners.is_empty() {
        return Err(wharf_engine::Error::Listen {
            source: std::io::Error::other("no listener was passed"),
        });
    }
    let service = host.service(spec)?;
    if let Err(error) = watchdog::arm_drain(stop.clone()) {
        return Err(wharf_engine::Error::Listen { source: error });
    }
    let options = record.serve_options(listeners);
    for port in &record.ports {
        eprintln!("Serving HTTP on http://{}/", port.host_addr());
    }
    let stats = ServeStats::default();
    {
        let (report, stats) = (report.clone(), stats.clone());
        // The counter starts on the walled thread once the wall is up: it
        // is inside the wall too.
        stop.on_walled(move |enforced| {
            report(format!("{WALLED} {enforced}"));
            let _ = std::thread::Builder::new()
                .name("requests".to_owned())
                .stack_size(64 << 10)
                .spawn(move || keep_count(&stats, &report));
        });
    }
    service
        .serve(options, &stats, stop)
        .map(|()| Outcome::Exited(0))
}

/// The listeners the supervisor passed, one per published port.
fn take_listeners(count: usize) -> Vec<TcpListener> {
    (0..count)
        .map(|index| FIRST_LISTENER_FD + index as i32)
        .take_while(|fd| is_open_as(*fd, libc::S_IFSOCK))
        .map(|fd| {
            // SAFETY: an open socket passed to this process alone.
            TcpListener::from(unsafe { OwnedFd::from_raw_fd(fd) })
        })
        .collect()
}

/// Reports the count of requests served whenever it changed, twice a
/// second, for as long as the process lives.
fn keep_count(stats: &ServeStats, report: &impl Fn(String)) {
    let mut reported = None;
    loop {
        let requests = stats.requests();
        if reported != Some(requests) {
            reported = Some(requests);
            report(format!("{REQUESTS} {requests}"));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The exit code of a run ([`exit::of_result`]), and wharf's own error
/// when it failed the run; a trap is said in the container's log.
fn exit_code(outcome: Result<Outcome, wharf_engine::Error>) -> (i32, Option<String>) {
    match exit::of_result(outcome) {
        (code, exit::Said::Failed(message)) => (code, Some(message)),
        (code, said) => {
            if let Some(line) = said.line() {
                eprintln!("{line}");
            }
            (code, None)
        }
    }
}
