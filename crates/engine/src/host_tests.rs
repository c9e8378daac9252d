use super::*;
use crate::outcome::Outcome;
use crate::spec::RunSpec;

/// Runs on a thread of its own, as every face does: the kernel's wall
/// then holds for that thread alone, and the test's can clean up.
fn run_walled(host: &Host, spec: &RunSpec, stop: &StopHandle) -> Result<Outcome, Error> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| host.run(spec, stop))
            .join()
            .expect("the run's thread")
    })
}

const EXIT_7: &str = r#"(module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start") (call $exit (i32.const 7))))"#;

#[test]
fn compilers_are_named_as_the_flag_takes_them() {
    for compiler in [Compiler::Cranelift, Compiler::Winch, Compiler::Pulley] {
        assert_eq!(compiler.name().parse(), Ok(compiler));
    }
    let error = "v8".parse::<Compiler>().expect_err("no such compiler");
    assert_eq!(
        error.to_string(),
        "`v8` is not a compiler: cranelift, winch or pulley"
    );
}

#[test]
fn a_run_walls_in_its_own_thread_and_reports_what_is_enforced() {
    let (dir, program) = wat_program("wharf-host-walls", EXIT_7);
    let host = Host::new(HostConfig::default()).expect("host");
    let stop = host.stop_handle();
    let outcome = run_walled(&host, &RunSpec::new(&program), &stop).expect("run");
    assert!(matches!(outcome, Outcome::Exited(7)), "{outcome:?}");
    let enforced = stop.enforced().expect("the wall went up");
    assert!(enforced.seccomp && enforced.no_new_privs, "{enforced}");
    // The caller's thread is untouched, and may still clean up.
    let status = std::fs::read_to_string("/proc/thread-self/status").expect("status");
    assert!(status.lines().any(|l| l == "Seccomp:\t0"), "{status}");
    std::fs::remove_dir_all(dir).expect("cleanup");

    let mut off = RunSpec::new(&program);
    off.layers = crate::layers::enforced::Layers::Off;
    let (dir, program) = wat_program("wharf-host-no-walls", EXIT_7);
    off.program = program;
    let stop = host.stop_handle();
    run_walled(&host, &off, &stop).expect("run");
    assert_eq!(
        stop.enforced(),
        Some(crate::layers::enforced::Enforced::none())
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn runs_a_spec_and_reuses_compiled_code_across_hosts() {
    let (dir, program) = wat_program("wharf-host-test", EXIT_7);
    let config = HostConfig {
        cache_dir: Some(dir.join("cache")),
        ..HostConfig::default()
    };
    let spec = RunSpec::new(&program);

    let first = Host::new(config.clone()).expect("host");
    let outcome = run_walled(&first, &spec, &first.stop_handle()).expect("run");
    assert_eq!(outcome, Outcome::Exited(7));
    assert_eq!(first.compilations(), 1);

    let second = Host::new(config).expect("host");
    let outcome = run_walled(&second, &spec, &second.stop_handle()).expect("run");
    assert_eq!(outcome, Outcome::Exited(7));
    assert_eq!(second.compilations(), 0, "loaded from the cache");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_host_keeps_what_it_compiled_for_its_next_runs() {
    let (dir, program) = wat_program("wharf-memo-test", EXIT_7);
    let host = Host::new(HostConfig {
        cache_dir: Some(dir.join("cache")),
        ..HostConfig::default()
    })
    .expect("host");
    let spec = RunSpec::new(&program);
    assert_eq!(
        run_walled(&host, &spec, &host.stop_handle()).expect("run"),
        Outcome::Exited(7)
    );
    std::fs::remove_dir_all(dir.join("cache")).expect("empty the cache");
    assert_eq!(
        run_walled(&host, &spec, &host.stop_handle()).expect("run"),
        Outcome::Exited(7)
    );
    assert_eq!(host.compilations(), 1, "the second run used the kept code");

    // A changed program is a different one.
    std::fs::write(&program, EXIT_7.replace("i32.const 7", "i32.const 8")).expect("write");
    assert_eq!(
        run_walled(&host, &spec, &host.stop_handle()).expect("run"),
        Outcome::Exited(8)
    );
    assert_eq!(host.compilations(), 2);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_host_keeps_only_its_most_recent_programs() {
    let (dir, _) = wat_program("wharf-memo-bound-test", EXIT_7);
    let host = Host::new(HostConfig::default()).expect("host");
    let run = |code: u32| {
        let program = dir.join(format!("exit-{code}.wat"));
        let wat = EXIT_7.replace("i32.const 7", &format!("i32.const {code}"));
        std::fs::write(&program, wat).expect("write");
        let outcome = run_walled(&host, &RunSpec::new(&program), &host.stop_handle());
        assert_eq!(outcome.expect("run"), Outcome::Exited(code as i32));
    };
    for code in 0..9 {
        run(code);
    }
    assert_eq!(host.compilations(), 9);
    run(8);
    assert_eq!(host.compilations(), 9, "a recent program is kept");
    run(0);
    assert_eq!(host.compilations(), 10, "the oldest was let go");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// The text module `wat`, written as `program.wat` in a fresh directory
/// named after `test`; returns the directory and the program.
fn wat_program(test: &str, wat: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let program = dir.join("program.wat");
    std::fs::write(&program, wat).expect("write");
    (dir, program)
}

/// A guest that loops forever (see [`wat_program`]).
fn spin_program(test: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    wat_program(test, "(module (func (export \"_start\") (loop (br 0))))")
}

#[test]
fn a_stop_before_the_run_stops_it() {
    let (dir, program) = spin_program("wharf-stop-test");
    let host = Host::new(HostConfig::default()).expect("host");
    let stop = host.stop_handle();
    stop.stop(crate::StopReason::Timeout);
    let outcome = run_walled(&host, &RunSpec::new(&program), &stop).expect("run");
    assert_eq!(outcome, Outcome::Stopped(crate::StopReason::Timeout));
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn stop_interrupts_a_spinning_guest_from_another_thread() {
    let (dir, program) = spin_program("wharf-spin-test");
    let host = Host::new(HostConfig::default()).expect("host");
    let stop = host.stop_handle();
    let stopper = stop.clone();
    let timer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        stopper.stop(crate::StopReason::Signal(15));
    });
    let outcome = run_walled(&host, &RunSpec::new(&program), &stop).expect("run");
    assert_eq!(outcome, Outcome::Stopped(crate::StopReason::Signal(15)));
    timer.join().expect("timer");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// Runs `program` on a thread, stops it with SIGKILL after 200 ms, and
/// returns its outcome and how long the run outlived the stop.
fn stop_after_200ms(spec: RunSpec) -> (Outcome, std::time::Duration) {
    let host = std::sync::Arc::new(Host::new(HostConfig::default()).expect("host"));
    let stop = host.stop_handle();
    let runner = {
        let (host, stop) = (host.clone(), stop.clone());
        std::thread::spawn(move || host.run(&spec, &stop).expect("run"))
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let stopped_at = std::time::Instant::now();
    stop.stop(crate::StopReason::Signal(9));
    let outcome = runner.join().expect("runner");
    (outcome, stopped_at.elapsed())
}

#[test]
fn stop_ends_a_guest_sleeping_in_poll_oneoff_at_once() {
    // One relative monotonic-clock subscription of an hour.
    let (dir, program) = wat_program(
        "wharf-sleep-test",
        r#"(module
            (import "wasi_snapshot_preview1" "poll_oneoff"
                (func $poll (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "_start")
                (i32.store (i32.const 16) (i32.const 1))
                (i64.store (i32.const 24) (i64.const 3600000000000))
                (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#,
    );
    let (outcome, took) = stop_after_200ms(RunSpec::new(&program));
    assert_eq!(outcome, Outcome::Stopped(crate::StopReason::Signal(9)));
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn stop_ends_a_guest_waiting_for_stdin_from_a_fifo_at_once() {
    // fd_read of 16 bytes from stdin into one iovec.
    let (dir, program) = wat_program(
        "wharf-fifo-test",
        r#"(module
            (import "wasi_snapshot_preview1" "fd_read"
                (func $read (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "_start")
                (i32.store (i32.const 0) (i32.const 64))
                (i32.store (i32.const 4) (i32.const 16))
                (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))))"#,
    );
    let fifo = dir.join("stdin");
    let path = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    // A writer that never writes, as containerd holds a task's stdin.
    let writer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .expect("open the fifo");
    let mut spec = RunSpec::new(&program);
    spec.stdin = crate::Stdin::File(fifo.clone());
    let (outcome, took) = stop_after_200ms(spec);
    assert_eq!(outcome, Outcome::Stopped(crate::StopReason::Signal(9)));
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    drop(writer);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn stdin_from_a_fifo_reaches_the_guest_until_its_writer_closes() {
    // Reads stdin until end of file; exits with the byte count.
    let (dir, program) = wat_program(
        "wharf-fifo-eof",
        r#"(module
            (import "wasi_snapshot_preview1" "fd_read"
                (func $read (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") (local $total i32)
                (i32.store (i32.const 0) (i32.const 64))
                (i32.store (i32.const 4) (i32.const 16))
                (loop $more
                    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))
                    (if (i32.load (i32.const 32))
                        (then
                            (local.set $total (i32.add (local.get $total) (i32.load (i32.const 32))))
                            (br $more))))
                (call $exit (local.get $total))))"#,
    );
    let fifo = dir.join("stdin");
    let path = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .expect("open the fifo");
            std::thread::sleep(std::time::Duration::from_millis(100));
            file.write_all(b"hello").expect("write");
        })
    };
    let host = Host::new(HostConfig::default()).expect("host");
    let mut spec = RunSpec::new(&program);
    spec.stdin = crate::Stdin::File(fifo.clone());
    let outcome = run_walled(&host, &spec, &host.stop_handle()).expect("run");
    writer.join().expect("writer");
    assert_eq!(outcome, Outcome::Exited(5));
    std::fs::remove_dir_all(dir).expect("cleanup");
}
