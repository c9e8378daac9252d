//! OCI runtime specs (`config.json`) to a run: `OciSpec::parse`, then
//! `run_spec` against a fixed rootfs (a module, a text file, symlinks in,
//! out, absolute and looping) and `module_run_spec`. Nothing panics; a run's
//! program is a file inside the rootfs, and a module run's working
//! directory lies in one of its volumes.
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wharf_lifecycle::{OciSpec, module_run_spec, run_spec};

fn rootfs() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = wharf_fuzz::scratch().join("bundle/rootfs");
        fs::create_dir_all(dir.join("app/lib")).expect("rootfs");
        fs::create_dir_all(dir.join("etc")).expect("rootfs");
        fs::write(dir.join("app.wasm"), b"\0asm\x01\0\0\0").expect("module");
        fs::write(dir.join("app/main.wasm"), b"\0asm\x01\0\0\0").expect("module");
        fs::write(dir.join("app/hello.wat"), b"(module)").expect("wat");
        fs::write(dir.join("etc/passwd"), b"root:x:0:0\n").expect("text");
        let link = |target: &str, at: &str| {
            std::os::unix::fs::symlink(target, dir.join(at)).expect("symlink")
        };
        link("../app.wasm", "app/up.wasm");
        link("/app/main.wasm", "app/abs.wasm");
        link("../../../../etc/passwd", "app/out");
        link("loop-b", "app/loop-a");
        link("loop-a", "app/loop-b");
        link("/", "app/lib/root");
        dir.canonicalize().expect("canonical rootfs")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = OciSpec::parse(data, Path::new("config.json")) else {
        return;
    };
    let _ = (spec.env(), spec.memory_limit(), spec.is_pod_sandbox());
    let _ = (spec.sandbox_id(), spec.terminal(), spec.oci_version());
    let _ = spec.rootfs(Path::new("/bundle"));
    let root = rootfs();
    if let Ok(run) = run_spec(&spec, root) {
        assert!(
            run.program.starts_with(root) && run.program.is_file(),
            "program {} is not a file in the rootfs",
            run.program.display()
        );
    }
    let run = module_run_spec(&spec, root.join("app.wasm"), "app.wasm");
    assert!(!run.args.is_empty(), "a module run without argv");
    if let Some(workdir) = &run.workdir {
        assert!(
            run.volumes
                .iter()
                .any(|v| Path::new(workdir).starts_with(&v.guest)),
            "working directory {workdir} is in no volume"
        );
    }
});
