//! Crafted layers, one per attack, plus the well-formed cases.

use std::io::Write;
use std::os::unix::fs::PermissionsExt as _;

use wharf_testkit::{TarEntry, crafted_tar};

use super::*;

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A layer of crafted entries, mode 0755.
fn layer(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let entries: Vec<TarEntry<'_>> = entries
        .iter()
        .map(|&(name, kind, link, data)| TarEntry::new(name, kind, link, data).mode(0o755))
        .collect();
    crafted_tar(&entries)
}

use tar::EntryType::{Block, Char, Directory, Fifo, Link, Regular, Symlink};

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        fs::write(dir.path().join("outside.txt"), "outside\n").expect("outside file");
        Case { dir }
    }

    fn target(&self) -> PathBuf {
        self.dir.path().join("layer")
    }

    fn unpack(
        &self,
        bytes: &[u8],
        media_type: &str,
        limits: UnpackLimits,
    ) -> Result<(), UnpackError> {
        unpack_layer(bytes, media_type, &self.target(), limits)
    }

    #[track_caller]
    fn assert_refused(&self, entries: &[(&str, tar::EntryType, &str, &[u8])]) {
        let error = self
            .unpack(&layer(entries), TAR, UnpackLimits::default())
            .expect_err("must be refused");
        assert!(matches!(error, UnpackError::Unsafe { .. }), "{error}");
        self.assert_nothing_left();
    }

    #[track_caller]
    fn assert_nothing_left(&self) {
        let mut names: Vec<String> = fs::read_dir(self.dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["outside.txt"],
            "no layer, no partial directory, nothing outside"
        );
        let outside = fs::read_to_string(self.dir.path().join("outside.txt")).expect("read");
        assert_eq!(outside, "outside\n");
    }
}

#[test]
fn well_formed_layer_unpacks() {
    let case = Case::new();
    let bytes = layer(&[
        ("app/", Directory, "", b""),
        ("app/main.wasm", Regular, "", b"\0asm\x01\0\0\0"),
        ("app/current", Symlink, "main.wasm", b""),
        ("app/same.wasm", Link, "app/main.wasm", b""),
        ("./etc/config", Regular, "", b"x=1\n"),
    ]);
    case.unpack(&bytes, TAR, UnpackLimits::default())
        .expect("unpack");
    let root = case.target();
    assert_eq!(
        fs::read(root.join("app/main.wasm")).expect("file"),
        b"\0asm\x01\0\0\0"
    );
    assert_eq!(
        fs::read_link(root.join("app/current")).expect("link"),
        Path::new("main.wasm")
    );
    assert_eq!(
        fs::read(root.join("app/same.wasm")).expect("hard link"),
        b"\0asm\x01\0\0\0"
    );
    assert_eq!(
        fs::read_to_string(root.join("etc/config")).expect("file"),
        "x=1\n"
    );
    let mode = fs::metadata(root.join("app/main.wasm"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755);
}

#[test]
fn gzip_layer_unpacks() {
    let case = Case::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&layer(&[("hello.txt", Regular, "", b"hi\n")]))
        .expect("gzip");
    let bytes = gz.finish().expect("gzip");
    case.unpack(&bytes, TAR_GZIP, UnpackLimits::default())
        .expect("unpack");
    assert_eq!(
        fs::read_to_string(case.target().join("hello.txt")).expect("file"),
        "hi\n"
    );
}

#[test]
fn dotdot_path_is_refused() {
    Case::new().assert_refused(&[("../outside.txt", Regular, "", b"overwritten\n")]);
    Case::new().assert_refused(&[("a/../../evil", Regular, "", b"x")]);
}

#[test]
fn absolute_path_is_refused() {
    let case = Case::new();
    let absolute = format!("{}/evil", case.dir.path().display());
    case.assert_refused(&[(&absolute, Regular, "", b"x")]);
}

