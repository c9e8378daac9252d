//! Test images made by hand: build contexts for `wharf build`, and OCI
//! image layouts written file by file (for skopeo to push), so the tests
//! do not trust wharf to make what it reads.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::json;

use crate::common::{self, assert_code, stdout};

/// A build context: `app.wasm` (the args_env guest), `fs.wasm` (the fs
/// guest), `data.txt`, and the Dockerfile given.
pub fn context(dockerfile: &str) -> tempfile::TempDir {
    let dir = common::temp();
    fs::copy(common::c_guest("args_env"), dir.path().join("app.wasm")).expect("app");
    fs::copy(common::c_guest("fs"), dir.path().join("fs.wasm")).expect("fs");
    fs::write(dir.path().join("data.txt"), "image data\n").expect("data");
    fs::write(dir.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
    dir
}

pub const APP_DOCKERFILE: &str = "\
FROM scratch
COPY app.wasm /bin/app.wasm
COPY fs.wasm /bin/fs.wasm
COPY data.txt /etc/data.txt
ENV GREETING=hello MODE=image
WORKDIR /etc
ENTRYPOINT [\"/bin/app.wasm\"]
CMD [\"default-arg\"]
";

/// Runs `wharf ARGS...` with state in `root`.
pub fn wharf(root: &Path, args: &[&str]) -> Output {
    common::wharf(root)
        .args(args)
        .output()
        .expect("spawn wharf")
}

/// `wharf build -t NAME CONTEXT`, which must succeed; returns the digest.
pub fn build(root: &Path, name: &str, context: &Path) -> String {
    let output = wharf(
        root,
        &["build", "-q", "-t", name, common::path_str(context)],
    );
    assert_code(&output, 0);
    stdout(&output).trim().to_owned()
}

pub use wharf_testkit::sha256_hex;

/// An OCI image layout written by hand.
pub struct Layout {
    pub dir: PathBuf,
    index: Vec<serde_json::Value>,
}

impl Layout {
    pub fn new(dir: PathBuf) -> Layout {
        fs::create_dir_all(dir.join("blobs/sha256")).expect("layout dir");
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
        Layout {
            dir,
            index: Vec::new(),
        }
    }

    /// Stores a blob; returns its descriptor.
    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> serde_json::Value {
        let hex = sha256_hex(bytes);
        fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).expect("blob");
        json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len()})
    }

    /// Stores a manifest of `config` and `layers`; returns its descriptor.
    pub fn manifest(
        &self,
        config: serde_json::Value,
        layers: &[serde_json::Value],
    ) -> serde_json::Value {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": layers,
        });
        self.blob(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest).expect("json"),
        )
    }

    /// Names `descriptor` `tag` in index.json.
    pub fn tag(&mut self, tag: &str, mut descriptor: serde_json::Value) {
        descriptor["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        self.index.push(descriptor);
        let index = json!({"schemaVersion": 2, "manifests": self.index});
        fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).expect("json"),
        )
        .expect("index.json");
    }

    /// A Docker-style wasi/wasm image: one gzip layer holding `files`,
    /// entrypoint `entrypoint`.
    pub fn wasi_image(&self, files: &[(&str, &[u8])], entrypoint: &str) -> serde_json::Value {
        let tar = tar_of(files);
        let layer = self.blob("application/vnd.oci.image.layer.v1.tar+gzip", &gzip(&tar));
        let config = json!({
            "architecture": "wasm", "os": "wasi",
            "config": {"Entrypoint": [entrypoint]},
            "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(&tar))]},
        });
        let config = self.blob(
            "application/vnd.oci.image.config.v1+json",
            &serde_json::to_vec(&config).expect("json"),
        );
        self.manifest(config, &[layer])
    }

    /// Pushes tag `tag` of the layout to `destination` with skopeo.
    pub fn push_with_skopeo(&self, tag: &str, destination: &str) {
        let status = std::process::Command::new("skopeo")
            .args(["copy", "--all", "--dest-tls-verify=false", "--quiet"])
            .arg(format!("oci:{}:{tag}", self.dir.display()))
            .arg(format!("docker://{destination}"))
            .status()
            .expect("run skopeo (install the Debian package skopeo)");
        assert!(status.success(), "skopeo copy to {destination} failed");
    }
}

pub use wharf_testkit::tar_of;

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}
