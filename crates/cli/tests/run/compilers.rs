//! `--compiler`, compiling in tiers, and `wharf compile`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

/// A module of over a megabyte (a large data segment) that prints `text`:
/// large enough to start on Winch. With `throws`, it also throws and
/// catches an exception, which Winch cannot compile.
fn large_program(dir: &Path, text: &str, throws: bool) -> PathBuf {
    let filler = "x".repeat(1 << 20);
    let exceptions = if throws {
        r#"(tag $boom)
           (func $catch (block $caught (try_table (catch $boom $caught) (throw $boom))))"#
    } else {
        "(func $catch)"
    };
    let wat = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write"
                (func $write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 32)
            {exceptions}
            (data (i32.const 64) "{escaped}")
            (data (i32.const 4096) "{filler}")
            (func (export "_start")
                (call $catch)
                (i32.store (i32.const 0) (i32.const 64))
                (i32.store (i32.const 4) (i32.const {len}))
                (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        escaped = text.replace('\n', "\\n"),
        len = text.len()
    );
    let program = dir.join(if throws {
        "large-throws.wat"
    } else {
        "large.wat"
    });
    std::fs::write(&program, wat).expect("write");
    program
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_compiler_runs_the_program_each_with_a_cache_of_its_own() {
    let root = temp();
    let guest = c_guest("args_env");
    for compiler in ["cranelift", "winch", "pulley"] {
        let output = run(
            root.path(),
            &["--compiler", compiler, path_str(&guest), compiler],
        );
        assert_code(&output, 0);
        assert!(
            stdout(&output).contains(&format!("arg 1={compiler}")),
            "{compiler}: {}",
            stdout(&output)
        );
    }
    let engines: std::collections::HashSet<_> = cached_code(root.path())
        .iter()
        .map(|entry| entry.parent().expect("engine dir").to_owned())
        .collect();
    assert_eq!(engines.len(), 3, "{:?}", cached_code(root.path()));
}

#[test]
fn winch_cannot_compile_exceptions_and_the_default_runs_them() {
    let root = temp();
    let guest = wat_guest("exceptions");
    let output = run(root.path(), &["--compiler", "winch", path_str(&guest)]);
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("exceptions proposal not enabled"),
        "{}",
        stderr(&output)
    );
    assert_code(&run(root.path(), &[path_str(&guest)]), 0);
}

#[test]
fn an_unknown_compiler_is_refused() {
    let root = temp();
    let output = run(
        root.path(),
        &["--compiler", "v8", path_str(&wat_guest("exit42"))],
    );
    assert_code(&output, 125);
    assert!(
        stderr(&output).contains("cranelift, winch or pulley"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_large_program_starts_on_winch_and_its_next_run_is_warm() {
    let root = temp();
    let program = large_program(root.path(), "tiered\n", false);
    let first = run_logged(root.path(), &[path_str(&program)]);
    assert_code(&first, 0);
    assert_eq!(stdout(&first), "tiered\n");
    assert!(
        stderr(&first).contains("starting on Winch"),
        "{}",
        stderr(&first)
    );
    // Cranelift's code arrives from the background compile.
    wait_for("the background compile", || {
        !cached_code(root.path()).is_empty()
    });
    wait_for("its seal", || {
        cached_code(root.path())
            .iter()
            .all(|entry| entry.with_extension("cwasm.seal").exists())
    });
    let second = run_logged(root.path(), &[path_str(&program)]);
    assert_code(&second, 0);
    assert_eq!(stdout(&second), "tiered\n");
    let log = stderr(&second);
    assert!(log.contains("loaded from cache"), "{log}");
    assert!(!log.contains("compiling"), "{log}");
}

#[test]
fn a_large_program_winch_cannot_compile_is_compiled_by_cranelift_at_once() {
    let root = temp();
    let program = large_program(root.path(), "caught\n", true);
    let first = run_logged(root.path(), &[path_str(&program)]);
    assert_code(&first, 0);
    assert_eq!(stdout(&first), "caught\n");
    assert!(
        stderr(&first).contains("Winch cannot compile"),
        "{}",
        stderr(&first)
    );
    assert_eq!(
        cached_code(root.path()).len(),
        1,
        "written by the run itself"
    );
}

#[test]
fn wharf_compile_makes_the_first_run_warm() {
    let root = temp();
    let guest = c_guest("args_env");
    let compiled = wharf(root.path())
        .args(["compile", path_str(&guest)])
        .output()
        .expect("spawn");
    assert_code(&compiled, 0);
    let output = run_logged(root.path(), &[path_str(&guest)]);
    assert_code(&output, 0);
    let log = stderr(&output);
    assert!(log.contains("loaded from cache"), "{log}");
    assert!(!log.contains("compiling"), "{log}");
}

#[test]
fn wharf_compile_of_an_invalid_module_fails_and_caches_nothing() {
    let root = temp();
    let bad = root.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0\x01\xff").expect("write");
    let output = wharf(root.path())
        .args(["compile", path_str(&bad)])
        .output()
        .expect("spawn");
    assert_code(&output, 125);
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    assert!(cached_code(root.path()).is_empty());
}

#[test]
fn a_changed_program_of_the_same_size_runs_as_changed() {
    let root = temp();
    let program = root.path().join("exit.wat");
    let exit_with = |code: u32| {
        format!(
            r#"(module
                (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                (memory (export "memory") 1)
                (func (export "_start") (call $exit (i32.const {code}))))"#
        )
    };
    std::fs::write(&program, exit_with(7)).expect("write");
    // Old enough for its identity to be recorded by the run.
    std::thread::sleep(Duration::from_millis(2100));
    assert_code(&run(root.path(), &[path_str(&program)]), 7);
    let records = root.path().join("cache");
    let recorded = wharf_testkit::files_under(&records)
        .iter()
        .any(|p| p.to_string_lossy().contains("/files/"));
    assert!(recorded, "the run recorded the file's identity");
    std::fs::write(&program, exit_with(8)).expect("rewrite, same size");
    assert_code(&run(root.path(), &[path_str(&program)]), 8);
}
