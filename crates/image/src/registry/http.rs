//! Small HTTP helpers: URLs, query encoding, the registry's error bodies.

use std::io::Read;

/// The most of an error body read to quote it.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// `scheme://authority` of an absolute URL, lowercased, default port dropped.
pub(crate) fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority.to_ascii_lowercase();
    let authority = match (
        scheme.as_str(),
        authority.strip_suffix(":443"),
        authority.strip_suffix(":80"),
    ) {
        ("https", Some(host), _) | ("http", _, Some(host)) => host.to_owned(),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

/// Resolves a `Location` header against the URL that answered it.
pub(crate) fn resolve(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_owned());
    }
    let (scheme, _) = base.split_once("://")?;
    if let Some(rest) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{rest}"));
    }
    let base_origin = {
        let rest = &base[scheme.len() + 3..];
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        &base[..scheme.len() + 3 + end]
    };
    if location.starts_with('/') {
        return Some(format!("{base_origin}{location}"));
    }
    let path = &base[base_origin.len()..];
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    Some(format!("{base_origin}{dir}{location}"))
}

/// Appends `name=value` (value percent-encoded) to a URL's query.
pub(crate) fn with_query(url: &str, name: &str, value: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{name}={}", encode(value))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A header's value as text.
pub(crate) fn header<'a>(
    response: &'a ureq::http::Response<ureq::Body>,
    name: &str,
) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// What an error reply says: the registry's `{"errors":[{"code","message"}]}`
/// joined, else the start of the body, else the status text.
pub(crate) fn error_message(response: &mut ureq::http::Response<ureq::Body>) -> String {
    let status = response.status();
    let mut body = Vec::new();
    let _ = response
        .body_mut()
        .as_reader()
        .take(ERROR_BODY_LIMIT)
        .read_to_end(&mut body);
    describe_error_body(&body).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("unexpected status")
            .to_owned()
    })
}

fn describe_error_body(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(errors) = serde_json::from_slice::<Errors>(body)
        && !errors.errors.is_empty()
    {
        let parts: Vec<String> = errors
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{} ({})", e.message, e.code),
                (true, _) => e.message.clone(),
                (false, true) => e.code.clone(),
            })
            .collect();
        return Some(parts.join("; "));
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let short: String = text.chars().take(200).collect();
    Some(short.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_ignore_case_and_default_ports() {
        assert_eq!(
            origin("https://Example.com:443/v2/"),
            origin("https://example.com/x")
        );
        assert_ne!(
            origin("https://example.com/"),
            origin("http://example.com/")
        );
        assert_ne!(
            origin("http://127.0.0.1:5000/"),
            origin("http://localhost:5000/")
        );
        assert_eq!(
            origin("http://[::1]:5000/v2/").as_deref(),
            Some("http://[::1]:5000")
        );
    }

    #[test]
    fn locations_resolve_relative_and_absolute() {
        let base = "http://r:5000/v2/a/b/blobs/uploads/?x=1";
        assert_eq!(
            resolve(base, "/v2/a/b/blobs/uploads/u1?_state=s").as_deref(),
            Some("http://r:5000/v2/a/b/blobs/uploads/u1?_state=s")
        );
        assert_eq!(
            resolve(base, "https://s3/x").as_deref(),
            Some("https://s3/x")
        );
        assert_eq!(resolve(base, "//cdn/x").as_deref(), Some("http://cdn/x"));
        assert_eq!(
            resolve(base, "u2").as_deref(),
            Some("http://r:5000/v2/a/b/blobs/uploads/u2")
        );
    }

    #[test]
    fn queries_are_appended_and_encoded() {
        assert_eq!(
            with_query("http://r/u", "digest", "sha256:ab"),
            "http://r/u?digest=sha256%3Aab"
        );
        assert_eq!(
            with_query("http://r/u?_state=x", "from", "a/b"),
            "http://r/u?_state=x&from=a%2Fb"
        );
    }

    #[test]
    fn registry_error_bodies_are_quoted() {
        let body =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(
            describe_error_body(body).as_deref(),
            Some("manifest unknown (MANIFEST_UNKNOWN)")
        );
        assert_eq!(
            describe_error_body(b"  oops \n here").as_deref(),
            Some("oops here")
        );
        assert_eq!(describe_error_body(b""), None);
    }
}
