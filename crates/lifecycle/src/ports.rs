//! Published ports: `-p [IP:]HOSTPORT:CONTAINERPORT[/tcp]`, as Docker
//! writes them.
//!
//! wharf has no network namespace of its own in the CLI: the listener is
//! the host address itself, and the container port is the service's
//! nominal port (what the image exposes, [`DEFAULT_SERVICE_PORT`] when it
//! says nothing). The host address defaults to loopback, not to every
//! interface as Docker's does: a service is reachable from elsewhere only
//! when asked for (`-p 0.0.0.0:8080:8080`).
//!
//! The parser is ours: Docker's `-p` syntax has no crate of its own.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The port a service is taken to listen on when its image exposes none.
pub const DEFAULT_SERVICE_PORT: u16 = 8080;

/// One published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    /// The host address to listen on.
    pub host_ip: IpAddr,
    /// The host port; 0 picks a free one.
    pub host_port: u16,
    /// The service's port it stands for.
    pub container_port: u16,
}

/// Why a `-p` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid published port `{text}`: {reason} (expected [IP:]HOSTPORT:CONTAINERPORT[/tcp])")]
pub struct PortError {
    text: String,
    reason: &'static str,
}

impl PortBinding {
    /// The address to bind.
    pub fn host_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host_ip, self.host_port)
    }

    /// The binding once its listener is bound at `bound` (host port 0
    /// resolved to the one picked).
    pub fn bound_at(self, bound: SocketAddr) -> PortBinding {
        PortBinding {
            host_port: bound.port(),
            ..self
        }
    }
}

impl FromStr for PortBinding {
    type Err = PortError;

    fn from_str(text: &str) -> Result<Self, PortError> {
        let fail = |reason| PortError {
            text: text.to_owned(),
            reason,
        };
        let ports = match text.rsplit_once('/') {
            Some((ports, "tcp")) => ports,
            Some(_) => return Err(fail("only tcp is served")),
            None => text,
        };
        let (host, container) = ports
            .rsplit_once(':')
            .ok_or_else(|| fail("give both the host port and the container port"))?;
        let container_port = parse_port(container)
            .filter(|port| *port != 0)
            .ok_or_else(|| fail("the container port must be 1 to 65535"))?;
        let (host_ip, host_port) = match host.rsplit_once(':') {
            Some((ip, port)) => {
                let ip = ip
                    .strip_prefix('[')
                    .and_then(|ip| ip.strip_suffix(']'))
                    .unwrap_or(ip);
                let ip = ip
                    .parse()
                    .map_err(|_| fail("the host address is not an IP address"))?;
                (ip, port)
            }
            None => (IpAddr::V4(Ipv4Addr::LOCALHOST), host),
        };
        let host_port = if host_port.is_empty() {
            0
        } else {
            parse_port(host_port).ok_or_else(|| fail("the host port must be 0 to 65535"))?
        };
        Ok(PortBinding {
            host_ip,
            host_port,
            container_port,
        })
    }
}

impl fmt::Display for PortBinding {
    /// Docker's `ps` form: `127.0.0.1:8080->8080/tcp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}/tcp", self.host_addr(), self.container_port)
    }
}

fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(text: &str) -> PortBinding {
        text.parse().expect(text)
    }

    #[test]
    fn dockers_forms_parse() {
        assert_eq!(binding("8080:80").to_string(), "127.0.0.1:8080->80/tcp");
        assert_eq!(
            binding("0.0.0.0:9000:8080/tcp").to_string(),
            "0.0.0.0:9000->8080/tcp"
        );
        assert_eq!(binding("[::1]:0:8080").to_string(), "[::1]:0->8080/tcp");
        assert_eq!(binding("127.0.0.1::8080").host_port, 0);
        assert_eq!(binding("0:8080").host_port, 0);
    }

    #[test]
    fn malformed_bindings_are_refused() {
        for text in [
            "8080",
            "x:80",
            "80:x",
            "80:0",
            "99999:80",
            "80:80/udp",
            "1.2.3:80:80",
            "+1:80",
            ":",
        ] {
            assert!(text.parse::<PortBinding>().is_err(), "{text}");
        }
    }
}
