//! Inputs the fuzz targets in `fuzz/` found crashing, one test each, named
//! after what the fix stops. Each input is also in `fuzz/corpus/`.

use std::fs;

use wharf_lifecycle::containers::logs;

/// fuzz/corpus/log_lines/crash-not-utf8-line-hides-the-rest (found by
/// `log_lines`): one line of a log that is not UTF-8 (a write cut short,
/// then appended to) ended the reading of its file, so `wharf logs`
/// showed none of the lines after it.
#[test]
fn a_line_that_is_not_utf8_does_not_hide_the_lines_after_it() {
    let found = include_bytes!("../../../fuzz/corpus/log_lines/crash-not-utf8-line-hides-the-rest");
    // As the fuzz target lays it out: container.log.2, .1, the current log.
    let mut parts = found.splitn(4, |b| *b == 0);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("container.log");
    for name in ["container.log.2", "container.log.1", "container.log"] {
        let part = parts.next().unwrap_or_default();
        fs::write(dir.path().join(name), part).expect("write log");
    }
    let texts: Vec<String> = logs::read_all(&path, 2)
        .expect("read")
        .into_iter()
        .map(|entry| entry.log)
        .collect();
    assert_eq!(texts, ["a\n", "b\n", "c\n"]);
}

/// fuzz/corpus/log_lines/crash-year-past-systemtime and
/// crash-year-overflows-days (seen reading `parse_rfc3339` for the
/// `log_lines` target, which then crashed on them): a log entry, record or
/// state, or `logs --since`, with the year 300000000000 panicked adding
/// the seconds to the epoch, and with a 19-digit year overflowed the day
/// count (a panic in debug builds, a wrong time in release).
#[test]
fn times_with_years_past_9999_are_refused_not_a_panic() {
    use wharf_lifecycle::containers::time::parse_rfc3339;
    for input in [
        &include_bytes!("../../../fuzz/corpus/log_lines/crash-year-past-systemtime")[..],
        &include_bytes!("../../../fuzz/corpus/log_lines/crash-year-overflows-days")[..],
    ] {
        let line = input.strip_prefix(b"\0\0").expect("the current log only");
        let entry: logs::Entry = serde_json::from_slice(line).expect("an entry");
        assert_eq!(parse_rfc3339(&entry.time), None, "{}", entry.time);
    }
    assert!(parse_rfc3339("9999-12-30T00:00:00Z").is_some()); // jiff's range ends on 9999-12-30
}

/// fuzz/corpus/container_record/crash-billions-of-log-files (seen reading
/// `read_all` for the `container_record` target, which then timed out on
/// it): a record keeping 4294967295 log files (`--log-opt
/// max-file=4294967295` writes one) made `wharf logs` probe every number
/// for a rotated file, and the supervisor's every rotation rename each.
#[test]
fn a_record_keeping_billions_of_log_files_reads_and_rotates_at_once() {
    use wharf_lifecycle::containers::Containers;
    use wharf_lifecycle::containers::logs::LogWriter;

    let found = include_bytes!("../../../fuzz/corpus/container_record/crash-billions-of-log-files");
    let mut parts = found.splitn(3, |b| *b == 0);
    let (record, state) = (parts.next().expect("record"), parts.next().expect("state"));
    let id = "0123456789abcdef".repeat(4);
    let dir = tempfile::tempdir().expect("dir");
    let store = Containers::open(dir.path().to_owned()).expect("store");
    fs::create_dir(dir.path().join(&id)).expect("container");
    fs::write(dir.path().join(&id).join("record.json"), record).expect("record");
    fs::write(dir.path().join(&id).join("state.json"), state).expect("state");
    let container = store.find(&id).expect("find");
    let kept = container.record.log.rotated();
    assert_eq!(kept, u32::MAX - 1);
    let log = container.log_path();
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut writer = LogWriter::open(&log, 1, kept).expect("open");
        for text in ["one\n", "two\n", "three\n"] {
            writer.write("stdout", text.as_bytes()).expect("write");
        }
        let _ = done.send(logs::read_all(&log, kept).expect("read"));
    });
    let entries = wait
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("writing and reading end");
    let texts: Vec<&str> = entries.iter().map(|e| e.log.as_str()).collect();
    assert_eq!(texts, ["one\n", "two\n", "three\n"]);
}
