//! Registry authentication: `WWW-Authenticate` challenges, HTTP basic
//! credentials, and bearer tokens from the registry's token service.

use std::collections::HashMap;
use std::io::Read;

use base64::Engine as _;

use super::http::{error_message, network, parse_http, with_query};
use super::{Credentials, RegistryError};

/// The most of a token reply read (tokens are a few KiB).
const TOKEN_REPLY_LIMIT: u64 = 1 << 20;

/// What a request needs to be allowed to do, on the client's repository.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Access<'a> {
    /// The registry itself (`GET /v2/`): no scope.
    Registry,
    /// Read (`repository:<repo>:pull`).
    Pull,
    /// Read and write (`repository:<repo>:pull,push`).
    Push,
    /// Write here, read the other repository a blob is mounted from.
    Mount(&'a str),
}

impl Access<'_> {
    /// The token scopes this access asks for.
    pub(crate) fn scopes(&self, repository: &str) -> Vec<String> {
        match self {
            Access::Registry => Vec::new(),
            Access::Pull => vec![format!("repository:{repository}:pull")],
            Access::Push => vec![format!("repository:{repository}:pull,push")],
            Access::Mount(from) => vec![
                format!("repository:{repository}:pull,push"),
                format!("repository:{from}:pull"),
            ],
        }
    }
}

/// How the registry asked to be authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// HTTP basic credentials on every request.
    Basic,
    /// A token from `realm`, for `service`.
    Bearer {
        /// The token service's URL.
        realm: String,
        /// The `service` parameter to pass, if given.
        service: Option<String>,
    },
}

/// The challenge in the `WWW-Authenticate` headers, if one is understood.
pub(crate) fn parse_challenges<'a>(
    headers: impl IntoIterator<Item = &'a str>,
) -> Option<Challenge> {
    headers.into_iter().find_map(parse_challenge)
}

fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    Some(Challenge::Bearer {
        realm: get("realm")?,
        service: get("service"),
    })
}

/// `key=value, key="quoted, \"value\""` pairs.
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return params;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        params.push((key.trim().to_owned(), value.trim().to_owned()));
    }
}

