//! A container's output, kept as Docker's json-file driver keeps it: one
//! JSON object per line of output, `{"log":"text\n","stream":"stdout",
//! "time":"2026-…Z"}`, stdout and stderr apart by `stream`. The file is
//! rotated at a size (`container.log` → `container.log.1` → …), so a
//! chatty guest cannot fill the disk; the log outlives the supervisor.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::time;

/// Size at which the log is rotated.
pub const MAX_SIZE: u64 = 10 << 20;
/// Rotated files kept beside the current one.
pub const KEPT: u32 = 2;
/// Longest piece of a line kept in one entry; longer lines are split.
const LONGEST_ENTRY: usize = 16 << 10;

/// One piece of output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The text, with its newline when it ended a line.
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// When the supervisor read it (RFC 3339, UTC).
    pub time: String,
}

/// Writes entries to a log, rotating it at a size.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    kept: u32,
}

impl LogWriter {
    /// Appends to the log at `path` (made 0600 if missing).
    pub fn open(path: &Path, max_size: u64, kept: u32) -> std::io::Result<LogWriter> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            path: path.to_owned(),
            file,
            size,
            max_size,
            kept,
        })
    }

    /// Writes one entry of `text` read from `stream` now.
    pub fn write(&mut self, stream: &str, text: &[u8]) -> std::io::Result<()> {
        let entry = Entry {
            log: String::from_utf8_lossy(text).into_owned(),
            stream: stream.to_owned(),
            time: time::rfc3339(SystemTime::now()),
        };
        let mut line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        if self.size > 0 && self.size + line.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(&line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        for n in rotated(&self.path, self.kept.saturating_sub(1)) {
            let _ = fs::rename(numbered(&self.path, n), numbered(&self.path, n + 1));
        }
        if self.kept == 0 {
            fs::remove_file(&self.path)?;
        } else {
            fs::rename(&self.path, numbered(&self.path, 1))?;
        }
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The numbers of the rotated files of `path` that exist, at most `kept`,
/// oldest (highest) first: listed, not probed one by one, since `kept`
/// comes from a record and may be in the billions.
fn rotated(path: &Path, kept: u32) -> Vec<u32> {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return Vec::new();
    };
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut numbers: Vec<u32> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name();
            let suffix = file.to_str()?.strip_prefix(name)?.strip_prefix('.')?;
            let n: u32 = suffix.parse().ok()?;
            (n.to_string() == suffix && (1..=kept).contains(&n)).then_some(n)
        })
        .collect();
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    numbers
}

/// Reads `from` until its end, writing each line (or piece of a long one)
/// as an entry of `stream`.
pub fn pump(mut from: impl Read, stream: &str, to: &Mutex<LogWriter>) -> std::io::Result<()> {
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = [0u8; 8192];
    let emit = |text: &[u8]| -> std::io::Result<()> {
        to.lock()
            .map_err(|_| std::io::Error::other("log writer poisoned"))?
            .write(stream, text)
    };
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        pending.extend_from_slice(&buffer[..read]);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            emit(&pending[..=end])?;
            pending.drain(..=end);
        }
        while pending.len() >= LONGEST_ENTRY {
            emit(&pending[..LONGEST_ENTRY])?;
            pending.drain(..LONGEST_ENTRY);
        }
    }
    if !pending.is_empty() {
        emit(&pending)?;
    }
    Ok(())
}

/// Every entry of the log at `path`, rotated files first, oldest first;
/// lines that are not entries (a write cut short) are skipped.
pub fn read_all(path: &Path, kept: u32) -> std::io::Result<Vec<Entry>> {
    read_and_follow(path, kept).map(|(entries, _)| entries)
}

/// Like [`read_all`], and a [`Follower`] that goes on exactly where this
/// reading of the current file stopped: no entry is missed or seen twice.
pub fn read_and_follow(path: &Path, kept: u32) -> std::io::Result<(Vec<Entry>, Follower)> {
    // The current file first: a rotation meanwhile renames it, and this
    // handle still reads it to its end.
    let mut follower = Follower::from_start(path)?;
    let mut entries = Vec::new();
    for n in rotated(path, kept) {
        if let Ok(file) = File::open(numbered(path, n)) {
            entries.extend(parse_lines(BufReader::new(file)));
        }
    }
    entries.extend(follower.next_entries());
    Ok((entries, follower))
}

/// Each line judged on its own: one that is not UTF-8 is skipped like any
/// other line that is not an entry, and the lines after it still count.
fn parse_lines(reader: impl BufRead) -> impl Iterator<Item = Entry> {
    reader
        .split(b'\n')
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_slice(&line).ok())
}

/// Reads what is appended to a log, across rotations.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    inode: u64,
    position: u64,
    partial: Vec<u8>,
}

