//! `wharf stats`: each running container's CPU and memory, from its
//! supervisor's /proc entries (the guest runs inside it), refreshed every
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

pub fn stats(args: StatsArgs) -> Outcome {
    let store = open()?;
    let containers: Vec<Container> = if args.containers.is_empty() {
        let (all, _) = store.list().map_err(|e| report::fail(&e))?;
        all.into_iter().filter(|c| c.state.is_active()).collect()
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
        let mut table = String::new();
        if !args.no_stream {
            table.push_str("\x1b[2J\x1b[H");
        }
        table.push_str("CONTAINER ID   NAME                 CPU %     CPU TIME   MEM USAGE / LIMIT       MEM %    REQUESTS\n");
        for ((container, old), new) in containers.iter().zip(&before).zip(&now) {
            let used = new.cpu.saturating_sub(old.cpu);
            let percent = 100.0 * used.as_secs_f64() / wall.as_secs_f64();
            let limit = container.record.run.memory_limit;
            table.push_str(&format!(
                "{:<14} {:<20} {:>6.2}%   {:>8.2}s   {:>9} / {:<9}   {:>5.2}%   {:>8}\n",
                &container.record.id[..12],
                container.label(),
                percent,
                new.cpu.as_secs_f64(),
                size(new.resident),
                size(limit),
                100.0 * new.resident as f64 / limit.max(1) as f64,
                container
                    .requests_served()
                    .map_or("-".to_owned(), |n| n.to_string()),
            ));
        }
        print!("{table}");
        if args.no_stream {
            return Ok(0);
        }
        before = now;
    }
}

/// The supervisor's CPU time (user + system) and resident set, or zeros
/// when it is gone.
fn sample(container: &Container) -> Sample {
    let Some(pid) = container.supervisor().ok().flatten().map(|s| s.pid()) else {
        return Sample::default();
    };
    let (cpu, resident) = wharf_lifecycle::usage::process_usage(pid).unwrap_or_default();
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
