//! Test support for the shim under a real containerd: the binaries, guest
//! programs built with clang, a Wasm image built and saved by the real
//! `wharf` CLI, a busybox image made by hand from Debian's
//! `busybox-static`, and `ctr` helpers with a time limit on every command.

#![allow(dead_code)]

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use wharf_testkit::TestContainerd;

/// The runtime name containerd maps to `containerd-shim-wharf-v1`.
pub const RUNTIME: &str = "io.containerd.wharf.v1";
/// The same shim on a node that allows containers without the kernel's
/// layers (see [`allowing_shim`]).
pub const ALLOWING_RUNTIME: &str = "io.containerd.wharfopen.v1";
/// The Wasm image (see [`wasm_image_archive`]), as containerd names it.
pub const WASM_IMAGE: &str = "docker.io/wharf-test/guests:1";
/// The busybox image (see [`busybox_archive`]), as containerd names it.
pub const BUSYBOX_IMAGE: &str = "docker.io/wharf-test/busybox:latest";

/// The shim binary under test.
pub fn shim_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_containerd-shim-wharf-v1"))
}

/// `containerd-shim-wharfopen-v1`: the shim under test started with
/// `WHARF_ALLOW_NO_LAYERS=1`, as a node that allows it would start it.
pub fn allowing_shim() -> PathBuf {
    build_once("containerd-shim-wharfopen-v1", |out| {
        let script = format!(
            "#!/bin/sh\nWHARF_ALLOW_NO_LAYERS=1 exec {} \"$@\"\n",
            shim_binary().display()
        );
        fs::write(out, script).expect("write the allowing shim");
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(out, fs::Permissions::from_mode(0o755)).expect("chmod");
    })
}

/// The `wharf` CLI, built next to the shim by
/// `cargo build --release --workspace` (a test cannot depend on another
/// package's binary).
pub fn wharf_binary() -> PathBuf {
    let wharf = shim_binary()
        .parent()
        .expect("the shim binary is in a directory")
        .join("wharf");
    assert!(
        wharf.is_file(),
        "{} is missing: build the whole workspace first \
         (cargo build --release --workspace --all-targets)",
        wharf.display()
    );
    wharf
}

/// Builds `key` once per test process (see [`wharf_testkit::build_once`]).
fn build_once(key: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shim-tests");
    wharf_testkit::build_once(&dir, key, build)
}

/// Where guest sources live: the shim's own (`sleep.c`, `notwasm.sh`),
/// else the CLI tests' guests, shared rather than copied.
pub fn guest_source(name: &str) -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = crate_dir.join("tests/guests").join(name);
    if own.exists() {
        return own;
    }
    crate_dir.join("../cli/tests/guests").join(name)
}

/// The C guest `tests/guests/NAME.c`, built with clang-14 for wasm32-wasi
/// (WASI preview 1).
pub fn c_guest(name: &str) -> PathBuf {
    build_once(&format!("{name}.wasm"), |out| {
        wharf_testkit::compile_wasi_c(&guest_source(&format!("{name}.c")), out);
    })
}

