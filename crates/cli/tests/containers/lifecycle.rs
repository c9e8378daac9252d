//! One container's life: run -d, ps, logs, stats, stop, inspect, wait, rm.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{assert_code, c_guest, state_root, stderr, stdout, temp, wat_guest, wharf};
use crate::support::{alive, detached, eventually, inspect, ok, wharf_output};

#[test]
fn a_detached_service_is_listed_logged_followed_and_stopped() {
    let root = state_root();
    let root = root.path();
    let ticker = c_guest("ticker");
    let id = detached(root, "svc", &[], &ticker);
    let id = id.as_str();
    assert_eq!(id.len(), 64, "a full ID: {id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));

    let listed = ok(root, &["ps"]);
    assert!(listed.contains("svc") && listed.contains("Up "), "{listed}");
    assert_eq!(ok(root, &["ps", "-q"]).trim(), &id[..12]);
    assert_eq!(ok(root, &["ps", "-q", "--no-trunc"]).trim(), id);
    let json: serde_json::Value =
        serde_json::from_str(ok(root, &["ps", "--format", "json"]).trim()).expect("json");
    assert_eq!(json["Names"], "svc");
    assert_eq!(json["State"], "running");

    eventually(Duration::from_secs(20), "two ticks logged", || {
        ok(root, &["logs", "svc"]).contains("tick 1\n")
    });
    // stdout and stderr stay apart; the ID's start works as well as the name.
    let logs = wharf_output(root, &["logs", &id[..6]]);
    assert_code(&logs, 0);
    assert!(
        stdout(&logs).starts_with("tick 0\ntick 1\n"),
        "{}",
        stdout(&logs)
    );
    assert!(!stdout(&logs).contains("err"));
    assert!(stderr(&logs).starts_with("err 0\n"), "{}", stderr(&logs));
    let stamped = ok(root, &["logs", "-t", "--tail", "1", "svc"]);
    let (time, line) = stamped
        .trim_end()
        .split_once(' ')
        .expect("a time, then the line");
    assert!(time.ends_with('Z') && time.contains('T'), "{stamped}");
    assert!(line.starts_with("tick "), "{stamped}");
    assert_eq!(stamped.lines().count(), 1);
    assert_eq!(
        ok(root, &["logs", "--since", "1h", "svc"]).lines().next(),
        Some("tick 0")
    );
    assert_eq!(
        ok(root, &["logs", "--since", "2999-01-01T00:00:00Z", "svc"]),
        ""
    );

    let stats = ok(root, &["stats", "--no-stream"]);
    assert!(stats.contains("svc") && stats.contains("MiB"), "{stats}");

    // Follow: new lines arrive while the service runs; the stream ends
    // when the container stops.
    let mut follower = wharf(root)
        .args(["logs", "-f", "--tail", "0", "svc"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("logs -f");
    let mut lines = BufReader::new(follower.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("text");
    let second = lines.next().expect("a line").expect("text");
    let number = |line: &str| line.trim_start_matches("tick ").parse::<u32>().expect(line);
    assert_eq!(number(&second), number(&first) + 1, "{first} then {second}");

    let pid = inspect(root, "svc")["State"]["Pid"].as_u64().expect("pid");
    assert!(alive(pid));
    let began = Instant::now();
    assert_eq!(ok(root, &["stop", "-t", "5", "svc"]).trim(), "svc");
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "stop took {:?}",
        began.elapsed()
    );
    eventually(Duration::from_secs(5), "the supervisor is gone", || {
        !alive(pid)
    });
    let ended = follower.wait().expect("logs -f ends");
    assert!(ended.success());

    let state = inspect(root, "svc");
    assert_eq!(state["State"]["Status"], "exited");
    assert_eq!(state["State"]["ExitCode"], 143, "128+SIGTERM");
    assert_eq!(state["Name"], "/svc");
    assert!(
        state["State"]["FinishedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(ok(root, &["wait", "svc"]).trim(), "143");
    assert!(
        !ok(root, &["ps"]).contains("svc"),
        "ps shows running ones only"
    );
    assert!(ok(root, &["ps", "-a"]).contains("Exited (143)"));
    // The log outlives the supervisor.
    assert!(ok(root, &["logs", "svc"]).contains("tick 0"));

    assert_eq!(ok(root, &["rm", "svc"]).trim(), "svc");
    assert_eq!(ok(root, &["ps", "-a", "-q"]), "");
    let gone = wharf_output(root, &["logs", "svc"]);
    assert_code(&gone, 125);
    assert!(
        stderr(&gone).contains("no such container: svc"),
        "{}",
        stderr(&gone)
    );
}

#[test]
fn a_container_whose_supervisor_was_killed_shows_as_exited_and_can_be_removed() {
    let root = state_root();
    let root = root.path();
    detached(root, "victim", &[], &c_guest("ticker"));
    detached(root, "bystander", &[], &c_guest("ticker"));
    let pid = inspect(root, "victim")["State"]["Pid"]
        .as_u64()
        .expect("pid");
    // SAFETY: kill has no memory effects; the pid is the test's supervisor.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    eventually(Duration::from_secs(5), "the supervisor is gone", || {
        !alive(pid)
    });
    // A killed process is a zombie once its main thread ends, but holds its
    // files (the supervisor's lock) until its last thread has.
    eventually(Duration::from_secs(5), "ps no longer lists it", || {
        !ok(root, &["ps"]).contains("victim")
    });

    let running = ok(root, &["ps"]);
    assert!(!running.contains("victim"), "{running}");
    assert!(
        running.contains("bystander"),
        "the others stay listed: {running}"
    );
    assert!(ok(root, &["ps", "-a"]).contains("Exited (137)"));
    assert_eq!(inspect(root, "victim")["State"]["Status"], "exited");
    assert_eq!(ok(root, &["wait", "victim"]).trim(), "137");
    assert_eq!(ok(root, &["rm", "victim"]).trim(), "victim", "no -f needed");
    assert_eq!(ok(root, &["rm", "-f", "bystander"]).trim(), "bystander");
    assert_eq!(ok(root, &["ps", "-a", "-q"]), "");
}

#[test]
fn a_failing_guest_is_restarted_as_the_policy_says() {
    let root = state_root();
    let root = root.path();
    let failing = wat_guest("exit42");
    detached(root, "flaky", &["--restart", "on-failure:2"], &failing);
    assert_eq!(ok(root, &["wait", "flaky"]).trim(), "42");
    let state = inspect(root, "flaky");
    assert_eq!(state["RestartCount"], 2);
    assert_eq!(state["State"]["Status"], "exited");
    assert_eq!(state["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(state["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 2);

    // `always` keeps it going until it is stopped.
    detached(root, "loop", &["--restart", "always"], &failing);
    eventually(Duration::from_secs(20), "three restarts", || {
        inspect(root, "loop")["RestartCount"].as_u64() >= Some(3)
    });
    // Only its supervisor starts the guest again. The back-off after three
    // restarts is 800 ms or more (doubling up to 10 s), so a clock cannot
    // show that none follows; the supervisor's end can.
    let supervisor = inspect(root, "loop")["State"]["Pid"]
        .as_u64()
        .expect("a pid");
    assert_ne!(supervisor, 0, "a restarting container names its supervisor");
    assert!(alive(supervisor));
    ok(root, &["stop", "loop"]);
    let stopped = inspect(root, "loop");
    assert_eq!(stopped["State"]["Status"], "exited");
    let count = stopped["RestartCount"].as_u64();
    eventually(
        Duration::from_secs(5),
        "the supervisor gone after stop: nothing left to restart the guest",
        || !alive(supervisor),
    );
    let after = inspect(root, "loop");
    assert_eq!(
        after["RestartCount"].as_u64(),
        count,
        "no restart after stop"
    );
    assert_eq!(after["State"]["Status"], "exited", "no restart after stop");
}

#[test]
fn a_removed_on_exit_container_goes_and_bad_flags_are_refused() {
    let root = state_root();
    let root = root.path();
    detached(root, "brief", &["--rm"], &wat_guest("exit42"));
    eventually(
        Duration::from_secs(10),
        "the container removed itself",
        || ok(root, &["ps", "-a", "-q"]).is_empty(),
    );
    // `wait` still tells how a removed-on-exit container ended.
    let ticker = c_guest("ticker");
    detached(root, "waited", &["--rm"], &ticker);
    let waiter = std::thread::spawn({
        let root = root.to_owned();
        move || ok(&root, &["wait", "waited"])
    });
    std::thread::sleep(Duration::from_millis(300));
    ok(root, &["stop", "waited"]);
    assert_eq!(waiter.join().expect("wait").trim(), "143");
    assert_eq!(ok(root, &["ps", "-a", "-q"]), "", "stopped and removed");
    for (args, message) in [
        (
            vec!["run", "-d", "--restart", "sometimes", "x.wasm"],
            "invalid restart policy",
        ),
        (
            vec!["run", "-d", "--name=-bad", "x.wasm"],
            "invalid container name",
        ),
        (vec!["run", "-d", "/no/such/program.wasm"], "no such file"),
        (vec!["stop", "nothing"], "no such container: nothing"),
        (vec!["kill", "-s", "FOO", "nothing"], "invalid signal"),
    ] {
        let output = wharf_output(root, &args);
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(
            stderr(&output).lines().count(),
            1,
            "one line: {}",
            stderr(&output)
        );
    }
    assert_eq!(
        ok(root, &["ps", "-a", "-q"]),
        "",
        "refused runs leave nothing"
    );
}

#[test]
fn kill_prune_and_private_files() {
    let root = state_root();
    let root = root.path();
    let ticker = c_guest("ticker");
    let id = detached(root, "k", &[], &ticker);
    detached(root, "keep", &[], &ticker);
    assert_eq!(ok(root, &["kill", "-s", "USR1", "k"]).trim(), "k");
    assert_eq!(inspect(root, "k")["State"]["ExitCode"], 128 + libc::SIGUSR1);
    let again = wharf_output(root, &["kill", "k"]);
    assert!(
        stderr(&again).contains("is not running"),
        "{}",
        stderr(&again)
    );

    use std::os::unix::fs::PermissionsExt;
    let dir = root.join("containers").join(id.trim());
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("container.log")), 0o600);

    let pruned = ok(root, &["container", "prune", "-f"]);
    assert!(pruned.contains(id.trim()), "{pruned}");
    let left = ok(root, &["ps", "-a"]);
    assert!(left.contains("keep") && !left.contains(" k\n"), "{left}");
    ok(root, &["rm", "-f", "keep"]);
}

#[test]
fn stop_ends_a_tight_loop_at_once_and_kills_after_the_grace() {
    let root = state_root();
    let root = root.path();
    detached(root, "spinner", &[], &wat_guest("spin"));
    let began = Instant::now();
    ok(root, &["stop", "-t", "10", "spinner"]);
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "took {:?}",
        began.elapsed()
    );
    assert_eq!(inspect(root, "spinner")["State"]["ExitCode"], 143);

    // A supervisor that cannot act on SIGTERM (stopped with SIGSTOP) is
    // killed when the grace is over, and its exit is recorded for it.
    detached(root, "frozen", &[], &wat_guest("spin"));
    ok(root, &["kill", "-s", "STOP", "frozen"]);
    let began = Instant::now();
    ok(root, &["stop", "-t", "1", "frozen"]);
    let took = began.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "the grace was kept: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "then it was killed: {took:?}"
    );
    let state = inspect(root, "frozen");
    assert_eq!(state["State"]["Status"], "exited");
    assert_eq!(state["State"]["ExitCode"], 137);
    ok(root, &["rm", "spinner", "frozen"]);
}

