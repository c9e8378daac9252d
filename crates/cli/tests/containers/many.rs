//! Fifty detached containers at once, then `ps` and `rm -f`.

use std::time::Duration;

use crate::common::{c_guest, path_str, state_root};
use crate::support::{alive, eventually, ok};

#[test]
fn fifty_detached_containers_are_listed_and_removed() {
    let root = state_root();
    let root = root.path();
    let ticker = c_guest("ticker");
    let started: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..50)
            .map(|i| {
                let (name, ticker) = (format!("c{i}"), path_str(&ticker).to_owned());
                scope.spawn(move || ok(root, &["run", "-d", "--name", &name, &ticker]))
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("run -d"))
            .collect()
    });
    assert_eq!(started.len(), 50);
    let listed = ok(root, &["ps", "-q", "--no-trunc"]);
    let mut ids: Vec<&str> = listed.lines().collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = started.iter().map(|s| s.trim()).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let table = ok(root, &["ps"]);
    assert_eq!(
        table.lines().filter(|l| l.contains("Up ")).count(),
        50,
        "{table}"
    );

    let pids: Vec<u64> = ids
        .iter()
        .map(|id| {
            let text = ok(root, &["inspect", id]);
            let state: serde_json::Value = serde_json::from_str(&text).expect("json");
            state[0]["State"]["Pid"].as_u64().expect("pid")
        })
        .collect();
    let mut rm = vec!["rm", "-f"];
    rm.extend(ids.iter().copied());
    assert_eq!(ok(root, &rm).lines().count(), 50);
    assert_eq!(ok(root, &["ps", "-a", "-q"]), "");
    eventually(Duration::from_secs(10), "every supervisor gone", || {
        pids.iter().all(|pid| !alive(*pid))
    });
}
