//! A private Docker Engine (Debian's `docker.io`): its own data, exec root,
//! socket and managed containerd, all in a temporary directory.

use crate::mounts::unmount_under;
use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `docker.io` package puts the daemon.
const DAEMON: &str = "/usr/sbin/dockerd";
/// Debian's client, which matches the daemon; another `docker` on the
/// `PATH` is used when it is missing.
const DEBIAN_CLIENT: &str = "/usr/bin/docker";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A Docker Engine run as root on a Unix socket in a temporary directory,
/// with no networking (no bridge, no iptables), the `vfs` storage driver
/// and a containerd of its own; killed, unmounted and removed when dropped.
#[derive(Debug)]
pub struct TestDocker {
    child: Child,
    dir: tempfile::TempDir,
    client: PathBuf,
}

impl TestDocker {
    /// Starts the daemon and waits until it answers `docker version`.
    ///
    /// # Panics
    /// When not run as root, when `dockerd` is not installed, or when it
    /// does not come up within 30 seconds (with its log).
    pub fn start() -> TestDocker {
        TestDocker::start_with_config(&serde_json::json!({}))
    }

    /// Like [`TestDocker::start`], with `config` as the daemon's
    /// daemon.json (`runtimes`, for one).
    pub fn start_with_config(config: &serde_json::Value) -> TestDocker {
        if !crate::skip::is_root() {
            panic!(
                "the Docker Engine tests start their own dockerd and must run as root \
                 (they do in CI); run the test suite as root"
            );
        }
        if !Path::new(DAEMON).is_file() {
            panic!(
                "{DAEMON} is missing: install the Debian package `docker.io` \
                 (apt-get install docker.io) to run the Docker Engine tests"
            );
        }
        // Under /tmp, not $TMPDIR: the daemon's sockets (containerd's among
        // them) must fit in the 108 bytes of a Unix socket address.
        let dir = tempfile::Builder::new()
            .prefix("wharf-docker-")
            .tempdir_in("/tmp")
            .expect("temporary directory for the test Docker Engine");
        let path = dir.path();
        // A configuration file of its own, so /etc/docker/daemon.json is
        // not read.
        fs::write(path.join("daemon.json"), config.to_string()).expect("write daemon.json");
        fs::create_dir(path.join("client")).expect("client config directory");
        let log_path = path.join("dockerd.log");
        let log = fs::File::create(&log_path).expect("dockerd log file");
        let err = log.try_clone().expect("dockerd log file");
        let child = Command::new(DAEMON)
            .arg("--config-file")
            .arg(path.join("daemon.json"))
            .arg("--data-root")
            .arg(path.join("data"))
            .arg("--exec-root")
            .arg(path.join("exec"))
            .arg("--pidfile")
            .arg(path.join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", path.join("docker.sock").display()))
            .args([
                "--tls=false",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                "--bridge=none",
                "--userland-proxy=false",
                "--storage-driver=vfs",
            ])
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {DAEMON}: {e}"));
        let client = if Path::new(DEBIAN_CLIENT).is_file() {
            PathBuf::from(DEBIAN_CLIENT)
        } else {
            PathBuf::from("docker")
        };
        let mut docker = TestDocker { child, dir, client };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut last_error;
        loop {
            match docker.docker().args(["version"]).output() {
                Ok(output) if output.status.success() => return docker,
                Ok(output) => last_error = String::from_utf8_lossy(&output.stderr).into_owned(),
                Err(e) => {
                    panic!(
                        "cannot run the docker client {}: {e}; install the Debian package \
                         `docker.io`",
                        docker.client.display()
                    )
                }
            }
            let exited = docker.child.try_wait().ok().flatten().is_some();
            if exited || Instant::now() > deadline {
                let log = fs::read_to_string(&log_path).unwrap_or_default();
                let how = if exited {
                    "exited"
                } else {
                    "did not answer within 30 s"
                };
                // Dropping `docker` kills the daemon and cleans up.
                drop(docker);
                panic!(
                    "{DAEMON} {how}; `docker version` said:\n{last_error}\ndockerd's log:\n{log}"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A `docker` client command talking to this daemon (`-H unix://...`),
    /// with a configuration directory of its own.
    pub fn docker(&self) -> Command {
        let mut command = Command::new(&self.client);
        command
            .env("DOCKER_CONFIG", self.dir.path().join("client"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .arg("-H")
            .arg(format!(
                "unix://{}",
                self.dir.path().join("docker.sock").display()
            ))
            .stdin(Stdio::null());
        command
    }

    /// The daemon's temporary directory (removed when it is dropped).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// dockerd's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }
}

impl Drop for TestDocker {
    fn drop(&mut self) {
        // Containers outlive dockerd and containerd (their shims are
        // daemons): remove them while the daemon still answers, and kill
        // whatever shim of this daemon is left with its container.
        if matches!(self.child.try_wait(), Ok(None)) {
            remove_containers(self);
        }
        // dockerd and anything it left in its process group. containerd
        // runs in a session of its own (and would die with dockerd anyway,
        // by its parent-death signal): kill it by its pid file too. The
        // state is thrown away, so there is no graceful shutdown to wait for.
        let containerd_pid =
            fs::read_to_string(self.dir.path().join("exec/containerd/containerd.pid"))
                .ok()
                .and_then(|pid| pid.trim().parse::<u32>().ok());
        // Once dockerd is reaped its id may be reused: only a live (or
        // unreaped) dockerd's group is killed.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
        }
        let containerd_pid = containerd_pid.filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "containerd")
        });
        if let Some(pid) = containerd_pid {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        kill_shims_of(self.dir.path());
        unmount_under(self.dir.path());
        // The TempDir removes the directory after this.
    }
}

/// `docker rm -f` of every container, each command given 20 s.
fn remove_containers(docker: &TestDocker) {
    let client = |args: &[&str]| {
        let base = docker.docker();
        let mut command = Command::new("timeout");
        command
            .arg("20")
            .arg(base.get_program())
            .args(base.get_args())
            .args(args)
            .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    let Ok(listed) = client(&["ps", "-a", "-q"]).output() else {
        return;
    };
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let ids: Vec<&str> = listed.split_whitespace().collect();
    if !ids.is_empty() {
        let mut remove = vec!["rm", "-f"];
        remove.extend(ids);
        let _ = client(&remove).stdout(Stdio::null()).status();
    }
}

/// SIGKILL to every process whose command line names `dir` (the shims of
/// the daemon whose state is there) and to their children (the
/// containers' first processes).
fn kill_shims_of(dir: &Path) {
    let needle = dir.to_string_lossy().into_owned();
    let mut parents = std::collections::HashMap::new();
    let mut shims = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            shims.push(pid);
        }
        // The parent is the 4th field of stat, after the command in parentheses.
        let stat = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok())
        {
            parents.insert(pid, ppid);
        }
    }
    let children = parents
        .iter()
        .filter(|(_, ppid)| shims.contains(ppid))
        .map(|(pid, _)| *pid);
    let victims: Vec<u32> = children.chain(shims.iter().copied()).collect();
    for pid in victims {
        // SAFETY: kill(2) with a pid and a signal; a pid that is gone fails.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
}