#[test]
fn a_chatty_guest_cannot_fill_the_disk() {
    let root = state_root();
    let root = root.path();
    let flags = ["--log-opt", "max-size=64k", "--log-opt", "max-file=2"];
    let id = detached(root, "chatty", &flags, &c_guest("chatty"));
    assert_eq!(ok(root, &["wait", "chatty"]).trim(), "0");
    let dir = root.join("containers").join(&id);
    let size = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len());
    assert!(size("container.log").expect("the log") <= 64 << 10);
    assert!(size("container.log.1").expect("one rotated file") <= 64 << 10);
    assert!(
        size("container.log.2").is_err(),
        "max-file=2 keeps two files"
    );
    let logs = ok(root, &["logs", "chatty"]);
    assert!(logs.ends_with("line 00019999 .............................................\n"));
    assert!(
        !logs.contains("line 00000000"),
        "the oldest lines were let go"
    );
    let bad = wharf_output(root, &["run", "-d", "--log-opt", "max-files=2", "x.wasm"]);
    assert!(
        stderr(&bad).contains("invalid --log-opt"),
        "{}",
        stderr(&bad)
    );
    ok(root, &["rm", "chatty"]);
}

#[test]
fn a_relative_wharf_root_means_the_same_to_the_supervisor() {
    let dir = temp();
    let relative = std::path::Path::new("state");
    let in_dir = |args: &[&str]| {
        let output = wharf(relative)
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("wharf");
        assert_code(&output, 0);
        stdout(&output)
    };
    let ticker = c_guest("ticker");
    in_dir(&[
        "run",
        "-d",
        "--name",
        "rel",
        ticker.to_str().expect("utf-8"),
    ]);
    let listed = in_dir(&["ps"]);
    assert!(listed.contains("rel") && listed.contains("Up "), "{listed}");
    assert!(dir.path().join("state/containers").is_dir());
    eventually(
        Duration::from_secs(20),
        "the guest's output in the log",
        || in_dir(&["logs", "rel"]).contains("tick 0"),
    );
    in_dir(&["rm", "-f", "rel"]);
}

