//! The compile that `create` makes, walled in.

use std::fs;
use std::process::Command;

use serde_json::json;

use super::support::static_runc;
use super::{FakeRunc, bundle, create_args, spec};

/// A module whose compile takes a while: many functions, each a chain of
/// arithmetic.
fn slow_to_compile() -> Vec<u8> {
    let mut text = String::from("(module\n");
    for index in 0..6000 {
        text.push_str(&format!(
            "(func $f{index} (param i64) (result i64) local.get 0"
        ));
        for step in 0..40 {
            text.push_str(&format!(
                " i64.const {step} i64.mul i64.const {index} i64.add"
            ));
        }
        text.push_str(")\n");
    }
    text.push_str("(func (export \"_start\")))");
    wat::parse_str(&text).expect("wat")
}

/// The first child of `pid` found within `limit`.
fn child_of(pid: u32, limit: std::time::Duration) -> Option<u32> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        let children =
            fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if let Some(child) = children.split_whitespace().next() {
            return child.parse().ok();
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    None
}

/// The compile of a Wasm container's program, which `create` makes as
/// root from the image's bytes, runs walled in: tried as code that took
/// over the compiling process would try it (see `wharf_testkit::intruder`).
#[test]
fn create_compiles_the_images_program_walled_in() {
    if wharf_testkit::skip_unless_root(
        "create_compiles_the_images_program_walled_in",
        "to trace the compile",
    ) {
        return;
    }
    let wasm = slow_to_compile();
    let config = spec(&["/app.wasm"], json!({}));
    let bundle = bundle(&config, &[("app.wasm", &wasm)]);
    let wharf_root = tempfile::tempdir().expect("wharf root");
    let root_flag = format!("--wharf-root={}", wharf_root.path().display());
    let fake = FakeRunc::new();
    let mut creating = Command::new(static_runc())
        .env_clear()
        .env("WHARF_RUNC", fake.dir.path().join("runc"))
        .env("FAKE_RECORD", fake.record())
        .args(create_args(bundle.path(), &[&root_flag]))
        .spawn()
        .expect("wharf-runc create");
    let compiling =
        child_of(creating.id(), std::time::Duration::from_secs(20)).expect("the compile's process");
    // Walled before it compiles anything (a moment after the fork).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        let status = fs::read_to_string(format!("/proc/{compiling}/status")).unwrap_or_default();
        assert!(
            !status.is_empty(),
            "the compile ended before it was seen walled: make it slower"
        );
        if status.contains("Seccomp:\t2") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    let read = wharf_testkit::intruder::open(compiling, "/etc/hostname", libc::O_RDONLY)
        .expect("the compile still runs: make it slower");
    assert_eq!(read, -i64::from(libc::EACCES), "read a host file");
    let socket = wharf_testkit::intruder::socket(compiling).expect("socket");
    assert_eq!(socket, -i64::from(libc::EPERM), "made a socket");
    assert!(creating.wait().expect("wait").success());
    assert!(fake.given().is_some(), "runc ran after the compile");
}
