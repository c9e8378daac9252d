//! The shim's daemon without containerd: started by the shim's own
//! `start`, talked to over ttrpc as containerd would, with a stand-in for
//! containerd's gRPC socket that accepts connections and answers nothing
//! until told to let go (so a Create that reads from containerd waits).

#![allow(dead_code)]

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use containerd_shim_protos::TaskClient;
use containerd_shim_protos::api::{ConnectRequest, CreateTaskRequest, Mount};
use containerd_shim_protos::ttrpc::{self, Code};

/// A containerd socket that holds every connection, unanswered.
pub struct SilentContainerd {
    pub socket: PathBuf,
    held: Arc<Mutex<Vec<UnixStream>>>,
    holding: Arc<AtomicBool>,
}

impl SilentContainerd {
    pub fn listen(socket: PathBuf) -> SilentContainerd {
        let listener = UnixListener::bind(&socket).expect("bind the containerd stand-in");
        let held = Arc::new(Mutex::new(Vec::new()));
        let holding = Arc::new(AtomicBool::new(true));
        let (keep, hold) = (held.clone(), holding.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if hold.load(Ordering::SeqCst) {
                    keep.lock().expect("held").push(stream);
                }
            }
        });
        SilentContainerd {
            socket,
            held,
            holding,
        }
    }

    /// How many connections it holds.
    pub fn connections(&self) -> usize {
        self.held.lock().expect("held").len()
    }

    /// Closes every connection, and each new one at once.
    pub fn let_go(&self) {
        self.holding.store(false, Ordering::SeqCst);
        self.held.lock().expect("held").clear();
    }
}

/// A daemon of the shim, for one namespace of a containerd stand-in.
/// On drop, it is killed and cleaned up after (see
/// [`Daemon::kill_and_clean_up`]), so a failed test leaves none behind.
pub struct Daemon {
    pub containerd: SilentContainerd,
    pub address: String,
    namespace: String,
    pid: u32,
    work: PathBuf,
    bundle: PathBuf,
    gone: std::cell::Cell<bool>,
}

impl Daemon {
    /// Starts a daemon with `start` for a container in `bundle`; `work` is
    /// a directory for the stand-in's socket and the daemon's cache.
    pub fn start(work: &Path, bundle: &Path) -> Daemon {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let namespace = format!(
            "wharf-regression-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let containerd = SilentContainerd::listen(work.join("containerd.sock"));
        let mut daemon = Daemon {
            containerd,
            address: String::new(),
            namespace,
            pid: 0,
            work: work.to_owned(),
            bundle: bundle.to_owned(),
            gone: std::cell::Cell::new(false),
        };
        let started = daemon.shim(bundle, "start");
        assert!(started.status.success(), "start: {started:?}");
        daemon.address = String::from_utf8(started.stdout).expect("an address");
        daemon.pid = daemon
            .client()
            .connect(ttrpc::context::with_timeout(0), &ConnectRequest::default())
            .expect("Connect")
            .shim_pid;
        daemon
    }

    /// Runs the shim binary with containerd's flags and `action`.
    pub fn shim(&self, bundle: &Path, action: &str) -> Output {
        Command::new(super::common::shim_binary())
            .args(["-namespace", &self.namespace, "-address"])
            .arg(&self.containerd.socket)
            .args([
                "-publish-binary",
                "/bin/true",
                "-id",
                "regression",
                "-bundle",
            ])
            .arg(bundle)
            .arg(action)
            .env("WHARF_ROOT", self.work.join("wharf"))
            .output()
            .expect("run the shim")
    }

    /// A new connection to the daemon.
    pub fn client(&self) -> TaskClient {
        TaskClient::new(ttrpc::Client::connect(&self.address).expect("connect to the daemon"))
    }

    /// Kills the daemon (as if it died) and runs containerd's clean-up
    /// after it, the shim's `delete`, for its bundle.
    pub fn kill_and_clean_up(&self) -> Output {
        self.gone.set(true);
        // SAFETY: kill has no memory effects; the pid is the daemon's,
        // which this test started.
        unsafe { libc::kill(self.pid as i32, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{}", self.pid)).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.shim(&self.bundle, "delete")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if !self.gone.get() && self.pid > 1 {
            self.kill_and_clean_up();
        }
    }
}

/// A Create of container `id` in `bundle` with `source` bind-mounted as
/// its rootfs, as containerd sends it.
pub fn create_request(id: &str, bundle: &Path, source: &Path) -> CreateTaskRequest {
    CreateTaskRequest {
        id: id.to_owned(),
        bundle: bundle.display().to_string(),
        rootfs: vec![Mount {
            type_: "bind".to_owned(),
            source: source.display().to_string(),
            options: vec!["rbind".to_owned(), "rw".to_owned()],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Writes `bundle/config.json` running `program` from `root_path`.
pub fn write_config(bundle: &Path, root_path: &str, program: &str) {
    std::fs::create_dir_all(bundle).expect("bundle");
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": { "args": [program], "cwd": "/" },
        "root": { "path": root_path },
    });
    std::fs::write(bundle.join("config.json"), config.to_string()).expect("config.json");
}

/// The code of a failed call.
#[track_caller]
pub fn code_of<T: std::fmt::Debug>(result: ttrpc::Result<T>) -> (Code, String) {
    match result {
        Err(ttrpc::Error::RpcStatus(status)) => (status.code(), status.message),
        other => panic!("not an RPC status: {other:?}"),
    }
}

/// How many mounts are on `path` (per /proc/self/mountinfo).
pub fn mounts_on(path: &Path) -> usize {
    let wanted = path.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .filter(|line| line.split(' ').nth(4) == Some(wanted.as_str()))
        .count()
}

/// Waits until nothing is mounted on `path`.
#[track_caller]
pub fn wait_unmounted(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while mounts_on(path) > 0 {
        assert!(
            Instant::now() < deadline,
            "{} stays mounted",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Unmounts each path on drop, so that a failed test leaves no mount.
pub struct Unmount(pub Vec<PathBuf>);

impl Drop for Unmount {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = wharf_lifecycle::unmount_rootfs(path);
        }
    }
}
