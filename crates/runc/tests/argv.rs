//! wharf-runc's command line against a runc that records what it is given
//! (a shell script), with no `PATH`, as Podman calls runtimes: every
//! command reaches runc byte for byte, a Linux bundle is left untouched,
//! and a Wasm bundle is rewritten to run the engine inside runc's container.

#[path = "argv/refused.rs"]
mod refused;
mod support;
#[path = "argv/walled.rs"]
mod walled;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use support::{container_wasm, dynamic_runc, static_runc, stderr};

/// A runc stand-in: records its argv (one per line) and exits with
/// `$FAKE_EXIT`.
struct FakeRunc {
    dir: tempfile::TempDir,
}

impl FakeRunc {
    fn new() -> FakeRunc {
        let dir = tempfile::tempdir().expect("dir");
        let script = dir.path().join("runc");
        fs::write(
            &script,
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_RECORD\"\necho \"runc version fake\"\nexit ${FAKE_EXIT:-0}\n",
        )
        .expect("write the fake runc");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
        FakeRunc { dir }
    }

    fn record(&self) -> PathBuf {
        self.dir.path().join("argv")
    }

    /// Runs `runtime ARGS` with no environment but the fake's.
    fn run(&self, runtime: &Path, args: &[&str], exit: i32) -> Output {
        let _ = fs::remove_file(self.record());
        Command::new(runtime)
            .env_clear()
            .env("WHARF_RUNC", self.dir.path().join("runc"))
            .env("FAKE_RECORD", self.record())
            .env("FAKE_EXIT", exit.to_string())
            .args(args)
            .output()
            .expect("run wharf-runc")
    }

    /// What runc was given, `None` when it was not run.
    fn given(&self) -> Option<Vec<String>> {
        let text = fs::read_to_string(self.record()).ok()?;
        Some(text.lines().map(str::to_owned).collect())
    }
}

/// A bundle: `config.json` from `config`, and `rootfs/` with `files`.
fn bundle(config: &Value, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("bundle");
    fs::create_dir(dir.path().join("rootfs")).expect("rootfs");
    for (path, bytes) in files {
        let path = dir.path().join("rootfs").join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, bytes).expect("write");
    }
    fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec_pretty(config).expect("json"),
    )
    .expect("config.json");
    dir
}

fn spec(args: &[&str], annotations: Value) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {"args": args, "env": ["PATH=/bin:/opt/bin", "A=1"], "cwd": "/",
                    "user": {"uid": 0, "gid": 0}},
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev/shm", "type": "bind", "source": "/tmp", "options": ["rbind"]},
        ],
        "annotations": annotations,
        "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}},
    })
}

const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0not really";

fn create_args<'a>(bundle: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--root",
        "/run/wharf-test",
        "--log",
        "/dev/null",
        "--log-format",
        "json",
    ];
    args.extend_from_slice(extra);
    args.extend([
        "create",
        "--bundle",
        bundle.to_str().expect("utf-8"),
        "--pid-file",
        "/run/x.pid",
        "ctr-1",
    ]);
    args
}

#[test]
fn every_command_reaches_runc_unchanged_with_its_exit_code() {
    let fake = FakeRunc::new();
    for args in [
        &["--root", "/r", "state", "id"][..],
        &[
            "--root=/r",
            "--log",
            "/l",
            "--log-format=json",
            "kill",
            "--all",
            "id",
            "KILL",
        ],
        &["--systemd-cgroup", "delete", "--force", "id"],
        &["start", "id"],
        &["ps", "--format", "json", "id"],
        &["exec", "--process", "/p.json", "--detach", "id"],
        &["pause", "id"],
        &["resume", "id"],
        &["update", "--memory", "1000", "id"],
        &["events", "--stats", "id"],
        &["features"],
        &["--debug", "--rootless", "false", "checkpoint", "id"],
    ] {
        let output = fake.run(&dynamic_runc(), args, 3);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(fake.given().expect("runc ran"), args, "{args:?}");
    }
}

#[test]
fn wharf_flags_stop_at_wharf_and_version_names_both() {
    let fake = FakeRunc::new();
    let output = fake.run(
        &dynamic_runc(),
        &["--wharf-root", "/x", "--root", "/r", "state", "id"],
        0,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        fake.given().expect("runc ran"),
        ["--root", "/r", "state", "id"]
    );

    let output = fake.run(&dynamic_runc(), &["--version"], 0);
    let text = support::stdout(&output);
    assert!(text.starts_with("wharf-runc version "), "{text}");
    assert!(text.contains("runc version fake"), "{text}");
    assert_eq!(fake.given().expect("runc ran"), ["--version"]);
}

