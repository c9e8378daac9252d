//! `wharf stats`: each running container's CPU and memory, from its
//! supervisor's /proc entries and its guest process's, refreshed every
//! second, or once with --no-stream.

use std::time::{Duration, Instant};

use wharf_lifecycle::containers::Container;

use super::Outcome;
use super::containers::open;
use crate::cli::StatsArgs;
use crate::report;

/// One sample of a supervisor: CPU time used and resident memory.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    cpu: Duration,
    resident: u64,
}

/// The column of each field of `stats`' rows, for `--format 'table ...'`.
const STATS_HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("CPUTime", "CPU TIME"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("Requests", "REQUESTS"),
];

pub fn stats(args: StatsArgs) -> Outcome {
    let store = open()?;
    let containers: Vec<Container> = if args.containers.is_empty() {
        let (all, _) = store.list().map_err(|e| report::fail(&e))?;
        all.into_iter()
            .filter(|c| args.all || c.state.is_active())
            .collect()
    } else {
        let found: Result<Vec<_>, _> = args.containers.iter().map(|q| store.find(q)).collect();
        found.map_err(|e| report::fail(&e))?
    };
    let interval = if args.no_stream {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(1)
    };
    let mut before: Vec<Sample> = containers.iter().map(sample).collect();
    let mut taken = Instant::now();
    loop {
        std::thread::sleep(interval);
        let now: Vec<Sample> = containers.iter().map(sample).collect();
        let wall = taken.elapsed();
        taken = Instant::now();
        let rows: Vec<serde_json::Value> = containers
            .iter()
            .zip(before.iter().zip(&now))
            .map(|(container, (old, new))| row(container, *old, *new, wall, args.no_trunc))
            .collect();
        if !args.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        if !args
            .format
            .print(&rows, STATS_HEADERS)
            .map_err(|e| report::fail_with(&e))?
        {
            print_table(&rows);
        }
        if args.no_stream {
            return Ok(0);
        }
        before = now;
    }
}

/// One container's figures over the last interval, with Docker's names.
fn row(
    container: &Container,
    old: Sample,
    new: Sample,
    wall: Duration,
    full: bool,
) -> serde_json::Value {
    let used = new.cpu.saturating_sub(old.cpu);
    let percent = 100.0 * used.as_secs_f64() / wall.as_secs_f64();
    let limit = container.record.run.memory_limit;
    let id = if full {
        container.record.id.clone()
    } else {
        container.record.id[..12].to_owned()
    };
    serde_json::json!({
        "Container": id,
        "ID": id,
        "Name": container.label(),
        "CPUPerc": format!("{percent:.2}%"),
        "CPUTime": format!("{:.2}s", new.cpu.as_secs_f64()),
        "MemUsage": format!("{} / {}", size(new.resident), size(limit)),
        "MemPerc": format!("{:.2}%", 100.0 * new.resident as f64 / limit.max(1) as f64),
        "Requests": container.requests_served().map_or("-".to_owned(), |n| n.to_string()),
    })
}

fn print_table(rows: &[serde_json::Value]) {
    let mut table = String::from(
        "CONTAINER ID   NAME                 CPU %     CPU TIME   MEM USAGE / LIMIT       MEM %    REQUESTS\n",
    );
    for row in rows {
        let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
        let memory = field("MemUsage");
        let (used, limit) = memory.split_once(" / ").unwrap_or((&memory, ""));
        table.push_str(&format!(
            "{:<14} {:<20} {:>7}   {:>9}   {:>9} / {:<9}   {:>6}   {:>8}\n",
            field("ID"),
            field("Name"),
            field("CPUPerc"),
            field("CPUTime"),
            used,
            limit,
            field("MemPerc"),
            field("Requests"),
        ));
    }
    print!("{table}");
}

/// The supervisor's CPU time (user + system) and resident set, or zeros
/// when it is gone.
fn sample(container: &Container) -> Sample {
    let Some(pid) = container.supervisor().ok().flatten().map(|s| s.pid()) else {
        return Sample::default();
    };
    let (cpu, resident) = wharf_lifecycle::usage::tree_usage(pid).unwrap_or_default();
    Sample { cpu, resident }
}

fn size(bytes: u64) -> String {
    const MIB: f64 = (1 << 20) as f64;
    if bytes >= 1 << 30 {
        format!("{:.2}GiB", bytes as f64 / (MIB * 1024.0))
    } else {
        format!("{:.2}MiB", bytes as f64 / MIB)
    }
}
