//! A private containerd (Debian's `containerd` 1.6): its own config, root,
//! state, gRPC and ttrpc sockets, all in a temporary directory, with the
//! shims a test names on its `PATH`.

use crate::mounts::unmount_under;
use crate::skip::is_root;
use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where Debian's `containerd` package puts the daemon and its client.
const DAEMON: &str = "/usr/bin/containerd";
const CLIENT: &str = "/usr/bin/ctr";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a `ctr` command from [`TestContainerd::ctr`] may take before
/// `timeout` kills it (exit status 124), so a hung shim fails a test
/// instead of hanging it.
const CTR_TIMEOUT: Duration = Duration::from_secs(60);

/// A containerd run as root on a Unix socket in a temporary directory,
/// without the CRI plugin, using its own namespace for everything a test
/// does; on drop, it, the shims it started and their containers are
/// killed, everything mounted under its directory is unmounted, its
/// cgroups are removed and the directory is deleted.
#[derive(Debug)]
pub struct TestContainerd {
    child: Child,
    dir: tempfile::TempDir,
    namespace: String,
    snapshotter: String,
    /// The CNI bridge of pods with a network of their own (CRI only).
    bridge: Option<String>,
}

impl TestContainerd {
    /// Starts containerd with only the shims it comes with (runc's).
    ///
    /// # Panics
    /// See [`TestContainerd::start_with_shims`].
    pub fn start() -> TestContainerd {
        Self::start_with_shims(&[])
    }

    /// Starts containerd with each of `shims` (paths to shim binaries such
    /// as `containerd-shim-wharf-v1`) linked by its file name into a
    /// directory first on containerd's `PATH`: containerd finds the shim
    /// of runtime `io.containerd.NAME.vN` as `containerd-shim-NAME-vN` on
    /// its `PATH`. Waits until `ctr version` answers, then picks the
    /// snapshotter: overlayfs when it loaded, else native.
    ///
    /// # Panics
    /// When not run as root, when `containerd` or `ctr` is not installed,
    /// or when containerd does not come up within 30 seconds (with its log).
    pub fn start_with_shims(shims: &[&Path]) -> TestContainerd {
        Self::launch_with(shims, None)
    }

    /// [`TestContainerd::start_with_shims`] with the CRI plugin on, as a
    /// kubelet's containerd runs it: runtime handler `wharf` is
    /// `io.containerd.wharf.v1`, `sandbox_image` names the pause image
    /// (which a test imports into namespace `k8s.io` before it starts a
    /// pod), and CNI gives a pod with a network of its own an address on a
    /// bridge with no address on the host (see `pod_network`). The CRI API is on [`TestContainerd::address`].
    ///
    /// # Panics
    /// See [`TestContainerd::start_with_shims`].
    pub fn start_with_cri(shims: &[&Path], sandbox_image: &str) -> TestContainerd {
        Self::launch_with(shims, Some(sandbox_image))
    }

