//! `compose ps`, `logs`, `config`, and the attached `up`: what a project's
//! containers are doing and what they write, each line after its
//! container's name as Compose prints it.

use std::time::Duration;

use wharf_lifecycle::containers::{Container, Containers};

use super::project::{Project, SERVICE_LABEL};
use crate::cli::{ComposeConfigArgs, ComposeLogsArgs, ComposePsArgs};
use crate::commands::Outcome;
use crate::commands::containers::{open, ps_json};
use crate::commands::logs::{Printed, print_entries};
use crate::report;

const PS_HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("Service", "SERVICE"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("Ports", "PORTS"),
    ("ID", "CONTAINER ID"),
    ("State", "STATE"),
    ("ExitCode", "EXIT CODE"),
];

pub fn ps(project: &Project, args: &ComposePsArgs) -> Outcome {
    let store = open()?;
    let containers = project
        .containers_of(&store, &args.services.services)
        .map_err(|m| report::fail_with(&m))?;
    let filters = crate::commands::containers::ContainerFilters::parse(&args.listing.filters)
        .map_err(|m| report::fail_with(&m))?;
    let rows: Vec<serde_json::Value> = containers
        .iter()
        .filter(|c| args.all || filters.names_a_status() || c.state.is_active())
        .filter(|c| filters.matches(c))
        .map(|c| {
            let mut row = ps_json(c, args.listing.no_trunc, false);
            row["Name"] = c.label().into();
            row["Service"] = service_of(c).into();
            row
        })
        .collect();
    if crate::commands::print_listing(&args.listing, &rows, PS_HEADERS)? {
        return Ok(0);
    }
    let table = crate::format::parse_format(
        "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}",
    )
    .map_err(|e| report::fail_with(&e))?;
    table
        .print(&rows, PS_HEADERS)
        .map_err(|e| report::fail_with(&e))?;
    Ok(0)
}

fn service_of(container: &Container) -> String {
    container
        .record
        .labels
        .get(SERVICE_LABEL)
        .cloned()
        .unwrap_or_default()
}

pub fn logs(project: &Project, args: &ComposeLogsArgs) -> Outcome {
    let store = open()?;
    let containers = project
        .containers_of(&store, &args.services.services)
        .map_err(|m| report::fail_with(&m))?;
    let prefixes = prefixes(project, &containers, args.no_prefix);
    let mut followed = Vec::new();
    for (container, prefix) in containers.iter().zip(&prefixes) {
        let (mut entries, printed) =
            Printed::from_start(container).map_err(|e| report::fail(&e))?;
        if let Some(tail) = args.tail {
            let skip = entries.len().saturating_sub(tail);
            entries.drain(..skip);
        }
        print_entries(&entries, args.timestamps, prefix);
        followed.push(printed);
    }
    if args.follow {
        follow_all(&containers, followed, &prefixes, args.timestamps);
    }
    Ok(0)
}

/// `web-1  | `, padded to the longest: Compose's prefix, the container's
/// name without the project.
fn prefixes(project: &Project, containers: &[Container], none: bool) -> Vec<String> {
    if none {
        return vec![String::new(); containers.len()];
    }
    let short: Vec<String> = containers
        .iter()
        .map(|c| {
            let name = c.label();
            name.strip_prefix(&format!("{}-", project.name))
                .unwrap_or(name)
                .to_owned()
        })
        .collect();
    let width = short.iter().map(String::len).max().unwrap_or(0);
    short
        .into_iter()
        .map(|name| format!("{name:<width$}  | "))
        .collect()
}

/// Prints what each container writes until every one's supervisor ends.
fn follow_all(
    containers: &[Container],
    mut followed: Vec<Printed>,
    prefixes: &[String],
    timestamps: bool,
) {
    loop {
        let alive: Vec<bool> = containers.iter().map(Container::supervisor_alive).collect();
        for (printed, prefix) in followed.iter_mut().zip(prefixes) {
            print_entries(&printed.next_entries(), timestamps, prefix);
        }
        if !alive.contains(&true) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `up` without `-d`: the services' output until they all stop; SIGINT or
/// SIGTERM stops them (as Compose's Ctrl+C does).
pub fn attach(project: &Project, store: &Containers, containers: &[Container]) {
    let prefixes = prefixes(project, containers, false);
    let mut followed = Vec::new();
    let mut shown = Vec::new();
    for (container, prefix) in containers.iter().zip(&prefixes) {
        if let Ok((entries, printed)) = Printed::from_start(container) {
            print_entries(&entries, false, prefix);
            followed.push(printed);
            shown.push((container.clone(), prefix.clone()));
        }
    }
    crate::commands::signals::forward_stops(store, containers);
    let (containers, prefixes): (Vec<Container>, Vec<String>) = shown.into_iter().unzip();
    follow_all(&containers, followed, &prefixes, false);
}

pub fn config(project: &Project, args: &ComposeConfigArgs) -> Outcome {
    if args.quiet {
        return Ok(0);
    }
    if args.services {
        for name in project.file.services.keys() {
            println!("{name}");
        }
        return Ok(0);
    }
    let mut file = serde_yaml_ng::to_value(&project.file)
        .map_err(|e| report::fail_with(&format!("cannot print the file: {e}")))?;
    file["name"] = project.name.clone().into();
    let text = serde_yaml_ng::to_string(&file)
        .map_err(|e| report::fail_with(&format!("cannot print the file: {e}")))?;
    print!("{text}");
    Ok(0)
}
