//! The network policy: which outgoing HTTP requests and socket connects a
//! guest may make, and where it may listen. Deny by default; one
//! allow-list governs outgoing HTTP and connects, another binds.
//!
//! Rules use Spin's `allowed_outbound_hosts` syntax, `SCHEME://HOST[:PORT]`:
//! - SCHEME is `http`, `https`, `tcp`, `udp` or `*`;
//! - HOST is a name (`example.com`), a name under a domain
//!   (`*.example.com`), an IP address (`127.0.0.1`, `[::1]`) or `*`;
//! - PORT is a number, a range (`8000-8080`) or `*`; left out, it is the
//!   scheme's own (80 for http, 443 for https; tcp and udp need one).
//!
//! The rule parser is ours: URL parsers refuse `*` as a host or port.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// The guest's network allow-list. The default allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    rules: Vec<OutboundRule>,
    listen: Vec<OutboundRule>,
}

/// One allowed destination (see the module docs for the syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRule {
    scheme: Option<String>,
    host: HostPattern,
    ports: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Name(String),
    /// `*.suffix`: any name ending in `.suffix`.
    Subdomain(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortPattern {
    Any,
    Range(u16, u16),
}

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid outbound rule `{rule}`: {reason}")]
pub struct RuleError {
    rule: String,
    reason: &'static str,
}

/// A destination's host, as a guest names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// A DNS name.
    Name(&'a str),
    /// An address.
    Ip(IpAddr),
}

impl NetworkPolicy {
    /// A policy allowing exactly `rules`.
    pub fn new(rules: Vec<OutboundRule>) -> Self {
        NetworkPolicy {
            rules,
            listen: Vec::new(),
        }
    }

    /// This policy, also letting the guest bind sockets (and listen on TCP
    /// ones) at the addresses `rules` name: `tcp://127.0.0.1:*`,
    /// `udp://[::1]:5353`. A host of `*` also allows the unspecified
    /// address (`0.0.0.0`, `::`). Rules come from [`OutboundRule::listen`],
    /// which takes addresses only, never names.
    pub fn with_listen(mut self, rules: Vec<OutboundRule>) -> Self {
        self.listen = rules;
        self
    }

    /// The outgoing rules, in the order given.
    pub fn rules(&self) -> &[OutboundRule] {
        &self.rules
    }

    /// The listen rules, in the order given.
    pub fn listen_rules(&self) -> &[OutboundRule] {
        &self.listen
    }

    /// Whether nothing is allowed.
    pub fn denies_all(&self) -> bool {
        self.rules.is_empty() && self.listen.is_empty()
    }

    /// Whether any rule allows `scheme` at all (so its sockets may exist).
    pub fn allows_scheme(&self, scheme: &str) -> bool {
        self.rules
            .iter()
            .chain(&self.listen)
            .any(|rule| rule.scheme_matches(scheme))
    }

    /// Whether a socket of `scheme` may be bound at `addr`: the implicit
    /// bind of a connect (any address, port 0) whenever the scheme has
    /// sockets at all, or what a listen rule allows.
    pub fn allows_bind(&self, scheme: &str, addr: SocketAddr) -> bool {
        if addr.ip().is_unspecified() && addr.port() == 0 && self.allows_scheme(scheme) {
            return true;
        }
        self.allows_listen(scheme, addr)
    }

    /// Whether any listen rule names `scheme`.
    pub fn listens(&self, scheme: &str) -> bool {
        self.listen.iter().any(|rule| rule.scheme_matches(scheme))
    }

    /// Whether a listen rule allows a socket of `scheme` at `addr`.
    pub fn allows_listen(&self, scheme: &str, addr: SocketAddr) -> bool {
        self.listen.iter().any(|rule| {
            rule.scheme_matches(scheme)
                && rule.port_matches(addr.port())
                && match rule.host {
                    HostPattern::Any => true,
                    HostPattern::Ip(ip) => ip == addr.ip(),
                    _ => false,
                }
        })
    }

    /// Whether any rule names hosts by name or allows any host (so the host
    /// may have names to look up).
    pub fn needs_name_lookup(&self) -> bool {
        self.rules.iter().any(|rule| {
            matches!(
                rule.host,
                HostPattern::Name(_) | HostPattern::Subdomain(_) | HostPattern::Any
            )
        })
    }

    /// Whether the guest may look the name `name` up itself (for its own
    /// sockets): only a name a `tcp`, `udp` or `*` rule names, exactly or
    /// under its `*.DOMAIN`, or any name where such a rule allows any host,
    /// as Spin checks them. A rule naming an address allows no lookup.
    pub fn allows_lookup(&self, name: &str) -> bool {
        parse_ip(name).is_none()
            && self.rules.iter().any(|rule| {
                (rule.scheme_matches("tcp") || rule.scheme_matches("udp"))
                    && !matches!(rule.host, HostPattern::Ip(_))
                    && rule.host_matches(Destination::Name(name))
            })
    }

    /// Whether a connection to `host:port` over `scheme` is allowed.
    pub fn allows(&self, scheme: &str, host: Destination<'_>, port: u16) -> bool {
        self.rules.iter().any(|rule| {
            rule.scheme_matches(scheme) && rule.port_matches(port) && rule.host_matches(host)
        })
    }

    /// Whether a socket connect to (or a datagram to or from) `addr` over
    /// `scheme` is allowed: by a rule naming that address (or any host), or
    /// by a rule naming a host that one of the guest's own allowed lookups
    /// resolved to it (`names`). The host never looks a name up for it.
    pub(crate) fn allows_address(
        &self,
        scheme: &str,
        addr: SocketAddr,
        names: &crate::resolved::ResolvedNames,
    ) -> bool {
        if addr.ip().is_unspecified() {
            return false;
        }
        if self.allows(scheme, Destination::Ip(addr.ip()), addr.port()) {
            return true;
        }
        names
            .names_of(addr.ip())
            .iter()
            .any(|name| self.allows(scheme, Destination::Name(name), addr.port()))
    }
}

/// The TCP ports a policy lets a guest connect to and bind, for a kernel
/// rule that knows ports but not hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TcpPorts {
    pub(crate) connect: Vec<u16>,
    /// Listen ports, and 0 (the implicit bind of a connect).
    pub(crate) bind: Vec<u16>,
}

