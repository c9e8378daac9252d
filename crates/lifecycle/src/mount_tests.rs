use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// Whether test `test` may mount (else it is skipped, visibly).
fn can_mount(test: &str) -> bool {
    !wharf_testkit::skip_unless_root(test, "to mount")
}

/// Unmounts `target` when dropped, so a failed test leaves no mount behind.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = unmount_rootfs(&self.0);
    }
}

fn mount(kind: &str, source: &Path, options: &[&str]) -> RootfsMount {
    RootfsMount {
        kind: kind.to_owned(),
        source: source.display().to_string(),
        options: options.iter().map(|o| (*o).to_owned()).collect(),
    }
}

/// A tempdir with `src/file` and an empty `target`.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf, Cleanup) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, target) = (dir.path().join("src"), dir.path().join("target"));
    fs::create_dir(&src).expect("mkdir");
    fs::create_dir(&target).expect("mkdir");
    fs::write(src.join("file"), "hello").expect("write");
    let cleanup = Cleanup(target.clone());
    (dir, src, target, cleanup)
}

#[test]
fn options_split_into_flags_propagation_and_data() {
    let options: Vec<String> = [
        "rbind",
        "ro",
        "nosuid",
        "nodev",
        "relatime",
        "rprivate",
        "lowerdir=/a",
        "rw",
        "x",
    ]
    .map(str::to_owned)
    .to_vec();
    let parsed = parse_options(&options);
    let flags = libc::MS_BIND | libc::MS_REC | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_RELATIME;
    assert_eq!(parsed.flags, flags);
    assert_eq!(parsed.propagation, libc::MS_PRIVATE | libc::MS_REC);
    assert_eq!(parsed.data, ["lowerdir=/a", "x"]);
}

#[test]
fn mountinfo_escapes_are_decoded() {
    assert_eq!(unescape(br"/a\040b\011c\134d"), b"/a b\tc\\d");
    assert_eq!(unescape(br"/trailing\04"), br"/trailing\04");
}

#[test]
fn no_mounts_and_nothing_to_unmount_are_fine() {
    let dir = tempfile::tempdir().expect("tempdir");
    mount_rootfs(&[], dir.path()).expect("no mounts");
    assert!(!is_mount_point(dir.path()).expect("mountinfo"));
    if !can_mount("no_mounts_and_nothing_to_unmount_are_fine") {
        return;
    }
    unmount_rootfs(dir.path()).expect("not mounted");
    unmount_rootfs(&dir.path().join("missing")).expect("missing target");
}

#[test]
fn bind_mount_then_unmount() {
    if !can_mount("bind_mount_then_unmount") {
        return;
    }
    let (_dir, src, target, _cleanup) = setup();
    mount_rootfs(&[mount("bind", &src, &["rbind", "rw"])], &target).expect("mount");
    assert_eq!(
        fs::read_to_string(target.join("file")).expect("read"),
        "hello"
    );
    assert!(is_mount_point(&target).expect("mountinfo"));
    fs::write(target.join("new"), "x").expect("rw bind takes writes");
    assert!(src.join("new").exists());
    unmount_rootfs(&target).expect("unmount");
    assert!(!target.join("file").exists());
    assert!(!is_mount_point(&target).expect("mountinfo"));
    unmount_rootfs(&target).expect("unmount again");
}

#[test]
fn read_only_bind_refuses_writes() {
    if !can_mount("read_only_bind_refuses_writes") {
        return;
    }
    let (_dir, src, target, _cleanup) = setup();
    mount_rootfs(&[mount("none", &src, &["bind", "ro"])], &target).expect("mount");
    assert_eq!(
        fs::read_to_string(target.join("file")).expect("read"),
        "hello"
    );
    let err = fs::write(target.join("new"), "x").expect_err("read-only");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));
    assert!(!src.join("new").exists());
    unmount_rootfs(&target).expect("unmount");
}

#[test]
fn overlay_of_two_lowers_and_an_upper() {
    if !can_mount("overlay_of_two_lowers_and_an_upper") {
        return;
    }
    let (dir, _src, target, _cleanup) = setup();
    let [lower1, lower2, upper, work] = ["l1", "l2", "upper", "work"].map(|d| dir.path().join(d));
    for d in [&lower1, &lower2, &upper, &work] {
        fs::create_dir(d).expect("mkdir");
    }
    fs::write(lower1.join("one"), "1").expect("write");
    fs::write(lower2.join("two"), "2").expect("write");
    let options = [
        format!("lowerdir={}:{}", lower1.display(), lower2.display()),
        format!("upperdir={}", upper.display()),
        format!("workdir={}", work.display()),
    ];
    let overlay = RootfsMount {
        kind: "overlay".to_owned(),
        source: "overlay".to_owned(),
        options: options.to_vec(),
    };
    mount_rootfs(&[overlay], &target).expect("mount overlay");
    assert_eq!(fs::read_to_string(target.join("one")).expect("read"), "1");
    assert_eq!(fs::read_to_string(target.join("two")).expect("read"), "2");
    fs::write(target.join("new"), "x").expect("write");
    assert_eq!(fs::read_to_string(upper.join("new")).expect("upper"), "x");
    assert!(!lower1.join("new").exists() && !lower2.join("new").exists());
    unmount_rootfs(&target).expect("unmount");
    assert!(!target.join("one").exists());
    assert!(!is_mount_point(&target).expect("mountinfo"));
}

#[test]
fn failed_second_mount_leaves_nothing_mounted() {
    if !can_mount("failed_second_mount_leaves_nothing_mounted") {
        return;
    }
    let (dir, src, target, _cleanup) = setup();
    let bad = RootfsMount {
        kind: "no-such-filesystem".to_owned(),
        source: "none".to_owned(),
        options: Vec::new(),
    };
    let err = mount_rootfs(&[mount("bind", &src, &["rbind"]), bad], &target).expect_err("bad fs");
    assert!(matches!(err, LifecycleError::Mount { .. }));
    assert!(err.to_string().contains("no-such-filesystem"), "{err}");
    assert!(!is_mount_point(&target).expect("mountinfo"));
    assert!(!target.join("file").exists());
    // A missing bind source fails the same way, naming the source.
    let missing = dir.path().join("missing");
    let err = mount_rootfs(&[mount("bind", &missing, &["rbind"])], &target).expect_err("missing");
    assert!(err.to_string().contains("missing"), "{err}");
    assert!(!is_mount_point(&target).expect("mountinfo"));
}
