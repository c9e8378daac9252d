//! The kernel's wall around the guest, tried as code that broke out of the
//! Wasm sandbox would try it: system calls made as the threads of a real
//! `wharf run` (see `wharf_testkit::intruder`). Each attempt is refused
//! with the errno its wall gives, on every thread of the process, and the
//! host is unchanged; the same attempt succeeds with `--security-opt
//! no-layers` (so each test can fail).

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Stdio};

use wharf_testkit::intruder;

use crate::common::*;

const NO_LAYERS: &str = "--security-opt=no-layers";

/// A `wharf run` of the ticker guest (a line a second, asleep between),
/// once its guest runs.
struct Running {
    child: Child,
    lines: std::io::BufReader<std::process::ChildStdout>,
}

impl Running {
    fn start(root: &Path, flags: &[&str]) -> Running {
        let mut child = wharf(root)
            .arg("run")
            .args(flags)
            .arg(path_str(&c_guest("ticker")))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn wharf");
        let lines = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut running = Running { child, lines };
        running.tick();
        running
    }

    /// Waits for the guest's next line: it still runs.
    fn tick(&mut self) {
        let mut line = String::new();
        self.lines.read_line(&mut line).expect("a tick");
        assert!(line.starts_with("tick "), "{line:?}");
    }

    /// Every thread of the process.
    fn threads(&self) -> Vec<(u32, String)> {
        intruder::threads(self.child.id()).expect("threads")
    }

    /// The guest's thread: the process's first (one guest, walled whole).
    fn guest(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn needs_root(test: &str) -> bool {
    wharf_testkit::skip_unless_root(test, "to make system calls as wharf's threads")
}

#[track_caller]
fn assert_errno(result: std::io::Result<i64>, errno: i32, what: &str) {
    assert_eq!(result.expect(what), -i64::from(errno), "{what}");
}

#[test]
fn no_thread_of_a_walled_run_reads_a_host_file_and_without_walls_one_does() {
    if needs_root("no_thread_of_a_walled_run_reads_a_host_file") {
        return;
    }
    let (root, host) = (temp(), temp());
    let secret = host.path().join("secret");
    std::fs::write(&secret, "host only").expect("secret");
    let secret = path_str(&secret);
    let mut walled = Running::start(root.path(), &[]);
    for (tid, name) in &walled.threads() {
        let what = format!("open as thread {name} ({tid})");
        assert_errno(
            intruder::open(*tid, secret, libc::O_RDONLY),
            libc::EACCES,
            &what,
        );
    }
    walled.tick();
    let open = Running::start(root.path(), &[NO_LAYERS]);
    let fd = intruder::open(open.guest(), secret, libc::O_RDONLY).expect("open");
    assert!(
        fd >= 0,
        "without the walls the guest's thread opens it: {fd}"
    );
}

#[test]
fn the_guests_thread_writes_only_inside_its_volumes() {
    if needs_root("the_guests_thread_writes_only_inside_its_volumes") {
        return;
    }
    let (root, host) = (temp(), temp());
    let volume = host.path().join("vol");
    std::fs::create_dir(&volume).expect("volume");
    let mount = format!("{}:/data", path_str(&volume));
    let outside = host.path().join("outside.txt");
    let inside = volume.join("inside.txt");
    let create = libc::O_WRONLY | libc::O_CREAT;

    let mut walled = Running::start(root.path(), &["-v", &mount]);
    for (tid, name) in walled.threads() {
        let written = intruder::open(tid, path_str(&outside), create);
        assert_errno(written, libc::EACCES, &format!("thread {name}"));
    }
    assert!(!outside.exists(), "the host gained {}", outside.display());
    // The volume itself stays writable through the wall.
    let fd = intruder::open(walled.guest(), path_str(&inside), create).expect("open");
    assert!(fd >= 0, "{fd}");
    assert!(inside.exists());
    walled.tick();
    drop(walled);

    let open = Running::start(root.path(), &["-v", &mount, NO_LAYERS]);
    let fd = intruder::open(open.guest(), path_str(&outside), create).expect("open");
    assert!(fd >= 0 && outside.exists(), "{fd}");
}

#[test]
fn a_read_only_volume_cannot_be_written_even_by_the_host_on_the_guests_behalf() {
    if needs_root("a_read_only_volume_cannot_be_written") {
        return;
    }
    let (root, host) = (temp(), temp());
    let mount = format!("{}:/data:ro", path_str(host.path()));
    let target = host.path().join("new.txt");
    let walled = Running::start(root.path(), &["-v", &mount]);
    let written = intruder::open(
        walled.guest(),
        path_str(&target),
        libc::O_WRONLY | libc::O_CREAT,
    );
    assert_errno(written, libc::EACCES, "create in a read-only volume");
    assert!(!target.exists());
}

#[test]
fn no_thread_has_a_socket_without_a_network() {
    if needs_root("no_thread_has_a_socket_without_a_network") {
        return;
    }
    let root = temp();
    let walled = Running::start(root.path(), &[]);
    for (tid, name) in walled.threads() {
        assert_errno(
            intruder::socket(tid),
            libc::EPERM,
            &format!("thread {name}"),
        );
    }
    let open = Running::start(root.path(), &[NO_LAYERS]);
    let fd = intruder::socket(open.guest()).expect("socket");
    assert!(fd >= 0, "{fd}");
}

#[test]
fn no_thread_can_execute_a_program() {
    if needs_root("no_thread_can_execute_a_program") {
        return;
    }
    let root = temp();
    let walled = Running::start(root.path(), &[]);
    for (tid, name) in walled.threads() {
        let exec = intruder::execve(tid, "/nonexistent/wharf-test");
        assert_errno(exec, libc::EPERM, &format!("thread {name}"));
    }
    // Without the walls the kernel looks for the file: ENOENT, not EPERM.
    let open = Running::start(root.path(), &[NO_LAYERS]);
    let exec = intruder::execve(open.guest(), "/nonexistent/wharf-test");
    assert_errno(exec, libc::ENOENT, "exec without the walls");
}

/// `(Seccomp, NoNewPrivs)` of each thread of `pid`.
fn walls_in_proc(pid: u32) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for (tid, name) in intruder::threads(pid).expect("threads") {
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap_or_default();
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        found.push((name, field("Seccomp:"), field("NoNewPrivs:")));
    }
    found
}

#[test]
fn every_thread_shows_seccomp_and_no_new_privs_in_proc() {
    let root = temp();
    let walled = Running::start(root.path(), &[]);
    for (name, seccomp, no_new_privs) in &walls_in_proc(walled.child.id()) {
        assert_eq!(
            (seccomp.as_str(), no_new_privs.as_str()),
            ("2", "1"),
            "{name}"
        );
    }
    let open = Running::start(root.path(), &[NO_LAYERS]);
    for (name, seccomp, no_new_privs) in walls_in_proc(open.child.id()) {
        assert_eq!(
            (seccomp.as_str(), no_new_privs.as_str()),
            ("0", "0"),
            "{name}"
        );
    }
}

#[test]
fn a_bad_security_option_is_one_line_and_exit_125() {
    let root = temp();
    let output = run(
        root.path(),
        &["--security-opt", "seccomp=unconfined", "x.wasm"],
    );
    assert_code(&output, 125);
    let stderr = stderr(&output);
    assert!(
        stderr.contains("`seccomp=unconfined` is not a security option"),
        "{stderr}"
    );
    assert!(stderr.contains("no-layers"), "{stderr}");
}

/// `native/no_landlock.c`, built once: runs a program as on a kernel
/// without Landlock.
fn no_landlock() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("native");
    wharf_testkit::build_once(&dir, "no_landlock", |out| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/native/no_landlock.c");
        let status = std::process::Command::new("cc")
            .args(["-O2", "-o"])
            .arg(out)
            .arg(source)
            .status()
            .expect("cc");
        assert!(status.success(), "no_landlock did not build");
    })
}