#[test]
fn symlink_pointing_out_is_refused() {
    Case::new().assert_refused(&[("link", Symlink, "/etc/passwd", b"")]);
    Case::new().assert_refused(&[("a/b/link", Symlink, "../../../outside.txt", b"")]);
}

#[test]
fn hard_link_pointing_out_is_refused() {
    Case::new().assert_refused(&[("link", Link, "../outside.txt", b"")]);
    Case::new().assert_refused(&[("link", Link, "/etc/passwd", b"")]);
}

#[test]
fn write_through_a_symlink_is_refused() {
    // The symlink itself stays inside, but nothing may be written through it.
    Case::new().assert_refused(&[
        ("dir/", Directory, "", b""),
        ("link", Symlink, "dir", b""),
        ("link/file", Regular, "", b"x"),
    ]);
}

#[test]
fn device_files_and_fifos_are_refused() {
    for kind in [Char, Block, Fifo] {
        Case::new().assert_refused(&[("dev", kind, "", b"")]);
    }
}

#[test]
fn decompression_bomb_is_cut_off() {
    let case = Case::new();
    let zeros = vec![0u8; 8 << 20];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&layer(&[("bomb", Regular, "", &zeros)]))
        .expect("gzip");
    let bytes = gz.finish().expect("gzip");
    assert!(bytes.len() < 64 << 10, "a small download");
    let limits = UnpackLimits {
        max_bytes: 1 << 20,
        ..UnpackLimits::default()
    };
    let error = case.unpack(&bytes, TAR_GZIP, limits).expect_err("bomb");
    assert!(
        matches!(error, UnpackError::TooLarge { what: "bytes", .. }),
        "{error}"
    );
    case.assert_nothing_left();
}

#[test]
fn too_many_entries_are_refused() {
    let case = Case::new();
    let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let entries: Vec<_> = names
        .iter()
        .map(|n| (n.as_str(), Regular, "", &b""[..]))
        .collect();
    let limits = UnpackLimits {
        max_entries: 10,
        ..UnpackLimits::default()
    };
    let error = case
        .unpack(&layer(&entries), TAR, limits)
        .expect_err("too many");
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
    case.assert_nothing_left();
}

#[test]
fn unknown_compression_and_garbage_are_errors() {
    let case = Case::new();
    let error = case
        .unpack(
            b"x",
            "application/vnd.oci.image.layer.v1.tar+zstd",
            UnpackLimits::default(),
        )
        .expect_err("zstd");
    assert!(matches!(error, UnpackError::MediaType(_)), "{error}");
    let error = case
        .unpack(
            b"this is not gzip at all",
            TAR_GZIP,
            UnpackLimits::default(),
        )
        .expect_err("garbage");
    assert!(matches!(error, UnpackError::Io { .. }), "{error}");
    case.assert_nothing_left();
}

#[test]
fn layers_stack_and_whiteouts_hide_lower_entries() {
    let case = Case::new();
    let lower = layer(&[
        ("app.wasm", Regular, "", b"old"),
        ("gone.txt", Regular, "", b"x"),
        ("data/", Directory, "", b""),
        ("data/a", Regular, "", b"a"),
        ("data/b", Regular, "", b"b"),
        ("keep/", Directory, "", b""),
        ("keep/k", Regular, "", b"k"),
    ]);
    let upper = layer(&[
        ("app.wasm", Regular, "", b"new"),
        (".wh.gone.txt", Regular, "", b""),
        ("data/c", Regular, "", b"c"),
        ("data/.wh..wh..opq", Regular, "", b""),
    ]);
    let lower_file = case.dir.path().join("lower.tar");
    let upper_file = case.dir.path().join("upper.tar");
    fs::write(&lower_file, lower).expect("lower");
    fs::write(&upper_file, upper).expect("upper");
    let layers = [(lower_file, TAR.to_owned()), (upper_file, TAR.to_owned())];
    unpack_layers(&layers, &case.target(), UnpackLimits::default()).expect("unpack");
    let root = case.target();
    assert_eq!(fs::read(root.join("app.wasm")).expect("app"), b"new");
    assert!(!root.join("gone.txt").exists(), "whited-out file is gone");
    assert!(!root.join(".wh.gone.txt").exists(), "markers are not files");
    assert!(!root.join("data/a").exists() && !root.join("data/b").exists());
    assert_eq!(
        fs::read(root.join("data/c")).expect("c"),
        b"c",
        "same-layer entry kept"
    );
    assert!(!root.join("data/.wh..wh..opq").exists());
    assert_eq!(fs::read(root.join("keep/k")).expect("k"), b"k");
}

