use std::os::unix::fs::symlink;

use super::*;

/// `$D/src` and `$D/src/out`, both writable, as Compose's `.:/app` beside
/// `./data:/data`; `$D/secret` beside them.
fn nested() -> (tempfile::TempDir, Vec<Volume>) {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path().canonicalize().expect("canonical");
    std::fs::create_dir_all(root.join("src/out")).expect("out");
    std::fs::write(root.join("secret"), "host only").expect("secret");
    let volumes = vec![
        Volume::new(root.join("src"), "/src", false),
        Volume::new(root.join("src/out"), "/out", false),
    ];
    (dir, volumes)
}

/// What the guest of `/src` can do: move `out` away and leave a link.
fn rewrite_out(volumes: &[Volume]) {
    let src = &volumes[0].host;
    std::fs::rename(src.join("out"), src.join("out.old")).expect("move");
    symlink("..", src.join("out")).expect("link");
}

#[test]
fn resolving_records_the_canonical_path_and_identity() {
    let (dir, mut volumes) = nested();
    let root = dir.path().canonicalize().expect("canonical");
    symlink(root.join("src"), root.join("via")).expect("host's own link");
    volumes[1].host = root.join("via/./out");
    resolve_volumes(&mut volumes).expect("resolve");
    assert_eq!(volumes[1].host, root.join("src/out"));
    let meta = std::fs::metadata(root.join("src/out")).expect("stat");
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(
        volumes[1].identity,
        Some(DirIdentity {
            dev: meta.dev(),
            ino: meta.ino()
        })
    );
}

#[test]
fn a_link_inside_another_writable_volume_is_refused_when_the_run_is_made() {
    let (_dir, mut volumes) = nested();
    rewrite_out(&volumes);
    let error = resolve_volumes(&mut volumes).expect_err("through the guest's link");
    let message = error.to_string();
    assert!(
        matches!(&error, Error::VolumeThroughGuestLink { guest, inside, .. } if guest == "/out" && inside == "/src"),
        "{message}"
    );
    assert!(message.contains("src/out"), "{message}");
}

#[test]
fn a_link_inside_a_read_only_volume_is_followed() {
    let (_dir, mut volumes) = nested();
    rewrite_out(&volumes);
    volumes[0].read_only = true;
    resolve_volumes(&mut volumes).expect("the guest cannot have put it there");
}

#[test]
fn a_volume_rewritten_after_it_was_made_is_refused_by_name() {
    let (dir, mut volumes) = nested();
    resolve_volumes(&mut volumes).expect("resolve");
    let held = HeldVolume::open_all(&volumes).expect("open as made");
    assert_eq!(held.len(), 2);
    rewrite_out(&volumes);
    let error = HeldVolume::open(&volumes[1]).expect_err("a link now");
    assert!(
        matches!(&error, Error::VolumeChanged { guest, .. } if guest == "/out"),
        "{error}"
    );
    // Replaced by another directory of the same name: refused too.
    let src = &volumes[0].host;
    std::fs::remove_file(src.join("out")).expect("unlink");
    std::fs::create_dir(src.join("out")).expect("new dir");
    let error = HeldVolume::open(&volumes[1]).expect_err("another directory");
    assert!(matches!(error, Error::VolumeChanged { .. }), "{error}");
    // The descriptor held before still reaches the directory it opened.
    let moved = held[1].proc_path();
    assert!(moved.join(".").is_dir());
    assert!(!std::fs::exists(moved.join("secret")).expect("stat"));
    drop(dir);
}

#[test]
fn a_missing_or_relative_volume_is_an_error_naming_it() {
    let mut missing = [Volume::new("/nonexistent/wharf-volume", "/data", false)];
    let error = resolve_volumes(&mut missing).expect_err("missing");
    assert!(
        error.to_string().contains("/nonexistent/wharf-volume"),
        "{error}"
    );
    let mut relative = [Volume::new("data", "/data", true)];
    assert!(resolve_volumes(&mut relative).is_err());
}
