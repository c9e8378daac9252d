//! Image references with Docker's rules: `alpine` is
//! `docker.io/library/alpine:latest`, `host:5000/a/b:tag`, `name@sha256:...`.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, DigestError};

/// The registry of references that name none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
const LEGACY_DEFAULT_REGISTRY: &str = "index.docker.io";
const OFFICIAL_NAMESPACE: &str = "library";
const DEFAULT_TAG: &str = "latest";
const MAX_NAME_LENGTH: usize = 255;
const MAX_TAG_LENGTH: usize = 128;

/// A fully qualified image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Nothing to parse.
    #[error("the image reference is empty")]
    Empty,
    /// Whitespace or control characters.
    #[error("image reference `{0}` contains whitespace or control characters")]
    BadCharacters(String),
    /// A bare 64-hex string, which Docker reserves for image IDs.
    #[error("`{0}` looks like an image ID, not a name (use sha256:... after @)")]
    LooksLikeId(String),
    /// The part after `@`.
    #[error("bad digest in image reference")]
    Digest(#[source] DigestError),
    /// The part after `:`.
    #[error(
        "tag `{0}` is not valid (letters, digits, _ . -, at most 128, not starting with . or -)"
    )]
    Tag(String),
    /// The registry host or port.
    #[error("registry `{0}` is not a valid host[:port]")]
    Registry(String),
    /// Uppercase letters in the repository path.
    #[error("repository `{0}` must be lowercase")]
    Uppercase(String),
    /// Other bad repository paths.
    #[error(
        "repository `{0}` is not valid (lowercase letters and digits separated by . _ __ or -, parts joined by /)"
    )]
    Repository(String),
    /// Registry and repository longer than Docker allows.
    #[error("image name `{0}` is longer than 255 characters")]
    TooLong(String),
}

impl Reference {
    /// The registry host (and port), e.g. `docker.io` or `localhost:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path, e.g. `library/alpine`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag; `latest` when the reference named neither tag nor digest.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest the reference pins, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn registry_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => DEFAULT_TAG.to_owned(),
        }
    }

    /// The short form Docker shows: `alpine:latest`, `user/app:1`,
    /// `localhost:5000/app:1`.
    pub fn familiar(&self) -> String {
        // `docker.io/a.b/c` stays whole: `a.b/c` would name registry `a.b`.
        let on_hub = split_registry(&self.repository).1 == self.repository;
        let mut name = if self.registry == DEFAULT_REGISTRY && on_hub {
            self.repository
                .strip_prefix("library/")
                .filter(|rest| !rest.contains('/'))
                .unwrap_or(&self.repository)
                .to_owned()
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        append_tag_and_digest(&mut name, self.tag.as_deref(), self.digest.as_ref());
        name
    }
}

fn append_tag_and_digest(name: &mut String, tag: Option<&str>, digest: Option<&Digest>) {
    if let Some(tag) = tag {
        name.push(':');
        name.push_str(tag);
    }
    if let Some(digest) = digest {
        name.push('@');
        name.push_str(&digest.to_string());
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut name = format!("{}/{}", self.registry, self.repository);
        append_tag_and_digest(&mut name, self.tag.as_deref(), self.digest.as_ref());
        f.write_str(&name)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ReferenceError::BadCharacters(text.to_owned()));
        }
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReferenceError::LooksLikeId(text.to_owned()));
        }
        let (name_and_tag, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.parse().map_err(ReferenceError::Digest)?)),
            None => (text, None),
        };
        let (name, tag) = split_tag(name_and_tag);
        if let Some(tag) = tag {
            validate_tag(tag)?;
        }
        let (registry, repository) = split_registry(name);
        validate_registry(&registry)?;
        validate_repository(&repository)?;
        if registry.len() + 1 + repository.len() > MAX_NAME_LENGTH {
            return Err(ReferenceError::TooLong(name.to_owned()));
        }
        let tag = match (tag, &digest) {
            (Some(tag), _) => Some(tag.to_owned()),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_TAG.to_owned()),
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

/// A `:` after the last `/` starts the tag (one before it is a port).
fn split_tag(name: &str) -> (&str, Option<&str>) {
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(colon) => (
            &name[..last_slash + colon],
            Some(&name[last_slash + colon + 1..]),
        ),
        None => (name, None),
    }
}

/// Docker's rule: the first path part is a registry when it has a `.` or a
/// `:`, is `localhost`, or has uppercase letters; otherwise the reference
/// is on Docker Hub, where one-part names live under `library/`.
fn split_registry(name: &str) -> (String, String) {
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_REGISTRY, name),
    };
    let registry = if registry == LEGACY_DEFAULT_REGISTRY {
        DEFAULT_REGISTRY
    } else {
        registry
    };
    let path = if registry == DEFAULT_REGISTRY && !path.contains('/') {
        format!("{OFFICIAL_NAMESPACE}/{path}")
    } else {
        path.to_owned()
    };
    (registry.to_owned(), path)
}

fn validate_tag(tag: &str) -> Result<(), ReferenceError> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let valid = tag.len() <= MAX_TAG_LENGTH
        && tag.chars().next().is_some_and(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(ReferenceError::Tag(tag.to_owned()))
    }
}