#[test]
fn refusals_and_damage_are_one_line_errors() {
    let root = state_root();
    let root = root.path();
    let ticker = c_guest("ticker");
    detached(root, "busy1", &[], &ticker);
    let broken = detached(root, "broken", &[], &ticker);
    ok(root, &["stop", "broken"]);

    let refused = wharf_output(root, &["rm", "busy1"]);
    assert_code(&refused, 125);
    assert_eq!(
        stderr(&refused),
        "wharf: container busy1 is running: stop it first, or use -f\n"
    );
    let since = wharf_output(root, &["logs", "--since", "yesterday", "busy1"]);
    assert_code(&since, 125);
    assert!(
        stderr(&since).contains("invalid --since `yesterday`"),
        "{}",
        stderr(&since)
    );

    let state = root.join("containers").join(&broken).join("state.json");
    std::fs::write(&state, b"{ cut sh").expect("damage");
    let listed = wharf_output(root, &["ps", "-a"]);
    assert_code(&listed, 0);
    assert!(stdout(&listed).contains("busy1"), "the others stay listed");
    assert!(
        stderr(&listed).contains("state.json is damaged"),
        "{}",
        stderr(&listed)
    );
    ok(root, &["rm", "-f", "busy1"]);
}

/// The test support's own promise: a state root that goes (as when a test
/// panics midway) takes its running containers' supervisors with it.
#[test]
fn a_dropped_state_root_leaves_no_supervisor_running() {
    let root = state_root();
    detached(root.path(), "forgotten", &[], &c_guest("ticker"));
    let pid = inspect(root.path(), "forgotten")["State"]["Pid"]
        .as_u64()
        .expect("pid");
    assert!(alive(pid), "it runs");
    drop(root);
    eventually(Duration::from_secs(10), "the supervisor is gone", || {
        !alive(pid)
    });
}
