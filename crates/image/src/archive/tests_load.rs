//! Load: crafted archives, one per attack, and the layouts of other tools.

use super::tests::{WASM, config, entries, gzip, layer_tar, saved, store, wasm_image};
use super::*;
use crate::blobs::BlobStore;
use crate::manifest::{Manifest, media_type};
use crate::refs::REF_NAME_ANNOTATION;
use wharf_testkit::{TarEntry, crafted_tar};

/// An archive of crafted entries.
fn archive(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let entries: Vec<TarEntry<'_>> = entries
        .iter()
        .map(|&(name, kind, link, data)| TarEntry::new(name, kind, link, data))
        .collect();
    crafted_tar(&entries)
}

use tar::EntryType::{Block, Directory, Link, Regular, Symlink};

fn stored_files(blobs: &BlobStore) -> usize {
    std::fs::read_dir(blobs.root().join("blobs/sha256"))
        .expect("blob dir")
        .count()
}

#[test]
fn tampered_blob_is_refused_and_not_stored() {
    let (_dir, blobs) = store();
    let claimed = Digest::of(b"the real layer");
    let path = blob_path(&claimed);
    let tar = archive(&[(&path, Regular, "", b"the fake layer")]);
    let error = load(&blobs, &tar[..]).expect_err("tampered");
    assert!(
        matches!(&error, ArchiveError::Store { path: p, source: BlobError::DigestMismatch { .. } } if *p == path),
        "{error}"
    );
    assert!(error.to_string().contains(&path), "{error}");
    assert!(!blobs.contains(&claimed));
    assert!(!blobs.contains(&Digest::of(b"the fake layer")));
    assert_eq!(stored_files(&blobs), 0);
}

#[test]
fn escaping_paths_and_links_are_refused() {
    let cases: &[(&str, tar::EntryType, &str)] = &[
        ("../x", Regular, ""),
        ("/etc/passwd", Regular, ""),
        ("blobs/../../x", Regular, ""),
        ("../escape", Directory, ""),
        ("evil", Symlink, "/etc/passwd"),
        ("a/evil", Symlink, "../../x"),
        ("evil", Link, "../x"),
        ("dev", Block, ""),
    ];
    for (name, kind, link) in cases {
        let (_dir, blobs) = store();
        let tar = archive(&[(name, *kind, link, b"")]);
        let error = load(&blobs, &tar[..]).expect_err(name);
        assert!(
            matches!(
                error,
                ArchiveError::UnsafePath { .. } | ArchiveError::EntryKind { .. }
            ),
            "{name}: {error}"
        );
        assert!(error.to_string().contains(name), "{error} names {name}");
    }
}

/// What `docker save` wrote before Docker 25: `<hex>.json` configs and
/// `<id>/layer.tar` layers, here one plain and one gzip, the second a
/// symlink to a third directory as Docker writes shared layers.
#[test]
fn legacy_docker_layout_loads_as_a_docker_v2_manifest() {
    let (_dir, blobs) = store();
    let plain = layer_tar(WASM);
    let zipped = gzip(&layer_tar(b"\0asm\x01\0\0\0second"));
    let config = config(&plain);
    let config_name = format!("{}.json", Digest::of(&config).hex());
    let manifest_json = format!(
        r#"[{{"Config":"{config_name}","RepoTags":["app:latest","registry.local/app:1"],
              "Layers":["abc/layer.tar","def/layer.tar"]}}]"#
    );
    let tar = archive(&[
        ("repositories", Regular, "", b"{}"),
        ("abc/", Directory, "", b""),
        ("abc/VERSION", Regular, "", b"1.0"),
        ("abc/layer.tar", Regular, "", &plain),
        ("def/", Directory, "", b""),
        ("def/layer.tar", Symlink, "../ghi/layer.tar", b""),
        ("ghi/layer.tar", Regular, "", &zipped),
        (&config_name, Regular, "", &config),
        ("manifest.json", Regular, "", manifest_json.as_bytes()),
    ]);
    let loaded = load(&blobs, &tar[..]).expect("load");
    let names: Vec<_> = loaded
        .iter()
        .map(|i| i.name.as_ref().map(ToString::to_string))
        .collect();
    assert_eq!(
        names,
        [
            Some("docker.io/library/app:latest".to_owned()),
            Some("registry.local/app:1".to_owned())
        ]
    );
    assert_eq!(loaded[0].manifest, loaded[1].manifest);
    let descriptor = &loaded[0].manifest;
    assert_eq!(descriptor.media_type, media_type::DOCKER_MANIFEST);
    let bytes = blobs.read(&descriptor.digest).expect("manifest stored");
    assert_eq!(bytes.len() as u64, descriptor.size);
    let manifest: Manifest = serde_json::from_slice(&bytes).expect("manifest");
    assert_eq!(
        manifest.media_type.as_deref(),
        Some(media_type::DOCKER_MANIFEST)
    );
    assert_eq!(manifest.config.media_type, media_type::DOCKER_CONFIG);
    assert_eq!(manifest.config.digest, Digest::of(&config));
    let layers: Vec<_> = manifest
        .layers
        .iter()
        .map(|l| (l.media_type.as_str(), l.digest.clone(), l.size))
        .collect();
    assert_eq!(
        layers,
        [
            (
                "application/vnd.docker.image.rootfs.diff.tar",
                Digest::of(&plain),
                plain.len() as u64
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                Digest::of(&zipped),
                zipped.len() as u64
            ),
        ]
    );
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        assert!(blobs.read(&blob.digest).is_ok(), "{} stored", blob.digest);
    }
}

