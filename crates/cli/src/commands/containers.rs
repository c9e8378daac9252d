//! `wharf ps`, `wait`, `rm`, `container prune` and the container half of
//! `inspect`: reading and removing detached containers.

use std::time::SystemTime;

use serde_json::json;
use wharf_lifecycle::containers::{Container, ContainerError, Containers, Status, time};

use super::{Outcome, print_listing};
use crate::cli::{ContainersArgs, PortArgs, PruneArgs, PsArgs, RmArgs};
use crate::{paths, report};

/// The store of detached containers; an error is reported.
pub(super) fn open() -> Result<Containers, i32> {
    Containers::open(paths::containers_dir()).map_err(|e| report::fail(&e))
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
    let filters =
        ContainerFilters::parse(&args.listing.filters).map_err(|m| report::fail_with(&m))?;
    let last = if args.latest { Some(1) } else { args.last };
    // -n and -l look at every container, as -a does.
    let every = args.all || last.is_some() || filters.names_a_status();
    // As Docker's: the filters first, then the newest N of what is left.
    let shown: Vec<&Container> = containers
        .iter()
        .rev()
        .filter(|c| every || c.state.is_active())
        .filter(|c| filters.matches(c))
        .take(last.unwrap_or(usize::MAX))
        .collect();
    let rows: Vec<serde_json::Value> = shown
        .iter()
        .map(|c| ps_json(c, args.listing.no_trunc, args.size))
        .collect();
    if print_listing(&args.listing, &rows, PS_HEADERS)? {
        return Ok(0);
    }
    print_ps_table(&rows, args.size);
    Ok(0)
}

/// `ps`'s own table, in Docker's columns.
fn print_ps_table(rows: &[serde_json::Value], size: bool) {
    let mut out = String::from(
        "CONTAINER ID   IMAGE                  COMMAND                  CREATED                  STATUS                                 PORTS                      NAMES",
    );
    out.push_str(if size {
        "                   SIZE\n"
    } else {
        "\n"
    });
    for row in rows {
        let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
        out.push_str(&format!(
            "{:<14} {:<22} {:<24} {:<24} {:<38} {:<26} {}",
            field("ID"),
            truncate(&field("Image"), 22),
            field("Command"),
            field("RunningFor"),
            field("Status"),
            field("Ports"),
            field("Names")
        ));
        if size {
            let names = field("Names");
            let pad = 24usize.saturating_sub(names.chars().count()).max(1);
            out.push_str(&format!("{:pad$}{}", "", field("Size")));
        }
        out.push('\n');
    }
    print!("{out}");
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
    ("Labels", "LABELS"),
    ("Size", "SIZE"),
];

/// A row of `ps`, with Docker's field names.
pub(super) fn ps_json(container: &Container, no_trunc: bool, size: bool) -> serde_json::Value {
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
        "Labels": labels_line(container),
        "Size": if size { size_line(container) } else { String::new() },
    })
}

/// `a=1,b=2`, as Docker's `.Labels` shows them.
fn labels_line(container: &Container) -> String {
    let labels: Vec<String> = container
        .record
        .labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    labels.join(",")
}

/// `12.3kB (virtual 1.2MB)`: what the container keeps on disk (its state
/// and log), and with its program.
fn size_line(container: &Container) -> String {
    let own = crate::paths::dir_size(container.dir());
    let program = std::fs::metadata(&container.record.run.program).map_or(0, |m| m.len());
    format!(
        "{} (virtual {})",
        crate::progress::human_size(own),
        crate::progress::human_size(own + program)
    )
}

/// `ps --filter`: all keys must match; a key given twice matches either
/// value, but `label` must match every one.
pub(super) struct ContainerFilters(Vec<(String, String)>);

impl ContainerFilters {
    const KEYS: &[&str] = &["name", "id", "status", "label", "ancestor", "exited"];

