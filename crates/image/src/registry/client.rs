//! The client for one repository: manifests and blob downloads.

use std::io::{self, Read};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::auth::{Access, AuthState};
use super::http::header;
use super::http::{Method, Reply, network};
use super::names::{is_loopback, registry_host, valid_repository, valid_tag};
use super::roots::trusted_roots;
use super::{ClientOptions, FetchedManifest, RegistryError};
use crate::blobs::{BlobStore, Expected};
use crate::digest::Digest;
use crate::manifest::{MAX_MANIFEST_SIZE, media_type};

/// A client for one repository on one registry. It is `Send + Sync`:
/// parallel layer transfers share one client, and with it the bearer
/// tokens it has been granted.
#[derive(Debug)]
pub struct Client {
    /// The registry as named by the user (for messages and the token scope).
    pub(super) registry: String,
    pub(super) repository: String,
    pub(super) options: ClientOptions,
    /// For `http://` URLs.
    plain: ureq::Agent,
    /// For `https://` URLs, made on first use: reading the system's CA
    /// store takes milliseconds that a loopback registry need not pay.
    tls: OnceLock<ureq::Agent>,
    /// `scheme://host[:port]`; for an insecure registry, found on first use.
    pub(super) base: OnceLock<String>,
    pub(super) host: String,
    pub(super) auth: Mutex<AuthState>,
}

impl Client {
    /// A client for `repository` (e.g. `library/alpine`; empty for a client
    /// that only [pings](Client::ping)) on `registry` (`docker.io`,
    /// `localhost:5000`, `[::1]:5000`). Nothing is sent yet.
    pub fn new(
        registry: &str,
        repository: &str,
        options: ClientOptions,
    ) -> Result<Client, RegistryError> {
        let host = registry_host(registry)?;
        if !valid_repository(repository) {
            return Err(RegistryError::InvalidName {
                what: "repository",
                name: repository.to_owned(),
            });
        }
        let base = OnceLock::new();
        if is_loopback(&host) {
            let _ = base.set(format!("http://{host}"));
        } else if !options.insecure {
            let _ = base.set(format!("https://{host}"));
        }
        Ok(Client {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            options,
            plain: agent(ureq::tls::TlsConfig::default()),
            tls: OnceLock::new(),
            base,
            host,
            auth: Mutex::new(AuthState::default()),
        })
    }

    /// The registry, as given to [`Client::new`].
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository, as given to [`Client::new`].
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Checks that the registry speaks API v2 and accepts the credentials
    /// (`GET /v2/`, authenticating as asked).
    pub fn ping(&self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base());
        let response = self.send(Method::Get, &url, Access::Registry, &[], None)?;
        self.expect(Method::Get, &url, response, &[200]).map(drop)
    }

    /// Fetches the manifest or index `reference` (a tag or `sha256:...`),
    /// reading at most [`MAX_MANIFEST_SIZE`] bytes and checking the bytes
    /// against the digest asked for and the `Docker-Content-Digest` header.
    pub fn manifest(&self, reference: &str) -> Result<FetchedManifest, RegistryError> {
        let url = self.url("manifests", reference)?;
        let accept = [
            media_type::OCI_MANIFEST,
            media_type::OCI_INDEX,
            media_type::DOCKER_MANIFEST,
            media_type::DOCKER_MANIFEST_LIST,
        ]
        .join(", ");
        let response = self.send(
            Method::Get,
            &url,
            Access::Pull,
            &[("Accept", &accept)],
            None,
        )?;
        let mut response = self.expect(Method::Get, &url, response, &[200])?;
        let too_large = || RegistryError::TooLarge {
            url: url.clone(),
            limit: MAX_MANIFEST_SIZE,
        };
        if response
            .body()
            .content_length()
            .is_some_and(|length| length > MAX_MANIFEST_SIZE as u64)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_MANIFEST_SIZE as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| network(&url, ureq::Error::Io(e)))?;
        if bytes.len() > MAX_MANIFEST_SIZE {
            return Err(too_large());
        }
        let digest = Digest::of(&bytes);
        if let Ok(asked) = reference.parse::<Digest>()
            && asked != digest
        {
            return Err(mismatch(&url, "the reference", asked.to_string(), digest));
        }
        check_content_digest(&url, &response, &digest)?;
        let media_type = header(&response, "content-type")
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// Whether the repository has the blob (`HEAD`).
    pub fn blob_exists(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let url = self.url("blobs", &digest.to_string())?;
        let response = self.send(Method::Head, &url, Access::Pull, &[], None)?;
        match response.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.failure(Method::Head, &url, response)),
        }
    }

    /// Downloads a blob into `store`, streaming: the content is checked
    /// against `digest` and `size` on the way and stored only if both
    /// match. `progress` gets the bytes received so far. Returns at once
    /// when the store already has the blob.
    pub fn fetch_blob(
        &self,
        digest: &Digest,
        size: u64,
        store: &BlobStore,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), RegistryError> {
        if store.contains(digest) {
            progress(size);
            return Ok(());
        }
        let url = self.url("blobs", &digest.to_string())?;
        let response = self.send(Method::Get, &url, Access::Pull, &[], None)?;
        let response = self.expect(Method::Get, &url, response, &[200])?;
        if let Some(announced) = response.body().content_length()
            && announced > size
        {
            return Err(RegistryError::ContentLength {
                url,
                announced,
                expected: size,
            });
        }
        let mut reader = Counting {
            inner: response.into_body().into_reader(),
            total: 0,
            progress,
            error: None,
        };
        let expected = Expected {
            digest: digest.clone(),
            size: Some(size),
            limit: size,
        };
        match store.write(&expected, &mut reader) {
            Ok(_) => Ok(()),
            Err(_) if reader.error.is_some() => Err(RegistryError::Interrupted {
                url,
                received: reader.total,
                expected: size,
                source: reader
                    .error
                    .take()
                    .unwrap_or_else(|| io::ErrorKind::Other.into()),
            }),
            Err(source) => Err(RegistryError::Blob {
                registry: self.registry.clone(),
                digest: digest.clone(),
                source,
            }),
        }
    }

    /// Uploads a manifest under `reference` (a tag or its digest); returns
    /// its digest, checked against the registry's `Docker-Content-Digest`.
    pub fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, RegistryError> {
        let url = self.url("manifests", reference)?;
        let digest = Digest::of(bytes);
        if let Ok(asked) = reference.parse::<Digest>()
            && asked != digest
        {
            return Err(mismatch(&url, "the reference", asked.to_string(), digest));
        }
        let headers = [("Content-Type", media_type)];
        let response = self.send(Method::Put, &url, Access::Push, &headers, Some(bytes))?;
        let response = self.expect(Method::Put, &url, response, &[200, 201, 202, 204])?;
        check_content_digest(&url, &response, &digest)?;
        Ok(digest)
    }

    /// `<base>/v2/<repository>/<kind>/<reference>`, the reference checked.
    // Joined by hand: every part is checked to hold only URL-safe characters.
    pub(crate) fn url(&self, kind: &str, reference: &str) -> Result<String, RegistryError> {
        if reference.parse::<Digest>().is_err() && !valid_tag(reference) {
            return Err(RegistryError::InvalidName {
                what: "tag or digest",
                name: reference.to_owned(),
            });
        }
        Ok(format!(
            "{}/v2/{}/{kind}/{reference}",
            self.base(),
            self.repository
        ))
    }

    /// `<base>/v2/<repository>/blobs/uploads/`.
    pub(crate) fn uploads_url(&self) -> String {
        format!("{}/v2/{}/blobs/uploads/", self.base(), self.repository)
    }

    /// The agent for `url`: the TLS one for `https://`, else the plain one.
    pub(super) fn agent(&self, url: &str) -> &ureq::Agent {
        if !url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        {
            return &self.plain;
        }
        self.tls.get_or_init(|| {
            let tls = ureq::tls::TlsConfig::builder()
                .root_certs(trusted_roots())
                .disable_verification(self.options.insecure)
                .build();
            agent(tls)
        })
    }

    pub(super) fn base(&self) -> &str {
        self.base.get_or_init(|| {
            // Insecure: HTTPS (unverified) if the registry answers it.
            let https = format!("https://{}", self.host);
            match self.agent(&https).get(format!("{https}/v2/")).call() {
                Ok(_) => https,
                Err(_) => format!("http://{}", self.host),
            }
        })
    }
}