#[test]
fn a_whiteout_cannot_reach_outside() {
    let case = Case::new();
    let bytes = layer(&[("../.wh.outside.txt", Regular, "", b"")]);
    assert!(case.unpack(&bytes, TAR, UnpackLimits::default()).is_err());
    assert!(case.dir.path().join("outside.txt").exists());
}

#[test]
fn a_failing_upper_layer_leaves_nothing() {
    let case = Case::new();
    let good = case.dir.path().join("good.tar");
    let bad = case.dir.path().join("bad.tar");
    fs::write(&good, layer(&[("a", Regular, "", b"a")])).expect("good");
    fs::write(&bad, layer(&[("/etc/x", Regular, "", b"x")])).expect("bad");
    let layers = [(good, TAR.to_owned()), (bad, TAR.to_owned())];
    assert!(unpack_layers(&layers, &case.target(), UnpackLimits::default()).is_err());
    let left: Vec<_> = fs::read_dir(case.dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left.len(),
        3,
        "only outside.txt and the two layer files: {left:?}"
    );
}

#[test]
fn a_directory_entry_over_a_symlink_replaces_it() {
    let case = Case::new();
    let victim = case.dir.path().join("victim");
    fs::create_dir(&victim).expect("victim");
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o700)).expect("mode");
    let lower = case.dir.path().join("lower.tar");
    let upper = case.dir.path().join("upper.tar");
    // The lower layer's symlink stays inside by its text; the upper layer's
    // directory entry of the same name must replace it, not follow it.
    fs::write(&lower, layer(&[("d", Symlink, ".", b"")])).expect("lower");
    fs::write(&upper, layer(&[("d/", Directory, "", b"")])).expect("upper");
    let layers = [(lower, TAR.to_owned()), (upper, TAR.to_owned())];
    unpack_layers(&layers, &case.target(), UnpackLimits::default()).expect("unpack");
    let meta = fs::symlink_metadata(case.target().join("d")).expect("d");
    assert!(meta.is_dir(), "the symlink was replaced by a directory");
    let mode = fs::metadata(&victim).expect("victim").permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "nothing outside changed");
}

#[test]
fn whiteouts_of_dot_and_dotdot_are_refused() {
    for name in [".wh..", ".wh...", "sub/.wh..", "sub/.wh...", ".wh."] {
        let case = Case::new();
        let sibling = case.dir.path().join("sibling");
        fs::create_dir(&sibling).expect("sibling");
        fs::write(sibling.join("f"), "kept").expect("f");
        let lower = case.dir.path().join("lower.tar");
        let upper = case.dir.path().join("upper.tar");
        fs::write(
            &lower,
            layer(&[("sub/", Directory, "", b""), ("sub/f", Regular, "", b"f")]),
        )
        .expect("lower");
        fs::write(&upper, layer(&[(name, Regular, "", b"")])).expect("upper");
        let layers = [
            (lower.clone(), TAR.to_owned()),
            (upper.clone(), TAR.to_owned()),
        ];
        let error =
            unpack_layers(&layers, &case.target(), UnpackLimits::default()).expect_err(name);
        assert!(
            matches!(error, UnpackError::Unsafe { .. }),
            "{name}: {error}"
        );
        assert_eq!(fs::read_to_string(sibling.join("f")).expect("f"), "kept");
        assert!(!case.target().exists(), "{name}: no tree");
        assert!(case.dir.path().join("outside.txt").exists());
    }
}

