//! The real registry (`docker-registry`, CNCF distribution), on loopback.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `docker-registry` package puts the server.
const BINARY: &str = "/usr/bin/docker-registry";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A CNCF distribution registry serving plain HTTP on `127.0.0.1` (or
/// HTTPS, see [`TestRegistry::start_tls`]), storing into a temporary
/// directory; killed when dropped.
#[derive(Debug)]
pub struct TestRegistry {
    child: Child,
    address: String,
    tls: bool,
    dir: tempfile::TempDir,
}

/// How the registry listens.
struct Listen<'a> {
    ip: &'a str,
    /// Certificate and key files (PEM) for HTTPS.
    tls: Option<(&'a Path, &'a Path)>,
}

impl TestRegistry {
    /// Starts an open registry (no authentication).
    ///
    /// # Panics
    /// When `docker-registry` is not installed, or does not come up.
    pub fn start() -> TestRegistry {
        Self::launch(None, PLAIN)
    }

    /// Starts an open registry serving HTTPS on the loopback address `ip`
    /// with the certificate and key in `certificate` and `key` (PEM).
    ///
    /// # Panics
    /// When `docker-registry` is not installed, or does not come up.
    pub fn start_tls(ip: &str, certificate: &Path, key: &Path) -> TestRegistry {
        let listen = Listen {
            ip,
            tls: Some((certificate, key)),
        };
        Self::launch(None, listen)
    }

    /// Starts a registry that demands HTTP basic authentication, with one
    /// user in an htpasswd file (bcrypt, made by `htpasswd -Bbn`).
    ///
    /// # Panics
    /// When `docker-registry` or `htpasswd` is not installed, or the
    /// registry does not come up.
    pub fn start_with_auth(user: &str, password: &str) -> TestRegistry {
        Self::launch(Some((user, password)), PLAIN)
    }

    /// `IP:PORT` (`127.0.0.1:PORT` unless started elsewhere), as a
    /// registry name for references and clients.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `http://IP:PORT`, or `https://` for a TLS registry.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// The directory the registry stores its content in.
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    fn launch(auth: Option<(&str, &str)>, listen: Listen<'_>) -> TestRegistry {
        if !Path::new(BINARY).is_file() {
            panic!(
                "{BINARY} is missing: install the Debian package `docker-registry` \
                 (apt-get install docker-registry) to run the registry tests"
            );
        }
        let dir = tempfile::tempdir().expect("temporary directory for the test registry");
        let auth_section = match auth {
            Some((user, password)) => {
                let htpasswd = dir.path().join("htpasswd");
                fs::write(&htpasswd, htpasswd_line(user, password)).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: wharf-test\n    path: {}\n",
                    htpasswd.display()
                )
            }
            None => String::new(),
        };
        // The port is picked by binding to port 0 and letting go; another
        // process could take it in between, so a failed start is retried.
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let port = free_port(listen.ip);
            let address = format!("{}:{port}", listen.ip);
            let tls_section = match listen.tls {
                Some((certificate, key)) => format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    certificate.display(),
                    key.display()
                ),
                None => String::new(),
            };
            let config = dir.path().join("config.yml");
            let yaml = format!(
                "version: 0.1\n\
                 log:\n  level: error\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
                 http:\n  addr: {address}\n{tls_section}\
                 {auth_section}",
                storage = dir.path().join("storage").display(),
            );
            fs::write(&config, yaml).expect("write registry config");
            let log_path = dir.path().join("registry.log");
            let log = fs::File::create(&log_path).expect("registry log file");
            let err = log.try_clone().expect("registry log file");
            let mut child = Command::new(BINARY)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
            let deadline = Instant::now() + STARTUP_TIMEOUT;
            loop {
                let up = match listen.tls {
                    Some(_) => answers_http(&address),
                    None => answers_v2(&address),
                };
                if up {
                    return TestRegistry {
                        child,
                        address,
                        tls: listen.tls.is_some(),
                        dir,
                    };
                }
                if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_log = fs::read_to_string(&log_path).unwrap_or_default();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!(
            "{BINARY} did not come up on {}; its log:\n{last_log}",
            listen.ip
        );
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn htpasswd_line(user: &str, password: &str) -> Vec<u8> {
    let output = Command::new("htpasswd")
        .args(["-Bbn", user, password])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run htpasswd ({e}): install the Debian package `apache2-utils`")
        });
    assert!(
        output.status.success(),
        "htpasswd failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

const PLAIN: Listen<'static> = Listen {
    ip: "127.0.0.1",
    tls: None,
};

fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Whether something answers HTTP on `address` at all: a TLS server
/// answers a plain request with 400, which shows it is up.
fn answers_http(address: &str) -> bool {
    status_of_v2(address).is_some()
}

/// Whether something answers `GET /v2/` with 200 or 401.
fn answers_v2(address: &str) -> bool {
    status_of_v2(address).is_some_and(|status| status == "200" || status == "401")
}

/// The status of a plain `GET /v2/`, if anything answers.
fn status_of_v2(address: &str) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /v2/ HTTP/1.0\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    head.starts_with(b"HTTP/1.")
        .then(|| String::from_utf8_lossy(&head[9..12]).into_owned())
}
