//! Test inputs built once per test process: guest programs compiled with
//! clang, archives, anything a test would otherwise rebuild per test.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// `dir/key`, built by `build` (given a temporary path it must create, a
/// file or a directory) the first time any thread of this process asks,
/// and moved into place whole. Later calls return the same path. Builds
/// are serialized, so a build may itself call this function only for
/// inputs built before it.
pub fn build_once(dir: &Path, key: &str, build: impl FnOnce(&Path)) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<PathBuf, ()>>> = OnceLock::new();
    let path = dir.join(key);
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if built.contains_key(&path) {
        return path;
    }
    fs::create_dir_all(dir).expect("test build directory");
    let tmp = dir.join(format!(".{key}.{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let _ = fs::remove_file(&tmp);
    build(&tmp);
    let _ = fs::remove_dir_all(&path);
    fs::rename(&tmp, &path).expect("move the built input into place");
    built.insert(path.clone(), ());
    path
}

/// Compiles the C program `source` to `out` for wasm32-wasi (WASI
/// preview 1) with Debian's clang-14 and wasi-libc.
pub fn compile_wasi_c(source: &Path, out: &Path) {
    compile_wasi_c_reactor(&[source], false, out);
}

/// Compiles and links `inputs` (C sources and objects) to `out` for
/// wasm32-wasi; a `reactor` exports its functions instead of `_start`.
pub fn compile_wasi_c_reactor(inputs: &[&Path], reactor: bool, out: &Path) {
    let mut clang = Command::new("clang-14");
    clang
        .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-o"])
        .arg(out);
    if reactor {
        clang.arg("-mexec-model=reactor");
    }
    let status = clang
        .args(inputs)
        .status()
        .expect("run clang-14 (install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32)");
    assert!(
        status.success(),
        "clang-14 failed to build {}",
        inputs[0].display()
    );
}