impl Follower {
    /// Follows the log at `path` from its start (a log not yet written
    /// is followed from when it appears).
    fn from_start(path: &Path) -> std::io::Result<Follower> {
        let mut follower = Follower {
            path: path.to_owned(),
            file: None,
            inode: 0,
            position: 0,
            partial: Vec::new(),
        };
        match File::open(path) {
            Ok(file) => {
                follower.inode = file.metadata()?.ino();
                follower.file = Some(file);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        Ok(follower)
    }

    /// Entries appended since the last call (none when nothing new).
    pub fn next_entries(&mut self) -> Vec<Entry> {
        let mut entries = self.read_new();
        // Rotated: finish the old file (done above), then start the new.
        let current = fs::metadata(&self.path).map(|m| m.ino()).ok();
        if let Some(inode) = current.filter(|inode| *inode != self.inode)
            && let Ok(file) = File::open(&self.path)
        {
            self.inode = inode;
            self.position = 0;
            self.partial.clear();
            self.file = Some(file);
            entries.extend(self.read_new());
        }
        entries
    }

    fn read_new(&mut self) -> Vec<Entry> {
        let Some(file) = &mut self.file else {
            return Vec::new();
        };
        let mut fresh = Vec::new();
        if file.seek(SeekFrom::Start(self.position)).is_err()
            || file.read_to_end(&mut fresh).is_err()
        {
            return Vec::new();
        }
        self.position += fresh.len() as u64;
        self.partial.extend_from_slice(&fresh);
        let Some(last) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let complete: Vec<u8> = self.partial.drain(..=last).collect();
        parse_lines(complete.as_slice()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(dir: &Path, max: u64) -> Mutex<LogWriter> {
        Mutex::new(LogWriter::open(&dir.join("container.log"), max, 2).expect("open"))
    }

    #[test]
    fn lines_become_entries_with_their_stream() {
        let dir = tempfile::tempdir().expect("dir");
        let log = writer(dir.path(), MAX_SIZE);
        pump(&b"one\ntwo\nunfinished"[..], "stdout", &log).expect("pump");
        pump(&b"oops\n"[..], "stderr", &log).expect("pump");
        let entries = read_all(&dir.path().join("container.log"), 2).expect("read");
        let texts: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.stream.as_str(), e.log.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                ("stdout", "one\n"),
                ("stdout", "two\n"),
                ("stdout", "unfinished"),
                ("stderr", "oops\n")
            ]
        );
        assert!(
            entries
                .iter()
                .all(|e| time::parse_rfc3339(&e.time).is_some())
        );
    }

    #[test]
    fn a_long_line_is_split_and_bytes_that_are_not_utf8_survive_lossily() {
        let dir = tempfile::tempdir().expect("dir");
        let log = writer(dir.path(), MAX_SIZE);
        let mut long = vec![b'x'; LONGEST_ENTRY + 10];
        long.extend_from_slice(b"\xff\n");
        pump(long.as_slice(), "stdout", &log).expect("pump");
        let entries = read_all(&dir.path().join("container.log"), 2).expect("read");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].log.len(), LONGEST_ENTRY);
        assert_eq!(entries[1].log, "xxxxxxxxxx\u{fffd}\n");
    }

    #[test]
    fn rotation_keeps_the_log_under_its_size_limit() {
        let dir = tempfile::tempdir().expect("dir");
        let log = writer(dir.path(), 4096);
        let lines: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        pump(lines.as_bytes(), "stdout", &log).expect("pump");
        let path = dir.path().join("container.log");
        let mut total = 0;
        for file in [path.clone(), numbered(&path, 1), numbered(&path, 2)] {
            let size = fs::metadata(&file).expect("rotated file").len();
            assert!(size <= 4096, "{} is {size} bytes", file.display());
            total += size;
        }
        assert!(
            !numbered(&path, 3).exists(),
            "only two rotated files are kept"
        );
        let entries = read_all(&path, 2).expect("read");
        assert_eq!(entries.last().map(|e| e.log.as_str()), Some("line 999\n"));
        assert!(
            entries.len() < 1000,
            "the oldest lines went with the rotation"
        );
        assert!(total <= 3 * 4096);
    }

    #[test]
    fn a_follower_sees_new_entries_across_a_rotation() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("container.log");
        let log = writer(dir.path(), 300);
        pump(&b"before\n"[..], "stdout", &log).expect("pump");
        let (read, mut follower) = read_and_follow(&path, 2).expect("read");
        assert_eq!(read.len(), 1, "what was there is read once");
        assert!(follower.next_entries().is_empty(), "and not again");
        pump(&b"a\nb\nc\n"[..], "stdout", &log).expect("pump");
        let texts: Vec<String> = follower.next_entries().into_iter().map(|e| e.log).collect();
        assert_eq!(texts.concat(), "a\nb\nc\n");
        pump(&b"d\ne\nf\n"[..], "stderr", &log).expect("pump");
        let texts: Vec<String> = follower.next_entries().into_iter().map(|e| e.log).collect();
        assert_eq!(texts.concat(), "d\ne\nf\n", "across a rotation");
    }

    #[test]
    fn a_log_not_yet_written_is_followed_from_when_it_appears() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("container.log");
        let (read, mut follower) = read_and_follow(&path, 2).expect("no log yet");
        assert!(read.is_empty());
        let log = writer(dir.path(), MAX_SIZE);
        pump(&b"first\n"[..], "stdout", &log).expect("pump");
        let texts: Vec<String> = follower.next_entries().into_iter().map(|e| e.log).collect();
        assert_eq!(texts, ["first\n"]);
    }
}