    fn launch_with(shims: &[&Path], cri_sandbox_image: Option<&str>) -> TestContainerd {
        if !is_root() {
            panic!(
                "the containerd tests start their own containerd and must run as root \
                 (they do in CI); run the test suite as root"
            );
        }
        for binary in [DAEMON, CLIENT] {
            if !Path::new(binary).is_file() {
                panic!(
                    "{binary} is missing: install the Debian packages `containerd` and `runc` \
                     (apt-get install containerd runc) to run the containerd tests"
                );
            }
        }
        // Under /tmp, not $TMPDIR: the sockets must fit in the 108 bytes
        // of a Unix socket address.
        let dir = tempfile::Builder::new()
            .prefix("wharf-ctrd-")
            .tempdir_in("/tmp")
            .expect("temporary directory for the test containerd");
        let path = dir.path();
        let bin = path.join("bin");
        fs::create_dir(&bin).expect("shim directory");
        for shim in shims {
            let shim = fs::canonicalize(shim).unwrap_or_else(|e| {
                panic!(
                    "the shim {} is missing ({e}): build it first \
                     (cargo build --release --workspace --all-targets)",
                    shim.display()
                )
            });
            let name = shim.file_name().expect("a shim binary has a file name");
            std::os::unix::fs::symlink(&shim, bin.join(name)).expect("link the shim");
        }
        // A namespace of its own, so that containers, cgroups
        // (`/<namespace>/<id>`) and leftovers are told apart from those
        // of other tests in this process and of other processes.
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let count = COUNT.fetch_add(1, Ordering::Relaxed);
        let namespace = format!("wharf-test-{}-{count}", std::process::id());
        // At most 15 bytes, as link names are.
        let bridge = format!("wt{}-{count}", std::process::id() % 1_000_000);
        let cri = match cri_sandbox_image {
            None => "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n".to_owned(),
            Some(image) => {
                pod_network(&path.join("cni"), &bridge);
                cri_config(path, image)
            }
        };
        let config = format!(
            "version = 2\n\
             root = \"{root}\"\n\
             state = \"{state}\"\n\
             {cri}\
             [grpc]\n  address = \"{socket}\"\n\
             [ttrpc]\n  address = \"{socket}.ttrpc\"\n\
             [debug]\n  address = \"\"\n\
             [metrics]\n  address = \"\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{opt}\"\n",
            root = path.join("root").display(),
            state = path.join("state").display(),
            socket = path.join("containerd.sock").display(),
            opt = path.join("opt").display(),
        );
        fs::write(path.join("config.toml"), config).expect("write config.toml");
        let child = launch(path);
        let mut containerd = TestContainerd {
            child,
            dir,
            namespace,
            snapshotter: "overlayfs".to_owned(),
            bridge: cri_sandbox_image.is_some().then_some(bridge),
        };
        containerd.wait_until_ready();
        let plugins = containerd
            .ctr_command(None)
            .args(["plugins", "ls"])
            .output()
            .expect("ctr plugins ls");
        let overlayfs_loaded = String::from_utf8_lossy(&plugins.stdout)
            .lines()
            .any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(1) == Some(&"overlayfs") && fields.get(3) == Some(&"ok")
            });
        if !overlayfs_loaded {
            containerd.snapshotter = "native".to_owned();
        }
        containerd
    }

    /// Waits until `ctr version` answers; panics with the log if it does not.
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut last_error;
        loop {
            match self.ctr_command(None).arg("version").output() {
                Ok(output) if output.status.success() => break,
                Ok(output) => last_error = String::from_utf8_lossy(&output.stderr).into_owned(),
                Err(e) => panic!("cannot run {CLIENT}: {e}"),
            }
            let exited = self.child.try_wait().ok().flatten().is_some();
            if exited || Instant::now() > deadline {
                let how = if exited {
                    "exited"
                } else {
                    "did not answer within 30 s"
                };
                let log = self.log();

                panic!(
                    "{DAEMON} {how}; `ctr version` said:\n{last_error}\ncontainerd's log:\n{log}"
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops containerd (SIGTERM, as a service manager would) and starts it
    /// again on the same state, leaving the shims running.
    pub fn restart(&mut self) {
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        self.child = launch(self.dir.path());
        self.wait_until_ready();
    }

    /// The gRPC socket (`ctr --address`).
    pub fn address(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// The namespace every [`TestContainerd::ctr`] command works in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The snapshotter in use: `overlayfs`, or `native` where overlayfs
    /// does not work.
    pub fn snapshotter(&self) -> &str {
        &self.snapshotter
    }

    /// The temporary directory everything lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `timeout 60 ctr --address SOCKET --namespace NS`, with the
    /// snapshotter set and stdin from /dev/null (a test that feeds stdin
    /// sets its own). A `ctr` that takes longer is killed and the command
    /// exits with 124.
    pub fn ctr(&self) -> Command {
        self.ctr_with_timeout(CTR_TIMEOUT)
    }

    /// [`TestContainerd::ctr`] with another time limit.
    pub fn ctr_with_timeout(&self, limit: Duration) -> Command {
        self.ctr_command(Some(limit))
    }

    /// [`TestContainerd::ctr`] with no time limit of its own, for a `ctr`
    /// that must own a terminal: `timeout` would put it in a background
    /// process group, where the terminal stops it with SIGTTOU.
    pub fn ctr_without_limit(&self) -> Command {
        self.ctr_command(None)
    }

    /// [`TestContainerd::ctr`] in another namespace, e.g. CRI's `k8s.io`.
    pub fn ctr_in(&self, namespace: &str) -> Command {
        self.ctr_command_in(Some(CTR_TIMEOUT), namespace)
    }

    fn ctr_command(&self, limit: Option<Duration>) -> Command {
        self.ctr_command_in(limit, &self.namespace)
    }

    fn ctr_command_in(&self, limit: Option<Duration>, namespace: &str) -> Command {
        let mut command = match limit {
            Some(limit) => {
                let mut command = Command::new("timeout");
                command
                    .args(["--kill-after=5", &format!("{}", limit.as_secs().max(1))])
                    .arg(CLIENT);
                command
            }
            None => Command::new(CLIENT),
        };
        command
            .env_remove("CONTAINERD_ADDRESS")
            .env_remove("CONTAINERD_NAMESPACE")
            .env("CONTAINERD_SNAPSHOTTER", &self.snapshotter)
            .arg("--address")
            .arg(self.address())
            .arg("--namespace")
            .arg(namespace)
            .stdin(Stdio::null());
        command
    }

    /// Runs `ctr ARGS...` (with the time limit of [`TestContainerd::ctr`]),
    /// which must succeed; shows its output and containerd's log when not.
    #[track_caller]
    pub fn ctr_ok(&self, args: &[&str]) -> Output {
        let output = self.ctr().args(args).output().expect("run ctr");
        assert!(
            output.status.success(),
            "ctr {args:?} failed ({})\nstdout:\n{}\nstderr:\n{}\ncontainerd's log (end):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log_tail(60),
        );
        output
    }

    /// `ctr images import --platform PLATFORM ARCHIVE` (a docker or OCI
    /// archive), which must succeed; `platform` `None` imports all
    /// platforms. containerd 1.6 imports only the host's platform by
    /// default, so a Wasm image needs `Some("wasi/wasm")`.
    #[track_caller]
    pub fn import(&self, archive: &Path, platform: Option<&str>) {
        let archive = archive.to_str().expect("archive path is UTF-8");
        match platform {
            Some(platform) => self.ctr_ok(&["images", "import", "--platform", platform, archive]),
            None => self.ctr_ok(&["images", "import", "--all-platforms", archive]),
        };
    }

    /// containerd's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// The last `lines` lines of containerd's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The live shim processes containerd started (any runtime), found by
    /// their command line, which names this containerd's socket; exited
    /// ones waiting to be reaped (zombies) are left out.
    pub fn shim_pids(&self) -> Vec<u32> {
        self.processes_naming_dir()
            .into_iter()
            .filter(|&pid| !is_zombie(pid))
            .filter(|&pid| {
                fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.starts_with("containerd-shim"))
            })
            .collect()
    }

    /// Processes, other than this one and containerd, whose command line
    /// names this containerd's directory (shims, `ctr`, `timeout`).
    fn processes_naming_dir(&self) -> Vec<u32> {
        let needle = self.dir.path().as_os_str().as_encoded_bytes().to_vec();
        let me = std::process::id();
        let containerd = self.child.id();
        all_pids()
            .into_iter()
            .filter(|&pid| pid != me && pid != containerd)
            .filter(|&pid| {
                fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmdline| contains(&cmdline, &needle))
            })
            .collect()
    }

    /// Processes in this namespace's cgroups (`/<namespace>/<id>`, where
    /// `ctr run` puts each container): runc's containers.
    fn processes_in_namespace_cgroups(&self) -> Vec<u32> {
        let needle = format!(":/{}/", self.namespace).into_bytes();
        let me = std::process::id();
        all_pids()
            .into_iter()
            .filter(|&pid| pid != me)
            .filter(|&pid| {
                fs::read(format!("/proc/{pid}/cgroup"))
                    .is_ok_and(|cgroup| contains(&cgroup, &needle))
            })
            .collect()
    }

    /// Removes this namespace's cgroup directories, deepest first (v1
    /// hierarchies under /sys/fs/cgroup/*/, or the v2 one).
    fn remove_cgroups(&self) {
        let mut roots = vec![PathBuf::from("/sys/fs/cgroup")];
        if let Ok(entries) = fs::read_dir("/sys/fs/cgroup") {
            roots.extend(entries.flatten().map(|entry| entry.path()));
        }
        for root in roots {
            let top = root.join(&self.namespace);
            if top.is_dir() {
                remove_cgroup_tree(&top);
            }
        }
    }
}

/// A CNI configuration for pods with a network of their own (Debian's
/// containernetworking-plugins): a `bridge` of that name with no address
/// on the host (no gateway, no masquerade), pod addresses from
/// 10.250.0.0/24 kept in the test's own directory, and loopback. A pod's
/// address lives only in its namespace; nothing reaches the host's.
fn pod_network(cni: &Path, bridge: &str) {
    let (bin, conf) = (cni.join("bin"), cni.join("conf"));
    fs::create_dir_all(&bin).expect("CNI bin directory");
    fs::create_dir_all(&conf).expect("CNI conf directory");
    for plugin in ["bridge", "host-local", "loopback"] {
        let installed = Path::new("/usr/lib/cni").join(plugin);
        if installed.exists() {
            std::os::unix::fs::symlink(&installed, bin.join(plugin)).expect("CNI plugin");
        }
    }
    let config = serde_json::json!({
        "cniVersion": "0.4.0",
        "name": "wharf-test",
        "plugins": [{
            "type": "bridge",
            "bridge": bridge,
            "isGateway": false,
            "ipMasq": false,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": "10.250.0.0/24"}]],
                "dataDir": cni.join("ipam"),
            },
        }],
    });
    fs::write(conf.join("10-wharf-test.conflist"), config.to_string()).expect("CNI configuration");
}

