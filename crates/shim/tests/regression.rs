//! Regression tests for hostile input to the shim, each named after the
//! attack it stops. They mount and change users, so they need root; they
//! talk to the shim's daemon directly, as containerd would, since
//! containerd itself never sends what they send.

#[path = "support/common.rs"]
mod common;
#[path = "support/daemon.rs"]
mod daemon;

use std::fs;
use std::os::unix::fs::{PermissionsExt as _, chown, symlink};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use containerd_shim_protos::api::DeleteRequest;
use containerd_shim_protos::ttrpc::{Code, context};
use daemon::{Daemon, Unmount, code_of, create_request, mounts_on, wait_unmounted, write_config};

/// A minimal Wasm module: the magic and version, no sections.
const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

/// The uid (and gid) the socket test runs the shim as.
const OTHER_USER: u32 = 4242;

fn needs_root(test: &str) -> bool {
    wharf_testkit::skip_unless_root(test, "the shim mounts rootfs and the test changes user")
}

/// A directory with `app.wasm`, to bind-mount as a rootfs.
fn rootfs_source(work: &Path) -> std::path::PathBuf {
    let source = work.join("image");
    fs::create_dir_all(&source).expect("image");
    fs::write(source.join("app.wasm"), EMPTY_MODULE).expect("app.wasm");
    source
}

#[test]
fn a_root_path_other_than_rootfs_is_unmounted_where_it_was_mounted() {
    if needs_root("a_root_path_other_than_rootfs_is_unmounted_where_it_was_mounted") {
        return;
    }
    let work = common::temp();
    let (bundle, source) = (work.path().join("bundle"), rootfs_source(work.path()));
    write_config(&bundle, "custom/fs", "/app.wasm");
    let rootfs = bundle.join("custom/fs");
    let _cleanup = Unmount(vec![rootfs.clone()]);
    let daemon = Daemon::start(work.path(), &bundle);
    let task = daemon.client();
    let request = create_request("custom", &bundle, &source);
    task.create(context::with_timeout(0), &request)
        .expect("Create");
    assert_eq!(mounts_on(&rootfs), 1, "mounted at root.path");
    assert!(!bundle.join("rootfs").exists(), "nothing at bundle/rootfs");
    let delete = DeleteRequest {
        id: "custom".to_owned(),
        ..Default::default()
    };
    task.delete(context::with_timeout(0), &delete)
        .expect("Delete");
    wait_unmounted(&rootfs);

    // A daemon that died leaves its mount to containerd's clean-up, the
    // shim's `delete`, which must find it at root.path too.
    wharf_lifecycle::mount_rootfs(&request_mounts(&source), &rootfs).expect("mount");
    let cleaned = daemon.kill_and_clean_up();
    assert!(cleaned.status.success(), "delete: {cleaned:?}");
    assert_eq!(mounts_on(&rootfs), 0, "delete unmounts root.path");
}

fn request_mounts(source: &Path) -> Vec<wharf_lifecycle::RootfsMount> {
    vec![wharf_lifecycle::RootfsMount {
        kind: "bind".to_owned(),
        source: source.display().to_string(),
        options: vec!["rbind".to_owned()],
    }]
}

#[test]
fn a_root_path_out_of_the_bundle_mounts_and_unmounts_nothing_there() {
    if needs_root("a_root_path_out_of_the_bundle_mounts_and_unmounts_nothing_there") {
        return;
    }
    let work = common::temp();
    let (bundle, source) = (work.path().join("bundle"), rootfs_source(work.path()));
    let outside = work.path().join("host-dir");
    fs::create_dir_all(&outside).expect("outside");
    fs::write(outside.join("keep"), b"host file").expect("keep");
    fs::create_dir_all(&bundle).expect("bundle");
    // The bundle's own rootfs, a link out.
    symlink(&outside, bundle.join("rootfs")).expect("link");
    let _cleanup = Unmount(vec![outside.clone()]);
    write_config(&bundle, "rootfs", "/app.wasm");
    let daemon = Daemon::start(work.path(), &bundle);
    let task = daemon.client();
    let escapes = [
        "../host-dir".to_owned(),
        "rootfs".to_owned(),
        "rootfs/../../host-dir".to_owned(),
        outside.display().to_string(),
    ];
    for root_path in &escapes {
        write_config(&bundle, root_path, "/app.wasm");
        let refused = task.create(
            context::with_timeout(0),
            &create_request("escape", &bundle, &source),
        );
        let (code, message) = code_of(refused);
        assert_eq!(code, Code::FAILED_PRECONDITION, "{root_path}: {message}");
        assert!(
            message.contains("inside the bundle") || message.contains("symbolic link"),
            "{root_path}: {message}"
        );
        assert_eq!(mounts_on(&outside), 0, "{root_path} mounted over the host");
        let names: Vec<_> = fs::read_dir(&outside).expect("outside").flatten().collect();
        assert_eq!(names.len(), 1, "{root_path} changed the host directory");
    }
    // Nor does the clean-up of a dead daemon unmount the host's mount
    // there.
    wharf_lifecycle::mount_rootfs(&request_mounts(&source), &outside).expect("a host mount");
    for root_path in &escapes {
        write_config(&bundle, root_path, "/app.wasm");
        let cleaned = daemon.shim(&bundle, "delete");
        assert!(cleaned.status.success(), "delete: {cleaned:?}");
        assert_eq!(
            mounts_on(&outside),
            1,
            "{root_path}: delete unmounted the host"
        );
    }
    daemon.kill_and_clean_up();
    assert_eq!(mounts_on(&outside), 1, "the host's mount stays");
}

