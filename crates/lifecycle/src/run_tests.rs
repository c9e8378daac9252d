use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use wharf_engine::{DEFAULT_MEMORY_LIMIT, Volume};

use super::*;
use crate::spec::load;

const WASM: &[u8] = b"\0asm\x01\0\0\0";

/// A rootfs with `/app/hello.wasm`, `/app/hello.wat`, `/bin/sh` (ELF) and
/// `/etc/hosts`; a spec built from `overrides` merged into a minimal one.
fn setup(overrides: Value) -> (tempfile::TempDir, OciSpec) {
    let dir = tempfile::tempdir().expect("tempdir");
    let rootfs = dir.path().join("rootfs");
    for sub in ["app", "bin", "etc"] {
        fs::create_dir_all(rootfs.join(sub)).expect("mkdir");
    }
    fs::write(rootfs.join("app/hello.wasm"), WASM).expect("write");
    fs::write(rootfs.join("app/hello.wat"), "(module)").expect("write");
    fs::write(rootfs.join("bin/sh"), b"\x7fELF\x02\x01\x01").expect("write");
    fs::write(rootfs.join("etc/hosts"), "127.0.0.1 localhost\n").expect("write");
    let mut config = json!({
        "ociVersion": "1.1.0",
        "process": {"args": ["/app/hello.wasm"], "cwd": "/"},
        "root": {"path": "rootfs"},
    });
    merge(&mut config, overrides);
    fs::write(dir.path().join("config.json"), config.to_string()).expect("write");
    let spec = load(dir.path()).expect("load");
    (dir, spec)
}

fn merge(base: &mut Value, overrides: Value) {
    match (base, overrides) {
        (Value::Object(base), Value::Object(overrides)) => {
            for (key, value) in overrides {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, overrides) => *base = overrides,
    }
}

fn run_of(overrides: Value) -> (tempfile::TempDir, Result<RunSpec, LifecycleError>) {
    let (dir, spec) = setup(overrides);
    let run = run_spec(&spec, &dir.path().join("rootfs"));
    (dir, run)
}

fn rootfs(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path()
        .join("rootfs")
        .canonicalize()
        .expect("canonicalize")
}

#[test]
fn absolute_program_with_args_env_cwd() {
    let (dir, run) = run_of(json!({"process": {
        "args": ["/app/hello.wasm", "a b", "c"],
        "env": ["PATH=/bin", "EMPTY=", "MALFORMED", "=nokey", "EQ=x=y"],
        "cwd": "/app",
    }}));
    let run = run.expect("run_spec");
    assert_eq!(run.program, rootfs(&dir).join("app/hello.wasm"));
    assert_eq!(run.args, ["/app/hello.wasm", "a b", "c"]);
    let env: Vec<(&str, &str)> = run
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, [("PATH", "/bin"), ("EMPTY", ""), ("EQ", "x=y")]);
    assert_eq!(run.workdir.as_deref(), Some("/app"));
    assert_eq!(run.memory_limit, DEFAULT_MEMORY_LIMIT);
    assert_eq!(run.stdin, wharf_engine::Stdin::Empty);
}

#[test]
fn relative_program_is_found_from_cwd() {
    let (dir, run) = run_of(json!({"process": {"args": ["hello.wasm"], "cwd": "/app/"}}));
    assert_eq!(
        run.expect("run_spec").program,
        rootfs(&dir).join("app/hello.wasm")
    );
    let (_dir, run) = run_of(json!({"process": {"args": ["hello.wasm"], "cwd": "/"}}));
    assert!(
        matches!(run, Err(LifecycleError::ProgramNotFound { program }) if program == "/hello.wasm")
    );
}

#[test]
fn missing_program_is_not_found() {
    let (_dir, run) = run_of(json!({"process": {"args": ["/app/nope.wasm"]}}));
    let err = run.expect_err("missing");
    assert_eq!(
        err.to_string(),
        "program `/app/nope.wasm` not found in the container's rootfs"
    );
    // A directory is not a program either.
    let (_dir, run) = run_of(json!({"process": {"args": ["/app"]}}));
    assert!(matches!(run, Err(LifecycleError::ProgramNotFound { .. })));
}

#[test]
fn program_cannot_climb_out_with_dot_dot() {
    let (dir, spec) = setup(json!({}));
    // A Wasm file beside the rootfs, reachable from the host by `..`.
    fs::write(dir.path().join("outside.wasm"), WASM).expect("write");
    for program in [
        "../outside.wasm",
        "/../outside.wasm",
        "/app/../../outside.wasm",
    ] {
        let mut spec = spec.clone();
        spec_args(&mut spec, program);
        let run = run_spec(&spec, &dir.path().join("rootfs"));
        assert!(
            matches!(run, Err(LifecycleError::ProgramNotFound { .. })),
            "{program}: {run:?}"
        );
    }
}

