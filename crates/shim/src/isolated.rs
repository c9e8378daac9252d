//! Process isolation: a container's guest in a process of its own, walled
//! whole, instead of on a walled thread of the daemon. For nodes where no
//! two containers' guests may share an address space: code that broke out
//! of one guest's Wasm sandbox then also has no other guest's memory to
//! read. Asked per container with the annotation `io.wharf.isolation=process`
//! (under Kubernetes a pod annotation that the runtime handler passes on,
//! `pod_annotations = ["io.wharf.*"]`), or for every container of the node
//! with `WHARF_ISOLATION=process` in containerd's environment; `thread`
//! (each guest on a walled thread of the daemon) is the default.
//!
//! The daemon starts this binary as `containerd-shim-wharf-v1 guest`, gives
//! it its order (the run, as a container record keeps one, its stdio and a
//! service's listener on fd 3) on stdin, and waits for it; its exit status
//! is the guest's (128 + signal when it was killed). The process compiles
//! nothing: its code comes from the cache the daemon compiled it into at
//! Create.

use std::io::Read as _;
use std::net::TcpListener;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use wharf_engine::{Host, HostConfig, Output, PoolSize, RunSpec, ServeOptions, ServeStats, Stdin};
use wharf_lifecycle::containers::RunRecord;
use wharf_lifecycle::exit;

/// The annotation that asks for an isolation.
pub const ISOLATION: &str = "io.wharf.isolation";
/// The variable, in containerd's environment, that gives the node's.
pub const ISOLATION_VARIABLE: &str = "WHARF_ISOLATION";
/// Where the guest's process finds a service's listener.
const LISTENER_FD: i32 = 3;

/// How a container's guest is kept from the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// On a walled thread of the daemon (the default).
    Thread,
    /// In a process of its own, walled whole.
    Process,
}

/// The isolation `spec` asks for, else the node's; a value that is neither
/// `thread` nor `process` is refused in one line.
pub fn isolation_asked(spec: &wharf_lifecycle::OciSpec) -> Result<Isolation, String> {
    let node = std::env::var(ISOLATION_VARIABLE).ok();
    let (asked, from) = match spec.annotation(ISOLATION) {
        Some(value) => (Some(value.to_owned()), ISOLATION),
        None => (node, ISOLATION_VARIABLE),
    };
    match asked.as_deref() {
        None | Some("thread") => Ok(Isolation::Thread),
        Some("process") => Ok(Isolation::Process),
        Some(other) => Err(format!(
            "{from}={other} is not an isolation: thread or process"
        )),
    }
}

/// Starts `run`'s guest in a process of its own (serving on `listener` when
/// given), on the engine configuration `config` describes; returns it.
pub fn spawn(
    run: &RunSpec,
    config: &HostConfig,
    listener: Option<&TcpListener>,
) -> std::io::Result<Child> {
    let path = |output: &Output| match output {
        Output::File(path) => Some(path.clone()),
        Output::Inherit | Output::Null => None,
    };
    let stdin = match &run.stdin {
        Stdin::File(path) => Some(path.clone()),
        Stdin::Empty | Stdin::Inherit => None,
    };
    let order = json!({
        "run": RunRecord::of(run),
        "stdin": stdin,
        "stdout": path(&run.stdout),
        "stderr": path(&run.stderr),
        "cache": config.cache_dir,
        "compiler": config.compiler.name(),
        "serve": listener.is_some(),
    });
    let listener_fd = listener.map(|l| l.as_raw_fd());
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("guest")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: dup2 is async-signal-safe; it places a descriptor this
    // process owns for the child alone.
    unsafe {
        use std::os::unix::process::CommandExt as _;
        command.pre_exec(move || {
            if let Some(fd) = listener_fd
                && libc::dup2(fd, LISTENER_FD) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    if let Some(mut input) = child.stdin.take()
        && let Err(error) = std::io::Write::write_all(&mut input, order.to_string().as_bytes())
    {
        // A guest that got no order is not left behind.
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    Ok(child)
}

/// `containerd-shim-wharf-v1 guest`: runs the order on stdin; the exit
/// status is the guest's (see the module docs).
pub fn main() -> i32 {
    let mut text = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("containerd-shim-wharf-v1 guest: cannot read the order: {error}");
        return exit::ERROR;
    }
    let order: Value = match serde_json::from_str(&text) {
        Ok(order) => order,
        Err(error) => {
            eprintln!("containerd-shim-wharf-v1 guest: a bad order: {error}");
            return exit::ERROR;
        }
    };
    let file = |key: &str| order[key].as_str().map(PathBuf::from);
    let stderr = file("stderr")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let Some(spec) = spec_of(&order) else {
        crate::outcome::report_to(&stderr, "wharf: the container's run could not be read");
        return exit::ERROR;
    };
    let serve = order["serve"].as_bool().unwrap_or(false);
    let compiler = order["compiler"]
        .as_str()
        .and_then(|name| name.parse().ok())
        .unwrap_or_default();
    let pool = serve.then_some(PoolSize {
        instances: u32::try_from(wharf_engine::DEFAULT_MAX_CONCURRENCY).unwrap_or(u32::MAX),
        memory_limit: spec.memory_limit,
    });
    // Interruptible, as the daemon's code is, so its compiled code is found.
    let config = wharf_lifecycle::hosts::service(file("cache"), compiler, pool);
    let host = match Host::new(config) {
        Ok(host) => host,
        Err(error) => return crate::outcome::exit_status(Err(error), &stderr) as i32,
    };
    let stop = host.stop_handle();
    let status = if serve {
        serve_on_fd(&host, &spec, &stop, &stderr)
    } else {
        crate::outcome::exit_status(host.run(&spec, &stop), &stderr)
    };
    std::mem::forget(host);
    status as i32
}

/// The run an order describes, with its stdio.
fn spec_of(order: &Value) -> Option<RunSpec> {
    let record: RunRecord = serde_json::from_value(order["run"].clone()).ok()?;
    let mut spec = record.spec();
    let file = |key: &str| order[key].as_str().map(Path::new).map(Path::to_owned);
    spec.stdin = file("stdin").map_or(Stdin::Empty, Stdin::File);
    spec.stdout = file("stdout").map_or(Output::Null, Output::File);
    spec.stderr = file("stderr").map_or(Output::Null, Output::File);
    Some(spec)
}

/// Serves on the listener at fd 3 until SIGTERM (or SIGINT, SIGHUP,
/// SIGQUIT), then drains: 0; 125 when it cannot serve.
fn serve_on_fd(host: &Host, spec: &RunSpec, stop: &wharf_engine::StopHandle, stderr: &str) -> u32 {
    let failed = |message: String| {
        crate::outcome::report_to(stderr, &format!("wharf: {message}"));
        exit::ERROR as u32
    };
    let listener = match crate::start::inherited(LISTENER_FD, libc::S_IFSOCK, "listener") {
        Ok(fd) => TcpListener::from(fd),
        Err(message) => return failed(message),
    };
    if let Err(error) = wharf_lifecycle::watchdog::arm_drain(stop.clone()) {
        return failed(format!("cannot watch for signals: {error}"));
    }
    let served = host.service(spec).and_then(|service| {
        service.serve(
            ServeOptions::new(vec![listener]),
            &ServeStats::default(),
            stop,
        )
    });
    match served {
        Ok(()) => 0,
        Err(error) => failed(crate::report::chain(&error)),
    }
}
