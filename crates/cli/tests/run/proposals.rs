//! The Wasm proposals Wasmtime 48 enables by default that real programs
//! need: exception handling (C++ compiles `throw` to it) and GC.

use crate::common::*;

#[test]
fn cpp_style_exceptions_are_thrown_cleaned_up_and_caught() {
    let root = temp();
    let output = run(root.path(), &[path_str(&wat_guest("exceptions"))]);
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "caught 42 after cleanup\n");
}

#[test]
fn an_exception_nothing_catches_is_a_trap() {
    let root = temp();
    let output = run(root.path(), &[path_str(&wat_guest("uncaught"))]);
    assert_code(&output, 134);
    assert!(
        stderr(&output).contains("guest trapped"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn gc_structs_and_arrays_work() {
    let root = temp();
    let output = run(root.path(), &[path_str(&wat_guest("gc"))]);
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "gc ok\n");
}