/// Above this many ports a rule is not spelled out port by port: the
/// kernel rule is left off and the policy alone holds.
const MAX_KERNEL_PORTS: usize = 256;

/// The TCP ports `policy` names (`tcp`, `http`, `https` or any scheme), or
/// `None` when a rule allows any port or too many to list.
pub(crate) fn tcp_ports(policy: &NetworkPolicy) -> Option<TcpPorts> {
    fn ports(rules: &[OutboundRule]) -> Option<Vec<u16>> {
        let mut ports = Vec::new();
        for rule in rules {
            if !["tcp", "http", "https"]
                .iter()
                .any(|s| rule.scheme_matches(s))
            {
                continue;
            }
            let PortPattern::Range(low, high) = rule.ports else {
                return None;
            };
            if ports.len() + usize::from(high - low) >= MAX_KERNEL_PORTS {
                return None;
            }
            ports.extend(low..=high);
        }
        ports.sort_unstable();
        ports.dedup();
        Some(ports)
    }
    let connect = ports(&policy.rules)?;
    let mut bind = ports(&policy.listen)?;
    bind.insert(0, 0);
    bind.dedup();
    Some(TcpPorts { connect, bind })
}

impl OutboundRule {
    /// A rule for where a guest may listen: the outbound syntax, for `tcp`
    /// or `udp` at an address or `*` (a name cannot be bound).
    pub fn listen(text: &str) -> Result<OutboundRule, RuleError> {
        let rule: OutboundRule = text.parse()?;
        let fail = |reason| RuleError {
            rule: text.to_owned(),
            reason,
        };
        if !matches!(rule.scheme.as_deref(), Some("tcp" | "udp")) {
            return Err(fail("a listen rule's scheme is tcp or udp"));
        }
        if !matches!(rule.host, HostPattern::Any | HostPattern::Ip(_)) {
            return Err(fail("a listen rule names an address or *, not a host name"));
        }
        Ok(rule)
    }

