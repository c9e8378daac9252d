//! `wharf create` and `run -d`: make a container; `start`: hand its guest
//! to a supervisor of its own.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Stdio};

use wharf_engine::RunSpec;
use wharf_lifecycle::containers::{
    Container, Containers, LogOptions, NewContainer, RestartPolicy, RunRecord, validate_name,
};

use crate::cli::RunArgs;
use crate::{flags, paths, report};
use wharf_lifecycle::supervisor::handoff::{self, pipe, place, stage};

/// What the flags of a container's run ask for, checked before the run is
/// described (and an image pulled).
#[derive(Debug, Clone)]
pub struct Detached {
    restart: RestartPolicy,
    log: LogOptions,
    labels: BTreeMap<String, String>,
}

/// Checks the flags of a run that makes a container (`create`, `run -d`,
/// `run --name`); `how` says which, for the errors.
pub fn check_flags(args: &RunArgs, how: &str) -> Result<Detached, i32> {
    if let Some(name) = &args.name {
        validate_name(name).map_err(|e| report::fail(&e))?;
    }
    if args.interactive {
        return Err(report::fail_with(&format!(
            "-i does not go with {how}: a container's guest has no stdin"
        )));
    }
    if args.timeout.is_some() {
        return Err(report::fail_with(&format!(
            "--timeout does not go with {how}: use `wharf stop`"
        )));
    }
    let restart = RestartPolicy::parse(&args.restart).map_err(|e| report::fail(&e))?;
    let log = log_options(&args.log_opts).map_err(|m| report::fail_with(&m))?;
    let labels = flags::environment(
        &args.label_files,
        &args.labels,
        ("--label", "label"),
        |_| Some(String::new()),
    )
    .map_err(|m| report::fail_with(&m))?;
    Ok(Detached {
        restart,
        log,
        labels: labels.into_iter().collect(),
    })
}

/// `--log-opt max-size=SIZE`, `--log-opt max-file=N`.
fn log_options(options: &[String]) -> Result<LogOptions, String> {
    let mut log = LogOptions::default();
    for option in options {
        let invalid = || format!("invalid --log-opt `{option}`: use max-size=SIZE or max-file=N");
        match option.split_once('=').ok_or_else(invalid)? {
            ("max-size", size) => {
                log.max_size = flags::parse_size(size).map_err(|_| invalid())?.max(1024);
            }
            ("max-file", count) => {
                log.max_files = count.parse().ok().filter(|n| *n >= 1).ok_or_else(invalid)?;
            }
            _ => return Err(invalid()),
        }
    }
    Ok(log)
}

/// Makes the container `args` describe (not started); the image's labels
/// are under the flags' ones.
pub fn create(
    args: &RunArgs,
    asked: Detached,
    spec: RunSpec,
    image: &wharf_image::store::RunDefaults,
) -> Result<Container, i32> {
    // The supervisor runs in `/`: paths must not depend on where we are.
    let mut spec = spec;
    spec.program = absolute(&spec.program)?;
    if !spec.program.exists() {
        eprintln!("wharf: {}: no such file", spec.program.display());
        return Err(crate::exit::NOT_FOUND);
    }
    for volume in &mut spec.volumes {
        volume.host = absolute(&volume.host)?;
    }
    let published = super::serve::published(args, &image.exposed);
    if published.len() > handoff::MAX_LISTENERS {
        return Err(report::fail_with(&format!(
            "{} published ports: a detached container takes at most {}",
            published.len(),
            handoff::MAX_LISTENERS
        )));
    }
    let mut run = RunRecord::of(&spec);
    run.compiler = args.compiler.map(|c| c.name().to_owned());
    run.cpus = args.cpus;
    run.cpu_shares = args.cpu_shares;
    run.tty = args.tty;
    if !published.is_empty() {
        run.service = Some(super::serve::service_record(args, published));
    }
    let mut labels = image.labels.clone();
    labels.extend(asked.labels);
    let store = super::containers::open()?;
    store
        .create(NewContainer {
            name: args.name.clone(),
            image: args.program.clone(),
            run,
            restart: asked.restart,
            auto_remove: args.remove,
            log: asked.log,
            labels,
        })
        .map_err(|e| report::fail(&e))
}

