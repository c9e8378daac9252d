//! Where a registry password may go: never to a token service on another
//! host over plain HTTP, never over plain HTTP beyond loopback.

use wharf_image::manifest::media_type;
use wharf_image::registry::RegistryError;
use wharf_testkit::{FakeServer, Response};

use crate::registry::{Image, chain, with_credentials};

/// A token service on `ip` that grants `token-1` to bob (password `pw`)
/// and refuses anyone else.
fn token_service(ip: &str) -> FakeServer {
    FakeServer::start_on(ip, |request| {
        if request.header("authorization") == Some("Basic Ym9iOnB3") {
            Response::new(200).body(r#"{"token":"token-1"}"#)
        } else {
            Response::new(401).body(r#"{"details":"who are you?"}"#)
        }
    })
}

/// A registry that wants `Bearer token-1`, from the token service at `realm`.
fn bearer_registry(realm: String) -> FakeServer {
    let manifest = Image::new(5).manifest();
    FakeServer::start(move |request| {
        if request.header("authorization") != Some("Bearer token-1") {
            let challenge = format!(r#"Bearer realm="{realm}",service="fake""#);
            return Response::new(401).header("WWW-Authenticate", &challenge);
        }
        Response::new(200)
            .header("Content-Type", media_type::OCI_MANIFEST)
            .body(manifest.clone())
    })
}

#[test]
fn a_password_is_not_sent_to_a_plain_http_token_service_on_another_host() {
    // 127.0.0.2 is loopback, but another host than the registry's 127.0.0.1.
    let tokens = token_service("127.0.0.2");
    let registry = bearer_registry(format!("http://{}/token", tokens.address()));
    let error = with_credentials(registry.address(), false)
        .manifest("v1")
        .expect_err("withheld");
    assert!(
        matches!(error, RegistryError::CredentialsWithheld { .. }),
        "{error}"
    );
    let message = chain(&error);
    assert!(
        message.contains(&format!("not sent to http://{}/token", tokens.address()))
            && message.contains("plain HTTP to another host"),
        "{message}"
    );
    let asked = tokens.requests();
    assert!(!asked.is_empty(), "the token was asked for anonymously");
    assert!(
        asked.iter().all(|r| r.header("authorization").is_none()),
        "no credentials reached the token service: {asked:?}"
    );
}

#[test]
fn a_password_goes_to_a_plain_http_token_service_on_the_loopback_registrys_host() {
    let tokens = token_service("127.0.0.1");
    let registry = bearer_registry(format!("http://{}/token", tokens.address()));
    let fetched = with_credentials(registry.address(), false)
        .manifest("v1")
        .expect("same loopback host, another port: allowed");
    assert_eq!(fetched.bytes, Image::new(5).manifest());
    let asked = tokens.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].header("authorization"), Some("Basic Ym9iOnB3"));
}

#[test]
fn a_password_is_not_sent_over_plain_http_beyond_loopback() {
    // Not named as loopback: with `insecure`, HTTPS is tried first (the
    // fake hangs up on it), then plain HTTP, which gets no password.
    let registry = FakeServer::start_on("127.0.0.2", |request| {
        match request.header("authorization") {
            Some(_) => Response::new(200),
            None => Response::new(401).header("WWW-Authenticate", r#"Basic realm="fake""#),
        }
    });
    let error = with_credentials(registry.address(), true)
        .ping()
        .expect_err("withheld");
    let message = chain(&error);
    assert!(
        matches!(error, RegistryError::CredentialsWithheld { .. })
            && message.contains("plain HTTP to a registry that is not on loopback"),
        "{message}"
    );
    let sent = registry.requests();
    assert!(!sent.is_empty());
    assert!(
        sent.iter().all(|r| r.header("authorization").is_none()),
        "{sent:?}"
    );
}