    fn scheme_matches(&self, scheme: &str) -> bool {
        self.scheme.as_deref().is_none_or(|s| s == scheme)
    }

    fn port_matches(&self, port: u16) -> bool {
        match self.ports {
            PortPattern::Any => true,
            PortPattern::Range(low, high) => (low..=high).contains(&port),
        }
    }

    fn host_matches(&self, host: Destination<'_>) -> bool {
        match (&self.host, host) {
            (HostPattern::Any, _) => true,
            (HostPattern::Name(rule), Destination::Name(name)) => {
                rule.eq_ignore_ascii_case(name.trim_end_matches('.'))
            }
            (HostPattern::Subdomain(suffix), Destination::Name(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name.strip_suffix(suffix.as_str())
                    .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
            }
            (HostPattern::Ip(rule), Destination::Ip(ip)) => *rule == ip,
            (HostPattern::Ip(rule), Destination::Name(name)) => {
                parse_ip(name).is_some_and(|ip| ip == *rule)
            }
            _ => false,
        }
    }
}

impl FromStr for OutboundRule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Self, RuleError> {
        let fail = |reason| RuleError {
            rule: text.to_owned(),
            reason,
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| fail("expected SCHEME://HOST[:PORT], such as https://example.com"))?;
        let scheme = match scheme {
            "*" => None,
            "http" | "https" | "tcp" | "udp" => Some(scheme.to_owned()),
            _ => return Err(fail("the scheme must be http, https, tcp, udp or *")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(fail("a rule names a host and port, not a path"));
        }
        let (host, port) =
            split_host_port(rest).ok_or_else(|| fail("a bracketed IPv6 address is not closed"))?;
        let host = parse_host(host)
            .ok_or_else(|| fail("the host is not a name, an address, *.DOMAIN or *"))?;
        let ports = match port {
            Some(port) => {
                parse_ports(port).ok_or_else(|| fail("the port must be a number, LOW-HIGH or *"))?
            }
            None => match scheme.as_deref() {
                Some("http") => PortPattern::Range(80, 80),
                Some("https") => PortPattern::Range(443, 443),
                _ => return Err(fail("this scheme needs a port (or :*)")),
            },
        };
        Ok(OutboundRule {
            scheme,
            host,
            ports,
        })
    }
}

impl fmt::Display for OutboundRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_deref().unwrap_or("*"))?;
        match &self.host {
            HostPattern::Any => write!(f, "*")?,
            HostPattern::Name(name) => write!(f, "{name}")?,
            HostPattern::Subdomain(suffix) => write!(f, "*.{suffix}")?,
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            HostPattern::Ip(ip) => write!(f, "{ip}")?,
        }
        match self.ports {
            PortPattern::Any => write!(f, ":*"),
            PortPattern::Range(low, high) if low == high => write!(f, ":{low}"),
            PortPattern::Range(low, high) => write!(f, ":{low}-{high}"),
        }
    }
}

/// `host[:port]`, `[v6][:port]`; `None` for an unclosed bracket.
fn split_host_port(text: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')));
    }
    Some(match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (text, None),
    })
}

fn parse_host(host: &str) -> Option<HostPattern> {
    if host == "*" {
        return Some(HostPattern::Any);
    }
    if let Some(ip) = parse_ip(host) {
        return Some(HostPattern::Ip(ip));
    }
    let (pattern, name): (fn(String) -> HostPattern, &str) = match host.strip_prefix("*.") {
        Some(suffix) => (HostPattern::Subdomain, suffix),
        None => (HostPattern::Name, host),
    };
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    valid.then(|| pattern(name.to_ascii_lowercase()))
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    text.parse().ok()
}

fn parse_ports(text: &str) -> Option<PortPattern> {
    if text == "*" {
        return Some(PortPattern::Any);
    }
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let (low, high): (u16, u16) = (low.parse().ok()?, high.parse().ok()?);
    (low <= high).then_some(PortPattern::Range(low, high))
}

#[cfg(test)]
#[path = "network_tests.rs"]
mod tests;
