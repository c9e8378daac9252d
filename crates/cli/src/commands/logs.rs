//! `wharf logs`: a container's output, stdout to stdout and stderr to
//! stderr, from its log (which outlives the supervisor).

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use wharf_lifecycle::containers::logs::{self, Entry};
use wharf_lifecycle::containers::time;

use super::Outcome;
use super::containers::open;
use crate::cli::LogsArgs;
use crate::{flags, report};

pub fn logs(args: LogsArgs) -> Outcome {
    let since = match &args.since {
        Some(text) => Some(parse_since(text).map_err(|m| report::fail_with(&m))?),
        None => None,
    };
    let store = open()?;
    let container = store.find(&args.container).map_err(|e| report::fail(&e))?;
    let path = container.log_path();
    let rotated = container.record.log.rotated();
    let (mut entries, mut follower) =
        logs::read_and_follow(&path, rotated).map_err(|e| report::fail(&e))?;
    if let Some(since) = since {
        entries.retain(|e| time::parse_rfc3339(&e.time).is_some_and(|at| at >= since));
    }
    if let Some(tail) = args.tail {
        let skip = entries.len().saturating_sub(tail);
        entries.drain(..skip);
    }
    print_entries(&entries, args.timestamps);
    if !args.follow {
        return Ok(0);
    }
    loop {
        let alive = container.supervisor_alive();
        print_entries(&follower.next_entries(), args.timestamps);
        if !alive {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn print_entries(entries: &[Entry], timestamps: bool) {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for entry in entries {
        let sink: &mut dyn std::io::Write = if entry.stream == "stderr" {
            &mut err
        } else {
            &mut out
        };
        if timestamps {
            let _ = write!(sink, "{} ", entry.time);
        }
        let _ = sink.write_all(entry.log.as_bytes());
    }
    let _ = out.flush();
}

/// `--since`: an RFC 3339 time, or a duration back from now (`10s`, `5m`).
fn parse_since(text: &str) -> Result<SystemTime, String> {
    if let Some(at) = time::parse_rfc3339(text) {
        return Ok(at);
    }
    let back = flags::parse_duration(text).map_err(|_| {
        format!("invalid --since `{text}`: give an RFC 3339 time or a duration like 10m")
    })?;
    // Further back than the clock goes means from the start.
    Ok(SystemTime::now()
        .checked_sub(back)
        .unwrap_or(SystemTime::UNIX_EPOCH))
}
