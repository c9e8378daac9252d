//! Regression tests for hostile input to the container store, each named
//! after the attack it stops.

use std::process::{Child, Command};

use wharf_lifecycle::containers::{
    Container, ContainerError, Containers, LogOptions, NewContainer, RestartPolicy, RunRecord,
    State, Status, time,
};
use wharf_testkit::process_start_time;

fn store() -> (tempfile::TempDir, Containers) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Containers::open(dir.path().join("containers")).expect("open");
    (dir, store)
}

fn container(store: &Containers) -> Container {
    store
        .create(NewContainer {
            name: Some("victim".to_owned()),
            image: "app.wasm".to_owned(),
            run: RunRecord::of(&wharf_engine::RunSpec::new("/app.wasm")),
            restart: RestartPolicy::No,
            auto_remove: false,
            log: LogOptions::default(),
            labels: Default::default(),
        })
        .expect("create")
}

/// Records `container` as running under `pid` (with `started` as its
/// start time), as a state file on disk would say.
fn claim(container: &mut Container, pid: u32, started: Option<u64>) {
    let mut state = State::created();
    state.status = Status::Running;
    state.pid = Some(pid);
    state.pid_start_time = started;
    container.set_state(state).expect("state");
}

fn sleeper() -> Child {
    Command::new("sleep").arg("60").spawn().expect("sleep")
}

#[track_caller]
fn assert_not_its_supervisor(container: &Container, pid: u32) {
    match container.supervisor() {
        Err(ContainerError::NotItsSupervisor { pid: named, .. }) => assert_eq!(named, pid),
        other => panic!("pid {pid}: {other:?}"),
    }
}

#[test]
fn a_state_naming_pid_0_minus_1_or_init_is_never_a_supervisor() {
    let (_dir, store) = store();
    let mut container = container(&store);
    let _supervision = container.hold_supervision().expect("lock").expect("free");
    for pid in [0, 1, u32::MAX, 1 << 31, std::process::id()] {
        claim(&mut container, pid, None);
        assert_not_its_supervisor(&container, pid);
        claim(
            &mut container,
            pid,
            Some(process_start_time(std::process::id())),
        );
        assert_not_its_supervisor(&container, pid);
    }
}

#[test]
fn a_state_naming_an_unrelated_process_is_not_its_supervisor() {
    let (_dir, store) = store();
    let mut container = container(&store);
    let _supervision = container.hold_supervision().expect("lock").expect("free");
    let mut other = sleeper();
    let pid = other.id();
    // As an older wharf wrote it: the process does not hold the lock.
    claim(&mut container, pid, None);
    assert_not_its_supervisor(&container, pid);
    // A pid given to another process after the supervisor ended.
    claim(&mut container, pid, Some(process_start_time(pid) + 1));
    assert_not_its_supervisor(&container, pid);
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn a_state_naming_a_pid_whose_supervisor_is_gone_is_exited() {
    let (_dir, store) = store();
    let mut container = container(&store);
    let mut other = sleeper();
    claim(
        &mut container,
        other.id(),
        Some(process_start_time(other.id())),
    );
    // Nobody holds the supervisor lock: whatever the pid, no supervisor.
    let seen = store.find("victim").expect("find");
    assert_eq!(seen.state.status, Status::Exited);
    assert_eq!(seen.state.pid, None);
    assert!(seen.supervisor().expect("no error").is_none());
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn the_real_supervisor_is_found_by_its_start_time_or_its_lock() {
    let (_dir, store) = store();
    let mut container = container(&store);
    // `flock` holds the supervisor lock for its whole life, as a
    // supervisor does.
    let lock = container.dir().join("supervisor.lock");
    let mut holder = Command::new("flock")
        .arg(&lock)
        .args(["sleep", "60"])
        .spawn()
        .expect("flock");
    let pid = holder.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !container.supervisor_alive() {
        assert!(std::time::Instant::now() < deadline, "flock took the lock");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    claim(&mut container, pid, Some(process_start_time(pid)));
    let found = container.supervisor().expect("found").expect("alive");
    assert_eq!(found.pid(), pid);
    claim(&mut container, pid, None);
    let found = container.supervisor().expect("found").expect("alive");
    assert_eq!(
        found.pid(),
        pid,
        "an older wharf's state, checked by the lock"
    );
    found.signal(libc::SIGKILL).expect("signal");
    let _ = holder.wait();
    found
        .signal(libc::SIGKILL)
        .expect("an ended process is no error");
}

#[test]
fn times_with_a_year_that_overflows_are_refused_not_a_panic() {
    for hostile in [
        "99999999999999999-01-01T00:00:00Z",
        "9223372036854775807-12-31T23:59:59.999999999Z",
        "584554051223-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
    ] {
        assert_eq!(time::parse_rfc3339(hostile), None, "{hostile}");
    }
    // The last day jiff represents whole (its range ends on 9999-12-30).
    assert!(time::parse_rfc3339("9999-12-30T00:00:00Z").is_some());
}

#[test]
fn a_state_json_with_a_negative_pid_is_reported_damaged() {
    let (_dir, store) = store();
    let container = container(&store);
    let state = container.dir().join("state.json");
    let text = std::fs::read_to_string(&state).expect("state");
    let hostile = text.replace("\"pid\": null", "\"pid\": -1");
    assert_ne!(hostile, text);
    std::fs::write(&state, hostile).expect("damage");
    let (all, damaged) = store.list().expect("list");
    assert!(all.is_empty());
    assert_eq!(damaged.len(), 1);
    assert!(
        damaged[0].to_string().contains("state.json is damaged"),
        "{}",
        damaged[0]
    );
}