#[test]
fn the_budget_covers_all_layers_together() {
    let case = Case::new();
    let mut layers = Vec::new();
    for i in 0..4 {
        let file = case.dir.path().join(format!("l{i}.tar"));
        let names: Vec<String> = (0..4).map(|j| format!("l{i}f{j}")).collect();
        let entries: Vec<_> = names
            .iter()
            .map(|n| (n.as_str(), Regular, "", &b"1234"[..]))
            .collect();
        fs::write(&file, layer(&entries)).expect("layer");
        layers.push((file, TAR.to_owned()));
    }
    let limits = UnpackLimits {
        max_entries: 10,
        ..UnpackLimits::default()
    };
    let error = unpack_layers(&layers, &case.target(), limits).expect_err("16 entries in all");
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
    let bytes = fs::metadata(&layers[0].0).expect("size").len();
    let limits = UnpackLimits {
        max_bytes: bytes * 2 + bytes / 2,
        ..UnpackLimits::default()
    };
    let error =
        unpack_layers(&layers, &case.target(), limits).expect_err("4 layers in 2.5 budgets");
    assert!(
        matches!(error, UnpackError::TooLarge { what: "bytes", .. }),
        "{error}"
    );
    assert!(!case.target().exists());
}

#[test]
fn paths_deeper_than_the_limit_are_refused() {
    let case = Case::new();
    let deep = vec!["d"; 20].join("/");
    let limits = UnpackLimits {
        max_depth: 10,
        ..UnpackLimits::default()
    };
    let error = case
        .unpack(&layer(&[(&deep, Regular, "", b"x")]), TAR, limits)
        .expect_err("deep");
    assert!(
        matches!(
            error,
            UnpackError::TooLarge {
                what: "path components",
                ..
            }
        ),
        "{error}"
    );
    case.assert_nothing_left();
}

/// A layer whose entries carry `mode` and owner `uid`, as a layer may.
fn layer_with(entries: &[(&str, tar::EntryType, &[u8])], mode: u32, uid: u64) -> Vec<u8> {
    let entries: Vec<TarEntry<'_>> = entries
        .iter()
        .map(|&(name, kind, data)| TarEntry::new(name, kind, "", data).mode(mode).uid(uid))
        .collect();
    crafted_tar(&entries)
}

#[test]
fn set_id_sticky_and_group_or_other_write_bits_are_dropped_and_owners_ignored() {
    use std::os::unix::fs::MetadataExt as _;
    let case = Case::new();
    let entries: [(&str, tar::EntryType, &[u8]); 2] =
        [("dir/", Directory, b""), ("dir/tool", Regular, b"x")];
    case.unpack(
        &layer_with(&entries, 0o7777, 4242),
        TAR,
        UnpackLimits::default(),
    )
    .expect("unpack");
    let root = case.target();
    let me = rustix::process::geteuid().as_raw();
    let tool = fs::metadata(root.join("dir/tool")).expect("tool");
    assert_eq!(
        tool.mode() & 0o7777,
        0o755,
        "a file keeps rwxr-xr-x at most"
    );
    assert_eq!(tool.uid(), me, "the layer's owner is not applied");
    let dir = fs::metadata(root.join("dir")).expect("dir");
    assert_eq!(dir.mode() & 0o7777, 0o755, "a directory too");
    assert_eq!(dir.uid(), me);
    // Group and other write alone are dropped too.
    let case = Case::new();
    let shared: [(&str, tar::EntryType, &[u8]); 1] = [("shared", Regular, b"x")];
    case.unpack(&layer_with(&shared, 0o666, 0), TAR, UnpackLimits::default())
        .expect("unpack");
    let shared = fs::metadata(case.target().join("shared")).expect("shared");
    assert_eq!(shared.mode() & 0o7777, 0o644);
}