/// The CRI plugin's section of config.toml (containerd 1.6, version 2).
fn cri_config(dir: &Path, sandbox_image: &str) -> String {
    let cri = "plugins.\"io.containerd.grpc.v1.cri\"";
    format!(
        "[{cri}]\n  sandbox_image = \"{sandbox_image}\"\n  \
         stream_server_address = \"127.0.0.1\"\n  stream_server_port = \"0\"\n  \
         disable_apparmor = true\n\
         [{cri}.containerd]\n  default_runtime_name = \"runc\"\n\
         [{cri}.containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n\
         [{cri}.containerd.runtimes.wharf]\n  runtime_type = \"io.containerd.wharf.v1\"\n\
         [{cri}.cni]\n  bin_dir = \"{cni}/bin\"\n  conf_dir = \"{cni}/conf\"\n",
        cni = dir.join("cni").display(),
    )
}

impl Drop for TestContainerd {
    fn drop(&mut self) {
        // containerd first, so that nothing new is started; then its
        // shims (and any ctr still talking to it), then runc's containers.
        // The state is thrown away: there is no graceful shutdown.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Until none is left alive (a zombie is left for its reaper).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut pids = self.processes_naming_dir();
            pids.extend(self.processes_in_namespace_cgroups());
            pids.retain(|&pid| !is_zombie(pid));
            if pids.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in pids {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        unmount_under(self.dir.path());
        if let Some(bridge) = &self.bridge {
            let _ = Command::new("ip")
                .args(["link", "delete", bridge])
                .stderr(Stdio::null())
                .status();
        }
        self.remove_cgroups();
        // The TempDir removes the directory after this.
    }
}

fn all_pids() -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .collect()
}

/// Whether the process has exited and waits to be reaped (or is gone).
fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // The state follows the command name, which is in parentheses.
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

/// Starts the daemon of the containerd whose files are under `path`.
fn launch(path: &Path) -> Child {
    let bin = path.join("bin");
    let log_path = path.join("containerd.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .expect("containerd log file");
    let err = log.try_clone().expect("containerd log file");
    let system_path =
        std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned());
    Command::new(DAEMON)
        .arg("--config")
        .arg(path.join("config.toml"))
        .args(["--log-level", "debug"])
        .env(
            "PATH",
            format!(
                "{}:/usr/local/sbin:/usr/sbin:/sbin:{system_path}",
                bin.display()
            ),
        )
        .env_remove("NOTIFY_SOCKET")
        .env_remove("CONTAINERD_ADDRESS")
        .env_remove("CONTAINERD_NAMESPACE")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {DAEMON}: {e}"))
}
