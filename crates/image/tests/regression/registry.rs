//! Hostile input from registries (issue 10): one test per attack, named
//! after the attack it stops. Registries that lie are wharf-testkit's
//! scripted fake server; the real `docker-registry` shows what a real one
//! does.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use wharf_image::manifest::{MAX_CONFIG_SIZE, MAX_IMAGE_SIZE, MAX_MANIFEST_SIZE, media_type};
use wharf_image::registry::{Client, ClientOptions, Credentials, RegistryError};
use wharf_image::store::{PullOptions, Silent, pull};
use wharf_image::{Digest, Reference, Store, StoreError};
use wharf_testkit::{FakeServer, Request, Response, TestCertificates, TestRegistry, noise};

/// The error and its causes on one line, as `wharf` prints them.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    assert!(!message.contains('\n'), "not one line: {message}");
    message
}

/// A Wasm artifact: a config and one layer, with the sizes the manifest
/// announces for them given as JSON numbers (so they can lie).
pub(crate) struct Image {
    config: Vec<u8>,
    layer: Vec<u8>,
}

impl Image {
    pub(crate) fn new(seed: u64) -> Image {
        Image {
            config: b"{}".to_vec(),
            layer: noise(200_000, seed),
        }
    }

    pub(crate) fn manifest(&self) -> Vec<u8> {
        let (config, layer) = (self.config.len(), self.layer.len());
        self.manifest_with_sizes(&config.to_string(), &[&layer.to_string()])
    }

    fn manifest_with_sizes(&self, config_size: &str, layer_sizes: &[&str]) -> Vec<u8> {
        let layers: Vec<String> = layer_sizes
            .iter()
            .map(|size| {
                format!(
                    r#"{{"mediaType":"{}","digest":"{}","size":{size}}}"#,
                    media_type::WASM_LAYER,
                    Digest::of(&self.layer)
                )
            })
            .collect();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":{config_size}}},"layers":[{}]}}"#,
            media_type::OCI_MANIFEST,
            media_type::WASM_CONFIG,
            Digest::of(&self.config),
            layers.join(",")
        )
        .into_bytes()
    }

    fn blobs(&self) -> HashMap<String, Vec<u8>> {
        [&self.config, &self.layer]
            .into_iter()
            .map(|blob| (Digest::of(blob).to_string(), blob.clone()))
            .collect()
    }
}

/// A fake registry serving `manifest` for every tag and `blobs` by
/// digest; `lie` may answer a request first.
pub(crate) fn fake_registry(
    manifest: Vec<u8>,
    blobs: HashMap<String, Vec<u8>>,
    lie: impl Fn(&Request) -> Option<Response> + Send + Sync + 'static,
) -> FakeServer {
    FakeServer::start(move |request| {
        if let Some(response) = lie(request) {
            return response;
        }
        let path = request.path();
        if path.contains("/manifests/") {
            return Response::new(200)
                .header("Content-Type", media_type::OCI_MANIFEST)
                .body(manifest.clone());
        }
        let digest = path.rsplit('/').next().unwrap_or_default();
        match blobs.get(digest) {
            Some(blob) if path.contains("/blobs/") => Response::new(200).body(blob.clone()),
            _ => Response::new(404),
        }
    })
}

fn blob_requests(server: &FakeServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path().contains("/blobs/"))
        .count()
}

pub(crate) fn reference(registry: &str) -> Reference {
    format!("{registry}/app:v1").parse().expect("reference")
}

fn pull_from(store: &Store, registry: &str) -> Result<wharf_image::Image, StoreError> {
    pull(
        store,
        &reference(registry),
        &PullOptions::default(),
        &Silent,
    )
}

pub(crate) fn open_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    (dir, store)
}

/// The entries in `dir`, which `Store::open` made: one that cannot be read
/// is a wrong path, never an empty store.
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .count()
}

/// Nothing was stored: no blob, no ingest file, no name.
fn assert_store_empty(dir: &Path, store: &Store) {
    assert_eq!(count_files(&dir.join("images/blobs/sha256")), 0, "no blob");
    assert_eq!(count_files(&dir.join("images/ingest")), 0, "no ingest file");
    assert!(store.refs().list().expect("names").is_empty(), "no name");
}

