//! Tests of whole builds against temporary contexts.

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::{PermissionsExt as _, symlink};

use serde_json::Value;

use super::{BuildError, BuildOptions, Built, InstructionError, build};
use crate::blobs::BlobStore;
use crate::digest::Digest;
use crate::manifest::media_type;

pub(super) const CORE: &[u8] = b"\0asm\x01\0\0\0core-module-body";
pub(super) const COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0component-body";

pub(super) struct Fixture {
    dir: tempfile::TempDir,
    pub(super) store: BlobStore,
}

impl Fixture {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir(dir.path().join("ctx")).expect("ctx");
        let store = BlobStore::open(dir.path().join("store")).expect("store");
        Fixture { dir, store }
    }

    pub(super) fn ctx(&self) -> std::path::PathBuf {
        self.dir.path().join("ctx")
    }

    pub(super) fn file(&self, rel: &str, content: &[u8]) -> &Self {
        let path = self.ctx().join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, content).expect("write");
        self
    }

    pub(super) fn options(&self) -> BuildOptions {
        BuildOptions {
            context: self.ctx(),
            ..BuildOptions::default()
        }
    }

    pub(super) fn build_with(
        &self,
        dockerfile: &str,
        options: BuildOptions,
    ) -> Result<Built, BuildError> {
        self.file("Dockerfile", dockerfile.as_bytes());
        build(&self.store, &options)
    }

    pub(super) fn build(&self, dockerfile: &str) -> Result<Built, BuildError> {
        self.build_with(dockerfile, self.options())
    }

    pub(super) fn json(&self, digest: &Digest) -> Value {
        serde_json::from_slice(&self.store.read(digest).expect("blob")).expect("json")
    }

    pub(super) fn manifest(&self, built: &Built) -> Value {
        self.json(&built.manifest.digest)
    }

    pub(super) fn config(&self, built: &Built) -> Value {
        let manifest = self.manifest(built);
        self.json(&digest(&manifest["config"]["digest"]))
    }

    /// Every layer, decompressed.
    pub(super) fn layers(&self, built: &Built) -> Vec<Vec<u8>> {
        let manifest = self.manifest(built);
        let layers = manifest["layers"].as_array().expect("layers");
        layers
            .iter()
            .map(|layer| {
                let blob = self.store.read(&digest(&layer["digest"])).expect("layer");
                let mut tar = Vec::new();
                flate2::read::GzDecoder::new(&blob[..])
                    .read_to_end(&mut tar)
                    .expect("gunzip");
                tar
            })
            .collect()
    }
}

pub(super) fn digest(value: &Value) -> Digest {
    value
        .as_str()
        .expect("digest string")
        .parse()
        .expect("digest")
}

#[derive(Debug, PartialEq)]
struct Entry {
    path: String,
    kind: char,
    mode: u32,
    content: String,
}

/// (path, kind, mode, content) of each tar entry; checks owners and mtime.
fn entries(tar: &[u8], mtime: u64) -> Vec<Entry> {
    let mut archive = tar::Archive::new(tar);
    let mut out = Vec::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let header = entry.header().clone();
        assert_eq!(header.uid().expect("uid"), 0);
        assert_eq!(header.gid().expect("gid"), 0);
        assert_eq!(header.mtime().expect("mtime"), mtime);
        assert_eq!(header.username().expect("user"), Some(""));
        let kind = match header.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            _ => 'f',
        };
        let mut content = String::new();
        if kind == 'l' {
            content = entry
                .link_name()
                .expect("link")
                .expect("target")
                .display()
                .to_string();
        } else {
            entry.read_to_string(&mut content).expect("content");
        }
        out.push(Entry {
            path: entry.path().expect("path").display().to_string(),
            kind,
            mode: header.mode().expect("mode"),
            content,
        });
    }
    out
}

fn e(path: &str, kind: char, mode: u32, content: &str) -> Entry {
    Entry {
        path: path.into(),
        kind,
        mode,
        content: content.into(),
    }
}