#[test]
fn a_second_create_of_an_id_being_created_mounts_nothing() {
    if needs_root("a_second_create_of_an_id_being_created_mounts_nothing") {
        return;
    }
    let work = common::temp();
    let (bundle, source) = (work.path().join("bundle"), rootfs_source(work.path()));
    // No such program in the rootfs: Create asks containerd for the
    // image's module, and the stand-in holds it there.
    write_config(&bundle, "rootfs", "/not-in-the-image.wasm");
    let rootfs = bundle.join("rootfs");
    let _cleanup = Unmount(vec![rootfs.clone()]);
    let daemon = Daemon::start(work.path(), &bundle);
    let request = create_request("twice", &bundle, &source);
    let first = {
        let (task, request) = (daemon.client(), request.clone());
        std::thread::spawn(move || task.create(context::with_timeout(0), &request))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while daemon.containerd.connections() == 0 {
        assert!(
            Instant::now() < deadline,
            "the first Create asks containerd"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(mounts_on(&rootfs), 1, "the first Create mounted");

    let second = daemon
        .client()
        .create(context::with_timeout(10_000_000_000), &request);
    let (code, message) = code_of(second);
    assert_eq!(code, Code::ALREADY_EXISTS, "{message}");
    assert_eq!(mounts_on(&rootfs), 1, "the second Create mounted again");

    daemon.containerd.let_go();
    let (code, message) = code_of(first.join().expect("first Create"));
    assert_eq!(code, Code::FAILED_PRECONDITION, "{message}");
    wait_unmounted(&rootfs);
    // The failed Create let go of the ID.
    let (code, message) = code_of(daemon.client().create(context::with_timeout(0), &request));
    assert_eq!(code, Code::FAILED_PRECONDITION, "{message}");
    wait_unmounted(&rootfs);
    daemon.kill_and_clean_up();
}

#[test]
fn a_socket_dir_in_tmp_that_is_a_link_open_or_foreign_is_refused() {
    if needs_root("a_socket_dir_in_tmp_that_is_a_link_open_or_foreign_is_refused") {
        return;
    }
    let work = common::temp();
    let work = work.path();
    fs::set_permissions(work, fs::Permissions::from_mode(0o755)).expect("chmod");
    // The other user cannot reach the build's binary under /root.
    let shim = work.join("containerd-shim-wharf-v1");
    fs::copy(common::shim_binary(), &shim).expect("copy the shim");
    let tmp = work.join("tmp");
    fs::create_dir(&tmp).expect("tmp");
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).expect("chmod");
    let target = work.join("target");
    let planted = tmp.join(format!("wharf-shim-{OTHER_USER}"));
    let cases: [(&str, &dyn Fn()); 3] = [
        ("symbolic link", &|| {
            fs::create_dir(&target).expect("target");
            chown(&target, Some(OTHER_USER), Some(OTHER_USER)).expect("chown");
            fs::set_permissions(&target, fs::Permissions::from_mode(0o700)).expect("chmod");
            symlink(&target, &planted).expect("link");
        }),
        ("other users may use it", &|| {
            fs::create_dir(&planted).expect("dir");
            chown(&planted, Some(OTHER_USER), Some(OTHER_USER)).expect("chown");
            fs::set_permissions(&planted, fs::Permissions::from_mode(0o777)).expect("chmod");
        }),
        ("belongs to uid 4343", &|| {
            fs::create_dir(&planted).expect("dir");
            chown(&planted, Some(4343), Some(4343)).expect("chown");
            fs::set_permissions(&planted, fs::Permissions::from_mode(0o700)).expect("chmod");
        }),
    ];
    for (why, plant) in cases {
        plant();
        let mode = fs::symlink_metadata(&planted)
            .expect("planted")
            .permissions()
            .mode();
        let started = Command::new(&shim)
            .args([
                "-namespace",
                "n",
                "-address",
                "/nonexistent/containerd.sock",
            ])
            .args(["-publish-binary", "/bin/true", "-id", "x", "-bundle"])
            .arg(work.join("bundle"))
            .arg("start")
            .env("TMPDIR", &tmp)
            .uid(OTHER_USER)
            .gid(OTHER_USER)
            .current_dir("/")
            .output()
            .expect("run the shim");
        let text = String::from_utf8_lossy(&started.stderr);
        assert!(!started.status.success(), "{why}: started: {started:?}");
        assert_eq!(text.lines().count(), 1, "{why}: {text}");
        assert!(
            text.contains("refusing") && text.contains(why),
            "{why}: {text}"
        );
        assert!(
            started.stdout.is_empty(),
            "{why}: an address was handed out"
        );
        for dir in [&planted, &target] {
            if dir.is_dir() {
                let left: Vec<_> = fs::read_dir(dir).expect("dir").flatten().collect();
                assert!(left.is_empty(), "{why}: files made in {}", dir.display());
            }
        }
        let now = fs::symlink_metadata(&planted)
            .expect("planted")
            .permissions()
            .mode();
        assert_eq!(now, mode, "{why}: not repaired, not used");
        let _ = fs::remove_file(&planted);
        let _ = fs::remove_dir(&planted);
        let _ = fs::remove_dir(&target);
    }
}