/// `Basic <base64(user:password)>`.
pub(crate) fn basic_header(credentials: &Credentials) -> String {
    let pair = format!("{}:{}", credentials.username, credentials.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Whether the user's password may go to `target`, for the registry at
/// `registry` (its `scheme://host[:port]`; `loopback` when its name is
/// `localhost`, `127.0.0.1` or `::1`). The one rule, for HTTP basic
/// credentials sent to the registry and to a bearer token service alike:
///
/// - over HTTPS, yes: to the registry itself (requests to another origin,
///   such as a redirect to blob storage, never carry credentials), and to
///   a token service on any host (Docker Hub's is `auth.docker.io`);
/// - over plain HTTP, only to the registry's own host (any port), and only
///   when that host is loopback: `http://127.0.0.1:5001/token` for the
///   registry `127.0.0.1:5000`, but neither `http://127.0.0.2:5001/token`
///   (another host) nor a registry on `10.0.0.5:5000` reached over plain
///   HTTP with `insecure`.
///
/// Where the password may not go, the request goes without it; the error
/// says why when the request is then refused.
pub(crate) fn password_allowed(
    target: &str,
    registry: &str,
    loopback: bool,
) -> Result<(), &'static str> {
    let (Some(target), Some(registry)) = (parse_http(target), parse_http(registry)) else {
        return Err("it is not an http or https URL");
    };
    if target.scheme() == "https" {
        Ok(())
    } else if target.host() != registry.host() {
        Err("plain HTTP to another host than the registry's")
    } else if !loopback {
        Err("plain HTTP to a registry that is not on loopback")
    } else {
        Ok(())
    }
}

/// What the client knows about authenticating to its registry.
#[derive(Default)]
pub(crate) struct AuthState {
    /// The registry's last challenge; `None` until it sent one.
    pub(crate) challenge: Option<Challenge>,
    /// Bearer tokens by the scopes they were granted for.
    pub(crate) tokens: HashMap<String, String>,
    /// Where the password was asked for but not sent, and why.
    pub(crate) withheld: Option<(String, &'static str)>,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: never in logs.
        f.debug_struct("AuthState")
            .field("challenge", &self.challenge)
            .field("tokens", &self.tokens.len())
            .field("withheld", &self.withheld.is_some())
            .finish()
    }
}

/// Asks the token service for a token covering `scopes`, with the
/// credentials given (the caller decides, by [`password_allowed`]).
pub(crate) fn fetch_token(
    agent: &ureq::Agent,
    registry: &str,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    credentials: Option<&Credentials>,
) -> Result<String, RegistryError> {
    let pairs: Vec<(&str, &str)> = service
        .map(|s| ("service", s))
        .into_iter()
        .chain(scopes.iter().map(|s| ("scope", s.as_str())))
        .collect();
    let url = with_query(realm, &pairs).ok_or_else(|| RegistryError::Protocol {
        url: realm.to_owned(),
        detail: "the token service (realm) is not an http or https URL".to_owned(),
    })?;
    let mut request = agent.get(&url);
    if let Some(credentials) = credentials {
        request = request.header("Authorization", basic_header(credentials));
    }
    let mut response = request.call().map_err(|source| network(realm, source))?;
    let status = response.status().as_u16();
    if status == 401 || status == 403 {
        let message = error_message(&mut response);
        return Err(match credentials {
            Some(_) => RegistryError::Unauthorized {
                registry: registry.to_owned(),
                message,
            },
            None => RegistryError::AuthenticationRequired {
                registry: registry.to_owned(),
            },
        });
    }
    if status != 200 {
        return Err(RegistryError::Status {
            method: "GET".to_owned(),
            url: realm.to_owned(),
            status,
            message: error_message(&mut response),
        });
    }
    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        access_token: Option<String>,
    }
    let mut body = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(TOKEN_REPLY_LIMIT)
        .read_to_end(&mut body)
        .map_err(|e| network(realm, ureq::Error::Io(e)))?;
    let reply: Reply = serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
        url: realm.to_owned(),
        detail: format!("token reply is not JSON with a token: {e}"),
    })?;
    reply
        .token
        .or(reply.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RegistryError::Protocol {
            url: realm.to_owned(),
            detail: "token reply has neither `token` nor `access_token`".to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_parsed() {
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#;
        assert_eq!(
            parse_challenges([header]),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".to_owned(),
                service: Some("registry.docker.io".to_owned()),
            })
        );
        let unquoted = "bearer realm=http://a/t, error=\"x, \\\"y\\\"\"";
        assert_eq!(
            parse_challenges([unquoted]),
            Some(Challenge::Bearer {
                realm: "http://a/t".to_owned(),
                service: None,
            })
        );
    }

    #[test]
    fn basic_and_unknown_challenges() {
        assert_eq!(
            parse_challenges([r#"Basic realm="Registry""#]),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenges(["Negotiate", "Basic"]),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenges(["Negotiate"]), None);
        assert_eq!(parse_challenges(["Bearer service=x"]), None, "no realm");
    }

    #[test]
    fn scopes_follow_the_access() {
        assert_eq!(Access::Pull.scopes("a/b"), ["repository:a/b:pull"]);
        assert_eq!(Access::Push.scopes("a/b"), ["repository:a/b:pull,push"]);
        assert_eq!(
            Access::Mount("c/d").scopes("a/b"),
            ["repository:a/b:pull,push", "repository:c/d:pull"]
        );
    }

    #[test]
    fn the_password_goes_over_https_or_to_the_loopback_registrys_host() {
        let local = "http://127.0.0.1:5000";
        assert_eq!(
            password_allowed("http://127.0.0.1:5000/v2/", local, true),
            Ok(())
        );
        assert_eq!(
            password_allowed("http://127.0.0.1:6000/token", local, true),
            Ok(())
        );
        assert!(password_allowed("http://127.0.0.2:6000/token", local, true).is_err());
        assert!(password_allowed("http://localhost:5000/token", local, true).is_err());
        assert_eq!(
            password_allowed("https://auth.example/token", local, true),
            Ok(())
        );
        let remote = "http://10.0.0.5:5000";
        assert!(password_allowed("http://10.0.0.5:5000/v2/", remote, false).is_err());
        assert!(password_allowed("http://10.0.0.5:6000/token", remote, false).is_err());
        let hub = "https://registry-1.docker.io";
        assert_eq!(
            password_allowed("https://auth.docker.io/token", hub, false),
            Ok(())
        );
        assert!(password_allowed("http://auth.docker.io/token", hub, false).is_err());
        assert!(password_allowed("http://registry-1.docker.io/token", hub, false).is_err());
        assert!(password_allowed("ftp://registry-1.docker.io/token", hub, false).is_err());
    }

    #[test]
    fn basic_header_is_base64_of_user_colon_password() {
        let credentials = Credentials {
            username: "user".to_owned(),
            password: "pass".to_owned(),
        };
        assert_eq!(basic_header(&credentials), "Basic dXNlcjpwYXNz");
    }
}