fn instruction_error(result: Result<Built, BuildError>) -> (usize, InstructionError) {
    match result {
        Err(BuildError::Instruction { line, kind, .. }) => (line, kind),
        other => panic!("expected an instruction error, got {other:?}"),
    }
}

const APP: &str = "FROM scratch\nCOPY app.wasm /app.wasm\nCOPY static /static\n\
                   ENTRYPOINT [\"/app.wasm\"]\n";

#[test]
fn same_context_same_digest_whatever_mtimes_and_modes() {
    let first = Fixture::new();
    first
        .file("app.wasm", CORE)
        .file("static/b.txt", b"b")
        .file("static/a.txt", b"a");
    let digest = first.build(APP).expect("build").manifest.digest;
    assert_eq!(first.build(APP).expect("again").manifest.digest, digest);

    // Another directory, other mtimes, files created in another order,
    // group/other permission bits that do not matter: same image.
    let second = Fixture::new();
    second
        .file("static/a.txt", b"a")
        .file("static/b.txt", b"b")
        .file("app.wasm", CORE);
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    for rel in ["app.wasm", "static/a.txt", "static/b.txt"] {
        let file = fs::File::options()
            .write(true)
            .open(second.ctx().join(rel))
            .expect("open");
        file.set_modified(old).expect("touch");
    }
    let perms = fs::Permissions::from_mode(0o600);
    fs::set_permissions(second.ctx().join("static/a.txt"), perms).expect("chmod");
    assert_eq!(second.build(APP).expect("other").manifest.digest, digest);

    second.file("static/b.txt", b"c");
    assert_ne!(second.build(APP).expect("changed").manifest.digest, digest);
}

