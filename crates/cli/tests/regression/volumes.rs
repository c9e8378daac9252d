//! A guest that rewrites one volume's parent never makes a later open of
//! another volume land elsewhere (issue 23): the volume is held by the
//! identity it had when the container was made, and a link the guest could
//! have put in a volume's path is refused when the run is made. Each test
//! checks that the host file beside the volumes is never read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{assert_code, c_guest, path_str, stderr, stdout, temp, wharf};

const SECRET: &str = "host only: never for a guest";

/// `D/src` and `D/src/out` (the volumes), and `D/secret` beside them.
fn nested(dir: &Path) -> (PathBuf, PathBuf) {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("out")).expect("out");
    std::fs::write(dir.join("secret"), format!("{SECRET}\n")).expect("secret");
    (src.clone(), src.join("out"))
}

fn volumes(src: &Path, out: &Path) -> [String; 4] {
    [
        "-v".to_owned(),
        format!("{}:/src", path_str(src)),
        "-v".to_owned(),
        format!("{}:/out", path_str(out)),
    ]
}

/// Waits for container `name` and returns its exit code and logs.
fn outcome(root: &Path, name: &str) -> (String, String) {
    let waited = wharf(root).args(["wait", name]).output().expect("wait");
    let logs = wharf(root).args(["logs", name]).output().expect("logs");
    (
        stdout(&waited).trim().to_owned(),
        format!("{}{}", stdout(&logs), stderr(&logs)),
    )
}

#[test]
fn a_restarted_container_whose_volume_was_swapped_for_a_link_refuses_to_start() {
    let (root, work) = (temp(), temp());
    let (src, out) = nested(work.path());
    let guest = c_guest("rewrite");
    let mut args = vec!["run", "-d", "--name", "victim", "--restart", "on-failure"];
    let flags = volumes(&src, &out);
    args.extend(flags.iter().map(String::as_str));
    args.push(path_str(&guest));
    let made = wharf(root.path()).args(&args).output().expect("run -d");
    assert_code(&made, 0);
    let (code, logs) = outcome(root.path(), "victim");
    assert!(logs.contains("rewritten"), "{logs}");
    assert!(
        !logs.contains(SECRET),
        "the restart read the host's file:\n{logs}"
    );
    assert_eq!(code, "125", "{logs}");
    let error = wharf(root.path())
        .args(["inspect", "-f", "{{.State.Error}}", "victim"])
        .output()
        .expect("inspect");
    let error = stdout(&error);
    assert!(
        error.contains("volume /out") && error.contains("no longer the directory"),
        "{error}"
    );
    // It was not started again and again.
    let restarts = wharf(root.path())
        .args(["inspect", "-f", "{{.RestartCount}}", "victim"])
        .output()
        .expect("inspect");
    assert_eq!(stdout(&restarts).trim(), "1");
}

#[test]
fn a_new_run_through_a_link_a_guest_put_in_another_volume_is_refused() {
    let (root, work) = (temp(), temp());
    let (src, out) = nested(work.path());
    let guest = c_guest("rewrite");
    let flags = volumes(&src, &out);
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.push(path_str(&guest));
    let first = wharf(root.path())
        .arg("run")
        .args(&args)
        .output()
        .expect("run");
    assert_eq!(stdout(&first), "rewritten\n");
    // The same flags again: `-v D/src/out:/out` now leads through the link.
    let second = wharf(root.path())
        .arg("run")
        .args(&args)
        .output()
        .expect("run");
    assert_code(&second, 125);
    assert!(!stdout(&second).contains(SECRET), "{}", stdout(&second));
    let said = stderr(&second);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("volume /out") && said.contains("inside volume /src"),
        "{said}"
    );
}

#[test]
fn a_container_made_before_its_volume_was_swapped_refuses_to_start() {
    let (root, work) = (temp(), temp());
    let (src, out) = nested(work.path());
    let guest = c_guest("rewrite");
    let flags = volumes(&src, &out);
    let mut args = vec!["create", "--name", "victim"];
    args.extend(flags.iter().map(String::as_str));
    args.push(path_str(&guest));
    assert_code(&wharf(root.path()).args(&args).output().expect("create"), 0);
    // Another container's guest, with /src alone, rewrites it meanwhile.
    let mut other = vec!["run"];
    other.extend(flags[..2].iter().map(String::as_str));
    other.push(path_str(&guest));
    let rewrote = wharf(root.path()).args(&other).output().expect("run");
    assert_eq!(stdout(&rewrote), "rewritten\n", "{}", stderr(&rewrote));
    let started = wharf(root.path())
        .args(["start", "-a", "victim"])
        .output()
        .expect("start");
    assert!(!stdout(&started).contains(SECRET), "{}", stdout(&started));
    assert_ne!(started.status.code(), Some(0), "{started:?}");
    assert!(
        stderr(&started).contains("no longer the directory"),
        "{}",
        stderr(&started)
    );
    std::thread::sleep(Duration::from_millis(10));
}

/// A volume that holds wharf's state root, or lies in it, is refused before
/// the guest runs: through it a guest could rewrite container records or
/// plant compiled code. A named volume's own directory is given.
#[test]
fn a_volume_that_reaches_wharfs_own_state_is_refused() {
    let dir = temp();
    let state = dir.path().join("state");
    let fs = c_guest("fs");
    // Makes the state root and its directories, as any first command does.
    assert_code(&wharf(&state).arg("ps").output().expect("ps"), 0);
    let canary = state.join("containers").join("canary");
    std::fs::write(&canary, "wharf's\n").expect("canary");
    for host in [
        dir.path().to_owned(),
        state.clone(),
        state.join("containers"),
    ] {
        let target = if host == state.join("containers") {
            "/data/canary"
        } else if host == state {
            "/data/containers/canary"
        } else {
            "/data/state/containers/canary"
        };
        let volume = format!("{}:/data", path_str(&host));
        let refused = wharf(&state)
            .args(["run", "-v", &volume, path_str(&fs), "write", target])
            .output()
            .expect("run");
        assert_code(&refused, 125);
        let text = stderr(&refused);
        assert!(text.contains("wharf's own state"), "{text}");
        assert_eq!(stdout(&refused), "", "the guest never ran");
        assert_eq!(
            std::fs::read_to_string(&canary).expect("canary"),
            "wharf's\n",
            "{volume}: the state is unchanged"
        );
    }
    // A named volume's directory in the state root is the guest's to use.
    let own = state.join("volumes").join("data");
    std::fs::create_dir_all(&own).expect("volume");
    let volume = format!("{}:/data", path_str(&own));
    let given = wharf(&state)
        .args(["run", "-v", &volume, path_str(&fs), "write", "/data/f"])
        .output()
        .expect("run");
    assert_code(&given, 0);
    assert!(own.join("f").exists());
}
