//! The registry client against the real CNCF registry, and against fake
//! registries that lie.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use wharf_image::manifest::{MAX_MANIFEST_SIZE, media_type};
use wharf_image::registry::{
    Client, ClientOptions, Credentials, RegistryError, remove_credentials_in, store_credentials_in,
    stored_credentials_in,
};
use wharf_image::{BlobError, BlobStore, Digest};
use wharf_testkit::{FakeServer, Response, TestRegistry, noise};

fn client(registry: &str, repository: &str) -> Client {
    Client::new(registry, repository, ClientOptions::default()).expect("client")
}

fn with_credentials(registry: &str, repository: &str, user: &str, password: &str) -> Client {
    let options = ClientOptions {
        insecure: false,
        credentials: Some(Credentials {
            username: user.to_owned(),
            password: password.to_owned(),
        }),
    };
    Client::new(registry, repository, options).expect("client")
}

fn store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open(dir.path().join("layout")).expect("store");
    (dir, store)
}

fn push(client: &Client, content: &[u8]) -> Digest {
    let digest = Digest::of(content);
    client
        .push_blob(&digest, content.len() as u64, &mut &content[..], &|_| {})
        .expect("push blob");
    digest
}

fn manifest_for(config: &[u8], layer: &[u8]) -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":{}}},"layers":[{{"mediaType":"{}","digest":"{}","size":{}}}]}}"#,
        media_type::OCI_MANIFEST,
        media_type::WASM_CONFIG,
        Digest::of(config),
        config.len(),
        media_type::WASM_LAYER,
        Digest::of(layer),
        layer.len()
    )
    .into_bytes()
}

#[test]
fn pushed_blobs_and_manifests_come_back() {
    let registry = TestRegistry::start();
    let client = client(registry.address(), "wharf/app");
    let config = b"{}".to_vec();
    let layer = noise(100_000, 1);
    assert!(!client.blob_exists(&Digest::of(&layer)).expect("head"));
    let pushed = AtomicU64::new(0);
    client
        .push_blob(
            &Digest::of(&layer),
            layer.len() as u64,
            &mut &layer[..],
            &|n| pushed.store(n, Ordering::SeqCst),
        )
        .expect("push layer");
    assert_eq!(pushed.load(Ordering::SeqCst), layer.len() as u64);
    push(&client, &config);
    assert!(client.blob_exists(&Digest::of(&layer)).expect("head"));

    let manifest = manifest_for(&config, &layer);
    let digest = client
        .put_manifest("v1", media_type::OCI_MANIFEST, &manifest)
        .expect("put manifest");
    assert_eq!(digest, Digest::of(&manifest));

    let fetched = client.manifest("v1").expect("manifest by tag");
    assert_eq!(fetched.bytes, manifest);
    assert_eq!(fetched.digest, digest);
    assert_eq!(
        fetched.media_type.as_deref(),
        Some(media_type::OCI_MANIFEST)
    );
    let by_digest = client.manifest(&digest.to_string()).expect("by digest");
    assert_eq!(by_digest.bytes, manifest);

    let (_dir, store) = store();
    let received = AtomicU64::new(0);
    client
        .fetch_blob(&Digest::of(&layer), layer.len() as u64, &store, &|n| {
            received.store(n, Ordering::SeqCst)
        })
        .expect("fetch");
    assert_eq!(received.load(Ordering::SeqCst), layer.len() as u64);
    assert_eq!(store.read(&Digest::of(&layer)).expect("stored"), layer);
}

#[test]
fn unknown_manifests_are_not_found() {
    let registry = TestRegistry::start();
    let error = client(registry.address(), "wharf/none")
        .manifest("latest")
        .expect_err("no such manifest");
    assert!(error.is_not_found(), "{error}");
    assert!(error.to_string().contains("MANIFEST_UNKNOWN"), "{error}");
}

#[test]
fn blobs_mount_across_repositories() {
    let registry = TestRegistry::start();
    let layer = noise(4096, 2);
    let digest = push(&client(registry.address(), "team/base"), &layer);
    let target = client(registry.address(), "team/app");
    assert!(!target.blob_exists(&digest).expect("head"));
    assert!(target.mount_blob(&digest, "team/base").expect("mount"));
    assert!(target.blob_exists(&digest).expect("head"));

    let missing = Digest::of(b"never pushed");
    assert!(
        !target
            .mount_blob(&missing, "team/base")
            .expect("mount of a missing blob")
    );
    assert!(!target.blob_exists(&missing).expect("head"));
}