#[test]
fn a_layer_named_in_manifest_json_but_absent_is_an_error() {
    let (_dir, blobs) = store();
    let config = config(b"");
    let manifest_json = r#"[{"Config":"c.json","RepoTags":null,"Layers":["abc/layer.tar"]}]"#;
    let tar = archive(&[
        ("c.json", Regular, "", &config),
        ("manifest.json", Regular, "", manifest_json.as_bytes()),
    ]);
    let error = load(&blobs, &tar[..]).expect_err("missing layer");
    assert!(
        matches!(&error, ArchiveError::Missing { missing, .. } if missing == "abc/layer.tar"),
        "{error}"
    );
}

#[test]
fn a_manifest_in_index_json_but_absent_is_an_error() {
    let (_dir, source) = store();
    let image = wasm_image(&source, WASM);
    let tar = saved(
        &source,
        &[ArchivedImage {
            name: Some("app".parse().expect("reference")),
            manifest: image.clone(),
        }],
        ArchiveFormat::Oci,
    );
    // The same archive without the manifest blob.
    let mut without = tar::Builder::new(Vec::new());
    for (path, header, content) in entries(&tar) {
        if path != blob_path(&image.digest) {
            without
                .append_data(&mut header.clone(), &path, &content[..])
                .expect("append");
        }
    }
    let without = without.into_inner().expect("tar");
    let (_dir2, blobs) = store();
    let error = load(&blobs, &without[..]).expect_err("missing manifest");
    assert!(
        matches!(&error, ArchiveError::Missing { from, missing } if from == "index.json" && *missing == blob_path(&image.digest)),
        "{error}"
    );
}

#[test]
fn gzip_compressed_archive_loads() {
    let (_dir, source) = store();
    let image = wasm_image(&source, WASM);
    let images = [ArchivedImage {
        name: Some("app:v2".parse().expect("reference")),
        manifest: image,
    }];
    let tar = gzip(&saved(&source, &images, ArchiveFormat::Docker));
    let (_dir2, blobs) = store();
    assert_eq!(load(&blobs, &tar[..]).expect("load"), images);
}

#[test]
fn oci_ref_name_is_a_name_only_when_it_is_a_reference() {
    let (_dir, source) = store();
    let image = wasm_image(&source, WASM);
    for (ref_name, expected) in [
        ("latest", None),
        ("registry.local/app:1", Some("registry.local/app:1")),
    ] {
        let mut descriptor = image.clone();
        descriptor
            .annotations
            .insert(REF_NAME_ANNOTATION.to_owned(), ref_name.to_owned());
        let index = crate::manifest::Index {
            schema_version: 2,
            media_type: None,
            manifests: vec![descriptor],
        };
        let index = serde_json::to_vec(&index).expect("index");
        let mut entries: Vec<(String, Vec<u8>)> = entries(&saved(
            &source,
            &[ArchivedImage {
                name: None,
                manifest: image.clone(),
            }],
            ArchiveFormat::Oci,
        ))
        .into_iter()
        .filter(|(p, h, _)| p != "index.json" && !h.entry_type().is_dir())
        .map(|(p, _, c)| (p, c))
        .collect();
        entries.push(("index.json".to_owned(), index));
        let tar = archive(
            &entries
                .iter()
                .map(|(p, c)| (p.as_str(), Regular, "", c.as_slice()))
                .collect::<Vec<_>>(),
        );
        let (_dir2, blobs) = store();
        let loaded = load(&blobs, &tar[..]).expect("load");
        let expected = expected.map(|n| n.parse::<Reference>().expect("reference"));
        assert_eq!(loaded[0].name, expected, "ref.name {ref_name}");
    }
}

#[test]
fn limits_stop_tar_bombs() {
    let (_dir, source) = store();
    let images = [ArchivedImage {
        name: None,
        manifest: wasm_image(&source, WASM),
    }];
    let tar = gzip(&saved(&source, &images, ArchiveFormat::Oci));
    let (_dir2, blobs) = store();
    let few_entries = LoadLimits {
        max_entries: 3,
        ..LoadLimits::default()
    };
    let error = load_with_limits(&blobs, &tar[..], &few_entries).expect_err("entries");
    assert!(
        matches!(error, ArchiveError::TooManyEntries { limit: 3 }),
        "{error}"
    );
    let few_bytes = LoadLimits {
        max_total_bytes: 2048,
        ..LoadLimits::default()
    };
    let error = load_with_limits(&blobs, &tar[..], &few_bytes).expect_err("bytes");
    assert!(
        matches!(error, ArchiveError::TooLarge { limit: 2048 }),
        "{error}"
    );
    let small_metadata = LoadLimits {
        max_metadata_bytes: 10,
        ..LoadLimits::default()
    };
    let error = load_with_limits(&blobs, &tar[..], &small_metadata).expect_err("index.json");
    assert!(
        matches!(&error, ArchiveError::FileTooLarge { path, .. } if path == "index.json"),
        "{error}"
    );
}

#[test]
fn a_tar_without_image_metadata_is_not_an_image() {
    let (_dir, blobs) = store();
    let tar = archive(&[("hello.txt", Regular, "", b"hi")]);
    let error = load(&blobs, &tar[..]).expect_err("no image");
    assert!(matches!(error, ArchiveError::NotAnImage), "{error}");
    let error = load(&blobs, &b"not a tar at all, just some words"[..]).expect_err("garbage");
    assert!(matches!(error, ArchiveError::Read(_)), "{error}");
}
