//! Regression tests for hostile input to `wharf`, each named after the
//! attack it stops.
//!
//! A container's `state.json` names its supervisor's pid; these tests
//! forge it while holding the supervisor lock themselves (as a live
//! supervisor would), and check that `stop`, `kill` and `rm -f` signal no
//! process they were not meant to. A wharf that got this wrong would send
//! SIGTERM or SIGKILL to its own process group (pid 0), to every process
//! (-1) or to init (1): so the commands run in a process group of their
//! own, and those with -1 and 1 in a PID namespace of their own.

use std::fs::File;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use wharf_testkit::process_start_time;

use crate::common::{assert_code, path_str, state_root, stderr, stdout, temp, wat_guest, wharf};

/// The commands that signal a supervisor.
const SIGNALLING: [&[&str]; 4] = [
    &["stop", "-t", "1", "victim"],
    &["kill", "victim"],
    &["kill", "-s", "TERM", "victim"],
    &["rm", "-f", "victim"],
];

/// A container named `victim` whose guest has exited; its directory.
fn victim(root: &Path) -> PathBuf {
    let guest = wat_guest("exit42");
    let made = wharf(root)
        .args(["run", "-d", "--name", "victim", path_str(&guest)])
        .output()
        .expect("wharf run -d");
    assert_code(&made, 0);
    let id = stdout(&made).trim().to_owned();
    assert_code(
        &wharf(root).args(["wait", "victim"]).output().expect("wait"),
        0,
    );
    root.join("containers").join(id)
}

/// Writes a state that says the guest runs under supervisor `pid`.
fn forge(dir: &Path, pid: u64, started: Option<u64>) {
    let mut state = serde_json::json!({
        "status": "running", "pid": pid, "started_at": null, "finished_at": null,
        "exit_code": null, "restarts": 0, "error": null,
    });
    if let Some(started) = started {
        state["pid_start_time"] = started.into();
    }
    std::fs::write(dir.join("state.json"), state.to_string()).expect("forge state.json");
}

/// Holds the container's supervisor lock, as a live supervisor does.
fn hold_supervision(dir: &Path) -> File {
    wharf_lifecycle::flock::lock_file(&dir.join("supervisor.lock"), true, false)
        .expect("lock")
        .expect("no supervisor holds it")
}

/// `sleep 60` in a process group of its own.
fn bystander() -> Child {
    Command::new("sleep")
        .arg("60")
        .process_group(0)
        .spawn()
        .expect("sleep")
}