pub(crate) fn with_credentials(registry: &str, insecure: bool) -> Client {
    let options = ClientOptions {
        insecure,
        credentials: Some(Credentials {
            username: "bob".to_owned(),
            password: "pw".to_owned(),
        }),
    };
    Client::new(registry, "app", options).expect("client")
}

#[test]
fn a_config_announced_larger_than_the_cap_is_refused_before_it_is_read() {
    let image = Image::new(1);
    let oversized = (MAX_CONFIG_SIZE + 1).to_string();
    let manifest = image.manifest_with_sizes(&oversized, &["200000"]);
    let server = fake_registry(manifest, image.blobs(), |_| None);
    let (dir, store) = open_store();
    let error = pull_from(&store, server.address()).expect_err("oversized config");
    let message = chain(&error);
    assert!(
        message.contains(&format!("its config {}", Digest::of(&image.config)))
            && message.contains(&format!("announces {oversized} bytes")),
        "{message}"
    );
    assert_eq!(blob_requests(&server), 0, "no byte of it was asked for");
    assert_store_empty(dir.path(), &store);
}

#[test]
fn layers_announced_beyond_the_image_budget_are_refused_before_any_is_read() {
    let image = Image::new(2);
    let over = (MAX_IMAGE_SIZE + 1).to_string();
    let half = (MAX_IMAGE_SIZE / 2 + 1).to_string();
    for (sizes, expected) in [
        (vec![over.as_str()], format!("announces {over} bytes")),
        (vec![half.as_str(), half.as_str()], "in all".to_owned()),
    ] {
        let manifest = image.manifest_with_sizes("2", &sizes);
        let server = fake_registry(manifest, image.blobs(), |_| None);
        let (dir, store) = open_store();
        let error = pull_from(&store, server.address()).expect_err("oversized layers");
        let message = chain(&error);
        assert!(message.contains(&expected), "{message}");
        assert_eq!(blob_requests(&server), 0, "not even the config moved");
        assert_store_empty(dir.path(), &store);
    }
}

#[test]
fn an_index_entry_announced_larger_than_a_manifest_is_refused_before_it_is_read() {
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"wasm","os":"wasip1"}}}}]}}"#,
        media_type::OCI_INDEX,
        media_type::OCI_MANIFEST,
        Digest::of(b"a manifest"),
        MAX_MANIFEST_SIZE + 1
    );
    let child_asked = Arc::new(Mutex::new(0));
    let server = {
        let child_asked = child_asked.clone();
        FakeServer::start(move |request| {
            if request.path().ends_with("/manifests/v1") {
                return Response::new(200)
                    .header("Content-Type", media_type::OCI_INDEX)
                    .body(index.clone());
            }
            *child_asked.lock().expect("lock") += 1;
            Response::new(404)
        })
    };
    let (dir, store) = open_store();
    let error = pull_from(&store, server.address()).expect_err("oversized entry");
    let message = chain(&error);
    assert!(message.contains("its manifest"), "{message}");
    assert_eq!(*child_asked.lock().expect("lock"), 0);
    assert_store_empty(dir.path(), &store);
}

#[test]
fn negative_and_overflowing_sizes_are_a_clean_error() {
    let image = Image::new(3);
    for size in ["-1", "18446744073709551616", "1e400", "4.5", "\"12\""] {
        let manifest = image.manifest_with_sizes("2", &[size]);
        let server = fake_registry(manifest, image.blobs(), |_| None);
        let (dir, store) = open_store();
        let error = pull_from(&store, server.address()).expect_err(size);
        let message = chain(&error);
        assert!(message.contains("malformed manifest"), "{size}: {message}");
        assert_eq!(blob_requests(&server), 0);
        assert_store_empty(dir.path(), &store);
    }
}

