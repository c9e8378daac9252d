//! Errors as runc reports them: a line on stderr, and a line in the
//! `--log` file (`{"level":"error","msg":...,"time":...}` with
//! `--log-format json`, logrus's text format otherwise), which is where
//! containerd's shim and conmon look for the reason a command failed.

use std::io::Write as _;
use std::path::PathBuf;

/// Where an invocation's errors go.
#[derive(Debug, Clone)]
pub struct Log {
    file: Option<PathBuf>,
    json: bool,
}

impl Log {
    /// Errors to stderr and to `file` (JSON lines when `json`).
    pub fn new(file: Option<PathBuf>, json: bool) -> Log {
        Log { file, json }
    }

    /// Reports `message` as an error.
    pub fn error(&self, message: &str) {
        eprintln!("wharf-runc: {message}");
        let Some(path) = &self.file else {
            return;
        };
        let line = self.line(message, &jiff::Timestamp::now().to_string());
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(error) = written {
            eprintln!(
                "wharf-runc: cannot write the log {}: {error}",
                path.display()
            );
        }
    }

    fn line(&self, message: &str, time: &str) -> String {
        if self.json {
            let line = serde_json::json!({"level": "error", "msg": message, "time": time});
            format!("{line}\n")
        } else {
            // logrus quotes values with Go's %q; JSON string escaping agrees
            // for everything a message holds.
            let quoted = serde_json::Value::from(message).to_string();
            format!("time=\"{time}\" level=error msg={quoted}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_level_message_and_time() {
        let log = Log::new(None, true);
        let line = log.line("bad \"x\"", "2026-12-01T00:00:00Z");
        let parsed: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(parsed["level"], "error");
        assert_eq!(parsed["msg"], "bad \"x\"");
        assert_eq!(parsed["time"], "2026-12-01T00:00:00Z");
        assert!(line.ends_with('\n'));
    }

    #[test]
    fn text_lines_are_logrus_shaped() {
        let log = Log::new(None, false);
        assert_eq!(
            log.line("no \"file\"", "T"),
            "time=\"T\" level=error msg=\"no \\\"file\\\"\"\n"
        );
    }

    #[test]
    fn errors_are_appended_to_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("log.json");
        std::fs::write(&path, "{\"level\":\"info\"}\n").expect("seed");
        Log::new(Some(path.clone()), true).error("one");
        Log::new(Some(path.clone()), true).error("two");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[2].contains("\"msg\":\"two\""), "{text}");
    }
}
