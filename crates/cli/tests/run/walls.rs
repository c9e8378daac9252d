//! The kernel's wall around the guest, with the Wasm sandbox broken on
//! purpose (the `escape` guest and the test-only host functions it calls):
//! each attempt is refused with the layers on and the host is unchanged,
//! and the same attempt succeeds with `--security-opt no-layers` (so the
//! test can fail).

use std::path::Path;

use crate::common::*;

const NO_LAYERS: &str = "--security-opt=no-layers";

/// Runs the escape guest: `flags` before the program, `attempt` after.
fn escape(root: &Path, flags: &[&str], attempt: &[&str]) -> std::process::Output {
    let guest = c_guest("escape");
    let mut args: Vec<&str> = flags.to_vec();
    args.push(path_str(&guest));
    args.extend(attempt);
    run(root, &args)
}

#[track_caller]
fn assert_denied(output: &std::process::Output) {
    assert_code(output, 3);
    assert!(
        stdout(output).starts_with("denied: errno "),
        "{}",
        stdout(output)
    );
}

#[track_caller]
fn assert_escaped(output: &std::process::Output) {
    assert_code(output, 0);
    assert_eq!(stdout(output), "escaped\n");
}

#[test]
fn the_guest_cannot_read_etc_shadow() {
    let root = temp();
    assert_denied(&escape(root.path(), &[], &["read", "/etc/shadow"]));
    assert_escaped(&escape(root.path(), &[NO_LAYERS], &["read", "/etc/shadow"]));
}

#[test]
fn the_guest_writes_only_inside_its_volumes() {
    let (root, host) = (temp(), temp());
    let volume = host.path().join("vol");
    std::fs::create_dir(&volume).expect("volume");
    let mount = format!("{}:/data", path_str(&volume));
    let outside = host.path().join("outside.txt");
    let inside = volume.join("inside.txt");

    let denied = escape(root.path(), &["-v", &mount], &["write", path_str(&outside)]);
    assert_denied(&denied);
    assert!(!outside.exists(), "the host gained {}", outside.display());
    // The volume itself stays writable through the wall.
    assert_escaped(&escape(
        root.path(),
        &["-v", &mount],
        &["write", path_str(&inside)],
    ));
    assert_eq!(
        std::fs::read_to_string(&inside).expect("inside"),
        "escaped\n"
    );

    let escaped = escape(
        root.path(),
        &["-v", &mount, NO_LAYERS],
        &["write", path_str(&outside)],
    );
    assert_escaped(&escaped);
    assert!(outside.exists());
}

#[test]
fn a_read_only_volume_cannot_be_written_even_by_the_host_on_the_guests_behalf() {
    let (root, host) = (temp(), temp());
    let mount = format!("{}:/data:ro", path_str(host.path()));
    let target = host.path().join("new.txt");
    assert_denied(&escape(
        root.path(),
        &["-v", &mount],
        &["write", path_str(&target)],
    ));
    assert!(!target.exists());
}

#[test]
fn the_guest_has_no_socket_without_a_network() {
    let root = temp();
    assert_denied(&escape(root.path(), &[], &["socket"]));
    assert_escaped(&escape(root.path(), &[NO_LAYERS], &["socket"]));
}

#[test]
fn the_guest_cannot_execute_a_program() {
    let root = temp();
    assert_denied(&escape(root.path(), &[], &["exec"]));
    assert_escaped(&escape(root.path(), &[NO_LAYERS], &["exec"]));
}

/// `(Seccomp, NoNewPrivs)` of the thread of `pid` named `name`.
fn thread_status(pid: u32, name: &str) -> Option<(String, String)> {
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_owned())
        };
        if field("Name:").as_deref() == Some(name) {
            return Some((field("Seccomp:")?, field("NoNewPrivs:")?));
        }
    }
    None
}

#[test]
fn the_guests_thread_shows_seccomp_and_no_new_privs_in_proc() {
    let root = temp();
    let sleeper = c_guest("ticker");
    for (flags, walled) in [(vec![], ("2", "1")), (vec![NO_LAYERS], ("0", "0"))] {
        let mut child = wharf(root.path())
            .arg("run")
            .args(&flags)
            .arg(path_str(&sleeper))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn wharf");
        // The ticker prints a line per tick: the guest is running.
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().expect("stdout")),
            &mut line,
        )
        .expect("a tick");
        let guest = thread_status(child.id(), "guest");
        let main = thread_status(child.id(), "wharf");
        let _ = child.kill();
        let _ = child.wait();
        let as_str = |s: &Option<(String, String)>| s.as_ref().map(|(a, b)| (a.clone(), b.clone()));
        let expected = Some((walled.0.to_owned(), walled.1.to_owned()));
        assert_eq!(as_str(&guest), expected, "the guest's thread ({flags:?})");
        // The thread that waits for it keeps its rights, to clean up after.
        assert_eq!(
            as_str(&main),
            Some(("0".to_owned(), "0".to_owned())),
            "the main thread"
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