#[test]
fn config_records_the_runtime_settings_and_layers() {
    let fx = Fixture::new();
    fx.file("app.wasm", CORE);
    let dockerfile = "ARG VERSION=1\nFROM scratch\nARG VERSION\nARG NAME=app\n\
                      ENV GREETING=\"hi there\" MODE=$VERSION\nENV OTHER plain value\n\
                      WORKDIR /srv\nCOPY app.wasm ${NAME}-${VERSION}.wasm\n\
                      LABEL org.example.version=$VERSION \"quoted key\"=v\n\
                      ENTRYPOINT [\"/srv/app-2.wasm\"]\nCMD --port 80\nEXPOSE 80 53/udp\n";
    let options = BuildOptions {
        build_args: vec![
            ("VERSION".into(), "2".into()),
            ("UNUSED".into(), "x".into()),
        ],
        ..fx.options()
    };
    let built = fx.build_with(dockerfile, options).expect("build");
    assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
    assert!(built.warnings[0].contains("UNUSED"), "{:?}", built.warnings);
    assert_eq!(built.manifest.media_type, media_type::OCI_MANIFEST);
    let platform = built.manifest.platform.clone().expect("platform");
    assert_eq!(
        (platform.architecture.as_str(), platform.os.as_str()),
        ("wasm", "wasi")
    );

    let config = fx.config(&built);
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasi");
    assert!(config.get("created").is_none());
    let run = &config["config"];
    assert_eq!(
        run["Env"],
        serde_json::json!(["GREETING=hi there", "MODE=2", "OTHER=plain value"])
    );
    assert_eq!(run["Entrypoint"], serde_json::json!(["/srv/app-2.wasm"]));
    assert_eq!(run["Cmd"], serde_json::json!(["--port", "80"]));
    assert_eq!(run["WorkingDir"], "/srv");
    assert_eq!(
        run["Labels"],
        serde_json::json!({"org.example.version": "2", "quoted key": "v"})
    );
    assert_eq!(
        run["ExposedPorts"],
        serde_json::json!({"53/udp": {}, "80/tcp": {}})
    );

    // WORKDIR makes a layer with the directory, COPY one with the file.
    let layers = fx.layers(&built);
    assert_eq!(layers.len(), 2);
    assert_eq!(entries(&layers[0], 0), vec![e("srv/", 'd', 0o755, "")]);
    let core = String::from_utf8_lossy(CORE);
    assert_eq!(
        entries(&layers[1], 0),
        vec![
            e("srv/", 'd', 0o755, ""),
            e("srv/app-2.wasm", 'f', 0o644, &core)
        ]
    );
    let diff_ids: Vec<String> = layers.iter().map(|t| Digest::of(t).to_string()).collect();
    assert_eq!(config["rootfs"]["type"], "layers");
    assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!(diff_ids));
    let manifest = fx.manifest(&built);
    for layer in manifest["layers"].as_array().expect("layers") {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
    }
    assert_eq!(manifest["config"]["mediaType"], media_type::OCI_CONFIG);

    let history = config["history"].as_array().expect("history");
    let created_by: Vec<&str> = history
        .iter()
        .map(|h| h["created_by"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(created_by.len(), 8, "{created_by:?}");
    assert_eq!(created_by[3], "COPY app.wasm ${NAME}-${VERSION}.wasm");
    let empty: Vec<bool> = history.iter().map(|h| h["empty_layer"] == true).collect();
    assert_eq!(empty, [true, true, false, false, true, true, true, true]);
}

#[test]
fn copy_directories_globs_and_destinations() {
    let fx = Fixture::new();
    fx.file("web/index.html", b"i")
        .file("web/css/site.css", b"c")
        .file("a.wasm", b"A")
        .file("b.wasm", b"B")
        .file("notes.txt", b"n")
        .file("tool", b"t");
    let exec = fs::Permissions::from_mode(0o700);
    fs::set_permissions(fx.ctx().join("tool"), exec).expect("chmod");
    let dockerfile = "FROM scratch\nCOPY web /site\nCOPY *.wasm /mods/\nWORKDIR /w\n\
                      COPY notes.txt renamed.txt\nCOPY --chmod=600 tool notes.txt bin\n\
                      COPY [\"tool\", \".\"]\n";
    let options = BuildOptions {
        source_date_epoch: Some(86_400 * 366),
        ..fx.options()
    };
    let built = fx.build_with(dockerfile, options).expect("build");
    let layers = fx.layers(&built);
    let at = 86_400 * 366;
    assert_eq!(
        entries(&layers[0], at),
        vec![
            e("site/", 'd', 0o755, ""),
            e("site/css/", 'd', 0o755, ""),
            e("site/css/site.css", 'f', 0o644, "c"),
            e("site/index.html", 'f', 0o644, "i"),
        ]
    );
    assert_eq!(
        entries(&layers[1], at),
        vec![
            e("mods/", 'd', 0o755, ""),
            e("mods/a.wasm", 'f', 0o644, "A"),
            e("mods/b.wasm", 'f', 0o644, "B"),
        ]
    );
    // layers[2] is WORKDIR's.
    assert_eq!(
        entries(&layers[3], at),
        vec![e("w/", 'd', 0o755, ""), e("w/renamed.txt", 'f', 0o644, "n")]
    );
    assert_eq!(
        entries(&layers[4], at),
        vec![
            e("w/", 'd', 0o755, ""),
            e("w/bin/", 'd', 0o755, ""),
            e("w/bin/notes.txt", 'f', 0o600, "n"),
            e("w/bin/tool", 'f', 0o600, "t"),
        ]
    );
    assert_eq!(
        entries(&layers[5], at),
        vec![e("w/", 'd', 0o755, ""), e("w/tool", 'f', 0o755, "t")]
    );
    let config = fx.config(&built);
    assert_eq!(config["created"], "1971-01-02T00:00:00Z");
    assert_eq!(config["history"][0]["created"], "1971-01-02T00:00:00Z");
}

#[test]
fn symlinks_inside_are_kept_and_dockerignore_is_honoured() {
    let fx = Fixture::new();
    fx.file("app/main.wasm", CORE)
        .file("app/secret.key", b"k")
        .file("app/logs/x.log", b"l")
        .file("app/logs/keep.log", b"k")
        .file(
            ".dockerignore",
            b"# comment\n**/*.key\napp/logs\n!app/logs/keep.log\n",
        );
    symlink("main.wasm", fx.ctx().join("app/current.wasm")).expect("symlink");
    symlink("/data/file", fx.ctx().join("app/abs")).expect("symlink");
    let built = fx.build("FROM scratch\nCOPY app /\n").expect("build");
    let layers = fx.layers(&built);
    assert_eq!(
        entries(&layers[0], 0),
        vec![
            e("abs", 'l', 0o777, "/data/file"),
            e("current.wasm", 'l', 0o777, "main.wasm"),
            e("logs/", 'd', 0o755, ""),
            e("logs/keep.log", 'f', 0o644, "k"),
            e("main.wasm", 'f', 0o644, &String::from_utf8_lossy(CORE)),
        ]
    );
    let (line, kind) = instruction_error(fx.build("FROM scratch\nCOPY app/secret.key /\n"));
    assert_eq!(line, 2);
    assert_eq!(kind, InstructionError::NotFound("app/secret.key".into()));
}

#[test]
fn sources_outside_the_context_are_refused() {
    let fx = Fixture::new();
    fx.file("app.wasm", CORE);
    fs::write(fx.dir.path().join("outside.txt"), b"secret").expect("outside");
    let (line, kind) = instruction_error(fx.build("FROM scratch\n\nCOPY ../outside.txt /\n"));
    assert_eq!(line, 3);
    assert_eq!(
        kind,
        InstructionError::OutsideContext("../outside.txt".into())
    );

    // An absolute source is context-relative, as in Docker: never the host's.
    let outside = fx.dir.path().join("outside.txt").display().to_string();
    let (_, kind) = instruction_error(fx.build(&format!("FROM scratch\nCOPY {outside} /\n")));
    assert_eq!(kind, InstructionError::NotFound(outside));

    symlink(fx.dir.path().join("outside.txt"), fx.ctx().join("link")).expect("symlink");
    let (_, kind) = instruction_error(fx.build("FROM scratch\nCOPY link /\n"));
    assert_eq!(kind, InstructionError::SymlinkOutsideContext("link".into()));

    symlink(fx.dir.path(), fx.ctx().join("up")).expect("symlink");
    let (_, kind) = instruction_error(fx.build("FROM scratch\nCOPY up/outside.txt /\n"));
    assert_eq!(
        kind,
        InstructionError::OutsideContext("up/outside.txt".into())
    );

    fs::create_dir(fx.ctx().join("d")).expect("mkdir");
    symlink("../../../etc/passwd", fx.ctx().join("d/escape")).expect("symlink");
    let (_, kind) = instruction_error(fx.build("FROM scratch\nCOPY d /x/\n"));
    assert_eq!(
        kind,
        InstructionError::SymlinkOutsideImage {
            path: "d/escape".into(),
            target: "../../../etc/passwd".into()
        }
    );
}

#[test]
fn unsupported_and_malformed_dockerfiles() {
    let fx = Fixture::new();
    fx.file("app.wasm", CORE);
    let error = fx
        .build("FROM scratch\n# comment\nCOPY app.wasm /\nRUN make\n")
        .expect_err("RUN");
    assert_eq!(
        error.to_string(),
        format!(
            "{}:4: RUN is not supported: a Wasm image has no shell to run it in",
            fx.ctx().join("Dockerfile").display()
        )
    );
    let (line, kind) = instruction_error(fx.build("# hi\nFROM alpine:3\n"));
    assert_eq!(
        (line, kind),
        (2, InstructionError::NotScratch("alpine:3".into()))
    );
    let error = fx.build("ARG X=1\nCOPY app.wasm /\n").expect_err("no FROM");
    assert!(matches!(error, BuildError::NoFrom { .. }), "{error}");
    let (line, kind) = instruction_error(fx.build("FROM scratch\nFROM scratch\n"));
    assert_eq!((line, kind), (2, InstructionError::SecondFrom));
    let (line, kind) = instruction_error(fx.build("FROM scratch\nFROBNICATE x\n"));
    assert_eq!(
        (line, kind),
        (2, InstructionError::Unknown("FROBNICATE".into()))
    );
    let (_, kind) = instruction_error(fx.build("FROM scratch\nCOPY --from=b x /\n"));
    assert!(
        matches!(kind, InstructionError::Unsupported { .. }),
        "{kind}"
    );
    let (_, kind) = instruction_error(fx.build("FROM scratch\nCOPY --chmod=u+x app.wasm /\n"));
    assert_eq!(kind, InstructionError::BadChmod("u+x".into()));
    let (_, kind) = instruction_error(fx.build("FROM scratch\nCOPY nothing*.wasm /\n"));
    assert_eq!(kind, InstructionError::NotFound("nothing*.wasm".into()));
    let (line, kind) =
        instruction_error(fx.build("FROM scratch\nCOPY app.wasm /x\nCOPY app.wasm /x/y\n"));
    assert_eq!(
        (line, kind),
        (3, InstructionError::NotDirectory("/x".into()))
    );
    let built = fx
        .build("FROM scratch\nUSER 1000\nCOPY --chown=1:1 app.wasm /\n")
        .expect("USER");
    assert_eq!(built.warnings.len(), 2);
    assert!(
        built.warnings[1].contains(":3: COPY --chown is ignored"),
        "{:?}",
        built.warnings
    );
    assert!(
        built.warnings[0].contains(":2: USER is ignored"),
        "{:?}",
        built.warnings
    );
    for platform in ["linux/s390x", "windows/amd64", "wasm"] {
        let options = BuildOptions {
            platform: Some(platform.into()),
            ..fx.options()
        };
        let error = fx
            .build_with("FROM scratch\n", options)
            .expect_err("platform");
        assert!(matches!(error, BuildError::Platform(_)), "{error}");
    }
}

#[test]
fn a_compat_image_is_linux_with_the_compat_annotation() {
    let fx = Fixture::new();
    fx.file("app.wasm", CORE).file("run.sh", b"#!/bin/sh\n");
    let compat = || BuildOptions {
        platform: Some("linux/amd64".into()),
        ..fx.options()
    };
    let built = fx
        .build_with(
            "FROM scratch\nARG TARGETPLATFORM\nCOPY app.wasm /\nENV P=$TARGETPLATFORM\nENTRYPOINT [\"/app.wasm\"]\n",
            compat(),
        )
        .expect("build");
    let config = fx.config(&built);
    assert_eq!(
        (&config["os"], &config["architecture"]),
        (&"linux".into(), &"amd64".into())
    );
    assert_eq!(
        config["config"]["Env"],
        serde_json::json!(["P=linux/amd64"])
    );
    let platform = built.manifest.platform.clone().expect("platform");
    assert_eq!(
        (platform.os.as_str(), platform.architecture.as_str()),
        ("linux", "amd64")
    );
    let manifest = fx.manifest(&built);
    assert_eq!(
        manifest["annotations"]["module.wasm.image/variant"],
        "compat"
    );

    // The annotation promises Wasm: an image whose program is not is refused.
    let error = fx
        .build_with("FROM scratch\nCOPY run.sh /\nCMD [\"/run.sh\"]\n", compat())
        .expect_err("not wasm");
    assert!(matches!(error, BuildError::NotWasm(_)), "{error}");
    let error = fx
        .build_with("FROM scratch\nCOPY app.wasm /\n", compat())
        .expect_err("no entrypoint");
    assert!(matches!(error, BuildError::NoEntrypoint), "{error}");
    let error = fx
        .build_with(
            "FROM scratch\nCOPY app.wasm /\nCMD [\"/app.wasm\"]\n",
            BuildOptions {
                artifact: true,
                ..compat()
            },
        )
        .expect_err("artifact");
    assert!(matches!(error, BuildError::CompatArtifact), "{error}");
}

#[test]
fn platform_sets_the_os() {
    let fx = Fixture::new();
    fx.file("app.wasm", CORE);
    let options = BuildOptions {
        platform: Some("wasip1/wasm".into()),
        ..fx.options()
    };
    let built = fx
        .build_with("FROM scratch\nCOPY app.wasm /\n", options)
        .expect("build");
    assert_eq!(fx.config(&built)["os"], "wasip1");
    assert_eq!(built.manifest.platform.expect("platform").os, "wasip1");
}

#[test]
fn rfc3339_dates() {
    assert_eq!(super::image::rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(super::image::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(super::image::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
}