#[test]
fn program_cannot_climb_out_with_a_symlink() {
    let (dir, spec) = setup(json!({"process": {"args": ["/app/link.wasm"]}}));
    let outside = dir.path().join("outside.wasm");
    fs::write(&outside, WASM).expect("write");
    let link = dir.path().join("rootfs/app/link.wasm");
    let rootfs = dir.path().join("rootfs");
    // Absolute link to the host file: followed inside the rootfs, not found.
    std::os::unix::fs::symlink(&outside, &link).expect("symlink");
    assert!(matches!(
        run_spec(&spec, &rootfs),
        Err(LifecycleError::ProgramNotFound { .. })
    ));
    // Relative link climbing out: `..` stops at the rootfs.
    fs::remove_file(&link).expect("rm");
    std::os::unix::fs::symlink("../../../../../../outside.wasm", &link).expect("symlink");
    assert!(matches!(
        run_spec(&spec, &rootfs),
        Err(LifecycleError::ProgramNotFound { .. })
    ));
    // A link loop ends too.
    fs::remove_file(&link).expect("rm");
    std::os::unix::fs::symlink("link.wasm", &link).expect("symlink");
    assert!(matches!(
        run_spec(&spec, &rootfs),
        Err(LifecycleError::ProgramNotFound { .. })
    ));
}

#[test]
fn absolute_symlink_inside_the_rootfs_is_followed_there() {
    let (dir, spec) = setup(json!({"process": {"args": ["/bin/app"]}}));
    let rootfs = dir.path().join("rootfs");
    std::os::unix::fs::symlink("/app/hello.wasm", rootfs.join("bin/app")).expect("symlink");
    let run = run_spec(&spec, &rootfs).expect("run_spec");
    assert_eq!(
        run.program,
        rootfs.canonicalize().expect("canon").join("app/hello.wasm")
    );
    assert_eq!(run.args, ["/bin/app"]);
}

#[test]
fn non_wasm_is_refused_for_runc() {
    let (_dir, run) = run_of(json!({"process": {"args": ["/bin/sh", "-c", "true"]}}));
    let err = run.expect_err("not wasm");
    assert!(matches!(err, LifecycleError::NotWasm { .. }));
    assert_eq!(
        err.to_string(),
        "`/bin/sh` is not a WebAssembly program (no \\0asm magic); run it with runc"
    );
}

#[test]
fn wat_text_is_accepted() {
    let (dir, run) = run_of(json!({"process": {"args": ["/app/hello.wat"]}}));
    assert_eq!(
        run.expect("run_spec").program,
        rootfs(&dir).join("app/hello.wat")
    );
}

#[test]
fn compat_and_handler_annotations_mean_wasm() {
    for annotations in [
        json!({"module.wasm.image/variant": "compat"}),
        json!({"run.oci.handler": "wasm"}),
    ] {
        let (dir, run) = run_of(json!({
            "process": {"args": ["/bin/sh"]},
            "annotations": annotations,
        }));
        assert_eq!(run.expect("run_spec").program, rootfs(&dir).join("bin/sh"));
    }
}

#[test]
fn compat_smart_goes_by_the_name() {
    let smart = json!({"module.wasm.image/variant": "compat-smart"});
    let (_dir, run) = run_of(json!({"process": {"args": ["/bin/sh"]}, "annotations": smart}));
    let err = run.expect_err("compat-smart /bin/sh");
    assert!(matches!(err, LifecycleError::NotWasm { .. }));
    assert!(err.to_string().contains("compat-smart"), "{err}");
    // A .wasm name is enough, whatever the bytes.
    let (dir, spec) = setup(json!({"process": {"args": ["/app/fake.wasm"]}, "annotations": smart}));
    fs::write(dir.path().join("rootfs/app/fake.wasm"), "#!/bin/sh").expect("write");
    assert!(run_spec(&spec, &dir.path().join("rootfs")).is_ok());
}

#[test]
fn rootfs_volumes_follow_root_readonly() {
    let (dir, run) = run_of(json!({"root": {"readonly": true}}));
    let root = dir.path().join("rootfs");
    let expected: Vec<Volume> = [("", "/"), ("app", "/app"), ("bin", "/bin"), ("etc", "/etc")]
        .into_iter()
        .map(|(host, guest)| {
            let host = if host.is_empty() {
                root.clone()
            } else {
                root.join(host)
            };
            Volume::new(host, guest, true)
        })
        .collect();
    assert_eq!(run.expect("run_spec").volumes, expected);
    let (_dir, run) = run_of(json!({}));
    assert!(run.expect("run_spec").volumes.iter().all(|v| !v.read_only));
}

