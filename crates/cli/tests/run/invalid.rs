//! Bad input: a clear one-line error, exit 125 (127 for a missing file),
//! never a panic, nothing left in the cache.

use std::path::Path;

use crate::common::*;

#[track_caller]
fn assert_rejected(root: &Path, args: &[&str], code: i32, needle: &str) {
    let output = run(root, args);
    assert_code(&output, code);
    let err = stderr(&output);
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(stdout(&output), "");
}

fn cache_entries(root: &Path) -> usize {
    let Ok(engines) = std::fs::read_dir(root.join("cache")) else {
        return 0;
    };
    engines
        .flatten()
        .map(|engine| std::fs::read_dir(engine.path()).map_or(0, |d| d.count()))
        .sum()
}

#[test]
fn missing_file_exits_127() {
    let root = temp();
    assert_rejected(root.path(), &["/no/such/program.wasm"], 127, "No such file");
}

#[test]
fn truncated_module_is_rejected() {
    let root = temp();
    let bytes = std::fs::read(c_guest("trap")).expect("guest");
    let truncated = root.path().join("truncated.wasm");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    assert_rejected(
        root.path(),
        &[path_str(&truncated)],
        125,
        "not a valid WebAssembly program",
    );
    assert_eq!(cache_entries(root.path()), 0);
}

#[test]
fn random_bytes_are_rejected() {
    let root = temp();
    let random = root.path().join("random.wasm");
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80)
        .collect();
    std::fs::write(&random, bytes).expect("write");
    assert_rejected(
        root.path(),
        &[path_str(&random)],
        125,
        "not a WebAssembly module or component",
    );
    let elf = root.path().join("elf.wasm");
    std::fs::write(&elf, b"\x7fELF\x02\x01\x01\0rest of a binary").expect("write");
    assert_rejected(
        root.path(),
        &[path_str(&elf)],
        125,
        "not a WebAssembly module",
    );
    assert_eq!(cache_entries(root.path()), 0);
}

#[test]
fn bad_text_names_line_and_column() {
    let root = temp();
    let text = root.path().join("bad.wat");
    std::fs::write(
        &text,
        "(module\n  (func (export \"_start\")\n    i32.bogus))\n",
    )
    .expect("write");
    assert_rejected(root.path(), &[path_str(&text)], 125, "bad.wat:3:");
}

#[test]
fn valid_module_with_missing_import() {
    let root = temp();
    let guest = wat_guest("missing_import");
    assert_rejected(
        root.path(),
        &[path_str(&guest)],
        125,
        "env::launch_missiles",
    );
}

#[test]
fn component_of_a_world_we_do_not_serve() {
    let root = temp();
    let guest = wat_guest("unknown_world");
    assert_rejected(
        root.path(),
        &[path_str(&guest)],
        125,
        "example:rockets/launcher",
    );
}

#[test]
fn module_without_start() {
    let root = temp();
    let guest = wat_guest("no_start");
    assert_rejected(root.path(), &[path_str(&guest)], 125, "no entry point");
}

#[test]
fn bad_flags_exit_125() {
    let root = temp();
    let hello = wat_guest("exit42");
    let hello = path_str(&hello);
    assert_rejected(
        root.path(),
        &["--memory", "12x", hello],
        125,
        "unknown unit",
    );
    assert_rejected(
        root.path(),
        &["--timeout", "soon", hello],
        125,
        "not a duration",
    );
    assert_rejected(
        root.path(),
        &["-v", "/tmp:relative", hello],
        125,
        "must be absolute",
    );
    assert_rejected(
        root.path(),
        &["-v", "/no/such/dir:/x", hello],
        125,
        "/no/such/dir",
    );
    assert_rejected(
        root.path(),
        &["-w", "relative", hello],
        125,
        "must be absolute",
    );
    assert_rejected(root.path(), &["--bogus", hello], 125, "--bogus");
    assert_rejected(
        root.path(),
        &["--env-file", "/no/such/env", hello],
        125,
        "env file",
    );
    assert_rejected(root.path(), &[], 125, "FILE");
}

#[test]
fn a_listen_rule_names_tcp_or_udp_at_an_address() {
    let root = temp();
    let guest = wat_guest("exit42");
    let hello = path_str(&guest);
    for (rule, why) in [
        (
            "http://127.0.0.1:80",
            "a listen rule's scheme is tcp or udp",
        ),
        ("tcp://localhost:80", "not a host name"),
        ("tcp://127.0.0.1", "this scheme needs a port"),
    ] {
        assert_rejected(root.path(), &["--allow-listen", rule, hello], 125, why);
    }
}
