//! The sandbox, one test per attempt to get out. Each attempt must fail
//! inside the guest (the `fs` guest exits 1 and says "denied") and leave the
//! host as it was. Attempts run as a core module and as a component.

use std::os::unix::fs::symlink;
use std::path::Path;

use crate::common::*;

/// A volume directory inside a parent that holds a secret the guest must
/// never reach.
struct Fixture {
    parent: tempfile::TempDir,
    root: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let parent = temp();
        std::fs::create_dir(parent.path().join("vol")).expect("volume");
        std::fs::write(parent.path().join("secret.txt"), "top secret\n").expect("secret");
        std::fs::write(parent.path().join("vol/existing.txt"), "original\n").expect("file");
        std::fs::create_dir(parent.path().join("vol/dir")).expect("dir");
        Fixture {
            parent,
            root: temp(),
        }
    }

    fn vol(&self) -> std::path::PathBuf {
        self.parent.path().join("vol")
    }

    /// Runs `fs OP ARGS` with the volume at `/data` (`:ro` when asked).
    fn attempt(&self, read_only: bool, op_args: &[&str]) -> Vec<(String, std::process::Output)> {
        let mount = format!(
            "{}:/data{}",
            path_str(&self.vol()),
            if read_only { ":ro" } else { "" }
        );
        both_shapes("fs")
            .into_iter()
            .map(|(shape, guest)| {
                let mut args = vec!["-v", &mount, path_str(&guest)];
                args.extend_from_slice(op_args);
                (shape.to_owned(), run(self.root.path(), &args))
            })
            .collect()
    }

    #[track_caller]
    fn assert_denied(&self, read_only: bool, op_args: &[&str]) {
        for (shape, output) in self.attempt(read_only, op_args) {
            assert_code(&output, 1);
            let out = stdout(&output);
            assert!(out.contains("denied"), "{shape} {op_args:?}: {out}");
            assert!(!out.contains("top secret"), "{shape} {op_args:?}: {out}");
            self.assert_host_untouched();
        }
    }

    #[track_caller]
    fn assert_host_untouched(&self) {
        let read = |p: &Path| std::fs::read_to_string(p).expect("host file");
        assert_eq!(read(&self.parent.path().join("secret.txt")), "top secret\n");
        assert_eq!(read(&self.vol().join("existing.txt")), "original\n");
        assert!(self.vol().join("dir").is_dir());
        let mut names: Vec<String> = std::fs::read_dir(self.vol())
            .expect("list volume")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let expected_links: Vec<&str> = ["a", "b", "abs-link", "rel-link"]
            .into_iter()
            .filter(|n| self.vol().join(n).symlink_metadata().is_ok())
            .collect();
        let mut expected: Vec<String> = ["dir", "existing.txt"]
            .into_iter()
            .chain(expected_links)
            .map(str::to_owned)
            .collect();
        expected.sort();
        assert_eq!(names, expected, "nothing created, renamed or deleted");
    }
}

#[test]
fn host_file_not_given_cannot_be_read() {
    let fixture = Fixture::new();
    fixture.assert_denied(false, &["read", "/etc/passwd"]);
    let secret = fixture.parent.path().join("secret.txt");
    fixture.assert_denied(false, &["read", path_str(&secret)]);
}

#[test]
fn dotdot_cannot_leave_a_volume() {
    let fixture = Fixture::new();
    fixture.assert_denied(false, &["read", "/data/../secret.txt"]);
    fixture.assert_denied(false, &["read", "/data/dir/../../secret.txt"]);
    fixture.assert_denied(false, &["read", "/data/../../../../etc/passwd"]);
}

#[test]
fn absolute_symlink_cannot_leave_a_volume() {
    let fixture = Fixture::new();
    symlink(
        fixture.parent.path().join("secret.txt"),
        fixture.vol().join("abs-link"),
    )
    .expect("symlink");
    fixture.assert_denied(false, &["read", "/data/abs-link"]);
    fixture.assert_denied(false, &["write", "/data/abs-link"]);
}