#[test]
fn a_content_length_beyond_the_announced_size_is_refused_before_it_is_read() {
    let image = Image::new(4);
    let config = Digest::of(&image.config).to_string();
    let server = fake_registry(image.manifest(), image.blobs(), move |request| {
        request.path().ends_with(&config).then(|| {
            Response::new(200)
                .header("Content-Length", "5000000000")
                .stream(std::io::repeat(b'{'))
        })
    });
    let (dir, store) = open_store();
    let error = pull_from(&store, server.address()).expect_err("lying length");
    assert!(
        matches!(
            error,
            StoreError::Registry(RegistryError::ContentLength {
                announced: 5_000_000_000,
                expected: 2,
                ..
            })
        ),
        "{error}"
    );
    assert!(
        chain(&error).contains("announces 5000000000 bytes"),
        "{error}"
    );
    assert_store_empty(dir.path(), &store);
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

#[test]
fn signed_urls_are_never_printed_whole() {
    const SECRET: &str = "s3cr3t-signature";
    let (_dir, store) = open_store();
    let digest = Digest::of(b"a layer");
    let fetch = |server: &FakeServer| {
        Client::new(server.address(), "app", ClientOptions::default())
            .expect("client")
            .fetch_blob(&digest, 7, store.blobs(), &|_| {})
            .expect_err("fails")
    };
    let check = |error: RegistryError, expected: &str| {
        let message = chain(&error);
        assert!(!message.contains(SECRET), "{message}");
        assert!(message.contains(expected), "{message}");
    };

    // A redirect to blob storage that cannot be reached.
    let port = closed_port();
    let unreachable = FakeServer::start(move |_| {
        let location =
            format!("http://127.0.0.1:{port}/bucket/blob?X-Amz-Signature={SECRET}&sig={SECRET}");
        Response::new(307).header("Location", &location)
    });
    check(
        fetch(&unreachable),
        &format!("cannot reach http://127.0.0.1:{port}/bucket/blob?<redacted>"),
    );

    // Storage that redirects on to nowhere usable.
    let storage =
        FakeServer::start(|_| Response::new(302).header("Location", "file:///etc/passwd"));
    let storage_address = storage.address().to_owned();
    let registry = FakeServer::start(move |_| {
        let location = format!("http://{storage_address}/blob?token={SECRET}");
        Response::new(307).header("Location", &location)
    });
    check(
        fetch(&registry),
        "/blob?<redacted>: redirect without a usable Location",
    );

    // A token service whose realm carries a secret, and fails.
    let tokens = FakeServer::start(|_| Response::new(500).body("down"));
    let realm = format!("http://{}/token?key={SECRET}", tokens.address());
    let registry = FakeServer::start(move |_| {
        let challenge = format!(r#"Bearer realm="{realm}""#);
        Response::new(401).header("WWW-Authenticate", &challenge)
    });
    check(fetch(&registry), "/token?<redacted> failed with HTTP 500");
}

#[test]
fn a_redirect_out_of_http_is_refused() {
    let server = FakeServer::start(|_| Response::new(302).header("Location", "file:///etc/passwd"));
    let client = Client::new(server.address(), "app", ClientOptions::default()).expect("client");
    let error = client.manifest("v1").expect_err("refused");
    assert!(matches!(error, RegistryError::Protocol { .. }), "{error}");
    assert_eq!(server.requests().len(), 1);

    // A blob fetched into the store, named by the digest of the file the
    // redirect points at: a client that followed it would store the file.
    let (dir, store) = open_store();
    let passwd = std::fs::read("/etc/passwd").expect("/etc/passwd");
    let error = client
        .fetch_blob(
            &Digest::of(&passwd),
            passwd.len() as u64,
            store.blobs(),
            &|_| {},
        )
        .expect_err("refused");
    assert!(matches!(error, RegistryError::Protocol { .. }), "{error}");
    assert_eq!(server.requests().len(), 2);
    assert_store_empty(dir.path(), &store);
}

#[test]
fn a_registry_that_drops_the_connection_mid_blob_leaves_nothing_behind() {
    let image = Image::new(6);
    let layer = Digest::of(&image.layer).to_string();
    let half = image.layer[..image.layer.len() / 2].to_vec();
    let full = image.layer.len().to_string();
    let liar = fake_registry(image.manifest(), image.blobs(), move |request| {
        request.path().ends_with(&layer).then(|| {
            // The whole length announced, half the bytes sent, then close.
            Response::new(200)
                .header("Content-Length", &full)
                .stream(std::io::Cursor::new(half.clone()))
        })
    });
    let (dir, store) = open_store();
    let error = pull_from(&store, liar.address()).expect_err("cut off");
    let message = chain(&error);
    assert!(
        matches!(
            error,
            StoreError::Registry(RegistryError::Interrupted { .. })
        ) && message.contains(&format!(
            "broke off after 100000 of {} bytes",
            image.layer.len()
        )),
        "{message}"
    );
    let layer_digest = Digest::of(&image.layer);
    assert!(
        !store.blobs().contains(&layer_digest),
        "no part of the layer"
    );
    assert_eq!(
        count_files(&dir.path().join("images/ingest")),
        0,
        "no ingest file"
    );
    assert!(store.refs().list().expect("names").is_empty(), "no name");
    // Only whole, verified blobs stay (the config, fetched first), so
    // that a pull again fetches only what is missing.
    assert_eq!(count_files(&dir.path().join("images/blobs/sha256")), 1);

    let good = TestRegistry::start();
    let client = Client::new(good.address(), "app", ClientOptions::default()).expect("client");
    for blob in [&image.config, &image.layer] {
        client
            .push_blob(
                &Digest::of(blob),
                blob.len() as u64,
                &mut &blob[..],
                &|_| {},
            )
            .expect("push blob");
    }
    client
        .put_manifest("v1", media_type::OCI_MANIFEST, &image.manifest())
        .expect("push manifest");
    let pulled = pull_from(&store, good.address()).expect("pull from a good registry");
    assert_eq!(pulled.manifest.layers[0].digest, layer_digest);
    assert_eq!(
        store.blobs().read(&layer_digest).expect("layer"),
        image.layer
    );
    assert_eq!(store.refs().list().expect("names").len(), 1);
}

/// Set by the parent test for the child process it starts.
const CHILD_PULLS: &str = "WHARF_TEST_TLS_PULL";

#[test]
fn the_systems_ca_store_is_trusted_beside_the_bundled_roots() {
    // 127.0.0.2 is not named as loopback, so the client speaks HTTPS to it
    // and checks the certificate, which names IP 127.0.0.2.
    let certificates = TestCertificates::for_ip("127.0.0.2");
    let registry = TestRegistry::start_tls(
        "127.0.0.2",
        &certificates.certificate(),
        &certificates.key(),
    );
    let image = Image::new(7);
    let insecure = ClientOptions {
        insecure: true,
        credentials: None,
    };
    let client = Client::new(registry.address(), "app", insecure).expect("client");
    for blob in [&image.config, &image.layer] {
        client
            .push_blob(
                &Digest::of(blob),
                blob.len() as u64,
                &mut &blob[..],
                &|_| {},
            )
            .expect("push over HTTPS without verification");
    }
    client
        .put_manifest("v1", media_type::OCI_MANIFEST, &image.manifest())
        .expect("push manifest");

    // The roots are read once per process: each case is a child process.
    let child = |ca: Option<&Path>| {
        let mut command = Command::new(std::env::current_exe().expect("test binary"));
        command
            .args([
                "--exact",
                "registry::tls_child_pulls_what_its_parent_names",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_PULLS, registry.address())
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        if let Some(ca) = ca {
            command.env("SSL_CERT_FILE", ca);
        }
        let output = command.output().expect("run the child");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "the child did not run: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let trusted = child(Some(&certificates.ca()));
    assert!(trusted.contains("child: pulled\n"), "{trusted}");
    let untrusted = child(None);
    let line = untrusted
        .lines()
        .find_map(|l| l.strip_prefix("child: error: "))
        .unwrap_or_else(|| panic!("no error from the child: {untrusted}"));
    assert!(
        line.starts_with(&format!(
            "the certificate of https://{}/v2/app/manifests/v1 is not trusted (invalid peer certificate: UnknownIssuer)",
            registry.address()
        )),
        "{line}"
    );
}

/// The child of the test above: pulls from the registry its parent names,
/// with certificate verification on. Ignored, so that an ordinary run does
/// not count it as a test passed; the parent runs it with `--ignored`.
#[test]
#[ignore = "a child process of the_systems_ca_store_is_trusted_beside_the_bundled_roots"]
fn tls_child_pulls_what_its_parent_names() {
    let registry = std::env::var(CHILD_PULLS).unwrap_or_else(|_| {
        panic!(
            "{CHILD_PULLS} is unset: run by the_systems_ca_store_is_trusted_beside_the_bundled_roots"
        )
    });
    let (_dir, store) = open_store();
    match pull_from(&store, &registry) {
        Ok(_) => println!("child: pulled"),
        Err(error) => println!("child: error: {}", chain(&error)),
    }
}
