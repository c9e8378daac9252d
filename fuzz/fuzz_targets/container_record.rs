//! Detached containers' records and states as the store reads them
//! (`Containers::list` and `find`), and what `ps`, `inspect` and `logs`
//! then do with them. Input: `record.json`, a NUL, `state.json`, a NUL,
//! the content of the name file `names/web`. Nothing panics or hangs.
#![no_main]

use std::fs;

use libfuzzer_sys::fuzz_target;
use wharf_lifecycle::containers::{Container, Containers, RestartPolicy, logs, time};

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn look_at(container: &Container) {
    let record = &container.record;
    for at in [Some(&record.created), container.state.started_at.as_ref()]
        .into_iter()
        .chain([container.state.finished_at.as_ref()])
        .flatten()
    {
        let _ = time::parse_rfc3339(at);
    }
    let _ = record.run.spec();
    let label = record.restart.label();
    assert_eq!(
        RestartPolicy::parse(&label).ok(),
        Some(record.restart),
        "restart policy `{label}` does not parse back"
    );
    let _ = container.state.status.label();
    let _ = container.label();
    let _ = wharf_lifecycle::containers::validate_name(&record.name);
    let _ = logs::read_all(&container.log_path(), record.log.rotated());
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let record = parts.next().unwrap_or_default();
    let state = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or(ID.as_bytes());
    let root = wharf_fuzz::fresh_dir();
    let store = Containers::open(root.path().to_owned()).expect("store");
    let dir = root.path().join(ID);
    fs::create_dir(&dir).expect("container dir");
    fs::write(dir.join("record.json"), record).expect("record");
    fs::write(dir.join("state.json"), state).expect("state");
    fs::write(
        dir.join("container.log"),
        b"{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}\n",
    )
    .expect("log");
    fs::write(root.path().join("names/web"), name).expect("name");
    let (containers, _damaged) = store.list().expect("list");
    containers.iter().for_each(look_at);
    for query in [ID, "0123", "web", "WEB", ""] {
        if let Ok(container) = store.find(query) {
            look_at(&container);
        }
    }
});