#[test]
fn relative_symlink_cannot_leave_a_volume() {
    let fixture = Fixture::new();
    symlink("../secret.txt", fixture.vol().join("rel-link")).expect("symlink");
    fixture.assert_denied(false, &["read", "/data/rel-link"]);
    fixture.assert_denied(false, &["write", "/data/rel-link"]);
}

#[test]
fn symlink_loop_fails_cleanly() {
    let fixture = Fixture::new();
    symlink("b", fixture.vol().join("a")).expect("symlink");
    symlink("a", fixture.vol().join("b")).expect("symlink");
    fixture.assert_denied(false, &["read", "/data/a"]);
}

#[test]
fn read_only_volume_refuses_create() {
    let fixture = Fixture::new();
    fixture.assert_denied(true, &["write", "/data/new.txt"]);
    fixture.assert_denied(true, &["mkdir", "/data/newdir"]);
    fixture.assert_denied(true, &["symlink", "existing.txt", "/data/link"]);
}

#[test]
fn read_only_volume_refuses_overwrite_and_append() {
    let fixture = Fixture::new();
    fixture.assert_denied(true, &["write", "/data/existing.txt"]);
    fixture.assert_denied(true, &["append", "/data/existing.txt"]);
}

#[test]
fn read_only_volume_refuses_truncate() {
    let fixture = Fixture::new();
    fixture.assert_denied(true, &["truncate", "/data/existing.txt"]);
}

#[test]
fn read_only_volume_refuses_rename() {
    let fixture = Fixture::new();
    fixture.assert_denied(true, &["rename", "/data/existing.txt", "/data/moved.txt"]);
    fixture.assert_denied(true, &["rename", "/data/dir", "/data/moved"]);
}

#[test]
fn read_only_volume_refuses_delete() {
    let fixture = Fixture::new();
    fixture.assert_denied(true, &["unlink", "/data/existing.txt"]);
    fixture.assert_denied(true, &["rmdir", "/data/dir"]);
}

#[test]
fn read_only_volume_can_be_read() {
    let fixture = Fixture::new();
    for (shape, output) in fixture.attempt(true, &["read", "/data/existing.txt"]) {
        assert_code(&output, 0);
        assert!(stdout(&output).contains("content: original"), "{shape}");
    }
}

#[test]
fn writable_volume_can_be_written() {
    let fixture = Fixture::new();
    for (shape, output) in fixture.attempt(false, &["write", "/data/new.txt"]) {
        assert_code(&output, 0);
        assert_eq!(stdout(&output), "ok\n", "{shape}");
    }
    let written = std::fs::read_to_string(fixture.vol().join("new.txt")).expect("new file");
    assert_eq!(written, "written by guest\n");
}

#[test]
fn no_socket_is_reachable() {
    let fixture = Fixture::new();
    fixture.assert_denied(false, &["socket"]);
}

#[test]
fn component_cannot_create_sockets() {
    // The guest asks wasi:sockets for a TCP and a UDP socket and exits 0
    // only when both requests are refused with access-denied.
    let root = temp();
    let output = run(root.path(), &[path_str(&wat_guest("sockets"))]);
    assert_code(&output, 0);
}

#[test]
fn a_commands_socket_connect_is_denied_unless_a_rule_allows_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let program = bindgen_component("tcp-connect", "main.c", "tcp_connect");
    let program = path_str(&program);
    let target = format!("127.0.0.1:{port}");
    let root = temp();
    let denied = run(root.path(), &[program, &target]);
    assert_code(&denied, 1);
    assert_eq!(stdout(&denied), "access-denied\n");
    listener.set_nonblocking(true).expect("nonblocking");
    assert!(
        listener.accept().is_err(),
        "a denied connect reached the listener"
    );
    let rule = format!("tcp://127.0.0.1:{port}");
    let allowed = run(root.path(), &["--allow-outbound", &rule, program, &target]);
    assert_code(&allowed, 0);
    assert_eq!(stdout(&allowed), "connected\n");
    assert!(
        listener.accept().is_ok(),
        "the allowed connect did not arrive"
    );
    let other = format!("tcp://127.0.0.1:{}", port.wrapping_add(1).max(1));
    let elsewhere = run(root.path(), &["--allow-outbound", &other, program, &target]);
    assert_code(&elsewhere, 1);
    assert_eq!(stdout(&elsewhere), "access-denied\n");
    assert!(
        listener.accept().is_err(),
        "a denied connect reached the listener"
    );
}

