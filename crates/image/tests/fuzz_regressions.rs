//! Inputs the fuzz targets in `fuzz/` found crashing, one test each, named
//! after what the fix stops. Each input is also in `fuzz/corpus/`.

use std::fs;
use std::path::Path;

use wharf_image::{UnpackError, UnpackLimits, unpack_layer};

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// One tar entry with exactly this name, as a crafted layer would have it.
fn tar_entry(name: &str, kind: tar::EntryType) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(0);
    header.set_mode(0);
    header.set_mtime(0);
    let old = header.as_old_mut();
    old.name.fill(0);
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.resize(tar.len() + 1024, 0);
    tar
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// fuzz/corpus/layer/crash-whiteout-dotdot.tar (found by `layer_entries`):
/// a layer whose one entry is the whiteout `.wh...` hid `..`, and
/// unpacking it removed everything beside the target (in a store: every
/// other image's unpacked tree). `.wh.` and `.wh..` removed the tree being
/// unpacked.
#[test]
fn whiteouts_of_dot_dot_dot_or_nothing_remove_nothing_outside_the_target() {
    for name in [".wh...", ".wh..", ".wh.", "a/.wh...", "a/.wh.."] {
        let dir = tempfile::tempdir().expect("dir");
        let beside = dir.path().join("beside");
        fs::create_dir(&beside).expect("beside");
        fs::write(beside.join("keep"), "keep\n").expect("keep");
        let target = dir.path().join("layer");
        let error = unpack_layer(
            &tar_entry(name, tar::EntryType::Regular)[..],
            TAR,
            &target,
            UnpackLimits::default(),
        )
        .expect_err(name);
        assert!(
            matches!(error, UnpackError::Unsafe { .. }),
            "{name}: {error}"
        );
        assert_eq!(names(dir.path()), ["beside"], "{name}");
        assert_eq!(
            fs::read_to_string(beside.join("keep")).expect("keep"),
            "keep\n"
        );
    }
}