    pub(super) fn parse(filters: &[(String, String)]) -> Result<ContainerFilters, String> {
        for (key, value) in filters {
            if !Self::KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "invalid filter '{key}': ps takes {}",
                    Self::KEYS.join(", ")
                ));
            }
            if key == "status"
                && ![
                    "created",
                    "restarting",
                    "running",
                    "removing",
                    "paused",
                    "exited",
                    "dead",
                ]
                .contains(&value.as_str())
            {
                return Err(format!(
                    "invalid filter 'status={value}': use created, restarting, running, paused, exited or dead"
                ));
            }
            if key == "name" && regex::Regex::new(value).is_err() {
                return Err(format!(
                    "invalid filter 'name={value}': not a regular expression"
                ));
            }
            if key == "exited" && value.parse::<i32>().is_err() {
                return Err(format!(
                    "invalid filter 'exited={value}': give an exit code"
                ));
            }
        }
        Ok(ContainerFilters(filters.to_vec()))
    }

    /// Whether a status is asked for (then stopped containers are looked
    /// at too).
    pub(super) fn names_a_status(&self) -> bool {
        self.0
            .iter()
            .any(|(key, _)| key == "status" || key == "exited")
    }

    pub(super) fn matches(&self, container: &Container) -> bool {
        let mut keys: Vec<&str> = self.0.iter().map(|(key, _)| key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.iter().all(|key| {
            let mut values = self.0.iter().filter(|(k, _)| k == key);
            // As Docker's: every label asked for, any one of the others.
            if *key == "label" {
                values.all(|(_, value)| Self::one(key, value, container))
            } else {
                values.any(|(_, value)| Self::one(key, value, container))
            }
        })
    }

    fn one(key: &str, value: &str, container: &Container) -> bool {
        let (record, state) = (&container.record, &container.state);
        match key {
            // Docker's name filter is a regular expression, found anywhere.
            "name" => regex::Regex::new(value).is_ok_and(|re| re.is_match(&record.name)),
            "id" => record.id.starts_with(value),
            "status" => state.status.label() == value,
            "exited" => {
                state.status.label() == "exited"
                    && state.exit_code.map(|c| c.to_string()).as_deref() == Some(value)
            }
            "label" => match value.split_once('=') {
                Some((k, v)) => record.labels.get(k).is_some_and(|have| have == v),
                None => record.labels.contains_key(value),
            },
            "ancestor" => same_image(&record.image, value),
            _ => false,
        }
    }
}

/// Whether the image a container was made from is `wanted`: the same
/// name, with `:latest` implied, or an ID prefix of its file.
fn same_image(image: &str, wanted: &str) -> bool {
    let normal = |text: &str| {
        text.parse::<wharf_image::Reference>()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| text.to_owned())
    };
    image == wanted || normal(image) == normal(wanted)
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
    let ports: Vec<String> = bound_ports(container)
        .unwrap_or(&service.ports)
        .iter()
        .map(ToString::to_string)
        .collect();
    ports.join(", ")
}

/// `{"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "33041"}]}`, as
/// Docker's inspect has them.
fn network_ports(container: &Container) -> serde_json::Value {
    let mut ports = serde_json::Map::new();
    for binding in bound_ports(container).unwrap_or_default() {
        let entry = ports
            .entry(format!("{}/tcp", binding.container_port))
            .or_insert_with(|| json!([]));
        if let Some(list) = entry.as_array_mut() {
            list.push(json!({
                "HostIp": binding.host_ip.to_string(),
                "HostPort": binding.host_port.to_string(),
            }));
        }
    }
    ports.into()
}

/// The ports as its supervisor bound them, while it runs.
fn bound_ports(container: &Container) -> Option<&[wharf_lifecycle::ports::PortBinding]> {
    let ports = &container.state.ports;
    (container.state.is_active() && !ports.is_empty()).then_some(ports.as_slice())
}

