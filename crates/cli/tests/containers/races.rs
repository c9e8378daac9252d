//! Two wharf commands at once: one clear winner, one clear error.

use std::process::Output;

use crate::common::{c_guest, path_str, state_root, stderr};
use crate::support::{detached, ok, wharf_output};

#[test]
fn the_same_name_twice_at_once_has_one_winner() {
    let root = state_root();
    let root = root.path();
    let ticker = c_guest("ticker");
    for round in 0..5 {
        let name = format!("twin{round}");
        let outputs: Vec<Output> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        wharf_output(root, &["run", "-d", "--name", &name, path_str(&ticker)])
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().expect("run")).collect()
        });
        let winners = outputs.iter().filter(|o| o.status.success()).count();
        assert_eq!(winners, 1, "round {round}");
        let loser = outputs
            .iter()
            .find(|o| !o.status.success())
            .expect("a loser");
        assert_eq!(loser.status.code(), Some(125));
        assert!(
            stderr(loser).contains("is in use by container"),
            "{}",
            stderr(loser)
        );
    }
    assert_eq!(
        ok(root, &["ps", "-q"]).lines().count(),
        5,
        "the losers left nothing"
    );
    let all: Vec<String> = (0..5).map(|r| format!("twin{r}")).collect();
    let mut rm = vec!["rm", "-f"];
    rm.extend(all.iter().map(String::as_str));
    ok(root, &rm);
}

#[test]
fn rm_while_stopping_gives_one_clear_answer() {
    let root = state_root();
    let root = root.path();
    detached(root, "contested", &[], &c_guest("ticker"));
    let (stopped, removed) = std::thread::scope(|scope| {
        let stop = scope.spawn(|| wharf_output(root, &["stop", "contested"]));
        let rm = scope.spawn(|| wharf_output(root, &["rm", "contested"]));
        (stop.join().expect("stop"), rm.join().expect("rm"))
    });
    assert!(stopped.status.success(), "stop: {}", stderr(&stopped));
    if removed.status.success() {
        // rm came after the stop: the container is gone.
        assert_eq!(ok(root, &["ps", "-a", "-q"]), "");
    } else {
        let message = stderr(&removed);
        assert!(
            message.contains("is busy") || message.contains("is running"),
            "rm: {message}"
        );
        assert_eq!(message.lines().count(), 1);
        assert!(ok(root, &["ps", "-a"]).contains("Exited (143)"));
        ok(root, &["rm", "contested"]);
    }
}