/// Starts the container's supervisor. Its ports are bound here, so that
/// one in use is this command's error; the supervisor inherits the
/// listeners.
pub fn start(container: &Container) -> Result<(), String> {
    let ports = container
        .record
        .run
        .service
        .as_ref()
        .map(|service| service.ports.as_slice())
        .unwrap_or_default();
    let listeners: Vec<_> = super::serve::bind_all(ports)?
        .into_iter()
        .map(|(_, listener)| listener)
        .collect();
    start_supervisor(&container.record.id, &listeners)
        .map_err(|message| format!("cannot start container {}: {message}", container.label()))
}

/// `run -d`: makes the container and starts it; prints its ID. A
/// container that cannot start is removed.
pub fn detach(
    args: &RunArgs,
    asked: Detached,
    spec: RunSpec,
    image: &wharf_image::store::RunDefaults,
) -> Result<i32, i32> {
    let container = create(args, asked, spec, image)?;
    match start(&container) {
        Ok(()) => {
            println!("{}", container.record.id);
            Ok(0)
        }
        Err(message) => {
            remove_unstarted(&container);
            Err(report::fail_with(&message))
        }
    }
}

/// Removes a container that never started.
pub fn remove_unstarted(container: &Container) {
    if let (Ok(store), Ok(_held)) = (Containers::open(paths::containers_dir()), container.lock()) {
        let _ = store.remove(container);
    }
}

/// Starts `wharf supervise ID` in a session of its own and waits until it
/// says the guest is starting (or why it cannot). The supervisor finds
/// `listeners` on FIRST_LISTENER_FD and after, in order.
fn start_supervisor(id: &str, listeners: &[std::net::TcpListener]) -> Result<(), String> {
    let staged = listeners
        .iter()
        .map(|listener| stage(listener.as_raw_fd()))
        .collect::<std::io::Result<Vec<OwnedFd>>>()
        .map_err(|e| format!("cannot pass its listeners: {e}"))?;
    let staged_fds: Vec<i32> = staged.iter().map(AsRawFd::as_raw_fd).collect();
    let me = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let (read, unstaged) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let write = stage(unstaged.as_raw_fd()).map_err(|e| format!("pipe: {e}"))?;
    drop(unstaged);
    // The supervisor runs in `/`: a relative WHARF_ROOT must not change
    // meaning there.
    let root = std::path::absolute(paths::wharf_root()).map_err(|e| format!("WHARF_ROOT: {e}"))?;
    let mut command = Command::new(me);
    command
        .args(["supervise", id])
        .env(wharf_lifecycle::root::ROOT_VAR, root)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let write_fd = write.as_raw_fd();
    // SAFETY: setsid and dup2 are async-signal-safe. The supervisor leaves
    // this session (a terminal's hang-up does not reach it) and finds the
    // pipe and the listeners where `place` puts them.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(move || {
            libc::setsid();
            place(write_fd, &staged_fds)
        });
    }
    let child = command
        .spawn()
        .map_err(|e| format!("cannot start its supervisor: {e}"))?;
    drop(write);
    drop(staged);
    let mut answer = String::new();
    let _ = std::fs::File::from(read).read_to_string(&mut answer);
    // The supervisor lives on; its parent does not wait for it.
    drop(child);
    match answer.as_str() {
        "ok" => Ok(()),
        "" => Err("its supervisor ended before the guest started".to_owned()),
        message => Err(message.to_owned()),
    }
}

fn absolute(path: &std::path::Path) -> Result<std::path::PathBuf, i32> {
    std::path::absolute(path).map_err(|e| report::fail_with(&format!("{}: {e}", path.display())))
}