#[test]
fn bind_mounts_of_directories_become_volumes() {
    let data = tempfile::tempdir().expect("tempdir");
    let (ro, rw, etc) = (
        data.path().join("ro"),
        data.path().join("rw"),
        data.path().join("etc"),
    );
    for d in [&ro, &rw, &etc] {
        fs::create_dir(d).expect("mkdir");
    }
    let hosts = data.path().join("hosts");
    fs::write(&hosts, "").expect("write");
    let (_dir, run) = run_of(json!({"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup"},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts"},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue"},
        {"destination": "/etc/hosts", "type": "bind", "source": hosts, "options": ["rbind", "ro"]},
        {"destination": "/data/ro/", "type": "bind", "source": ro, "options": ["rbind", "ro"]},
        {"destination": "/data/rw", "source": rw, "options": ["rbind", "rw"]},
        {"destination": "/etc", "type": "none", "source": etc, "options": ["bind", "ro", "rw"]},
    ]}));
    let run = run.expect("run_spec");
    let mounted: Vec<(&str, &Path, bool)> = run
        .volumes
        .iter()
        .filter(|v| v.host.starts_with(data.path()))
        .map(|v| (v.guest.as_str(), v.host.as_path(), v.read_only))
        .collect();
    assert_eq!(
        mounted,
        [
            ("/data/ro", ro.as_path(), true),
            ("/data/rw", rw.as_path(), false),
            ("/etc", etc.as_path(), false)
        ]
    );
    // The bind at /etc replaced the rootfs's own /etc; nothing else was added.
    let guests: Vec<&str> = run.volumes.iter().map(|v| v.guest.as_str()).collect();
    assert_eq!(
        guests,
        ["/", "/app", "/bin", "/data/ro", "/data/rw", "/etc"]
    );
}

#[test]
fn memory_limit_comes_from_the_spec() {
    let (_dir, run) = run_of(json!({"linux": {"resources": {"memory": {"limit": 64 << 20}}}}));
    assert_eq!(run.expect("run_spec").memory_limit, 64 << 20);
    for unset in [json!(-1), json!(0), json!(null)] {
        let (_dir, run) = run_of(json!({"linux": {"resources": {"memory": {"limit": unset}}}}));
        assert_eq!(run.expect("run_spec").memory_limit, DEFAULT_MEMORY_LIMIT);
    }
}

#[test]
fn no_args_and_relative_cwd_are_errors() {
    let (_dir, run) = run_of(json!({"process": {"args": []}}));
    assert!(matches!(run, Err(LifecycleError::NoProgram)));
    let (_dir, run) = run_of(json!({"process": {"cwd": "app"}}));
    assert!(matches!(run, Err(LifecycleError::RelativeCwd { .. })));
}

fn spec_args(spec: &mut OciSpec, program: &str) {
    let mut value = serde_json::to_value(&*spec).expect("to_value");
    value["process"]["args"] = json!([program]);
    *spec = serde_json::from_value(value).expect("from_value");
}

#[test]
fn module_run_takes_args_env_mounts_and_falls_back_to_the_image_name() {
    let data = tempfile::tempdir().expect("tempdir");
    let (_dir, spec) = setup(json!({
        "process": {"args": [], "env": ["K=V"], "cwd": "/data/sub"},
        "mounts": [{"destination": "/data", "type": "bind",
                    "source": data.path(), "options": ["rbind", "ro"]}],
        "linux": {"resources": {"memory": {"limit": 1 << 20}}},
    }));
    let run = module_run_spec(&spec, "/bundle/m.wasm".into(), "docker.io/a/b:1");
    assert_eq!(run.program, Path::new("/bundle/m.wasm"));
    assert_eq!(run.args, ["docker.io/a/b:1"]);
    assert_eq!(run.env, [("K".to_owned(), "V".to_owned())]);
    assert_eq!(run.memory_limit, 1 << 20);
    assert_eq!(run.volumes.len(), 1, "{:?}", run.volumes);
    assert!(run.volumes[0].read_only);
    assert_eq!(run.workdir.as_deref(), Some("/data/sub"));

    // A cwd that only shares a name prefix with a volume is outside it.
    let (_dir, spec) = setup(json!({
        "process": {"args": [], "cwd": "/database"},
        "mounts": [{"destination": "/data", "type": "bind",
                    "source": data.path(), "options": ["rbind"]}],
    }));
    let run = module_run_spec(&spec, "/bundle/m.wasm".into(), "img");
    assert_eq!(run.workdir, None);

    // Args are argv; a cwd outside every volume is not given.
    let (_dir, spec) = setup(json!({"process": {"args": ["app", "x"], "cwd": "/srv"}}));
    let run = module_run_spec(&spec, "/bundle/m.wasm".into(), "ignored");
    assert_eq!(run.args, ["app", "x"]);
    assert!(run.volumes.is_empty());
    assert_eq!(run.workdir, None);
}