/// An agent that follows no redirect (the client does, checking each)
/// and hands every status back.
fn agent(tls: ureq::tls::TlsConfig) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(300)))
        .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Counts and reports bytes; keeps the network's error for the caller.
struct Counting<'a, R> {
    inner: R,
    total: u64,
    progress: &'a (dyn Fn(u64) + Sync),
    error: Option<io::Error>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buffer) {
            Ok(n) => {
                if n > 0 {
                    self.total += n as u64;
                    (self.progress)(self.total);
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.error = Some(e);
                Err(copy)
            }
        }
    }
}

fn mismatch(
    url: &str,
    claimed_by: &'static str,
    expected: String,
    actual: Digest,
) -> RegistryError {
    RegistryError::DigestMismatch {
        url: url.to_owned(),
        claimed_by,
        expected,
        actual,
    }
}

/// Checks a `Docker-Content-Digest` header (sha256 ones) against `digest`.
pub(crate) fn check_content_digest(
    url: &str,
    response: &Reply,
    digest: &Digest,
) -> Result<(), RegistryError> {
    match header(response, "docker-content-digest").map(str::trim) {
        Some(claimed) if claimed.starts_with("sha256:") && claimed != digest.to_string() => {
            Err(mismatch(
                url,
                "Docker-Content-Digest",
                claimed.to_owned(),
                digest.clone(),
            ))
        }
        _ => Ok(()),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_get_plain_http() {
        let client = Client::new("[::1]:5000", "a/b", ClientOptions::default()).expect("client");
        assert_eq!(client.base(), "http://[::1]:5000");
        assert!(client.tls.get().is_none(), "no CA store read for loopback");
        let client =
            Client::new("docker.io", "library/alpine", ClientOptions::default()).expect("client");
        assert_eq!(client.base(), "https://registry-1.docker.io");
    }

    #[test]
    fn an_insecure_registry_without_https_gets_plain_http() {
        let options = ClientOptions {
            insecure: true,
            credentials: None,
        };
        // 127.0.0.2 is loopback on Linux but not named as such: nothing
        // answers HTTPS on port 1, so the client falls back to HTTP.
        let client = Client::new("127.0.0.2:1", "a/b", options).expect("client");
        assert_eq!(client.base(), "http://127.0.0.2:1");
    }

    #[test]
    fn clients_are_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Client>();
    }

    #[test]
    fn names_are_checked_before_they_go_into_urls() {
        let client =
            Client::new("localhost:5000", "a/b", ClientOptions::default()).expect("client");
        assert!(client.url("manifests", "v1.0_rc-1").is_ok());
        assert!(client.url("manifests", "../x").is_err());
        assert!(client.url("manifests", "sha256:abc").is_err());
        assert!(Client::new("localhost", "a/B", ClientOptions::default()).is_err());
    }
}
