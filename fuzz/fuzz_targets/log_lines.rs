//! Containers' json-file logs (`containers::logs`). Input: the rotated
//! file `container.log.2`, a NUL, `container.log.1`, a NUL, the current
//! `container.log`, a NUL, bytes appended to it once it is being followed.
//! Nothing panics; every line that is an entry on its own is read, in
//! order, whatever the lines around it; entry times and the input's
//! first line are read as `logs --since` reads them; and what `pump`
//! writes reads back as it was.
#![no_main]

use std::fs;
use std::io::Write as _;
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use wharf_lifecycle::containers::logs::{self, Entry, LogWriter};
use wharf_lifecycle::containers::time;

/// The entries among `bytes`' lines, each judged on its own.
fn entries(bytes: &[u8]) -> Vec<Entry> {
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Entry>(line).ok())
        .collect()
}

/// The length of `bytes` up to the end of its last complete line.
fn complete_lines(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |end| end + 1)
}

fuzz_target!(|data: &[u8]| {
    // `logs --since` reads a time from the command line as well.
    if let Ok(text) = std::str::from_utf8(data.split(|b| *b == b'\n').next().unwrap_or_default()) {
        let _ = time::parse_rfc3339(text);
    }
    let mut parts = data.splitn(4, |b| *b == 0);
    let old = parts.next().unwrap_or_default();
    let older = parts.next().unwrap_or_default();
    let current = parts.next().unwrap_or_default();
    let appended = parts.next().unwrap_or_default();
    let dir = wharf_fuzz::fresh_dir();
    let path = dir.path().join("container.log");
    fs::write(dir.path().join("container.log.2"), old).expect("write log");
    fs::write(dir.path().join("container.log.1"), older).expect("write log");
    fs::write(&path, current).expect("write log");

    let (read, mut follower) = logs::read_and_follow(&path, 2).expect("read log");
    let mut expected = entries(old);
    expected.extend(entries(older));
    // The current file's last line counts once it ends.
    let read_to = complete_lines(current);
    expected.extend(entries(&current[..read_to]));
    assert_eq!(read, expected, "entries read from the log");
    for entry in &read {
        let _ = time::parse_rfc3339(&entry.time);
    }
    fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(appended))
        .expect("append");
    let mut all = current.to_vec();
    all.extend_from_slice(appended);
    assert_eq!(
        follower.next_entries(),
        entries(&all[read_to..complete_lines(&all)]),
        "entries followed after an append"
    );

    // What a guest prints is what the log gives back.
    let log = dir.path().join("pumped.log");
    let writer = Mutex::new(LogWriter::open(&log, 1 << 20, 1).expect("open log"));
    logs::pump(data, "stdout", &writer).expect("pump");
    let back: String = logs::read_all(&log, 1)
        .expect("read pumped log")
        .into_iter()
        .map(|entry| {
            assert_eq!(entry.stream, "stdout");
            assert!(time::parse_rfc3339(&entry.time).is_some(), "{}", entry.time);
            entry.log
        })
        .collect();
    assert_eq!(back, String::from_utf8_lossy(data), "pumped output");
});
