//! Memory caps, timeouts and signals.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Waits for `child` and returns its exit code and peak RSS in KiB.
fn wait_with_peak_rss(child: Child) -> (i32, i64, String) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for this child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unreaped child; the pointers are valid.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4");
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout {
        std::io::Read::read_to_string(&mut stdout, &mut out).expect("read stdout");
    }
    assert!(libc::WIFEXITED(status), "wharf died of a signal: {status}");
    (libc::WEXITSTATUS(status), usage.ru_maxrss, out)
}

fn allocated_mib(stdout: &str) -> i64 {
    stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected alloc output: {stdout}"))
}

#[test]
fn memory_cap_turns_into_allocation_failure() {
    let root = temp();
    for (shape, guest) in both_shapes("alloc") {
        let child = wharf(root.path())
            .args(["run", "--memory", "64m"])
            .arg(&guest)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (code, peak_kib, out) = wait_with_peak_rss(child);
        assert_eq!(code, 0, "{shape}: malloc failure is not a crash");
        let mib = allocated_mib(&out);
        assert!(
            (48..64).contains(&mib),
            "{shape}: got {mib} MiB under a 64 MiB cap"
        );
        assert!(
            peak_kib < 140 * 1024,
            "{shape}: wharf peaked at {peak_kib} KiB"
        );
    }
}

#[test]
fn the_memory_cap_holds_for_the_gc_heap() {
    let root = temp();
    let child = wharf(root.path())
        .args(["run", "--memory", "32m"])
        .arg(wat_guest("gc_hog"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let (code, peak_kib, _) = wait_with_peak_rss(child);
    assert_eq!(code, 134, "a GC heap past the cap is a trap");
    assert!(peak_kib < 120 * 1024, "wharf peaked at {peak_kib} KiB");
}

#[test]
fn default_memory_cap_is_one_gib() {
    let root = temp();
    let output = run(root.path(), &[path_str(&c_guest("alloc"))]);
    assert_code(&output, 0);
    let mib = allocated_mib(&stdout(&output));
    assert!(
        (1000..1024).contains(&mib),
        "got {mib} MiB under the default cap"
    );
}

#[test]
fn timeout_stops_a_spinning_guest() {
    let root = temp();
    let start = Instant::now();
    let output = run(
        root.path(),
        &["--timeout", "300ms", path_str(&wat_guest("spin"))],
    );
    let elapsed = start.elapsed();
    assert_code(&output, 124);
    assert!(stderr(&output).contains("--timeout"), "{}", stderr(&output));
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(1300),
        "stopped late: {elapsed:?}"
    );
}

/// Runs `wharf run ARGS...`, writes `input` to its stdin (kept open), and
/// waits for the guest to say `said` on stdout: then it is where the test
/// wants it. Sends `signal` and expects `expected` within a second.
fn stop_with_signal(
    signal: libc::c_int,
    args: &[&str],
    (input, said): (&[u8], &str),
    expected: i32,
) {
    use std::io::{BufRead as _, Write as _};
    let root = temp();
    let mut child = wharf(root.path())
        .arg("run")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Held until the end: the guest must not see its stdin end.
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write stdin");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read stdout");
    assert_eq!(line, said, "the guest did not get there");
    assert!(
        child.try_wait().expect("poll").is_none(),
        "guest ended early"
    );
    let sent = Instant::now();
    // SAFETY: plain kill(2) on our child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let status = child.wait().expect("wait");
    let elapsed = sent.elapsed();
    drop(stdin);
    assert_eq!(status.code(), Some(expected), "{status:?}");
    assert!(
        elapsed < Duration::from_secs(1),
        "stopped late: {elapsed:?}"
    );
}

/// What the spin guest says once it runs; then it spins.
const SPINNING: (&[u8], &str) = (b"", "spinning\n");

#[test]
fn sigterm_stops_a_spinning_guest() {
    stop_with_signal(
        libc::SIGTERM,
        &[path_str(&wat_guest("spin"))],
        SPINNING,
        143,
    );
}

#[test]
fn sigint_stops_a_spinning_guest() {
    stop_with_signal(libc::SIGINT, &[path_str(&wat_guest("spin"))], SPINNING, 130);
}

#[test]
fn sigterm_stops_a_guest_blocked_in_the_host() {
    // The guest waits on stdin that never ends: stopped while in a host
    // call. The line it echoes shows that it reads; it then waits for more.
    let guest = c_guest("stdio");
    stop_with_signal(
        libc::SIGTERM,
        &["-i", path_str(&guest)],
        (b"waiting\n", "WAITING\n"),
        143,
    );
}
