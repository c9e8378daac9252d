//! Records the Wasmtime version this engine is built with (from the
//! workspace's lock file), for `wharf version` and `wharf info`.

fn main() {
    // Read when the script runs, not when it was compiled: one compiled
    // script serves every checkout that shares a target directory.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default();
    let lock = std::path::Path::new(&manifest_dir).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    // A lock file lists each package as `name = "..."` then `version = "..."`;
    // reading two lines spares every build a TOML parser as a build dependency.
    let mut lines = text.lines();
    let mut version = "unknown".to_owned();
    while let Some(line) = lines.next() {
        if line == "name = \"wasmtime\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            version = v.trim_end_matches('"').to_owned();
            break;
        }
    }
    println!("cargo:rustc-env=WHARF_WASMTIME_VERSION={version}");
}