/// Whether `child` still runs a second after a command that may have
/// signalled it: a signal sent need not have ended it yet, so one look at
/// once would miss a wrong SIGTERM or SIGKILL.
fn runs(child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        if Instant::now() >= deadline {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts a refusal: exit 125, one line naming the forged pid.
#[track_caller]
fn assert_refused(output: &Output, pid: u64) {
    assert!(
        output.status.signal().is_none(),
        "wharf was killed by signal {:?}: it signalled its own group",
        output.status.signal()
    );
    assert_code(output, 125);
    let text = stderr(output);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(
        text.contains(&format!("process {pid} is not its supervisor")),
        "{text}"
    );
}

#[test]
fn a_forged_pid_of_an_unrelated_process_is_never_signalled() {
    let root = state_root();
    let dir = victim(root.path());
    let _supervision = hold_supervision(&dir);
    let mut other = bystander();
    let pid = u64::from(other.id());
    // As an older wharf wrote it (no start time), then with a start time
    // that is not the process's.
    for started in [None, Some(process_start_time(other.id()) + 1)] {
        for args in SIGNALLING {
            forge(&dir, pid, started);
            let output = wharf(root.path()).args(args).output().expect("wharf");
            assert_refused(&output, pid);
            assert!(runs(&mut other), "`wharf {args:?}` signalled pid {pid}");
        }
    }
    assert!(dir.exists(), "rm -f left it: its supervisor may live");
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn a_forged_pid_0_does_not_signal_wharfs_own_process_group() {
    let root = state_root();
    let dir = victim(root.path());
    let _supervision = hold_supervision(&dir);
    // The bystander shares wharf's process group: kill(0, ..) would end it.
    let mut other = bystander();
    for args in SIGNALLING {
        forge(&dir, 0, None);
        let output = wharf(root.path())
            .args(args)
            .process_group(i32::try_from(other.id()).expect("pid"))
            .output()
            .expect("wharf");
        assert_refused(&output, 0);
        assert!(runs(&mut other), "`wharf {args:?}` signalled its group");
    }
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn a_forged_pid_that_wraps_to_minus_1_or_names_init_signals_nothing() {
    let test = "a_forged_pid_that_wraps_to_minus_1_or_names_init_signals_nothing";
    if wharf_testkit::skip_unless_root(test, "a PID namespace confines a wrong signal") {
        return;
    }
    let root = state_root();
    let dir = victim(root.path());
    let _supervision = hold_supervision(&dir);
    let seen = temp();
    for pid in [u64::from(u32::MAX), 1] {
        for args in SIGNALLING {
            forge(&dir, pid, None);
            let output = confined(root.path(), seen.path(), args);
            assert_refused(&output, pid);
            let heard = std::fs::read_to_string(seen.path().join("init")).unwrap_or_default();
            assert_eq!(heard, "", "`wharf {args:?}` signalled init (pid {pid})");
            let alive = std::fs::read_to_string(seen.path().join("bystander")).unwrap_or_default();
            assert_eq!(
                alive, "alive\n",
                "`wharf {args:?}` signalled every process (pid {pid})"
            );
        }
    }
}

/// `wharf ARGS...` in a PID namespace of its own, where a wrong signal is
/// seen and reaches nothing outside: init there is a shell that writes
/// `init` in `seen` for any signal it can catch, and a bystander there
/// (which a signal to every process would end) leaves `bystander` saying
/// whether it outlived the command. The bystander is looked at for a
/// second, by its state: a signal sent need not have ended it yet, and
/// one that did leaves a zombie (unwaited), which `kill -0` still finds.
fn confined(root: &Path, seen: &Path, args: &[&str]) -> Output {
    let script = r#"
        for signal in TERM INT HUP QUIT USR1 USR2; do
            trap "echo $signal >> \"$SEEN/init\"" "$signal"
        done
        : > "$SEEN/init"
        sleep 60 & bystander=$!
        "$WHARF" "$@"; code=$?
        state=alive
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            stat=$(cat "/proc/$bystander/stat" 2>/dev/null)
            case "${stat#*") "}" in
                Z*|X*|"") state=gone; break ;;
            esac
            sleep 0.1
        done
        echo "$state" > "$SEEN/bystander"
        kill "$bystander" 2>/dev/null
        exit "$code"
    "#;
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
        .args(["sh", "-c", script, "confined"])
        .args(args)
        .env("WHARF", env!("CARGO_BIN_EXE_wharf"))
        .env("SEEN", seen)
        .env("WHARF_ROOT", root)
        .stdin(Stdio::null())
        .process_group(0)
        .output()
        .expect("unshare")
}

#[test]
fn a_forged_pid_with_no_live_supervisor_is_an_exited_container() {
    let root = state_root();
    let dir = victim(root.path());
    let mut other = bystander();
    let pid = u64::from(other.id());
    // Nobody holds the supervisor lock: the container is not running.
    forge(&dir, pid, Some(process_start_time(other.id())));
    let stopped = wharf(root.path())
        .args(SIGNALLING[0])
        .output()
        .expect("stop");
    assert_code(&stopped, 0);
    let killed = wharf(root.path())
        .args(SIGNALLING[1])
        .output()
        .expect("kill");
    assert_code(&killed, 125);
    assert!(
        stderr(&killed).contains("is not running"),
        "{}",
        stderr(&killed)
    );
    let removed = wharf(root.path()).args(SIGNALLING[3]).output().expect("rm");
    assert_code(&removed, 0);
    assert!(!dir.exists());
    assert!(runs(&mut other), "pid {pid} was signalled");
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn a_state_json_with_a_negative_pid_is_an_error_and_ps_lists_it_damaged() {
    let root = state_root();
    let dir = victim(root.path());
    let state = dir.join("state.json");
    let text = std::fs::read_to_string(&state).expect("state");
    let hostile = text.replace("\"pid\": null", "\"pid\": -1");
    assert_ne!(hostile, text);
    std::fs::write(&state, hostile).expect("damage");
    for args in SIGNALLING {
        let output = wharf(root.path()).args(args).output().expect("wharf");
        assert_code(&output, 125);
        let text = stderr(&output);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("state.json is damaged"), "{text}");
    }
    let listed = wharf(root.path()).args(["ps", "-a"]).output().expect("ps");
    assert_code(&listed, 0);
    assert!(
        stderr(&listed).contains("skipped:") && stderr(&listed).contains("damaged"),
        "{}",
        stderr(&listed)
    );
}

#[test]
fn a_forged_time_in_the_far_future_is_no_panic_in_ps_or_inspect() {
    let root = state_root();
    let dir = victim(root.path());
    let state = dir.join("state.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("json");
    value["started_at"] = "99999999999999999-01-01T00:00:00Z".into();
    value["finished_at"] = "584554051223-01-01T00:00:00.999999999Z".into();
    std::fs::write(&state, value.to_string()).expect("forge");
    for args in [
        &["ps", "-a"][..],
        &["inspect", "victim"],
        &["ps", "--format", "json", "-a"],
    ] {
        let output = wharf(root.path()).args(args).output().expect("wharf");
        assert_code(&output, 0);
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    }
}

#[test]
fn a_supervisor_recorded_by_an_older_wharf_is_still_stopped() {
    let root = state_root();
    let guest = wat_guest("spin");
    let made = wharf(root.path())
        .args(["run", "-d", "--name", "old", path_str(&guest)])
        .output()
        .expect("wharf run -d");
    assert_code(&made, 0);
    let dir = root.path().join("containers").join(stdout(&made).trim());
    let state = dir.join("state.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("json");
    assert!(
        value["pid_start_time"].is_u64(),
        "the supervisor records it"
    );
    value
        .as_object_mut()
        .expect("an object")
        .remove("pid_start_time");
    std::fs::write(&state, value.to_string()).expect("as an older wharf wrote it");
    let stopped = wharf(root.path())
        .args(["stop", "-t", "5", "old"])
        .output()
        .expect("stop");
    assert_code(&stopped, 0);
    let inspected = wharf(root.path())
        .args(["inspect", "old"])
        .output()
        .expect("inspect");
    assert!(
        stdout(&inspected).contains("\"ExitCode\": 143"),
        "{}",
        stdout(&inspected)
    );
}
