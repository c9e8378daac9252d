//! Sending one request: authentication as the registry asks, redirects
//! (credentials only to the registry's own origin), error replies.

use super::RegistryError;
use super::auth::{
    Access, Challenge, basic_header, fetch_token, parse_challenges, password_allowed,
};
use super::client::Client;
use super::http::{Method, Reply, error_message, header, network, resolve, same_origin};
use super::names::is_loopback;

/// Redirects followed at most by one request.
const MAX_REDIRECTS: usize = 5;

impl Client {
    /// Sends a request, authenticating as the registry asks and following
    /// redirects of GET and HEAD (to http and https URLs only); credentials
    /// go only to the registry's own origin. Returns whatever final reply
    /// came.
    pub(crate) fn send(
        &self,
        method: Method,
        url: &str,
        access: Access<'_>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Reply, RegistryError> {
        let mut url = url.to_owned();
        let mut retried = false;
        let mut redirects = 0;
        loop {
            let ours = same_origin(&url, self.base());
            let authorization = if ours {
                self.authorization(access, false)?
            } else {
                None
            };
            let mut response = self.raw(method, &url, headers, authorization.as_deref(), body)?;
            let status = response.status().as_u16();
            if status == 401 && ours {
                let challenge = parse_challenges(
                    response
                        .headers()
                        .get_all("www-authenticate")
                        .iter()
                        .filter_map(|v| v.to_str().ok()),
                );
                let basic_sent = authorization
                    .as_deref()
                    .is_some_and(|a| a.starts_with("Basic "));
                let give_up = retried
                    || challenge.is_none()
                    || (challenge == Some(Challenge::Basic) && basic_sent);
                if give_up {
                    return Err(self.unauthorized(&mut response));
                }
                if let Ok(mut state) = self.auth.lock() {
                    state.challenge = challenge;
                }
                self.authorization(access, true)?;
                retried = true;
                continue;
            }
            let redirect = matches!(status, 301 | 302 | 303 | 307 | 308);
            if redirect && matches!(method, Method::Get | Method::Head) {
                redirects += 1;
                let next = header(&response, "location").and_then(|l| resolve(&url, l));
                let Some(next) = next.filter(|_| redirects <= MAX_REDIRECTS) else {
                    return Err(RegistryError::Protocol {
                        url,
                        detail: "redirect without a usable Location, or too many redirects"
                            .to_owned(),
                    });
                };
                url = next;
                continue;
            }
            return Ok(response);
        }
    }

    /// The Authorization header for `access`, fetching a bearer token when
    /// none is cached (or `refresh` asks for a new one).
    fn authorization(
        &self,
        access: Access<'_>,
        refresh: bool,
    ) -> Result<Option<String>, RegistryError> {
        let scopes = access.scopes(&self.repository);
        let key = scopes.join(" ");
        let challenge = {
            let state = self.auth.lock().map_err(|_| self.poisoned())?;
            match &state.challenge {
                Some(Challenge::Bearer { .. }) if !refresh => {
                    if let Some(token) = state.tokens.get(&key) {
                        return Ok(Some(format!("Bearer {token}")));
                    }
                }
                _ => {}
            }
            state.challenge.clone()
        };
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => match &self.options.credentials {
                Some(credentials) => match self.password_allowed(self.base()) {
                    Ok(()) => Ok(Some(basic_header(credentials))),
                    Err(why) => Err(self.withheld(self.base(), why)),
                },
                None => Err(RegistryError::AuthenticationRequired {
                    registry: self.registry().to_owned(),
                }),
            },
            Some(Challenge::Bearer { realm, service }) => {
                let allowed = self.password_allowed(&realm);
                if let (Some(_), Err(why)) = (&self.options.credentials, allowed) {
                    let mut state = self.auth.lock().map_err(|_| self.poisoned())?;
                    state.withheld = Some((realm.clone(), why));
                }
                let credentials = self.options.credentials.as_ref();
                let token = fetch_token(
                    self.agent(&realm),
                    self.registry(),
                    &realm,
                    service.as_deref(),
                    &scopes,
                    credentials.filter(|_| allowed.is_ok()),
                )
                .map_err(|error| {
                    match (error.is_unauthorized(), allowed, credentials) {
                        (true, Err(why), Some(_)) => self.withheld(&realm, why),
                        _ => error,
                    }
                })?;
                let header = format!("Bearer {token}");
                let mut state = self.auth.lock().map_err(|_| self.poisoned())?;
                state.tokens.insert(key, token);
                Ok(Some(header))
            }
        }
    }

    fn raw(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        authorization: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Reply, RegistryError> {
        let mut builder = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if let Some(authorization) = authorization {
            builder = builder.header("Authorization", authorization);
        }
        let result = match (method, body) {
            (Method::Post | Method::Put | Method::Patch, body) => builder
                .body(body.unwrap_or_default())
                .map_err(ureq::Error::from)
                .and_then(|request| self.agent(url).run(request)),
            (_, _) => builder
                .body(())
                .map_err(ureq::Error::from)
                .and_then(|request| self.agent(url).run(request)),
        };
        result.map_err(|source| network(url, source))
    }

    /// Passes a reply with one of the `expected` statuses, else its error.
    pub(crate) fn expect(
        &self,
        method: Method,
        url: &str,
        response: Reply,
        expected: &[u16],
    ) -> Result<Reply, RegistryError> {
        if expected.contains(&response.status().as_u16()) {
            Ok(response)
        } else {
            Err(self.failure(method, url, response))
        }
    }

    /// The error an unexpected reply stands for.
    pub(crate) fn failure(&self, method: Method, url: &str, mut response: Reply) -> RegistryError {
        let status = response.status().as_u16();
        match status {
            404 => RegistryError::NotFound {
                url: url.to_owned(),
                message: error_message(&mut response),
            },
            401 | 403 => self.unauthorized(&mut response),
            _ => RegistryError::Status {
                method: method.as_str().to_owned(),
                url: url.to_owned(),
                status,
                message: error_message(&mut response),
            },
        }
    }

    /// Whether the password may go to `url` (see [`password_allowed`]).
    fn password_allowed(&self, url: &str) -> Result<(), &'static str> {
        password_allowed(url, self.base(), is_loopback(&self.host))
    }

    fn withheld(&self, url: &str, why: &'static str) -> RegistryError {
        RegistryError::CredentialsWithheld {
            registry: self.registry().to_owned(),
            url: url.to_owned(),
            why,
        }
    }

    fn unauthorized(&self, response: &mut Reply) -> RegistryError {
        let message = error_message(response);
        let withheld = self.auth.lock().ok().and_then(|s| s.withheld.clone());
        if let Some((url, why)) = withheld {
            return self.withheld(&url, why);
        }
        match self.options.credentials {
            Some(_) => RegistryError::Unauthorized {
                registry: self.registry().to_owned(),
                message,
            },
            None => RegistryError::AuthenticationRequired {
                registry: self.registry().to_owned(),
            },
        }
    }

    fn poisoned(&self) -> RegistryError {
        RegistryError::Protocol {
            url: self.registry().to_owned(),
            detail: "a thread panicked while holding the authentication state".to_owned(),
        }
    }
}
