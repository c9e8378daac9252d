//! Helpers for detached-container tests.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::{assert_code, stdout, wharf};

/// `wharf ARGS...` under `root`, expected to succeed; its stdout.
#[track_caller]
pub fn ok(root: &Path, args: &[&str]) -> String {
    let output = wharf_output(root, args);
    assert_code(&output, 0);
    stdout(&output)
}

/// `wharf run -d --name NAME [FLAGS...] PROGRAM` under `root`; the ID.
#[track_caller]
pub fn detached(root: &Path, name: &str, flags: &[&str], program: &Path) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.push(program.to_str().expect("a UTF-8 path"));
    ok(root, &args).trim().to_owned()
}

/// `wharf ARGS...` under `root`, whatever it does.
pub fn wharf_output(root: &Path, args: &[&str]) -> Output {
    wharf(root).args(args).output().expect("spawn wharf")
}

/// `wharf inspect NAME` parsed.
#[track_caller]
pub fn inspect(root: &Path, name: &str) -> serde_json::Value {
    let text = ok(root, &["inspect", name]);
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("inspect prints JSON");
    parsed[0].clone()
}

/// Waits until `check` holds, failing with `what` after `limit`.
#[track_caller]
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether process `pid` exists.
pub fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
}