#[test]
fn large_blobs_go_up_in_chunks() {
    let registry = TestRegistry::start();
    let client = client(registry.address(), "wharf/big");
    let layer = noise((17 << 20) + 12_345, 3);
    let digest = Digest::of(&layer);
    let reports = Mutex::new(Vec::new());
    client
        .push_blob(&digest, layer.len() as u64, &mut &layer[..], &|n| {
            reports.lock().expect("lock").push(n)
        })
        .expect("chunked push");
    let reports = reports.into_inner().expect("lock");
    assert!(reports.len() >= 3, "one report per chunk: {reports:?}");
    assert!(reports.windows(2).all(|w| w[0] < w[1]), "{reports:?}");
    assert_eq!(reports.last().copied(), Some(layer.len() as u64));

    let (_dir, store) = store();
    client
        .fetch_blob(&digest, layer.len() as u64, &store, &|_| {})
        .expect("fetch");
    let stored = store
        .read_at_most(&digest, layer.len() as u64)
        .expect("stored");
    assert_eq!(stored.len(), layer.len());
}

#[test]
fn content_shorter_than_announced_is_refused() {
    let registry = TestRegistry::start();
    let client = client(registry.address(), "wharf/short");
    let content = b"only this";
    let error = client
        .push_blob(&Digest::of(content), 100, &mut &content[..], &|_| {})
        .expect_err("short content");
    assert!(
        matches!(
            error,
            RegistryError::Blob {
                source: BlobError::SizeMismatch { .. },
                ..
            }
        ),
        "{error}"
    );
    assert!(!client.blob_exists(&Digest::of(content)).expect("head"));
}