#[test]
fn a_missing_runc_is_a_runc_style_error() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("log.json");
    let output = Command::new(dynamic_runc())
        .env_clear()
        .env("WHARF_RUNC", dir.path().join("no-runc"))
        .args([
            "--log",
            log.to_str().expect("utf-8"),
            "--log-format",
            "json",
            "state",
            "x",
        ])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let line: Value =
        serde_json::from_str(fs::read_to_string(&log).expect("log").trim()).expect("a JSON line");
    assert_eq!(line["level"], "error");
    assert!(
        line["msg"]
            .as_str()
            .expect("msg")
            .contains("cannot run runc"),
        "{line}"
    );
    assert!(line["time"].is_string(), "{line}");
}

#[test]
fn a_linux_bundle_is_untouched_byte_for_byte() {
    let fake = FakeRunc::new();
    for config in [
        spec(&["/bin/busybox", "echo", "hi"], json!({})),
        spec(&["busybox", "echo"], json!({})),
        // compat-smart and a program that is not named .wasm: Linux.
        spec(
            &["/bin/busybox"],
            json!({"module.wasm.image/variant": "compat-smart"}),
        ),
        // A program that is not there is runc's to report.
        spec(&["/nothing"], json!({})),
        // So is a spec wharf cannot read.
        json!({"process": "not an object"}),
    ] {
        let bundle = bundle(&config, &[("bin/busybox", ELF)]);
        let before = fs::read(bundle.path().join("config.json")).expect("read");
        let args = create_args(bundle.path(), &[]);
        let output = fake.run(&dynamic_runc(), &args, 0);
        assert!(output.status.success(), "{config}: {}", stderr(&output));
        assert_eq!(fake.given().expect("runc ran"), args);
        assert_eq!(
            fs::read(bundle.path().join("config.json")).expect("read"),
            before,
            "{config}"
        );
        let names: Vec<_> = fs::read_dir(bundle.path()).expect("ls").flatten().collect();
        assert_eq!(names.len(), 2, "nothing added to the bundle");
    }
}

/// Runs the static wharf-runc's `create` on a Wasm bundle made of `config`
/// and `files`; returns the bundle, the cache root, the fake and the output.
fn create_wasm(
    config: &Value,
    files: &[(&str, &[u8])],
) -> (tempfile::TempDir, tempfile::TempDir, FakeRunc, Output) {
    let bundle = bundle(config, files);
    let (wharf_root, fake, output) = create_in(bundle.path());
    (bundle, wharf_root, fake, output)
}

/// The static wharf-runc's `create` of `bundle`, with a cache root of its
/// own; returns the root, the fake runc and the output.
fn create_in(bundle: &Path) -> (tempfile::TempDir, FakeRunc, Output) {
    let wharf_root = tempfile::tempdir().expect("wharf root");
    let root_flag = format!("--wharf-root={}", wharf_root.path().display());
    let fake = FakeRunc::new();
    let output = fake.run(&static_runc(), &create_args(bundle, &[&root_flag]), 0);
    (wharf_root, fake, output)
}

fn config_of(bundle: &Path) -> Value {
    serde_json::from_slice(&fs::read(bundle.join("config.json")).expect("read")).expect("json")
}

