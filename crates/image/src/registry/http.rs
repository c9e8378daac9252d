//! Small HTTP helpers: URLs (with the `url` crate), the registry's error
//! bodies, the methods the client uses, what a failed request stands for.

use std::io::Read;

use url::Url;

use super::RegistryError;

/// The most of an error body read to quote it.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// An absolute `http` or `https` URL with a host; anything else is `None`.
pub(crate) fn parse_http(url: &str) -> Option<Url> {
    let url = Url::parse(url.trim()).ok()?;
    let web = matches!(url.scheme(), "http" | "https") && url.host().is_some();
    web.then_some(url)
}

/// Whether two URLs share an origin: scheme, host and port (default ports
/// count as given), compared as the `url` crate normalizes them.
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    match (parse_http(a), parse_http(b)) {
        (Some(a), Some(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// Resolves a `Location` header against the URL that answered it; only an
/// `http` or `https` result is usable.
pub(crate) fn resolve(base: &str, location: &str) -> Option<String> {
    let next = parse_http(base)?.join(location.trim()).ok()?;
    parse_http(next.as_str()).map(String::from)
}

/// Appends `name=value` pairs (form-encoded, as registries decode them) to
/// a URL's query; `None` when `url` is not an http(s) URL.
pub(crate) fn with_query(url: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = parse_http(url)?;
    url.query_pairs_mut().extend_pairs(pairs);
    Some(url.into())
}

/// A URL as it may be printed: no query, fragment or user info, which is
/// where signed storage URLs and token services carry their secrets
/// (`X-Amz-Signature=`, `sig=`, `token=`). The one place that decides it.
pub(crate) fn redact(url: &str) -> String {
    match parse_http(url) {
        Some(mut url) => {
            let had_query = url.query().is_some();
            url.set_query(None);
            url.set_fragment(None);
            let _ = url.set_username("");
            let _ = url.set_password(None);
            let mut text = String::from(url);
            if had_query {
                text.push_str("?<redacted>");
            }
            text
        }
        // Not a URL we would send to: no query, fragment or user info.
        None => {
            let cut = url.find(['?', '#']).unwrap_or(url.len());
            let url = &url[..cut];
            url.rsplit('@').next().unwrap_or_default().to_owned()
        }
    }
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

/// HTTP methods the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A reply from the registry.
pub(crate) type Reply = ureq::http::Response<ureq::Body>;

/// The error a failed request stands for: an untrusted certificate, or
/// the network.
pub(crate) fn network(url: &str, source: ureq::Error) -> RegistryError {
    let certificate = match &source {
        ureq::Error::Rustls(error) => Some(error),
        ureq::Error::Io(error) => error.get_ref().and_then(|e| e.downcast_ref()),
        _ => None,
    };
    if let Some(error @ rustls::Error::InvalidCertificate(_)) = certificate {
        return RegistryError::Certificate {
            url: url.to_owned(),
            detail: error.to_string(),
        };
    }
    RegistryError::Network {
        url: url.to_owned(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_ignore_case_and_default_ports() {
        assert!(same_origin(
            "https://Example.com:443/v2/",
            "https://example.com/x"
        ));
        assert!(!same_origin("https://example.com/", "http://example.com/"));
        assert!(!same_origin(
            "http://127.0.0.1:5000/",
            "http://localhost:5000/"
        ));
        assert!(same_origin(
            "http://[::1]:5000/v2/",
            "http://[0:0::1]:5000/"
        ));
        assert!(!same_origin("file:///etc/passwd", "file:///etc/passwd"));
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
        assert_eq!(
            resolve(base, "../../c?y=2").as_deref(),
            Some("http://r:5000/v2/a/b/c?y=2")
        );
    }

    #[test]
    fn locations_outside_the_web_are_refused() {
        let base = "https://r/v2/a/blobs/x";
        for location in ["file:///etc/passwd", "ftp://h/x", "data:,x", "http://"] {
            assert_eq!(resolve(base, location), None, "{location}");
        }
        assert_eq!(resolve("not a url", "/x"), None);
    }

    #[test]
    fn queries_are_appended_and_encoded() {
        assert_eq!(
            with_query("http://r/u", &[("digest", "sha256:ab")]).as_deref(),
            Some("http://r/u?digest=sha256%3Aab")
        );
        assert_eq!(
            with_query("http://r/u?_state=x%3D", &[("from", "a/b"), ("s", "p,q r")]).as_deref(),
            Some("http://r/u?_state=x%3D&from=a%2Fb&s=p%2Cq+r")
        );
        assert_eq!(with_query("/relative", &[("a", "b")]), None);
    }

    #[test]
    fn printed_urls_keep_no_secrets() {
        assert_eq!(
            redact("https://user:pw@s3.example/bucket/blob?X-Amz-Signature=abc&sig=def#frag"),
            "https://s3.example/bucket/blob?<redacted>"
        );
        assert_eq!(
            redact("http://127.0.0.1:5000/v2/a/manifests/v1"),
            "http://127.0.0.1:5000/v2/a/manifests/v1"
        );
        assert_eq!(redact("junk?token=secret"), "junk");
        assert_eq!(redact("junk#token=secret"), "junk");
        assert_eq!(redact("ftp://u:pw@h/x?k=v"), "h/x");
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
