//! A served `wharf run -p` and the client side of the tests.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common;

/// The test service as a component (tests/guests/http-service).
pub fn service() -> PathBuf {
    common::bindgen_component("http-service", "service.c", "service")
}

/// `wharf run -p 127.0.0.1:0:8080 FLAGS PROGRAM` in the background.
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    stderr: Arc<Mutex<String>>,
    _root: Option<tempfile::TempDir>,
}

impl Served {
    pub fn start(flags: &[&str], program: &Path) -> Served {
        let root = common::temp();
        let mut args = vec!["-p", "127.0.0.1:0:8080"];
        args.extend_from_slice(flags);
        args.push(common::path_str(program));
        let mut served = Served::start_in(root.path(), &args);
        served._root = Some(root);
        served
    }

    /// `wharf run ARGS` with the state directory `root`, once it says
    /// where it serves.
    pub fn start_in(root: &Path, args: &[&str]) -> Served {
        let mut child = common::wharf(root)
            .arg("run")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wharf run -p");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (first, line) = mpsc::channel();
        {
            let pipe = child.stderr.take().expect("stderr");
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                for text in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = first.send(text.clone());
                    let mut all = stderr.lock().expect("stderr");
                    all.push_str(&text);
                    all.push('\n');
                }
            });
        }
        // Pulling an image prints first: wait for the line that says where.
        let deadline = Instant::now() + Duration::from_secs(120);
        let announced = std::iter::from_fn(|| {
            line.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .ok()
        })
        .find(|text| text.starts_with("Serving HTTP on "));
        let Some(announced) = announced else {
            let _ = child.kill();
            panic!(
                "wharf did not say where it serves; stderr:\n{}",
                stderr.lock().expect("stderr")
            );
        };
        let base = announced
            .strip_prefix("Serving HTTP on ")
            .and_then(|url| url.strip_suffix('/'))
            .unwrap_or_else(|| panic!("announced: {announced}"))
            .to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Served {
            child,
            base,
            stderr,
            _root: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port` of the listener.
    pub fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Waits (at most `limit`) for wharf to exit; returns its status and
    /// its stdout.
    pub fn wait(&mut self, limit: Duration) -> (ExitStatus, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let mut stdout = String::new();
                if let Some(mut pipe) = self.child.stdout.take() {
                    let _ = pipe.read_to_string(&mut stdout);
                }
                return (status, stdout);
            }
            assert!(
                started.elapsed() < limit,
                "wharf still runs after {limit:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response, as curl saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: String,
}

/// `curl ARGS URL`: the status, the body and the headers.
pub fn curl(url: &str, args: &[&str]) -> Reply {
    let dir = common::temp();
    let headers = dir.path().join("headers");
    let output = std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "60",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-D",
        ])
        .arg(&headers)
        .args(args)
        .arg(url)
        .output()
        .expect("run curl (scripts/test installs it)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("curl's status line");
    Reply {
        status: status.trim().parse().unwrap_or(0),
        body: body.to_owned(),
        headers: std::fs::read_to_string(&headers).unwrap_or_default(),
    }
}

pub fn get(served: &Served, path: &str) -> Reply {
    curl(&served.url(path), &[])
}

/// A plain HTTP server on loopback that answers every request with 200
/// and `body`, for outgoing requests; returns its port and how many
/// connections it has had.
pub fn upstream(body: &'static str) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
    let port = listener.local_addr().expect("address").port();
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                use std::io::Write as _;
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            });
        }
    });
    (port, hits)
}
