//! Crafted layers: each test checks that the host outside is unchanged.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use wharf_image::{UnpackError, UnpackLimits, unpack_layers};
use wharf_testkit::{TarEntry, crafted_tar};

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// A layer of empty crafted entries, each with its mode.
fn layer(entries: &[(&str, tar::EntryType, &str, u32)]) -> Vec<u8> {
    let entries: Vec<TarEntry<'_>> = entries
        .iter()
        .map(|&(name, kind, link, mode)| TarEntry::new(name, kind, link, b"").mode(mode))
        .collect();
    crafted_tar(&entries)
}

fn write_layers(dir: &Path, layers: &[Vec<u8>]) -> Vec<(PathBuf, String)> {
    layers
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let file = dir.join(format!("layer{i}.tar"));
            fs::write(&file, bytes).expect("layer file");
            (file, TAR.to_owned())
        })
        .collect()
}

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn a_chain_of_inside_symlinks_cannot_chmod_a_host_directory() {
    use tar::EntryType::{Directory, Symlink};
    let dir = tempfile::tempdir().expect("dir");
    let victim = dir.path().join("victim");
    fs::create_dir(&victim).expect("victim");
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o700)).expect("chmod");
    fs::write(victim.join("secret"), "kept").expect("secret");
    let deep: Vec<String> = (0..20).map(|i| format!("d{i}")).collect();
    let deep = deep.join("/");
    // `up` leads back to the tree's root; `esc` climbs from there past the
    // host's `/` to the victim. Both stay inside when their text is
    // normalized; only the kernel's walk leaves.
    let up = format!("{deep}/up");
    let back = vec![".."; 20].join("/");
    let climb = vec![".."; 21].join("/");
    let victim_from_root = victim.to_str().expect("utf-8").trim_start_matches('/');
    let esc = format!("{up}/{climb}/{victim_from_root}");
    let bytes = layer(&[
        (&format!("{deep}/"), Directory, "", 0o755),
        (&up, Symlink, &back, 0o777),
        ("esc", Symlink, &esc, 0o777),
        ("esc/", Directory, "", 0o777),
        ("esc/planted", tar::EntryType::Regular, "", 0o644),
    ]);
    let layers = write_layers(dir.path(), &[bytes]);
    let target = dir.path().join("rootfs").join("image");
    fs::create_dir_all(target.parent().expect("parent")).expect("rootfs");
    let result = unpack_layers(&layers, &target, UnpackLimits::default());
    assert_eq!(
        mode_of(&victim),
        0o700,
        "the host directory's mode is unchanged"
    );
    let names: Vec<_> = fs::read_dir(&victim)
        .expect("victim")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        names,
        ["secret"],
        "nothing was planted in the host directory"
    );
    assert_eq!(
        fs::read_to_string(victim.join("secret")).expect("secret"),
        "kept"
    );
    if result.is_ok() {
        // The directory entry replaced the symlink inside the tree.
        assert!(
            fs::symlink_metadata(target.join("esc"))
                .expect("esc")
                .is_dir()
        );
    }
}

#[test]
fn a_whiteout_of_dot_or_dotdot_cannot_delete_other_images() {
    use tar::EntryType::{Directory, Regular};
    for whiteout in [".wh..", ".wh...", "app/.wh..", "app/.wh...", ".wh."] {
        let dir = tempfile::tempdir().expect("dir");
        let rootfs = dir.path().join("rootfs");
        let other = rootfs.join("other-image");
        fs::create_dir_all(&other).expect("other image");
        fs::write(other.join("app.wasm"), "other").expect("other file");
        let lower = layer(&[
            ("app/", Directory, "", 0o755),
            ("app/x", Regular, "", 0o644),
        ]);
        let upper = layer(&[(whiteout, Regular, "", 0o644)]);
        let layers = write_layers(dir.path(), &[lower, upper]);
        let target = rootfs.join("image");
        let error = unpack_layers(&layers, &target, UnpackLimits::default())
            .expect_err("the whiteout is refused");
        assert!(
            matches!(error, UnpackError::Unsafe { .. }),
            "{whiteout}: {error}"
        );
        assert_eq!(
            fs::read_to_string(other.join("app.wasm")).expect("other image kept"),
            "other",
            "{whiteout}"
        );
        assert!(!target.exists(), "{whiteout}: no tree is left");
    }
}

#[test]
fn many_small_layers_share_one_budget() {
    use tar::EntryType::Regular;
    let dir = tempfile::tempdir().expect("dir");
    let layers: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            let names: Vec<String> = (0..8).map(|j| format!("l{i}/f{j}")).collect();
            let entries: Vec<_> = names
                .iter()
                .map(|n| (n.as_str(), Regular, "", 0o644))
                .collect();
            layer(&entries)
        })
        .collect();
    let layers = write_layers(dir.path(), &layers);
    let limits = UnpackLimits {
        max_entries: 40,
        ..UnpackLimits::default()
    };
    let target = dir.path().join("image");
    let error = unpack_layers(&layers, &target, limits).expect_err("64 entries > 40");
    assert!(
        matches!(
            error,
            UnpackError::TooLarge {
                what: "entries",
                ..
            }
        ),
        "{error}"
    );
    assert!(!target.exists());
}
