//! `wharf ps`, `wait`, `rm`, `container prune` and the container half of
//! `inspect`: reading and removing detached containers.

use std::time::SystemTime;

use serde_json::json;
use wharf_lifecycle::containers::{Container, ContainerError, Containers, Status, time};

use super::signals::kill_supervisor;
use super::{Outcome, print_listing};
use crate::cli::{ContainersArgs, PortArgs, PsArgs, RmArgs};
use crate::{paths, report};

/// The store of detached containers; an error is reported.
pub(super) fn open() -> Result<Containers, i32> {
    Containers::open(paths::wharf_root().join("containers")).map_err(|e| report::fail(&e))
}

/// Each container the user named, in order; the first that is not found
/// ends the command.
fn named(store: &Containers, args: &ContainersArgs) -> Result<Vec<(String, Container)>, i32> {
    args.containers
        .iter()
        .map(|query| {
            store
                .find(query)
                .map(|c| (query.clone(), c))
                .map_err(|e| report::fail(&e))
        })
        .collect()
}

pub fn ps(args: PsArgs) -> Outcome {
    let store = open()?;
    let (containers, damaged) = store.list().map_err(|e| report::fail(&e))?;
    for problem in &damaged {
        eprintln!("wharf: skipped: {}", report::chain(problem));
    }
    let shown: Vec<&Container> = containers
        .iter()
        .rev()
        .filter(|c| args.all || c.state.is_active())
        .collect();
    let rows: Vec<serde_json::Value> = shown
        .iter()
        .map(|c| ps_json(c, args.listing.no_trunc))
        .collect();
    if print_listing(&args.listing, &rows, PS_HEADERS)? {
        return Ok(0);
    }
    let mut out = String::from(
        "CONTAINER ID   IMAGE                  COMMAND                  CREATED                  STATUS                                 PORTS                      NAMES\n",
    );
    for row in &rows {
        let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
        out.push_str(&format!(
            "{:<14} {:<22} {:<24} {:<24} {:<38} {:<26} {}\n",
            field("ID"),
            truncate(&field("Image"), 22),
            field("Command"),
            field("RunningFor"),
            field("Status"),
            field("Ports"),
            field("Names")
        ));
    }
    print!("{out}");
    Ok(0)
}

/// The column of each field of `ps`'s rows, for `--format 'table ...'`.
const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Names", "NAMES"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("ExitCode", "EXIT CODE"),
    ("RestartCount", "RESTARTS"),
    ("Ports", "PORTS"),
];

/// A row of `ps`, with Docker's field names.
fn ps_json(container: &Container, no_trunc: bool) -> serde_json::Value {
    let command = command_line(container);
    let command = if no_trunc {
        command
    } else {
        truncate(&command, 22)
    };
    json!({
        "ID": short(&container.record.id, no_trunc),
        "Names": container.label(),
        "Image": container.record.image,
        "Command": format!("\"{command}\""),
        "CreatedAt": container.record.created,
        "RunningFor": ago(&container.record.created),
        "State": container.state.status.label(),
        "Status": status_line(container),
        "ExitCode": container.state.exit_code,
        "RestartCount": container.state.restarts,
        "Ports": ports_line(container),
    })
}

/// `127.0.0.1:8080->8080/tcp, ...` while the container runs, as Docker
/// shows published ports; empty otherwise.
fn ports_line(container: &Container) -> String {
    let Some(service) = &container.record.run.service else {
        return String::new();
    };
    if !container.state.is_active() {
        return String::new();
    }
    let ports: Vec<String> = service.ports.iter().map(ToString::to_string).collect();
    ports.join(", ")
}

/// `wharf port NAME [PORT]`: where the container's ports are published.
pub fn port(args: PortArgs) -> Outcome {
    let store = open()?;
    let container = store.find(&args.container).map_err(|e| report::fail(&e))?;
    let ports = container
        .record
        .run
        .service
        .as_ref()
        .map(|s| s.ports.as_slice())
        .unwrap_or_default();
    let wanted = match args
        .port
        .as_deref()
        .map(|p| p.trim_end_matches("/tcp").parse::<u16>())
    {
        None => None,
        Some(Ok(port)) => Some(port),
        Some(Err(_)) => {
            return Err(report::fail_with(&format!(
                "invalid port `{}`: expected PORT[/tcp]",
                args.port.unwrap_or_default()
            )));
        }
    };
    let shown: Vec<_> = ports
        .iter()
        .filter(|p| wanted.is_none_or(|w| w == p.container_port))
        .collect();
    if shown.is_empty() {
        return Err(report::fail_with(&match wanted {
            Some(port) => format!(
                "no public port '{port}/tcp' published for {}",
                container.label()
            ),
            None => format!("{} publishes no ports", container.label()),
        }));
    }
    for binding in shown {
        if wanted.is_some() {
            println!("{}", binding.host_addr());
        } else {
            println!("{}/tcp -> {}", binding.container_port, binding.host_addr());
        }
    }
    Ok(0)
}

fn short(id: &str, full: bool) -> &str {
    if full { id } else { &id[..12] }
}

fn command_line(container: &Container) -> String {
    container.record.run.args.join(" ")
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let kept: String = text.chars().take(width - 1).collect();
    format!("{kept}…")
}