fn validate_registry(registry: &str) -> Result<(), ReferenceError> {
    let error = || ReferenceError::Registry(registry.to_owned());
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        // An IPv6 literal: [::1] or [::1]:5000.
        let (address, after) = rest.split_once(']').ok_or_else(error)?;
        if address.is_empty() || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(error());
        }
        match after {
            "" => return Ok(()),
            port => ("", Some(port.strip_prefix(':').ok_or_else(error)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(error());
    }
    let component_ok = |part: &str| {
        !part.is_empty()
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !part.starts_with('-')
            && !part.ends_with('-')
    };
    if !registry.starts_with('[') && !host.split('.').all(component_ok) {
        return Err(error());
    }
    Ok(())
}

fn validate_repository(repository: &str) -> Result<(), ReferenceError> {
    if repository.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase(repository.to_owned()));
    }
    if repository.split('/').all(path_component_ok) {
        Ok(())
    } else {
        Err(ReferenceError::Repository(repository.to_owned()))
    }
}

/// `[a-z0-9]+` runs joined by one `.`, one or two `_`, or any number of `-`.
fn path_component_ok(part: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut chars = part.chars().peekable();
    loop {
        // One run of letters and digits.
        let mut run = 0;
        while chars.next_if(|&c| alnum(c)).is_some() {
            run += 1;
        }
        if run == 0 {
            return false;
        }
        // Then the end, or a separator followed by another run.
        match chars.next() {
            None => return true,
            Some('.') => {}
            Some('_') => {
                chars.next_if_eq(&'_');
            }
            Some('-') => while chars.next_if_eq(&'-').is_some() {},
            Some(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn full(text: &str) -> String {
        text.parse::<Reference>()
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .to_string()
    }

    #[test]
    fn docker_hub_defaults() {
        assert_eq!(full("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(full("alpine:3.19"), "docker.io/library/alpine:3.19");
        assert_eq!(full("user/app"), "docker.io/user/app:latest");
        assert_eq!(full("docker.io/alpine"), "docker.io/library/alpine:latest");
        assert_eq!(full("index.docker.io/user/app:v1"), "docker.io/user/app:v1");
        assert_eq!(full("a/b/c:tag"), "docker.io/a/b/c:tag");
    }

    #[test]
    fn registries_with_hosts_and_ports() {
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(full("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(full("host:5000/a/b:tag"), "host:5000/a/b:tag");
        assert_eq!(
            full("127.0.0.1:5000/wasm/hello:1"),
            "127.0.0.1:5000/wasm/hello:1"
        );
        assert_eq!(full("ghcr.io/org/app"), "ghcr.io/org/app:latest");
        assert_eq!(full("[::1]:5000/app:1"), "[::1]:5000/app:1");
        let reference: Reference = "localhost:5000/a/b:tag".parse().expect("valid");
        assert_eq!(reference.registry(), "localhost:5000");
        assert_eq!(reference.repository(), "a/b");
        assert_eq!(reference.tag(), Some("tag"));
    }

    #[test]
    fn digests_pin_the_reference() {
        let reference: Reference = format!("alpine@{DIGEST}").parse().expect("valid");
        assert_eq!(reference.tag(), None, "no default tag beside a digest");
        assert_eq!(reference.registry_reference(), DIGEST);
        assert_eq!(
            reference.to_string(),
            format!("docker.io/library/alpine@{DIGEST}")
        );
        let both: Reference = format!("alpine:3@{DIGEST}").parse().expect("valid");
        assert_eq!(both.tag(), Some("3"));
        assert_eq!(both.registry_reference(), DIGEST);
    }

    #[test]
    fn familiar_names() {
        let short = |text: &str| text.parse::<Reference>().expect("valid").familiar();
        assert_eq!(short("docker.io/library/alpine"), "alpine:latest");
        assert_eq!(short("user/app:1"), "user/app:1");
        assert_eq!(short("localhost:5000/app"), "localhost:5000/app:latest");
    }

    #[test]
    fn refusals() {
        let error = |text: &str| text.parse::<Reference>().expect_err(text);
        assert_eq!(error(""), ReferenceError::Empty);
        assert!(matches!(error("al pine"), ReferenceError::BadCharacters(_)));
        assert!(matches!(
            error(&DIGEST[7..]),
            ReferenceError::LooksLikeId(_)
        ));
        assert!(matches!(
            error("alpine@sha256:abc"),
            ReferenceError::Digest(_)
        ));
        assert!(matches!(error("alpine:-x"), ReferenceError::Tag(_)));
        assert!(matches!(error("alpine:"), ReferenceError::Tag(_)));
        assert!(matches!(
            error(&format!("alpine:{}", "a".repeat(129))),
            ReferenceError::Tag(_)
        ));
        assert!(matches!(error("Alpine"), ReferenceError::Uppercase(_)));
        assert!(matches!(
            error("localhost:5000/App"),
            ReferenceError::Uppercase(_)
        ));
        assert!(matches!(error("a//b"), ReferenceError::Repository(_)));
        assert!(matches!(error("a/../b"), ReferenceError::Repository(_)));
        assert!(matches!(error("-app"), ReferenceError::Repository(_)));
        assert!(matches!(error("app."), ReferenceError::Repository(_)));
        assert!(matches!(error("a___b"), ReferenceError::Repository(_)));
        assert!(matches!(
            error("host:port/app"),
            ReferenceError::Registry(_)
        ));
        assert!(matches!(error("-host.io/app"), ReferenceError::Registry(_)));
        assert!(matches!(
            error(&format!("{}/a", "b".repeat(260))),
            ReferenceError::TooLong(_)
        ));
    }

    #[test]
    fn separators_in_path_components() {
        for ok in ["a.b", "a_b", "a__b", "a-b", "a---b", "a1.b2-c3__d4"] {
            assert!(path_component_ok(ok), "{ok}");
        }
        for bad in ["", ".a", "a.", "a..b", "a___b", "a-", "a_.b", "UP"] {
            assert!(!path_component_ok(bad), "{bad}");
        }
    }
}
