//! WASI 0.3 commands (`wasi:cli/run@0.3.0`, the component model's async
//! ABI): their exit, stop and memory cap are a 0.2 command's.

use std::time::{Duration, Instant};

use crate::common::*;

/// The 0.3 command guest in `mode` (see guests/p3_command.wat), written
/// into `dir`.
fn p3_command(dir: &std::path::Path, mode: u32) -> std::path::PathBuf {
    let text = std::fs::read_to_string(wat_guest("p3_command")).expect("guest source");
    let program = dir.join(format!("p3-mode-{mode}.wat"));
    std::fs::write(&program, text.replace("MODE", &mode.to_string())).expect("write guest");
    program
}

#[test]
fn a_0_3_command_exits_with_its_result() {
    let root = temp();
    let ok = run(root.path(), &[path_str(&p3_command(root.path(), 0))]);
    assert_code(&ok, 0);
    let err = run(root.path(), &[path_str(&p3_command(root.path(), 1))]);
    assert_code(&err, 1);
}

#[test]
fn a_spinning_0_3_command_is_stopped_by_the_timeout() {
    let root = temp();
    let start = Instant::now();
    let output = run(
        root.path(),
        &["--timeout", "300ms", path_str(&p3_command(root.path(), 2))],
    );
    assert_code(&output, 124);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn the_memory_cap_holds_for_a_0_3_command() {
    let root = temp();
    let program = p3_command(root.path(), 3);
    let capped = run(root.path(), &["--memory", "32m", path_str(&program)]);
    assert_code(&capped, 1);
    let uncapped = run(root.path(), &[path_str(&program)]);
    assert_code(&uncapped, 0);
}