#[test]
fn a_wasm_bundle_runs_the_engine_inside_with_the_rootfs_alone() {
    let wasm = fs::read(container_wasm()).expect("guest");
    let mut config = spec(&["/app.wasm", "hello", "x"], json!({}));
    config["mounts"].as_array_mut().expect("mounts").push(
        json!({"destination": "/data", "type": "bind", "source": "/tmp",
                     "options": ["rbind", "ro"]}),
    );
    config["linux"]["resources"] = json!({"memory": {"limit": 67_108_864}});
    let (bundle, wharf_root, fake, output) = create_wasm(&config, &[("app.wasm", &wasm)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let given = fake.given().expect("runc ran");
    assert_eq!(
        given,
        create_args(bundle.path(), &[]),
        "runc gets the same argv"
    );

    let rewritten = config_of(bundle.path());
    assert_eq!(
        without_identities(&rewritten["process"]["args"], 2),
        json!([
            "/.wharf/wharf-runc",
            "wasm-init",
            "--memory",
            (48u64 << 20).to_string(),
            "--volume",
            "/data:ro",
            "--",
            "/app.wasm",
            "/app.wasm",
            "hello",
            "x"
        ])
    );
    // Everything else is as it was.
    for key in ["linux", "root", "ociVersion"] {
        if key == "linux" {
            assert_eq!(rewritten[key]["seccomp"], config[key]["seccomp"]);
        } else {
            assert_eq!(rewritten[key], config[key], "{key}");
        }
    }
    assert_eq!(rewritten["process"]["env"], config["process"]["env"]);
    assert_eq!(rewritten["process"]["user"], config["process"]["user"]);
    let mounts = rewritten["mounts"].as_array().expect("mounts");
    assert_eq!(
        &mounts[..3],
        config["mounts"].as_array().expect("mounts").as_slice()
    );
    let added: Vec<(&str, &str, Vec<&str>)> = mounts[3..]
        .iter()
        .map(|m| {
            (
                m["destination"].as_str().expect("destination"),
                m["source"].as_str().expect("source"),
                m["options"]
                    .as_array()
                    .expect("options")
                    .iter()
                    .map(|o| o.as_str().expect("option"))
                    .collect(),
            )
        })
        .collect();
    let rootfs = bundle.path().join("rootfs").canonicalize().expect("rootfs");
    let cache = wharf_root
        .path()
        .join("cache")
        .canonicalize()
        .expect("cache");
    let engine = static_runc().canonicalize().expect("engine");
    // The program was compiled into the cache, outside the container.
    let entries: Vec<_> = wharf_testkit::files_under(&cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let at = entry.strip_prefix(&cache).expect("under the cache");
    let own = bundle
        .path()
        .join("wharf-cache")
        .canonicalize()
        .expect("own cache");
    assert_eq!(
        fs::metadata(own.join(at)).expect("placeholder").len(),
        0,
        "the container's cache holds an empty file where the entry is bound"
    );
    // Beside it a copy of the entry's seal, so the guest starts without
    // hashing the code (the program file is too new for an identity
    // record); nothing else.
    let seal = entry.with_extension("cwasm.seal");
    let own_seal = own.join(seal.strip_prefix(&cache).expect("under the cache"));
    assert_eq!(
        fs::read(&own_seal).expect("the seal's copy"),
        fs::read(&seal).expect("the seal")
    );
    let mut held = wharf_testkit::files_under(&own);
    held.sort();
    let mut expected = vec![own.join(at), own_seal];
    expected.sort();
    assert_eq!(held, expected, "and nothing else");
    let entry_destination = format!("/.wharf/cache/{}", at.display());
    assert_eq!(
        added,
        [
            (
                "/.wharf/wharf-runc",
                engine.to_str().expect("utf-8"),
                vec!["bind", "ro", "nosuid", "nodev"]
            ),
            (
                "/.wharf/root",
                rootfs.to_str().expect("utf-8"),
                vec!["bind", "rw", "nosuid", "nodev", "noexec"]
            ),
            (
                "/.wharf/cache",
                own.to_str().expect("utf-8"),
                vec!["bind", "ro", "nosuid", "nodev", "noexec"]
            ),
            (
                entry_destination.as_str(),
                entry.to_str().expect("utf-8"),
                vec!["bind", "ro", "nosuid", "nodev", "noexec"]
            ),
        ],
        "binds, never recursive: nothing mounted below the rootfs is seen, \
         and of the cache only this program's entry"
    );
    assert_eq!(rewritten["annotations"]["dev.wharf.runc.wasm"], "true");

    // A second create of the same bundle leaves it alone.
    let before = fs::read(bundle.path().join("config.json")).expect("read");
    let args = create_args(bundle.path(), &[]);
    let output = fake.run(&static_runc(), &args, 0);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        fs::read(bundle.path().join("config.json")).expect("read"),
        before
    );
}

#[test]
fn docker_init_path_lookup_and_links_inside_the_rootfs_are_seen_through() {
    let wasm = fs::read(container_wasm()).expect("guest");
    for (args, files, link, program, argv) in [
        (
            &["/sbin/docker-init", "--", "/app.wasm", "a"][..],
            &[("app.wasm", wasm.as_slice())][..],
            None,
            "/app.wasm",
            &["/app.wasm", "a"][..],
        ),
        (
            &["app.wasm", "b"],
            &[("opt/bin/app.wasm", &wasm)],
            None,
            "/opt/bin/app.wasm",
            &["app.wasm", "b"],
        ),
        (
            &["/app.wasm"],
            &[("real/x.wasm", &wasm)],
            Some(("app.wasm", "/real/x.wasm")),
            "/real/x.wasm",
            &["/app.wasm"],
        ),
    ] {
        let config = spec(args, json!({}));
        let bundle = bundle(&config, files);
        if let Some((at, target)) = link {
            std::os::unix::fs::symlink(target, bundle.path().join("rootfs").join(at))
                .expect("link");
        }
        let (_wharf_root, fake, output) = create_in(bundle.path());
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert_eq!(
            fake.given().expect("runc ran"),
            create_args(bundle.path(), &[])
        );
        let rewritten = config_of(bundle.path());
        let mut expected = vec!["/.wharf/wharf-runc", "wasm-init", "--", program];
        expected.extend_from_slice(argv);
        assert_eq!(
            without_identities(&rewritten["process"]["args"], 1),
            json!(expected),
            "{args:?}"
        );
    }
}

#[test]
fn an_entrypoint_linking_out_of_the_rootfs_never_reaches_the_host_file() {
    // A real Wasm program on the host, and a rootfs whose entrypoint links
    // to its host path: resolved inside the rootfs, the link finds nothing.
    let host = tempfile::tempdir().expect("host dir");
    let host_wasm = host.path().join("secret.wasm");
    fs::copy(container_wasm(), &host_wasm).expect("copy");
    for (annotations, refused) in [
        (json!({"module.wasm.image/variant": "compat"}), true),
        (json!({"run.oci.handler": "wasm"}), true),
        (json!({}), false),
    ] {
        let config = spec(&["/app.wasm"], annotations.clone());
        let bundle = bundle(&config, &[]);
        std::os::unix::fs::symlink(&host_wasm, bundle.path().join("rootfs/app.wasm"))
            .expect("link");
        let before = fs::read(bundle.path().join("config.json")).expect("read");
        let logs = tempfile::tempdir().expect("log dir");
        let log = logs.path().join("log.json");
        let fake = FakeRunc::new();
        let log_arg = log.to_str().expect("utf-8").to_owned();
        let bundle_arg = bundle.path().to_str().expect("utf-8").to_owned();
        let args = [
            "--log",
            &log_arg,
            "--log-format",
            "json",
            "create",
            "--bundle",
            &bundle_arg,
            "c",
        ];
        let output = fake.run(&static_runc(), &args, 0);
        assert_eq!(
            fs::read(bundle.path().join("config.json")).expect("read"),
            before,
            "{annotations}"
        );
        if refused {
            assert_eq!(output.status.code(), Some(1), "{annotations}");
            assert_eq!(fake.given(), None, "runc is not run");
            let line: Value = serde_json::from_str(fs::read_to_string(&log).expect("log").trim())
                .expect("JSON line");
            assert_eq!(line["level"], "error");
            let message = line["msg"].as_str().expect("msg");
            assert!(message.contains("/app.wasm"), "{message}");
            assert!(
                stderr(&output).contains("wharf-runc: Wasm container"),
                "{}",
                stderr(&output)
            );
        } else {
            // Not Wasm as far as the rootfs goes: runc's to run (and fail).
            assert!(output.status.success(), "{}", stderr(&output));
            assert_eq!(fake.given().expect("runc ran"), args);
        }
    }
}

/// `args` without the identities `create` recorded (`--root-identity
/// DEV:INO`, `--identity DEV:INO`), after checking there are `count` of
/// them, each a device and an inode number.
fn without_identities(args: &Value, count: usize) -> Value {
    let args: Vec<&str> = args
        .as_array()
        .expect("args")
        .iter()
        .map(|arg| arg.as_str().expect("a string"))
        .collect();
    let mut kept = Vec::new();
    let mut found = 0;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if matches!(*word, "--root-identity" | "--identity") {
            let identity = words.next().expect("an identity");
            let (dev, ino) = identity.split_once(':').expect("DEV:INO");
            assert!(
                dev.parse::<u64>().is_ok() && ino.parse::<u64>().is_ok(),
                "{identity}"
            );
            found += 1;
            continue;
        }
        kept.push(*word);
    }
    assert_eq!(found, count, "{args:?}");
    json!(kept)
}
