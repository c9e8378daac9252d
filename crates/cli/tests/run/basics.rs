//! argv, environment, stdio, exit codes, traps and the working directory.

use std::io::Write;
use std::process::Stdio;

use crate::common::*;

#[test]
fn example_hello_runs() {
    let root = temp();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hello.wat");
    let output = run(root.path(), &[example]);
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "Hello from WebAssembly, run by wharf!\n");
}

#[test]
fn argv_reaches_the_guest_including_flag_like_args() {
    let root = temp();
    for (shape, guest) in both_shapes("args_env") {
        let program = path_str(&guest);
        let output = run(
            root.path(),
            &[program, "one", "two words", "-p", "x", "--memory", "1"],
        );
        assert_code(&output, 0);
        let args: Vec<String> = stdout(&output)
            .lines()
            .filter_map(|l| l.strip_prefix("arg ").map(str::to_owned))
            .collect();
        // argv[0] is the program's file name, as wasmtime gives it.
        let name = guest.file_name().expect("name").to_string_lossy();
        let expected = [
            format!("0={name}"),
            "1=one".into(),
            "2=two words".into(),
            "3=-p".into(),
            "4=x".into(),
            "5=--memory".into(),
            "6=1".into(),
        ];
        assert_eq!(args, expected, "{shape}");
    }
}

#[test]
fn environment_is_exactly_what_was_given() {
    let root = temp();
    let env_file = root.path().join("env");
    std::fs::write(&env_file, "# settings\nFROM_FILE=1\nOVERRIDDEN=file\n").expect("env file");
    for (shape, guest) in both_shapes("args_env") {
        let output = wharf(root.path())
            .env("COPIED", "from host")
            .arg("run")
            .args([
                "-e",
                "A=1",
                "-e",
                "EMPTY=",
                "-e",
                "COPIED",
                "-e",
                "OVERRIDDEN=flag",
            ])
            .arg("--env-file")
            .arg(&env_file)
            .arg(&guest)
            .output()
            .expect("spawn");
        assert_code(&output, 0);
        let env: Vec<String> = stdout(&output)
            .lines()
            .filter_map(|l| l.strip_prefix("env ").map(str::to_owned))
            .collect();
        assert_eq!(
            env,
            [
                "FROM_FILE=1",
                "OVERRIDDEN=flag",
                "A=1",
                "EMPTY=",
                "COPIED=from host"
            ],
            "{shape}: no host variable (PATH, HOME, the canary) may leak"
        );
    }
}

/// Runs `wharf run ARGS` with `input` piped to its stdin.
fn run_with_stdin(root: &std::path::Path, args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = wharf(root)
        .arg("run")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Without -i the guest never reads this: the write may see a closed pipe.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    child.wait_with_output().expect("wait")
}

#[test]
fn stdin_is_empty_without_dash_i() {
    let root = temp();
    for (shape, guest) in both_shapes("stdio") {
        let output = run_with_stdin(root.path(), &[path_str(&guest)], b"secret");
        assert_code(&output, 0);
        assert_eq!(stdout(&output), "", "{shape}");
        assert!(
            stderr(&output).contains("read 0 bytes"),
            "{shape}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn stdio_flows_with_dash_i() {
    let root = temp();
    for (shape, guest) in both_shapes("stdio") {
        let output = run_with_stdin(root.path(), &["-i", path_str(&guest)], b"hello, wharf\n");
        assert_code(&output, 0);
        assert_eq!(stdout(&output), "HELLO, WHARF\n", "{shape}");
        assert_eq!(stderr(&output), "read 13 bytes\n", "{shape}");
    }
}

#[test]
fn guest_exit_code_is_wharfs() {
    let root = temp();
    for (shape, guest) in both_shapes("stdio") {
        for code in [0, 3, 42] {
            let output = run(root.path(), &[path_str(&guest), &code.to_string()]);
            // The preview-1 adapter turns `proc_exit(n)` into wasi:cli/exit's
            // plain failure, which is status 1.
            let expected = if shape == "component" {
                code.min(1)
            } else {
                code
            };
            assert_code(&output, expected);
            assert!(!stderr(&output).contains("wharf:"), "{shape}");
        }
    }
    let output = run(root.path(), &[path_str(&wat_guest("exit42"))]);
    assert_code(&output, 42);
}

#[test]
fn trap_prints_backtrace_with_names_and_exits_134() {
    let root = temp();
    let output = run(root.path(), &[path_str(&wat_guest("crash"))]);
    assert_code(&output, 134);
    let err = stderr(&output);
    assert!(err.contains("unreachable"), "{err}");
    let explode = err.find("explode").expect("innermost frame named");
    let outer = err.find("outer").expect("caller named");
    assert!(explode < outer, "innermost frame first: {err}");

    for (shape, guest) in both_shapes("trap") {
        let output = run(root.path(), &[path_str(&guest)]);
        assert_code(&output, 134);
        let err = stderr(&output);
        assert!(err.contains("crash_here"), "{shape}: {err}");
        assert!(err.contains("call_crash"), "{shape}: {err}");
        assert!(!err.contains("panicked"), "{shape}: {err}");
    }
}

#[test]
fn workdir_resolves_relative_paths() {
    let root = temp();
    let volume = temp();
    std::fs::create_dir(volume.path().join("sub")).expect("mkdir");
    std::fs::write(volume.path().join("sub/relative.txt"), "in sub\n").expect("write");
    std::fs::write(volume.path().join("relative.txt"), "at top\n").expect("write");
    let mount = format!("{}:/data", path_str(volume.path()));
    for (shape, guest) in both_shapes("cwd") {
        let output = run(
            root.path(),
            &["-v", &mount, "-w", "/data/sub", path_str(&guest)],
        );
        assert_code(&output, 0);
        assert_eq!(stdout(&output), "relative: in sub\n", "{shape}");
        let output = run(
            root.path(),
            &["-v", &mount, "-w", "/data", path_str(&guest)],
        );
        assert_eq!(stdout(&output), "relative: at top\n", "{shape}");
    }
}

#[test]
fn compute_guest_matches_the_native_program() {
    // The benchmark's CPU-bound C program gives the same checksum under
    // wharf as built natively with gcc.
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/compute.c");
    let build = temp();
    let native = build.path().join("compute-native");
    let wasm = build.path().join("compute.wasm");
    let status = std::process::Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&native)
        .arg(source)
        .status()
        .expect("run gcc");
    assert!(status.success());
    let status = std::process::Command::new("clang-14")
        .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-o"])
        .arg(&wasm)
        .arg(source)
        .status()
        .expect("run clang-14");
    assert!(status.success());
    let expected = std::process::Command::new(&native)
        .arg("2")
        .output()
        .expect("run native");
    let output = run(build.path(), &[path_str(&wasm), "2"]);
    assert_code(&output, 0);
    assert!(stdout(&output).starts_with("checksum "));
    assert_eq!(stdout(&output), String::from_utf8_lossy(&expected.stdout));
}

#[test]
fn stack_overflow_and_wild_loads_are_traps() {
    let root = temp();
    for (guest, trap, function) in [
        ("recurse", "call stack exhausted", "deeper"),
        ("out_of_bounds", "out of bounds", "peek"),
    ] {
        let output = run(root.path(), &[path_str(&wat_guest(guest))]);
        assert_code(&output, 134);
        let err = stderr(&output);
        assert!(
            err.contains(trap) && err.contains(function),
            "{guest}: {err}"
        );
    }
}
