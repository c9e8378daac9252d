//! Outgoing HTTP under the network policy.

use std::sync::Arc;

use http_body_util::BodyExt as _;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::network::{Destination, NetworkPolicy};

/// Sends a guest's outgoing request only where the policy allows it; a
/// refused one fails in the guest with `HTTP-request-denied`.
pub(crate) struct OutboundHooks {
    pub(crate) policy: Arc<NetworkPolicy>,
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_done: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let allowed = allows(&self.policy, request.uri());
        Box::new(async move {
            if !allowed {
                tracing::info!(uri = %request.uri(), "outgoing request denied by the network policy");
                return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(|body| body.boxed_unsync()),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// Whether `uri`'s scheme, host and port are allowed. A host that is an
/// address literal is matched as an address, never as a name.
fn allows(policy: &NetworkPolicy, uri: &http::Uri) -> bool {
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return false;
    };
    let port = match (uri.port_u16(), scheme) {
        (Some(port), _) => port,
        (None, "http") => 80,
        (None, "https") => 443,
        (None, _) => return false,
    };
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let destination = match literal.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_unspecified() => return false,
        Ok(ip) => Destination::Ip(ip),
        Err(_) => Destination::Name(host),
    };
    policy.allows(scheme, destination, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_by_scheme_host_and_port() {
        let policy = NetworkPolicy::new(vec![
            "http://127.0.0.1:8080".parse().expect("rule"),
            "https://*.example.com".parse().expect("rule"),
        ]);
        let allowed = |uri: &str| allows(&policy, &uri.parse().expect("uri"));
        assert!(allowed("http://127.0.0.1:8080/x"));
        assert!(!allowed("http://127.0.0.1:8081/x"));
        assert!(!allowed("https://127.0.0.1:8080/x"));
        assert!(allowed("https://api.example.com/"));
        assert!(!allowed("http://api.example.com/"));
        assert!(!allowed("https://example.com/"));
        assert!(!allowed("/relative"));
    }
}
