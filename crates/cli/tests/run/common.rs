//! Test support: the `wharf` binary, guest programs built on demand, and
//! temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where guest sources live.
pub fn guest_source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guests")
        .join(name)
}

/// A `wharf` command with its own state directory and a canary in the host
/// environment (which must never reach a guest).
pub fn wharf(root: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wharf"));
    command
        .env("WHARF_ROOT", root)
        .env("WHARF_HOST_CANARY", "leaked")
        .env_remove("WHARF_LOG")
        .stdin(Stdio::null());
    command
}

/// A fresh temporary directory, removed on drop.
pub fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("wharf-test-")
        .tempdir()
        .expect("create a temporary directory")
}

/// A state root for a test that makes containers. On drop, before its
/// directory goes, every container in it is removed (`rm -f`), so a test
/// that fails midway leaves no supervisor running.
pub struct StateRoot {
    dir: tempfile::TempDir,
}

impl StateRoot {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for StateRoot {
    fn drop(&mut self) {
        let Ok(listed) = wharf(self.path()).args(["ps", "-a", "-q"]).output() else {
            return;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !ids.is_empty() {
            let _ = wharf(self.path()).args(["rm", "-f"]).args(&ids).output();
        }
    }
}

/// A fresh [`StateRoot`].
pub fn state_root() -> StateRoot {
    StateRoot { dir: temp() }
}

/// Runs `wharf run ARGS...` and returns what it did.
pub fn run(root: &Path, args: &[&str]) -> Output {
    wharf(root)
        .arg("run")
        .args(args)
        .output()
        .expect("spawn wharf")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the exit code, showing the output when it differs.
#[track_caller]
pub fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// Builds `key` once per test process (see [`wharf_testkit::build_once`]).
fn build_once(key: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guests");
    wharf_testkit::build_once(&dir, key, build)
}

/// The C guest `NAME.c`, built with clang for wasm32-wasi (preview 1).
pub fn c_guest(name: &str) -> PathBuf {
    build_once(&format!("{name}.wasm"), |out| {
        wharf_testkit::compile_wasi_c(&guest_source(&format!("{name}.c")), out);
    })
}

/// The C guest `NAME.c` as a `wasi:cli/command` component: the preview-1
/// module wrapped with the preview-1 adapter.
pub fn component_guest(name: &str) -> PathBuf {
    let module = c_guest(name);
    build_once(&format!("{name}.component.wasm"), |out| {
        encode_component(
            &module,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
            out,
        );
    })
}

/// A `.wat` guest, by path (wharf reads text itself).
pub fn wat_guest(name: &str) -> PathBuf {
    guest_source(&format!("{name}.wat"))
}

/// Both shapes of a C guest: core module and component.
pub fn both_shapes(name: &str) -> [(&'static str, PathBuf); 2] {
    [
        ("module", c_guest(name)),
        ("component", component_guest(name)),
    ]
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The C guest in `tests/guests/DIR`: `MAIN` with wit-bindgen's bindings
/// for `WORLD` (in `gen/`), built as a reactor and made a component with
/// the reactor adapter (files and environment through wasi-libc).
pub fn bindgen_component(dir: &str, main: &str, world: &str) -> PathBuf {
    let source = guest_source(dir);
    let module = build_once(&format!("{dir}.core.wasm"), |out| {
        let inputs = [
            source.join(main),
            source.join(format!("gen/{world}.c")),
            source.join(format!("gen/{world}_component_type.o")),
        ];
        let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
        wharf_testkit::compile_wasi_c_reactor(&inputs, true, out);
    });
    build_once(&format!("{dir}.wasm"), |out| {
        encode_component(
            &module,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            out,
        );
    })
}

/// The preview-1 core module `module` made a component at `out` with the
/// preview-1 `adapter` (command or reactor).
fn encode_component(module: &Path, adapter: &[u8], out: &Path) {
    let bytes = std::fs::read(module).expect("read the core module");
    let component = wit_component::ComponentEncoder::default()
        .module(&bytes)
        .expect("module")
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            adapter,
        )
        .expect("adapter")
        .validate(true)
        .encode()
        .expect("encode the component");
    std::fs::write(out, component).expect("write the component");
}

/// `wharf run ARGS` with `WHARF_LOG=debug`: what it did is on stderr.
pub fn run_logged(root: &Path, args: &[&str]) -> Output {
    wharf(root)
        .env("WHARF_LOG", "debug")
        .arg("run")
        .args(args)
        .output()
        .expect("spawn")
}

/// The compiled-code entries of the cache under `root` (not their seals,
/// nor the records of program files).
pub fn cached_code(root: &Path) -> Vec<PathBuf> {
    wharf_testkit::files_under(&root.join("cache"))
        .into_iter()
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "cwasm" || ext == "ccomp")
        })
        .collect()
}