/// `Up 5 seconds`, `Exited (0) 3 minutes ago`, as Docker says it.
fn status_line(container: &Container) -> String {
    let state = &container.state;
    match state.status {
        Status::Created => "Created".to_owned(),
        Status::Running => format!("Up {}", span(state.started_at.as_deref())),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            state.exit_code.unwrap_or_default(),
            span(state.finished_at.as_deref())
        ),
        Status::Exited => match state.finished_at.as_deref() {
            Some(at) => format!(
                "Exited ({}) {}",
                state.exit_code.unwrap_or_default(),
                ago(at)
            ),
            None => format!("Exited ({})", state.exit_code.unwrap_or_default()),
        },
    }
}

fn ago(at: &str) -> String {
    format!("{} ago", span(Some(at)))
}

/// How long ago `at` was, in Docker's words.
fn span(at: Option<&str>) -> String {
    let Some(then) = at.and_then(time::parse_rfc3339) else {
        return "a while".to_owned();
    };
    let seconds = SystemTime::now()
        .duration_since(then)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match seconds {
        0 => "Less than a second".to_owned(),
        1..=59 => plural(seconds, "second"),
        60..=3_599 => plural(seconds / 60, "minute"),
        3_600..=86_399 => plural(seconds / 3_600, "hour"),
        _ => plural(seconds / 86_400, "day"),
    }
}

pub fn wait(args: ContainersArgs) -> Outcome {
    let store = open()?;
    for (_, container) in named(&store, &args)? {
        let code = container
            .wait_for_supervisor(&store)
            .map_err(|e| report::fail(&e))?;
        println!("{}", code.unwrap_or_default());
    }
    Ok(0)
}

pub fn rm(args: RmArgs) -> Outcome {
    let store = open()?;
    let mut code = 0;
    for query in &args.containers.containers {
        match remove_one(&store, query, args.force) {
            Ok(()) => println!("{query}"),
            Err(error) => code = report::fail(&error),
        }
    }
    Ok(code)
}

fn remove_one(store: &Containers, query: &str, force: bool) -> Result<(), ContainerError> {
    let container = store.find(query)?;
    let _held = container.lock()?;
    if container.supervisor_alive() {
        if !force {
            return Err(ContainerError::Running(container.label().to_owned()));
        }
        kill_supervisor(&container)?;
    }
    // A supervisor that was killed could not remove its cgroup.
    wharf_lifecycle::cgroup::CpuCgroup::remove_unused(&container.record.id);
    store.remove(&container)
}

pub fn prune() -> Outcome {
    let store = open()?;
    let (containers, _) = store.list().map_err(|e| report::fail(&e))?;
    println!("Deleted Containers:");
    let mut freed = 0;
    for container in containers.iter().filter(|c| !c.state.is_active()) {
        let Ok(_held) = container.lock() else {
            continue;
        };
        if container.supervisor_alive() {
            continue;
        }
        let size = disk_use(container.dir());
        if store.remove(container).is_ok() {
            println!("{}", container.record.id);
            freed += size;
        }
    }
    println!("\nTotal reclaimed space: {freed} B");
    Ok(0)
}

fn disk_use(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// `inspect`'s view of a container, as Docker's keys name it; `None`
/// when no container has this name or ID.
pub fn inspect(query: &str) -> Option<serde_json::Value> {
    let store = Containers::open(paths::wharf_root().join("containers")).ok()?;
    let container = store.find(query).ok()?;
    let (record, state) = (&container.record, &container.state);
    let restart = record.restart.label();
    let (policy, retries) = restart.split_once(':').unwrap_or((&restart, "0"));
    Some(json!({
        "Id": record.id,
        "Name": format!("/{}", container.label()),
        "Created": record.created,
        "Path": record.run.program,
        "Args": record.run.args.iter().skip(1).collect::<Vec<_>>(),
        "Image": record.image,
        "State": {
            "Status": state.status.label(),
            "Running": state.status == Status::Running,
            "Restarting": state.status == Status::Restarting,
            "Pid": state.pid.unwrap_or(0),
            "ExitCode": state.exit_code.unwrap_or(0),
            "Error": state.error.clone().unwrap_or_default(),
            "StartedAt": state.started_at.clone().unwrap_or_default(),
            "FinishedAt": state.finished_at.clone().unwrap_or_default(),
            "KernelLayers": state.layers.clone().unwrap_or_default(),
        },
        "RestartCount": state.restarts,
        "LogPath": container.log_path(),
        "HostConfig": {
            "RestartPolicy": { "Name": policy, "MaximumRetryCount": retries.parse::<u32>().unwrap_or(0) },
            "AutoRemove": record.auto_remove,
            "Memory": record.run.memory_limit,
            "NanoCpus": record.run.cpus.map_or(0, |cpus| (cpus * 1e9) as u64),
            "CpuShares": record.run.cpu_shares.unwrap_or(0),
            "SecurityOpt": if record.run.no_layers { vec!["no-layers"] } else { Vec::new() },
            "Binds": record.run.volumes.iter().map(|v| format!(
                "{}:{}{}", v.host.display(), v.guest, if v.read_only { ":ro" } else { "" }
            )).collect::<Vec<_>>(),
        },
        "Config": {
            "Image": record.image,
            "Cmd": record.run.args,
            "Env": record.run.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "WorkingDir": record.run.workdir.clone().unwrap_or_default(),
        },
    }))
}