pub const WASM_DOCKERFILE: &str = "\
FROM scratch
COPY stdio.wasm /stdio.wasm
COPY args_env.wasm /args_env.wasm
COPY alloc.wasm /alloc.wasm
COPY fs.wasm /fs.wasm
COPY sleep.wasm /sleep.wasm
COPY spin.wasm /spin.wasm
COPY http.wasm /http.wasm
COPY notwasm.sh /notwasm.sh
COPY data.txt /data.txt
ENV GREETING=hello
EXPOSE 8090
ENTRYPOINT [\"/args_env.wasm\"]
CMD [\"default-arg\"]
";

/// A docker-format archive (`wharf save`) of the Wasm image
/// `wharf-test/guests:1` (platform wasi/wasm), built by the real `wharf`
/// CLI. Its files, all at `/`: `stdio.wasm` (stdin to stdout upper-cased,
/// exits with `argv[1]`), `args_env.wasm` (the entrypoint: prints argv and
/// environment), `alloc.wasm` (allocates until malloc fails), `fs.wasm`
/// (one file operation per run), `sleep.wasm` (sleeps forever),
/// `spin.wasm` (a fixed amount of CPU work),
/// `http.wasm` (examples/http-hello: an HTTP service),
/// `notwasm.sh` (a shell script) and `data.txt`.
pub fn wasm_image_archive() -> PathBuf {
    // Built first: build_once holds its lock while it builds.
    let guests: Vec<(&str, PathBuf)> = ["stdio", "args_env", "alloc", "fs", "sleep", "spin"]
        .into_iter()
        .map(|guest| (guest, c_guest(guest)))
        .collect();
    build_once("guests.tar", |out| {
        let work = temp();
        let context = work.path().join("context");
        fs::create_dir(&context).expect("context");
        for (guest, module) in &guests {
            fs::copy(module, context.join(format!("{guest}.wasm"))).expect("guest");
        }
        fs::copy(guest_source("notwasm.sh"), context.join("notwasm.sh")).expect("notwasm.sh");
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/http-hello/hello.wasm");
        fs::copy(example, context.join("http.wasm")).expect("http.wasm");
        fs::write(context.join("data.txt"), "image data\n").expect("data.txt");
        fs::write(context.join("Dockerfile"), WASM_DOCKERFILE).expect("Dockerfile");
        let root = work.path().join("wharf-root");
        let name = "wharf-test/guests:1";
        wharf_in(&root, &["build", "-q", "-t", name, path_str(&context)]);
        wharf_in(&root, &["save", "-o", path_str(out), name]);
    })
}

/// The Wasm artifact (see [`artifact_archive`]), as containerd names it.
pub const ARTIFACT_IMAGE: &str = "docker.io/wharf-test/artifact:1";

/// An OCI archive (`wharf save --format oci`) of the CNCF Wasm artifact
/// `wharf-test/artifact:1`, built by `wharf build --artifact`: one
/// `application/wasm` layer holding `args_env.wasm`.
pub fn artifact_archive() -> PathBuf {
    let guest = c_guest("args_env");
    build_once("artifact.tar", |out| {
        let work = temp();
        let context = work.path().join("context");
        fs::create_dir(&context).expect("context");
        fs::copy(&guest, context.join("args_env.wasm")).expect("guest");
        fs::write(
            context.join("Dockerfile"),
            "FROM scratch\nCOPY args_env.wasm /args_env.wasm\nENTRYPOINT [\"/args_env.wasm\"]\n",
        )
        .expect("Dockerfile");
        let root = work.path().join("wharf-root");
        let name = "wharf-test/artifact:1";
        wharf_in(
            &root,
            &["build", "-q", "--artifact", "-t", name, path_str(&context)],
        );
        wharf_in(
            &root,
            &["save", "--format", "oci", "-o", path_str(out), name],
        );
    })
}

/// Runs the real `wharf ARGS...` with its store at `root`; it must succeed.
fn wharf_in(root: &Path, args: &[&str]) {
    let output = Command::new(wharf_binary())
        .env("WHARF_ROOT", root)
        .env_remove("WHARF_LOG")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run wharf");
    assert_success(&format!("wharf {args:?}"), &output);
}

/// A docker-format archive of `wharf-test/busybox:latest` (linux, the
/// host's architecture): one layer holding Debian's statically linked
/// `/bin/busybox` and `/bin/sh` linking to it; written here, file by file,
/// so that no registry or network is needed.
pub fn busybox_archive() -> PathBuf {
    build_once("busybox.tar", |out| {
        wharf_testkit::busybox_image_archive(out, "wharf-test/busybox:latest");
    })
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A fresh temporary directory, removed on drop.
pub fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("wharf-shim-test-")
        .tempdir()
        .expect("create a temporary directory")
}

#[track_caller]
fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({})\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A started [`Harness`], or a return from the test (which printed
/// `SKIPPED`) when not root and not in CI (see
/// [`wharf_testkit::skip_unless`]).
#[allow(unused_macros)]
macro_rules! harness {
    ($name:literal) => {
        match Harness::start($name) {
            Some(harness) => harness,
            None => return,
        }
    };
}

/// A private containerd with the wharf shim on its `PATH`, both images
/// imported.
#[derive(Debug)]
pub struct Harness {
    pub containerd: TestContainerd,
}

impl Harness {
    /// Starts containerd and imports both images; `None` (after printing
    /// `SKIPPED`) when not root and not in CI.
    pub fn start(test: &str) -> Option<Harness> {
        if wharf_testkit::skip_unless_root(test, "containerd runs as root") {
            return None;
        }
        let wasm = wasm_image_archive();
        let busybox = busybox_archive();
        let containerd = TestContainerd::start_with_shims(&[&shim_binary(), &allowing_shim()]);
        // containerd 1.6 imports only the host's platform unless told:
        // a plain import of the wasi/wasm image fails with
        // "image might be filtered out".
        containerd.import(&wasm, Some("wasi/wasm"));
        containerd.import(&busybox, None);
        Some(Harness { containerd })
    }

    /// Kills task `id` with `signal`, waits until it is STOPPED, deletes it
    /// and its container; returns what `ctr task delete` wrote on stderr.
    #[track_caller]
    pub fn kill_and_delete(&self, id: &str, signal: &str) -> String {
        self.ctr_ok(&["task", "kill", "-s", signal, id]);
        self.wait_for_status(id, "STOPPED", Duration::from_secs(15));
        let deleted = self.ctr_ok(&["task", "delete", id]);
        self.ctr_ok(&["container", "delete", id]);
        stderr(&deleted)
    }

    /// The files of this containerd's shim groups (sockets, locks) in the
    /// shim's socket directory, found by the label in each lock file.
    pub fn group_files(&self) -> Vec<PathBuf> {
        let address = format!("{} ", self.containerd.address().display());
        let Ok(entries) = fs::read_dir("/run/wharf-shim") else {
            return Vec::new();
        };
        let mut files = Vec::new();
        for lock in entries.flatten().map(|e| e.path()) {
            let ours = lock.extension().is_some_and(|e| e == "lock")
                && fs::read_to_string(&lock).is_ok_and(|l| l.starts_with(&address));
            if ours {
                for extension in ["lock", "sock", "alive"] {
                    let file = lock.with_extension(extension);
                    if file.exists() {
                        files.push(file);
                    }
                }
            }
        }
        files
    }

    /// Asserts that no container is left in the test's namespace.
    #[track_caller]
    pub fn assert_no_containers(&self) {
        let left = self.containers();
        assert!(left.is_empty(), "containers left: {left:?}");
    }

    /// `ctr ARGS...` (time limit 60 s, stdin from /dev/null).
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.containerd.ctr().args(args).output().expect("run ctr")
    }

    /// `ctr ARGS...` with `input` on stdin, for a `ctr run` of the task
    /// `id`.
    ///
    /// ctr 1.6 (`ctr run` without `-t`) closes the task's stdin when its
    /// own stdin ends, but only if that happens after the task was
    /// created: an end of input that comes earlier is lost and the task
    /// waits for more forever (seen with runc too: `echo abc | ctr run
    /// --rm busybox x cat` hangs most times). So stdin is held open until
    /// the task is listed, and a moment longer.
    pub fn ctr_with_stdin(&self, id: &str, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .containerd
            .ctr()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ctr");
        let mut stdin = child.stdin.take().expect("ctr's stdin");
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
            stdin
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.task_status(id).is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        // The writer is done once the task read everything; then its end
        // of the pipe is closed.
        let closer = std::thread::spawn(move || drop(writer.join()));
        let output = child.wait_with_output().expect("wait for ctr");
        let _ = closer.join();
        output
    }

    /// `ctr ARGS...`, which must succeed.
    #[track_caller]
    pub fn ctr_ok(&self, args: &[&str]) -> Output {
        self.containerd.ctr_ok(args)
    }

    /// `ctr run --rm --platform wasi/wasm --runtime io.containerd.wharf.v1
    /// [OPTIONS...] IMAGE ID [ARGS...]`.
    pub fn run_wasm(&self, options: &[&str], id: &str, args: &[&str]) -> Output {
        self.ctr(&wasm_run_args(true, options, id, args))
    }

    /// [`Harness::run_wasm`] with `input` on the task's stdin, closed after
    /// it (see [`Harness::ctr_with_stdin`]): a guest that reads stdin waits
    /// for its writer, as a Linux process under runc does.
    pub fn run_wasm_with_stdin(&self, id: &str, args: &[&str], input: &[u8]) -> Output {
        self.ctr_with_stdin(id, &wasm_run_args(true, &[], id, args), input)
    }

    /// Starts a detached Wasm container (`ctr run -d`), which must succeed.
    #[track_caller]
    pub fn run_wasm_detached(&self, options: &[&str], id: &str, args: &[&str]) {
        self.ctr_ok(&wasm_run_args(false, options, id, args));
    }

    /// The task's status in `ctr task ls` (`RUNNING`, `STOPPED`, ...), or
    /// `None` when it is not listed.
    pub fn task_status(&self, id: &str) -> Option<String> {
        let output = self.ctr_ok(&["task", "ls"]);
        stdout(&output).lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.first() == Some(&id)).then(|| fields.last().unwrap_or(&"").to_string())
        })
    }

    /// Waits up to `limit` for the task to be listed with `status`.
    #[track_caller]
    pub fn wait_for_status(&self, id: &str, status: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let now = self.task_status(id);
            if now.as_deref() == Some(status) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "task {id} is {now:?}, not {status}, after {limit:?}\ncontainerd's log (end):\n{}",
                    self.containerd.log_tail(60)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The containers listed by `ctr container ls -q`.
    pub fn containers(&self) -> Vec<String> {
        stdout(&self.ctr_ok(&["container", "ls", "-q"]))
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// containerd's log, for assertion messages.
    pub fn log(&self) -> String {
        self.containerd.log_tail(80)
    }
}

pub fn wasm_run_args<'a>(
    rm: bool,
    options: &[&'a str],
    id: &'a str,
    args: &[&'a str],
) -> Vec<&'a str> {
    let mut all = vec!["run", if rm { "--rm" } else { "-d" }];
    all.extend(["--platform", "wasi/wasm", "--runtime", RUNTIME]);
    all.extend_from_slice(options);
    all.extend([WASM_IMAGE, id]);
    all.extend_from_slice(args);
    all
}

/// Asserts the exit code of a `ctr` command, showing its output, and
/// calling a timeout what it is: a `ctr` that hung.
#[track_caller]
pub fn assert_code(harness: &Harness, output: &Output, code: i32) {
    // `timeout` exits with 124, or is killed with ctr by --kill-after.
    let hung = matches!(output.status.code(), Some(124) | None);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}exit status {:?}\nstdout:\n{}\nstderr:\n{}\ncontainerd's log (end):\n{}",
        if hung {
            "ctr HUNG (killed by timeout); "
        } else {
            ""
        },
        output.status,
        stdout(output),
        stderr(output),
        harness.log(),
    );
}