#[test]
fn a_node_that_requires_landlock_refuses_guests_where_the_kernel_has_none() {
    let root = temp();
    let guest = wat_guest("exit42");
    let without = |require: bool, args: &[&str]| {
        let mut launched = std::process::Command::new(no_landlock());
        launched
            .arg(env!("CARGO_BIN_EXE_wharf"))
            .args(args)
            .env("WHARF_ROOT", root.path())
            .stdin(Stdio::null());
        if require {
            launched.env("WHARF_REQUIRE_LANDLOCK", "1");
        }
        launched.output().expect("no_landlock")
    };
    // Without the setting, seccomp alone walls it in.
    assert_code(&without(false, &["run", path_str(&guest)]), 42);
    let refused = without(true, &["run", path_str(&guest)]);
    assert_code(&refused, 125);
    let said = stderr(&refused);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("landlock") && said.contains("WHARF_REQUIRE_LANDLOCK"),
        "{said}"
    );
    let info = without(true, &["info"]);
    assert!(
        stdout(&info)
            .contains("Landlock Required: yes (WHARF_REQUIRE_LANDLOCK), and this kernel has none"),
        "{}",
        stdout(&info)
    );
    // On this kernel, with Landlock, the setting lets it run.
    let here = wharf(root.path())
        .env("WHARF_REQUIRE_LANDLOCK", "1")
        .args(["run", path_str(&guest)])
        .output()
        .expect("wharf");
    assert_code(&here, 42);
}