/// `wharf port NAME [PORT]`: where the container's ports are published.
pub fn port(args: PortArgs) -> Outcome {
    let store = open()?;
    let container = store.find(&args.container).map_err(|e| report::fail(&e))?;
    let asked = container
        .record
        .run
        .service
        .as_ref()
        .map(|s| s.ports.as_slice())
        .unwrap_or_default();
    let ports = bound_ports(&container).unwrap_or(asked);
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

pub(super) fn truncate(text: &str, width: usize) -> String {
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

pub(super) fn ago(at: &str) -> String {
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
        let volumes = store
            .find(query)
            .map(|c| anonymous_volumes(&c))
            .unwrap_or_default();
        match remove_one(&store, query, args.force) {
            Ok(()) => println!("{query}"),
            Err(error) => {
                code = report::fail(&error);
                continue;
            }
        }
        if args.volumes
            && let Err(message) = remove_unused_volumes(&store, &volumes)
        {
            code = report::fail_with(&message);
        }
    }
    Ok(code)
}

/// The volumes (named and anonymous) a container uses.
pub(super) fn volumes_of(container: &Container) -> Vec<String> {
    container
        .record
        .run
        .volumes
        .iter()
        .filter_map(|v| crate::volumes::name_of(&v.host))
        .collect()
}

/// The anonymous volumes a container uses.
pub(super) fn anonymous_volumes(container: &Container) -> Vec<String> {
    let mut volumes = volumes_of(container);
    volumes.retain(|v| crate::volumes::is_anonymous(v));
    volumes
}

/// Removes those of `volumes` that no container uses; the bytes freed.
pub(super) fn remove_unused_volumes(store: &Containers, volumes: &[String]) -> Result<u64, String> {
    let (containers, _) = store.list().map_err(|e| report::chain(&e))?;
    let used: Vec<String> = containers.iter().flat_map(volumes_of).collect();
    let mut freed = 0;
    for volume in volumes.iter().filter(|v| !used.contains(v)) {
        freed += crate::paths::dir_size(&crate::volumes::root().join(volume));
        crate::volumes::remove(volume)?;
    }
    Ok(freed)
}

/// Removes a container that is done (`--rm`, its caller holding its lock),
/// with its anonymous volumes.
pub fn remove_done(store: &Containers, container: &Container) -> Result<(), ContainerError> {
    store.remove(container)?;
    let _ = remove_unused_volumes(store, &anonymous_volumes(container));
    Ok(())
}

pub(super) fn remove_one(
    store: &Containers,
    query: &str,
    force: bool,
) -> Result<(), ContainerError> {
    let container = store.find(query)?;
    let _held = container.lock()?;
    if container.supervisor_alive() {
        if !force {
            return Err(ContainerError::Running(container.label().to_owned()));
        }
        container.kill_supervisor()?;
    }
    // A supervisor that was killed could not remove its cgroup; its guest's
    // process ends just after it.
    wharf_lifecycle::cgroup::CpuCgroup::remove_unused_within(
        &container.record.id,
        std::time::Duration::from_secs(2),
    );
    store.remove(&container)
}

pub fn prune(args: PruneArgs) -> Outcome {
    if !args.force && !super::confirm("This will remove all stopped containers.") {
        return Ok(0);
    }
    let freed = prune_stopped()?;
    println!(
        "\nTotal reclaimed space: {}",
        crate::progress::human_size(freed)
    );
    Ok(0)
}

/// Removes every stopped container, printing their IDs; the bytes freed.
pub(super) fn prune_stopped() -> Result<u64, i32> {
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
        let size = crate::paths::dir_size(container.dir());
        if store.remove(container).is_ok() {
            println!("{}", container.record.id);
            freed += size;
        }
    }
    Ok(freed)
}

/// `inspect`'s view of a container, as Docker's keys name it; `None`
/// when no container has this name or ID.
pub fn inspect(query: &str) -> Option<serde_json::Value> {
    let store = Containers::open(paths::containers_dir()).ok()?;
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
            "ReadonlyRootfs": true,
            "SecurityOpt": if record.run.no_layers { vec!["no-layers"] } else { Vec::new() },
            "Binds": record.run.volumes.iter().map(|v| format!(
                "{}:{}{}", v.host.display(), v.guest, if v.read_only { ":ro" } else { "" }
            )).collect::<Vec<_>>(),
        },
        "NetworkSettings": { "Ports": network_ports(&container) },
        "Config": {
            "Image": record.image,
            "Labels": record.labels,
            "Tty": record.run.tty,
            "Cmd": record.run.args,
            "Env": record.run.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "WorkingDir": record.run.workdir.clone().unwrap_or_default(),
        },
    }))
}
