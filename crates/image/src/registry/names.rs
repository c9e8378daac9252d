//! Registry, repository and tag names: checked before they go into URLs.

use super::RegistryError;

/// Docker Hub's registry host, for `docker.io`.
const DOCKER_HUB_HOST: &str = "registry-1.docker.io";

/// The `host[:port]` to contact for a registry name.
pub(super) fn registry_host(registry: &str) -> Result<String, RegistryError> {
    let invalid = || RegistryError::InvalidName {
        what: "registry address",
        name: registry.to_owned(),
    };
    let (host, port) = match registry.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']').ok_or_else(invalid)?;
            if inside.is_empty()
                || !inside
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return Err(invalid());
            }
            let port = if after.is_empty() {
                None
            } else {
                Some(after.strip_prefix(':').ok_or_else(invalid)?)
            };
            (&registry[..inside.len() + 2], port)
        }
        None => match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        },
    };
    let host_ok = host.starts_with('[')
        || (!host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok());
    if !host_ok || !port_ok {
        return Err(invalid());
    }
    let lower = registry.to_ascii_lowercase();
    if matches!(lower.as_str(), "docker.io" | "index.docker.io") {
        return Ok(DOCKER_HUB_HOST.to_owned());
    }
    Ok(lower)
}

/// Whether `host[:port]` is a loopback name (plain HTTP is fine there).
pub(super) fn is_loopback(host: &str) -> bool {
    let name = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    matches!(name, "localhost" | "127.0.0.1" | "::1")
}

/// Repository names as the distribution spec has them (path components of
/// lowercase letters, digits and separators). Empty is allowed for pings.
pub(super) fn valid_repository(repository: &str) -> bool {
    repository.is_empty()
        || repository.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
                && part
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
        })
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub(super) fn valid_tag(tag: &str) -> bool {
    tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_map_to_hosts() {
        assert_eq!(
            registry_host("docker.io").ok().as_deref(),
            Some(DOCKER_HUB_HOST)
        );
        assert_eq!(
            registry_host("localhost:5000").ok().as_deref(),
            Some("localhost:5000")
        );
        assert_eq!(
            registry_host("[::1]:5000").ok().as_deref(),
            Some("[::1]:5000")
        );
        assert_eq!(registry_host("Ghcr.io").ok().as_deref(), Some("ghcr.io"));
        for bad in [
            "",
            "a/b",
            "host:port",
            "https://x",
            "[::1",
            "[zz]:1",
            "[::1]x",
            "a b",
        ] {
            assert!(registry_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_names() {
        for name in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:1",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback(name), "{name}");
        }
        for name in ["example.com", "127.0.0.2:5000", "localhost.example.com"] {
            assert!(!is_loopback(name), "{name}");
        }
    }

    #[test]
    fn repositories_and_tags() {
        assert!(valid_repository("library/alpine"));
        assert!(valid_repository(""));
        assert!(!valid_repository("Library/alpine"));
        assert!(!valid_repository("a/../b"));
        assert!(!valid_repository("a//b"));
        assert!(valid_tag("v1.0_rc-1"));
        assert!(!valid_tag(".hidden"));
        assert!(!valid_tag(&"x".repeat(129)));
    }
}
