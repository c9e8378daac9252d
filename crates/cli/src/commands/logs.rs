//! `wharf logs`: a container's output, stdout to stdout and stderr to
//! stderr, from its log (which outlives the supervisor).

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use wharf_lifecycle::containers::logs::{self, Entry, Follower};
use wharf_lifecycle::containers::{Container, time};

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
    let (mut entries, follower) =
        logs::read_and_follow(&path, rotated).map_err(|e| report::fail(&e))?;
    if let Some(since) = since {
        entries.retain(|e| time::parse_rfc3339(&e.time).is_some_and(|at| at >= since));
    }
    if let Some(tail) = args.tail {
        let skip = entries.len().saturating_sub(tail);
        entries.drain(..skip);
    }
    print_entries(&entries, args.timestamps, "");
    if args.follow {
        follow_until_stopped(&container, Printed(follower), args.timestamps);
    }
    Ok(0)
}

/// A container's log as read so far: following it prints only what comes
/// after.
pub struct Printed(Follower);

impl Printed {
    /// The log read to its end now.
    pub fn from_now(container: &Container) -> std::io::Result<Printed> {
        let (_, follower) =
            logs::read_and_follow(&container.log_path(), container.record.log.rotated())?;
        Ok(Printed(follower))
    }

    /// The log from its start (the entries so far, and the rest to follow).
    pub fn from_start(container: &Container) -> std::io::Result<(Vec<Entry>, Printed)> {
        let (entries, follower) =
            logs::read_and_follow(&container.log_path(), container.record.log.rotated())?;
        Ok((entries, Printed(follower)))
    }

    /// What was written since the last look.
    pub fn next_entries(&mut self) -> Vec<Entry> {
        self.0.next_entries()
    }
}

/// Prints what the container writes until its supervisor ends.
pub fn follow_until_stopped(container: &Container, mut printed: Printed, timestamps: bool) {
    loop {
        let alive = container.supervisor_alive();
        print_entries(&printed.next_entries(), timestamps, "");
        if !alive {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Prints entries, stdout's to stdout and stderr's to stderr, each line
/// after `prefix`.
pub fn print_entries(entries: &[Entry], timestamps: bool, prefix: &str) {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for entry in entries {
        let sink: &mut dyn std::io::Write = if entry.stream == "stderr" {
            &mut err
        } else {
            &mut out
        };
        let _ = sink.write_all(prefix.as_bytes());
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
