//! The OCI distribution (Docker Registry HTTP API v2) client, and Docker's
//! stored registry credentials.
//!
//! A [`Client`] talks to one repository on one registry. It speaks HTTPS,
//! except to loopback registries (`localhost`, `127.0.0.1`, `::1`, any
//! port), which get plain HTTP, and to registries marked insecure (see
//! [`ClientOptions::insecure`]). It authenticates the way registries ask
//! it to: anonymously first, then with HTTP basic credentials or a bearer
//! token from the registry's token service, scoped to the repository.
//! Credentials never follow a redirect to another host.

pub(crate) mod auth;
mod client;
mod credentials;
mod http;
mod names;
mod request;
mod upload;

use std::path::PathBuf;

pub use client::Client;
pub use credentials::{
    config_path, remove_credentials, remove_credentials_in, store_credentials,
    store_credentials_in, stored_credentials, stored_credentials_in,
};

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
    #[error("cannot reach {url}")]
    Network {
        /// The URL being requested.
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
    #[error("not found: {url}: {message}")]
    NotFound {
        /// The URL requested.
        url: String,
        /// What the registry said.
        message: String,
    },
    /// The registry answered with a status this request does not expect.
    #[error("{method} {url} failed with HTTP {status}: {message}")]
    Status {
        /// The request method.
        method: String,
        /// The URL requested.
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
    #[error("manifest at {url} is larger than the {limit} bytes wharf reads")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// Content does not hash to the digest it was asked for or announced with.
    #[error("content at {url} is {actual}, but {claimed_by} says {expected}")]
    DigestMismatch {
        /// The URL requested.
        url: String,
        /// Who announced the expected digest (the reference, a header).
        claimed_by: &'static str,
        /// The announced digest.
        expected: String,
        /// The digest of what was received or sent.
        actual: Digest,
    },
    /// The registry's reply breaks the protocol.
    #[error("{url}: {detail}")]
    Protocol {
        /// The URL requested.
        url: String,
        /// What was wrong.
        detail: String,
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
            RegistryError::AuthenticationRequired { .. } | RegistryError::Unauthorized { .. }
        )
    }
}
