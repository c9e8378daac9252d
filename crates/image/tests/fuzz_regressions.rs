//! Inputs the fuzz targets in `fuzz/` found crashing, one test each, named
//! after what the fix stops. Each input is also in `fuzz/corpus/`.

use std::fs;
use std::path::Path;

use wharf_image::build::{BuildError, BuildOptions, InstructionError, build};
use wharf_image::{BlobStore, Reference, UnpackError, UnpackLimits, unpack_layer};

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

/// Builds `dockerfile` in a context holding `app.wasm`.
fn build_dockerfile(dockerfile: &[u8]) -> Result<(), BuildError> {
    let dir = tempfile::tempdir().expect("dir");
    let context = dir.path().join("context");
    fs::create_dir(&context).expect("context");
    fs::write(context.join("app.wasm"), b"\0asm\x01\0\0\0").expect("module");
    fs::write(dir.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
    let blobs = BlobStore::open(dir.path().join("blobs")).expect("blobs");
    let options = BuildOptions {
        context,
        dockerfile: Some(dir.path().join("Dockerfile")),
        ..BuildOptions::default()
    };
    build(&blobs, &options).map(|_| ())
}

/// fuzz/corpus/dockerfile/crash-nul-in-copy-destination (found by
/// `dockerfile`): a quoted NUL in a COPY destination built an image whose
/// layer has a NUL in an entry's name, which no unpacker reads; the same
/// for WORKDIR.
#[test]
fn nul_bytes_in_image_paths_are_refused_at_build() {
    let found: &[u8] = b"FROM scratch\nCOPY app.wasm .\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\
        \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\
        \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\
        .................................................../aB\"/as\x00\"";
    let workdir: &[u8] = b"FROM scratch\nWORKDIR \"/srv\x00x\"\nCOPY app.wasm .\n";
    for dockerfile in [found, workdir] {
        let error = build_dockerfile(dockerfile).expect_err("a NUL in an image path");
        assert!(error.to_string().contains("NUL"), "{error}");
        assert!(
            matches!(
                &error,
                BuildError::Instruction {
                    kind: InstructionError::BadImagePath { .. },
                    ..
                }
            ),
            "{error}"
        );
    }
}

/// fuzz/corpus/dockerfile/crash-long-name-in-copy-destination (found by
/// `dockerfile`): a COPY destination named with more than 255 bytes built
/// an image that no file system can unpack (ENAMETOOLONG).
#[test]
fn names_longer_than_255_bytes_are_refused_at_build() {
    let found =
        include_bytes!("../../../fuzz/corpus/dockerfile/crash-long-name-in-copy-destination");
    // The fuzz target's first byte holds its build options: here, none.
    assert_eq!(found[0], 0);
    let error = build_dockerfile(&found[1..]).expect_err("a 256-byte name");
    assert!(
        matches!(
            &error,
            BuildError::Instruction {
                line: 2,
                kind: InstructionError::BadImagePath { .. },
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("255 bytes"), "{error}");
    let ok = format!("FROM scratch\nCOPY app.wasm /{}\n", "x".repeat(255));
    build_dockerfile(ok.as_bytes()).expect("a 255-byte name is fine");
}

/// fuzz/corpus/dockerfile/crash-whiteout-name-in-copy-destination (found
/// by `dockerfile`): `COPY ... .wh../` built a layer entry that unpacking
/// reads as a whiteout. Any `.wh.NAME` is one: in a later layer it deletes
/// NAME of the layers below, so the build refuses such names, given as a
/// destination or found in a copied directory.
#[test]
fn whiteout_names_are_refused_at_build() {
    let found =
        include_bytes!("../../../fuzz/corpus/dockerfile/crash-whiteout-name-in-copy-destination");
    assert_eq!(found[0], 0);
    // The fuzz target's context has static/, *.tmp and run.sh; here the
    // COPY of line 11 needs only run.sh and one *.tmp.
    let dir = tempfile::tempdir().expect("dir");
    let context = dir.path().join("context");
    fs::create_dir_all(context.join("static")).expect("context");
    fs::write(context.join("static/index.html"), b"hi").expect("file");
    fs::write(context.join("run.sh"), b"#!/bin/sh\n").expect("file");
    fs::write(context.join("keep.tmp"), b"k").expect("file");
    fs::write(context.join("link-in"), b"\0asm\x01\0\0\0").expect("file");
    fs::write(dir.path().join("Dockerfile"), &found[1..]).expect("Dockerfile");
    let blobs = BlobStore::open(dir.path().join("blobs")).expect("blobs");
    let options = BuildOptions {
        context: context.clone(),
        dockerfile: Some(dir.path().join("Dockerfile")),
        ..BuildOptions::default()
    };
    let error = build(&blobs, &options).expect_err("a whiteout name");
    assert!(
        matches!(
            &error,
            BuildError::Instruction {
                line: 11,
                kind: InstructionError::BadImagePath { .. },
                ..
            }
        ),
        "{error}"
    );
    fs::create_dir(context.join("dir")).expect("dir");
    fs::write(context.join("dir/.wh.app.wasm"), b"").expect("file");
    fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY dir /\n").expect("Dockerfile");
    let error = build(&blobs, &options).expect_err("a whiteout name in a directory");
    assert!(error.to_string().contains(".wh.app.wasm"), "{error}");
}

/// fuzz/corpus/reference/crash-hub-repository-with-a-dot (found by
/// `reference`): the familiar name of Docker Hub's `l.io/libraryne` was
/// `l.io/libraryne:3.19`, which names registry `l.io`; `wharf save` writes
/// familiar names into `manifest.json`, so a save and load renamed it.
/// Then crash-hub-repository-named-docker-io: the same for Hub's
/// `docker.io/x/y`.
#[test]
fn familiar_names_of_hub_repositories_that_look_like_registries_keep_docker_io() {
    let found = include_str!("../../../fuzz/corpus/reference/crash-hub-repository-with-a-dot");
    for text in [
        found,
        "docker.io/localhost/app",
        "docker.io/library/a.b/c:1",
    ] {
        let reference: Reference = text.parse().expect(text);
        let familiar = reference.familiar();
        assert_eq!(familiar.parse::<Reference>(), Ok(reference), "{familiar}");
    }
    let found: Reference = found.parse().expect("parse");
    assert_eq!(found.familiar(), "docker.io/l.io/libraryne:3.19");
    let plain: Reference = "docker.io/library/alpine:3".parse().expect("parse");
    assert_eq!(plain.familiar(), "alpine:3");
}

/// fuzz/corpus/layer/symlink-chain-out.tar (seen writing the `layer`
/// targets' check, which resolves every symlink of an unpacked tree):
/// `a/l -> ..` and `m -> a/l/..` each stay inside by their text, but `m`
/// resolves to the directory beside the target. Unpacking refuses a link
/// that climbs after going down, and the build refuses to make one.
#[test]
fn symlinks_that_climb_after_going_down_are_refused() {
    let found = include_bytes!("../../../fuzz/corpus/layer/symlink-chain-out.tar");
    let dir = tempfile::tempdir().expect("dir");
    let target = dir.path().join("layer");
    let error = unpack_layer(&found[..], TAR, &target, UnpackLimits::default())
        .expect_err("a link that climbs after going down");
    assert!(error.to_string().contains("`m`"), "{error}");
    assert!(matches!(error, UnpackError::Unsafe { .. }), "{error}");
    assert_eq!(names(dir.path()), Vec::<String>::new());

    let context = dir.path().join("context");
    fs::create_dir_all(context.join("app/sub")).expect("context");
    fs::write(context.join("app/main.wasm"), b"\0asm\x01\0\0\0").expect("module");
    std::os::unix::fs::symlink("sub/../main.wasm", context.join("app/chain")).expect("link");
    fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY app /\n").expect("Dockerfile");
    let blobs = BlobStore::open(dir.path().join("blobs")).expect("blobs");
    let options = BuildOptions {
        context,
        dockerfile: Some(dir.path().join("Dockerfile")),
        ..BuildOptions::default()
    };
    let error = build(&blobs, &options).expect_err("a link that climbs after going down");
    assert!(
        matches!(
            &error,
            BuildError::Instruction {
                kind: InstructionError::SymlinkOutsideImage { .. },
                ..
            }
        ),
        "{error}"
    );
}

/// fuzz/corpus/dockerignore/crash-many-double-stars-take-exponential-time
/// (seen reading the matcher for the `dockerignore` target, which then
/// timed out on it): twelve `**` against a path 24 deep tried every split
/// for each `**`, and a build in such a context did not end.
#[test]
fn many_double_stars_in_dockerignore_match_in_linear_time() {
    let found = include_str!(
        "../../../fuzz/corpus/dockerignore/crash-many-double-stars-take-exponential-time"
    );
    let (patterns, paths) = found.split_once('\0').expect("patterns, NUL, paths");
    let deep = paths.trim();
    let dir = tempfile::tempdir().expect("dir");
    let context = dir.path().join("context");
    fs::create_dir_all(context.join(deep)).expect("deep directory");
    fs::write(context.join(deep).join("x"), b"ignored").expect("file");
    fs::write(context.join(deep).join("app.wasm"), b"\0asm\x01\0\0\0").expect("module");
    fs::write(context.join(".dockerignore"), patterns).expect(".dockerignore");
    fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY a /a\n").expect("Dockerfile");
    let (done, wait) = std::sync::mpsc::channel();
    let root = dir.path().to_owned();
    std::thread::spawn(move || {
        let blobs = BlobStore::open(root.join("blobs")).expect("blobs");
        let options = BuildOptions {
            context,
            dockerfile: Some(root.join("Dockerfile")),
            ..BuildOptions::default()
        };
        let _ = done.send(build(&blobs, &options).map(|_| ()));
    });
    let built = wait
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the build ends");
    built.expect("build");
}
