//! What the runtime tests share: wharf-runc's binaries, the guest, the
//! images, and a runc that records what it is given.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use wharf_testkit::{LayerEntry, build_once as build_once_in, linux_image_archive};

/// The Wasm image's tag, in the engines' stores.
pub const WASM_IMAGE: &str = "wharf-test/wasm-container:1";
/// The HTTP service image's tag.
pub const SERVICE_IMAGE: &str = "wharf-test/wasm-service:1";
/// The busybox image's tag.
pub const BUSYBOX_IMAGE: &str = "wharf-test/busybox:1";

/// `dir/key` built once per test process (see [`wharf_testkit::build_once`]).
pub fn build_once(key: &str, build: impl FnOnce(&Path)) -> PathBuf {
    build_once_in(Path::new(env!("CARGO_TARGET_TMPDIR")), key, build)
}

/// wharf-runc as cargo built it for the tests: dynamically linked, so it
/// passes every command through but refuses to run Wasm containers.
pub fn dynamic_runc() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wharf-runc"))
}

/// The statically linked wharf-runc that runs Wasm containers, built by
/// `scripts/build-runc` (`scripts/test` builds it and names it in
/// `$WHARF_RUNC_STATIC`).
pub fn static_runc() -> PathBuf {
    let path = std::env::var_os("WHARF_RUNC_STATIC")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "WHARF_RUNC_STATIC is not set: run the tests with scripts/test, which builds the \
             statically linked wharf-runc (scripts/build-runc) and names it there"
            )
        });
    assert!(
        path.is_file(),
        "WHARF_RUNC_STATIC={} is no file",
        path.display()
    );
    path
}

/// The test guest (`guests/container.c`) as a wasm32-wasi module.
pub fn container_wasm() -> PathBuf {
    build_once("container.wasm", |out| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests/container.c");
        wharf_testkit::compile_wasi_c(&source, out);
    })
}

/// A docker archive of [`WASM_IMAGE`]: linux/amd64 as Docker 20.10 wants,
/// `/app.wasm` the guest and the entrypoint, `/exceptions.wasm` a program
/// that throws and catches, `/data` a directory,
/// `GREETING=from-image`.
pub fn wasm_image_archive() -> PathBuf {
    let wasm = std::fs::read(container_wasm()).expect("read the guest");
    // The CLI's C++-style exceptions guest, as binary Wasm.
    let exceptions = wat::parse_file(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/guests/exceptions.wat"),
    )
    .expect("assemble exceptions.wat");
    build_once("wasm-image.tar", |out| {
        linux_image_archive(
            out,
            WASM_IMAGE,
            &[
                LayerEntry::File("app.wasm", &wasm, 0o755),
                LayerEntry::File("exceptions.wasm", &exceptions, 0o755),
                // The magic and nothing valid after it.
                LayerEntry::File("bad.wasm", b"\0asm\x01\0\0\0\x01\xff\xff", 0o755),
                LayerEntry::Dir("data/"),
                LayerEntry::Dir("tmp/"),
            ],
            serde_json::json!({
                "Entrypoint": ["/app.wasm"],
                "Cmd": ["hello"],
                "Env": ["PATH=/", "GREETING=from-image"],
            }),
        );
    })
}

/// A docker archive of [`SERVICE_IMAGE`]: the repository's HTTP hello
/// component (`examples/http-hello/hello.wasm`) as `/hello.wasm`.
pub fn service_image_archive() -> PathBuf {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/http-hello/hello.wasm");
    let wasm = std::fs::read(&example).expect("read the HTTP example");
    build_once("service-image.tar", |out| {
        linux_image_archive(
            out,
            SERVICE_IMAGE,
            &[LayerEntry::File("hello.wasm", &wasm, 0o755)],
            serde_json::json!({"Entrypoint": ["/hello.wasm"]}),
        );
    })
}

/// The body the HTTP example answers with.
pub const SERVICE_GREETING: &str = "Hello from a WebAssembly service, run by wharf!\n";

/// A docker archive of [`BUSYBOX_IMAGE`].
pub fn busybox_archive() -> PathBuf {
    build_once("busybox-image.tar", |out| {
        wharf_testkit::busybox_image_archive(out, BUSYBOX_IMAGE);
    })
}

/// stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A container engine's client as the runtime tests drive it; the provided
/// methods run it with wharf-runc as the runtime.
pub trait Engine {
    /// The client command, connected to this engine's private state.
    fn client(&self) -> std::process::Command;
    /// Global flags that pick wharf-runc for every command (Podman's).
    fn wharf_global(&self) -> Vec<String>;
    /// Flags of `run` that pick wharf-runc (Docker's `--runtime wharf`).
    fn wharf_run_flags(&self) -> Vec<String>;
    /// What to show when a command fails (the daemon's log).
    fn diagnostics(&self) -> String;

    /// The client with `args`.
    fn run(&self, args: &[&str]) -> Output {
        self.client()
            .args(args)
            .output()
            .expect("run the engine's client")
    }

    /// The client with `args`, which must succeed.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{args:?}: {}\n{}\n{}\n{}",
            output.status,
            stdout(&output),
            stderr(&output),
            self.diagnostics()
        );
        output
    }

    /// `command` with wharf-runc as the runtime (`run` gets its flags).
    fn wharf(&self, command: &[&str]) -> Output {
        let global = self.wharf_global();
        let run_flags = self.wharf_run_flags();
        let mut all: Vec<&str> = global.iter().map(String::as_str).collect();
        if let Some((&"run", rest)) = command.split_first() {
            all.push("run");
            all.extend(run_flags.iter().map(String::as_str));
            all.extend_from_slice(rest);
        } else {
            all.extend_from_slice(command);
        }
        self.run(&all)
    }

    /// Waits up to 10 s for `text` in `name`'s logs.
    #[track_caller]
    fn wait_for_log(&self, name: &str, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !stdout(&self.run(&["logs", name])).contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "{name} never logged {text:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// `stats --no-stream`: a line `NAME MEMUSAGE` per running container.
    fn stats(&self) -> String {
        stdout(&self.ok(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.MemUsage}}",
        ]))
    }

    /// `run --rm --network none FLAGS IMAGE ARGS` under wharf-runc.
    fn wharf_run(&self, flags: &[&str], image: &str, args: &[&str]) -> Output {
        let mut command = vec!["run", "--rm", "--network", "none"];
        command.extend_from_slice(flags);
        command.push(image);
        command.extend_from_slice(args);
        self.wharf(&command)
    }
}
