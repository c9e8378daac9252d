//! The OCI distribution (Docker Registry HTTP API v2) client, and Docker's
//! stored registry credentials.
//!
//! A [`Client`] talks to one repository on one registry. It speaks HTTPS,
//! except to loopback registries named `localhost`, `127.0.0.1` or `::1`
//! (any port), which get plain HTTP, and to registries marked insecure (see
//! [`ClientOptions::insecure`]). Certificates are checked against the
//! system's CA store (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`) and
//! Mozilla's roots bundled with wharf. It authenticates the way registries
//! ask it to: anonymously first, then with HTTP basic credentials or a
//! bearer token from the registry's token service, scoped to the
//! repository. Where the password may go is decided in one place (see
//! `auth::password_allowed`): never over plain HTTP beyond loopback, never
//! along a redirect to another origin. URLs in error messages are printed
//! without their query, where signed URLs keep their secrets.

pub(crate) mod auth;
mod client;
mod credentials;
mod http;
mod names;
mod request;
mod roots;
mod upload;

use std::path::PathBuf;

pub use client::Client;
pub use credentials::{
    config_path, remove_credentials, remove_credentials_in, store_credentials,
    store_credentials_in, stored_credentials, stored_credentials_in,
};

use self::http::redact;
use crate::blobs::BlobError;
use crate::digest::Digest;

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or personal access token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How a [`Client`] connects.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Talk to a registry without a valid certificate: HTTPS without
    /// certificate verification when the registry answers HTTPS, else plain
    /// HTTP. Decided once, on the client's first request.
    pub insecure: bool,
    /// What to answer when the registry asks for credentials; `None` means
    /// anonymous (a bearer token service may still grant pull access).
    pub credentials: Option<Credentials>,
}

/// A manifest or index as the registry sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    /// The exact bytes (what the digest is computed over).
    pub bytes: Vec<u8>,
    /// The Content-Type the registry gave, without parameters.
    pub media_type: Option<String>,
    /// The sha256 of `bytes`.
    pub digest: Digest,
}

/// Why talking to a registry failed. Every message names the registry or
/// URL and the cause.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A registry, repository or tag name wharf cannot put in a URL.
    #[error("`{name}` is not a valid {what}")]
    InvalidName {
        /// What the name is for: `registry address`, `repository`, `tag or digest`.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// The registry could not be reached, or the connection broke.
    #[error("cannot reach {}", redact(.url))]
    Network {
        /// The URL being requested (printed without its query).
        url: String,
        /// The cause.
        source: Box<ureq::Error>,
    },
    /// The registry wants credentials and none were given.
    #[error("authentication required for {registry}; run `wharf login {registry}`")]
    AuthenticationRequired {
        /// The registry.
        registry: String,
    },
    /// The registry (or its token service) refused the credentials, or
    /// refused access with them.
    #[error("{registry} refused the credentials: {message}")]
    Unauthorized {
        /// The registry.
        registry: String,
        /// What the registry said.
        message: String,
    },
    /// The manifest, blob or repository does not exist (404).
    #[error("not found: {}: {message}", redact(.url))]
    NotFound {
        /// The URL requested (printed without its query).
        url: String,
        /// What the registry said.
        message: String,
    },
    /// The registry answered with a status this request does not expect.
    #[error("{method} {} failed with HTTP {status}: {message}", redact(.url))]
    Status {
        /// The request method.
        method: String,
        /// The URL requested (printed without its query).
        url: String,
        /// The HTTP status.
        status: u16,
        /// What the registry said (its `errors` list when it sent one).
        message: String,
    },
    /// A blob failed verification (wrong digest or size) or could not be
    /// stored; nothing was stored.
    #[error("blob {digest} from {registry}")]
    Blob {
        /// The registry.
        registry: String,
        /// The blob.
        digest: Digest,
        /// The cause.
        source: BlobError,
    },
    /// A manifest longer than wharf reads; reading stopped at the limit.
    #[error("manifest at {} is larger than the {limit} bytes wharf reads", redact(.url))]
    TooLarge {
        /// The URL requested (printed without its query).
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// Content does not hash to the digest it was asked for or announced with.
    #[error("content at {} is {actual}, but {claimed_by} says {expected}", redact(.url))]
    DigestMismatch {
        /// The URL requested (printed without its query).
        url: String,
        /// Who announced the expected digest (the reference, a header).
        claimed_by: &'static str,
        /// The announced digest.
        expected: String,
        /// The digest of what was received or sent.
        actual: Digest,
    },
    /// The registry's reply breaks the protocol.
    #[error("{}: {detail}", redact(.url))]
    Protocol {
        /// The URL requested (printed without its query).
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// The reply announces more bytes (`Content-Length`) than the manifest
    /// says the content has; nothing was read.
    #[error("{} announces {announced} bytes, but the manifest says {expected}", redact(.url))]
    ContentLength {
        /// The URL requested (printed without its query).
        url: String,
        /// The reply's `Content-Length`.
        announced: u64,
        /// The size the manifest gives.
        expected: u64,
    },
    /// The connection broke in the middle of a download; nothing was stored.
    #[error("download of {} broke off after {received} of {expected} bytes", redact(.url))]
    Interrupted {
        /// The URL requested (printed without its query).
        url: String,
        /// The bytes received before the break.
        received: u64,
        /// The size the manifest gives.
        expected: u64,
        /// The cause.
        source: std::io::Error,
    },
    /// The registry's certificate is not signed by a trusted CA (or does
    /// not name the registry).
    #[error(
        "the certificate of {} is not trusted ({detail}): add its CA to the system's store or to SSL_CERT_FILE, or turn verification off (--tls-verify=false)",
        redact(.url)
    )]
    Certificate {
        /// The URL requested (printed without its query).
        url: String,
        /// What the TLS library found wrong.
        detail: String,
    },
    /// The registry or its token service asked for the password somewhere
    /// wharf does not send it (see the module docs for the rule).
    #[error("the credentials for {registry} were not sent to {}: {why}", redact(.url))]
    CredentialsWithheld {
        /// The registry.
        registry: String,
        /// Where they were asked for (printed without its query).
        url: String,
        /// Why they were not sent.
        why: &'static str,
    },
    /// The credentials file could not be read or written.
    #[error("{}", path.display())]
    CredentialsIo {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The credentials file is not what Docker writes.
    #[error("{}: {detail}", path.display())]
    CredentialsFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl RegistryError {
    /// Whether the thing asked for does not exist on the registry.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }

    /// Whether credentials are missing or were refused.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            RegistryError::AuthenticationRequired { .. }
                | RegistryError::Unauthorized { .. }
                | RegistryError::CredentialsWithheld { .. }
        )
    }
}