/// A loopback port nothing listens on (bound, then let go).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

#[test]
fn a_guest_listens_only_where_a_listen_rule_allows() {
    let program = bindgen_component("tcp-connect", "main.c", "tcp_connect");
    let program = path_str(&program);
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let nothing_listens = || {
        assert!(
            std::net::TcpStream::connect(&address).is_err(),
            "something listens on {address}"
        );
    };
    let root = temp();
    // No rule, an outbound rule, a listen rule for another port: refused,
    // and the host's port stays closed.
    let other_port = format!("tcp://127.0.0.1:{}", port.wrapping_add(1).max(1));
    let outbound = format!("tcp://{address}");
    for flags in [
        vec![],
        vec!["--allow-outbound", outbound.as_str()],
        vec!["--allow-listen", other_port.as_str()],
    ] {
        // A listener the policy let through would wait for a client: the
        // timeout makes that a failure, not a hang. Refused, the guest
        // waits for the end of its stdin (`-i`): the port is looked at
        // while the guest and whatever it was given still live.
        let mut args = vec!["run", "-i", "--timeout", "10s"];
        args.extend(flags.iter().copied());
        args.extend([program, "--listen", address.as_str()]);
        let mut guest = wharf(root.path())
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let input = guest.stdin.take().expect("stdin");
        let mut out = std::io::BufReader::new(guest.stdout.take().expect("stdout"));
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).expect("read");
        assert_eq!(line, "access-denied\n", "{flags:?}");
        nothing_listens();
        assert!(
            guest.try_wait().expect("try_wait").is_none(),
            "{flags:?}: the guest ended before its port was looked at"
        );
        drop(input);
        let denied = guest.wait_with_output().expect("wait");
        assert_code(&denied, 1);
    }
    // With the rule, the guest listens there and a host client reaches it.
    let rule = format!("tcp://{address}");
    let mut guest = wharf(root.path())
        .args([
            "run",
            "--allow-listen",
            &rule,
            program,
            "--listen",
            &address,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = std::io::BufReader::new(guest.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).expect("read");
    assert_eq!(line, "listening\n");
    std::net::TcpStream::connect(&address).expect("the guest's listener");
    let status = guest.wait().expect("wait");
    line.clear();
    std::io::BufRead::read_line(&mut out, &mut line).expect("read");
    assert_eq!((status.code(), line.as_str()), (Some(0), "accepted\n"));
    nothing_listens();
}

#[test]
fn a_working_directory_given_through_a_link_swapped_during_the_run_leads_nowhere_new() {
    use std::io::{BufRead as _, Read as _};
    let (root, host) = (temp(), temp());
    let volume = host.path().join("vol");
    std::fs::create_dir_all(volume.join("real")).expect("real");
    std::fs::write(volume.join("real/relative.txt"), "inside\n").expect("inside");
    std::os::unix::fs::symlink("real", volume.join("work")).expect("link");
    let outside = host.path().join("outside");
    std::fs::create_dir(&outside).expect("outside");
    std::fs::write(outside.join("relative.txt"), "outside\n").expect("outside file");
    let mount = format!("{}:/data", path_str(&volume));
    let mut child = wharf(root.path())
        .args([
            "run",
            "-v",
            &mount,
            "-w",
            "/data/work",
            path_str(&c_guest("cwd")),
            "400",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("wharf run");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready");
    assert_eq!(line, "ready\n");
    // The link now leads out of the volume: the guest's directory is the
    // one it was given.
    std::fs::remove_file(volume.join("work")).expect("unlink");
    std::os::unix::fs::symlink(&outside, volume.join("work")).expect("swap");
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read");
    assert!(child.wait().expect("wait").success(), "{rest}");
    assert_eq!(rest, "relative: inside\n");
}