#[test]
fn basic_auth_accepts_the_right_password_only() {
    let registry = TestRegistry::start_with_auth("alice", "s3cret");
    let good = with_credentials(registry.address(), "alice/app", "alice", "s3cret");
    good.ping().expect("ping with the right password");
    let digest = push(&good, b"authorized content");
    assert!(good.blob_exists(&digest).expect("head"));

    let wrong = with_credentials(registry.address(), "alice/app", "alice", "wrong");
    let error = wrong.ping().expect_err("wrong password");
    assert!(
        matches!(error, RegistryError::Unauthorized { .. }),
        "{error}"
    );
    assert!(error.is_unauthorized());
    let error = wrong.blob_exists(&digest).expect_err("wrong password");
    assert!(
        matches!(error, RegistryError::Unauthorized { .. }),
        "{error}"
    );

    let anonymous = client(registry.address(), "alice/app");
    let error = anonymous.manifest("latest").expect_err("no credentials");
    assert!(
        matches!(error, RegistryError::AuthenticationRequired { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("wharf login {}", registry.address())),
        "{message}"
    );
}

/// A fake registry with a token service at `/token`, granting `token-N`
/// for the N-th token request to user `bob`/`pw`.
fn bearer_registry(manifest: Vec<u8>) -> FakeServer {
    let own: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));
    let server = {
        let own = own.clone();
        FakeServer::start(move |request| {
            let address = own.get().cloned().unwrap_or_default();
            let mut issued = issued.lock().expect("lock");
            if request.path() == "/token" {
                if request.header("authorization") != Some("Basic Ym9iOnB3") {
                    return Response::new(401).body(r#"{"details":"bad password"}"#);
                }
                let token = format!("token-{}", issued.len() + 1);
                issued.push(token.clone());
                return Response::new(200).body(format!(r#"{{"access_token":"{token}"}}"#));
            }
            let authorized = request
                .header("authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
                .is_some_and(|t| issued.iter().any(|i| i == t));
            if !authorized {
                let challenge = format!(
                    r#"Bearer realm="http://{address}/token",service="fake",scope="repository:app:pull""#
                );
                return Response::new(401)
                    .header("WWW-Authenticate", &challenge)
                    .body(r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#);
            }
            match request.method.as_str() {
                "GET" => Response::new(200)
                    .header("Content-Type", media_type::OCI_MANIFEST)
                    .body(manifest.clone()),
                "PUT" => Response::new(201),
                _ => Response::new(405),
            }
        })
    };
    let _ = own.set(server.address().to_owned());
    server
}

#[test]
fn bearer_tokens_are_fetched_with_scope_and_cached() {
    let manifest = manifest_for(b"{}", b"layer");
    let server = bearer_registry(manifest.clone());
    let client = with_credentials(server.address(), "app", "bob", "pw");
    for _ in 0..3 {
        assert_eq!(client.manifest("v1").expect("manifest").bytes, manifest);
    }
    let token_requests = |server: &FakeServer| {
        server
            .requests()
            .into_iter()
            .filter(|r| r.path() == "/token")
            .collect::<Vec<_>>()
    };
    let tokens = token_requests(&server);
    assert_eq!(tokens.len(), 1, "the token is cached");
    let query = tokens[0].query().unwrap_or_default();
    assert!(query.contains("service=fake"), "{query}");
    assert!(query.contains("scope=repository%3Aapp%3Apull"), "{query}");
    let manifest_gets = server
        .requests()
        .iter()
        .filter(|r| r.path().contains("/manifests/"))
        .count();
    assert_eq!(manifest_gets, 4, "one 401, then three authorized fetches");

    client
        .put_manifest("v2", media_type::OCI_MANIFEST, &manifest)
        .expect("push with a push token");
    let tokens = token_requests(&server);
    assert_eq!(tokens.len(), 2, "pushing needs a token with push scope");
    let query = tokens[1].query().unwrap_or_default();
    assert!(
        query.contains("scope=repository%3Aapp%3Apull%2Cpush"),
        "{query}"
    );
}

#[test]
fn bearer_token_service_refusing_the_password_is_unauthorized() {
    let server = bearer_registry(Vec::new());
    let error = with_credentials(server.address(), "app", "bob", "nope")
        .manifest("v1")
        .expect_err("wrong password");
    assert!(
        matches!(error, RegistryError::Unauthorized { .. }),
        "{error}"
    );
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_not_stored() {
    let claimed = b"the real layer".to_vec();
    let server = FakeServer::start(|_| Response::new(200).body(&b"an evil layer!"[..]));
    let (_dir, store) = store();
    let digest = Digest::of(&claimed);
    let error = client(server.address(), "app")
        .fetch_blob(&digest, claimed.len() as u64, &store, &|_| {})
        .expect_err("wrong bytes");
    assert!(
        matches!(
            error,
            RegistryError::Blob {
                source: BlobError::DigestMismatch { .. },
                ..
            }
        ),
        "{error}"
    );
    assert!(!store.contains(&digest));
    assert!(!store.contains(&Digest::of(b"an evil layer!")));
}

#[test]
fn a_blob_longer_than_announced_is_cut_off() {
    let server = FakeServer::start(|_| Response::new(200).stream(std::io::repeat(b'x')));
    let (_dir, store) = store();
    let digest = Digest::of(b"small");
    let error = client(server.address(), "app")
        .fetch_blob(&digest, 5, &store, &|_| {})
        .expect_err("endless blob");
    assert!(matches!(error, RegistryError::Blob { .. }), "{error}");
    assert!(!store.contains(&digest));
}

#[test]
fn an_endless_manifest_is_cut_off() {
    let server = FakeServer::start(|_| Response::new(200).stream(std::io::repeat(b'{')));
    let error = client(server.address(), "app")
        .manifest("latest")
        .expect_err("endless manifest");
    assert!(
        matches!(error, RegistryError::TooLarge { limit, .. } if limit == MAX_MANIFEST_SIZE),
        "{error}"
    );
    let announced = FakeServer::start(|_| {
        Response::new(200)
            .header("Content-Length", "5000000000")
            .stream(std::io::repeat(b'{'))
    });
    let error = client(announced.address(), "app")
        .manifest("latest")
        .expect_err("huge manifest");
    assert!(matches!(error, RegistryError::TooLarge { .. }), "{error}");
}

#[test]
fn manifest_digests_are_checked() {
    let manifest = manifest_for(b"{}", b"layer");
    let lie = Digest::of(b"something else").to_string();
    let server = {
        let (manifest, lie) = (manifest.clone(), lie.clone());
        FakeServer::start(move |_| {
            Response::new(200)
                .header("Docker-Content-Digest", &lie)
                .body(manifest.clone())
        })
    };
    let client = client(server.address(), "app");
    let error = client.manifest("latest").expect_err("header lies");
    assert!(
        matches!(&error, RegistryError::DigestMismatch { expected, .. } if *expected == lie),
        "{error}"
    );
    let error = client.manifest(&lie).expect_err("asked for another digest");
    assert!(
        matches!(
            &error,
            RegistryError::DigestMismatch {
                claimed_by: "the reference",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn registry_error_lists_are_quoted() {
    let server = FakeServer::start(|_| {
        Response::new(500).body(r#"{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}"#)
    });
    let error = client(server.address(), "app")
        .manifest("v1")
        .expect_err("500");
    assert!(
        matches!(error, RegistryError::Status { status: 500, .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("disk on fire (UNKNOWN)"),
        "{error}"
    );
}

#[test]
fn credentials_do_not_follow_a_redirect_to_another_host() {
    let content = b"layer from storage".to_vec();
    let storage = {
        let content = content.clone();
        FakeServer::start(move |_| Response::new(200).body(content.clone()))
    };
    let storage_port = storage
        .address()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let registry = FakeServer::start(move |request| {
        if request.header("authorization").is_none() {
            return Response::new(401).header("WWW-Authenticate", r#"Basic realm="fake""#);
        }
        let location = format!("http://localhost:{storage_port}/bucket/blob?sig=abc");
        Response::new(307).header("Location", &location)
    });
    let (_dir, store) = store();
    let digest = Digest::of(&content);
    with_credentials(registry.address(), "app", "carol", "pw")
        .fetch_blob(&digest, content.len() as u64, &store, &|_| {})
        .expect("fetch through the redirect");
    assert!(store.contains(&digest));
    let sent = registry.requests();
    assert_eq!(
        sent.last().and_then(|r| r.header("authorization")),
        Some("Basic Y2Fyb2w6cHc=")
    );
    let redirected = storage.requests();
    assert_eq!(redirected.len(), 1);
    assert_eq!(redirected[0].target, "/bucket/blob?sig=abc");
    assert_eq!(
        redirected[0].header("authorization"),
        None,
        "no credentials to storage"
    );
}

#[test]
fn credentials_round_trip_through_a_docker_config() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let docker_dir = dir.path().join("docker");
    let path = docker_dir.join("config.json");
    let alice = Credentials {
        username: "alice".to_owned(),
        password: "pa:ss".to_owned(),
    };
    assert_eq!(
        stored_credentials_in(&path, "docker.io").expect("read"),
        None
    );
    store_credentials_in(&path, "docker.io", &alice).expect("store");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&docker_dir), 0o700);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    assert!(
        json["auths"]["https://index.docker.io/v1/"]["auth"].is_string(),
        "{json}"
    );
    assert_eq!(
        stored_credentials_in(&path, "index.docker.io").expect("read"),
        Some(alice.clone())
    );

    // Other keys survive; username/password entries are read too.
    std::fs::write(
        &path,
        r#"{"credsStore":"desktop","proxies":{"default":{}},"auths":{
            "https://index.docker.io/v1/":{"auth":"YWxpY2U6cGE6c3M="},
            "ghcr.io":{"username":"bob","password":"tok"}}}"#,
    )
    .expect("write");
    let bob = stored_credentials_in(&path, "ghcr.io")
        .expect("read")
        .expect("bob");
    assert_eq!(
        (bob.username.as_str(), bob.password.as_str()),
        ("bob", "tok")
    );
    store_credentials_in(&path, "localhost:5000", &alice).expect("store");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    assert_eq!(json["credsStore"], "desktop");
    assert!(json["proxies"]["default"].is_object());
    assert_eq!(
        stored_credentials_in(&path, "localhost:5000").expect("read"),
        Some(alice.clone())
    );
    assert_eq!(
        stored_credentials_in(&path, "docker.io").expect("read"),
        Some(alice)
    );

    assert!(remove_credentials_in(&path, "docker.io").expect("remove"));
    assert!(!remove_credentials_in(&path, "docker.io").expect("remove again"));
    assert_eq!(
        stored_credentials_in(&path, "docker.io").expect("read"),
        None
    );
    assert!(
        stored_credentials_in(&path, "ghcr.io")
            .expect("read")
            .is_some()
    );
    assert_eq!(mode(&path), 0o600);

    std::fs::write(&path, "not json").expect("write");
    let error = stored_credentials_in(&path, "ghcr.io").expect_err("garbage");
    assert!(
        matches!(error, RegistryError::CredentialsFormat { .. }),
        "{error}"
    );
}

#[test]
fn a_mount_answered_with_an_upload_cancels_the_upload() {
    let server = FakeServer::start(|request| match request.method.as_str() {
        "POST" => Response::new(202).header("Location", "/v2/app/blobs/uploads/u1?_state=s"),
        _ => Response::new(204),
    });
    let digest = Digest::of(b"elsewhere");
    let mounted = client(server.address(), "app")
        .mount_blob(&digest, "other/repo")
        .expect("mount");
    assert!(!mounted);
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let query = requests[0].query().unwrap_or_default();
    assert!(
        query.contains(&format!("mount=sha256%3A{}", digest.hex())),
        "{query}"
    );
    assert!(query.contains("from=other%2Frepo"), "{query}");
    assert_eq!(requests[1].method, "DELETE");
    assert_eq!(requests[1].target, "/v2/app/blobs/uploads/u1?_state=s");
}
