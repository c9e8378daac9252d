//! Name lookups a guest may make (`wasi:sockets/ip-name-lookup`, 0.2 and
//! 0.3, linked in place of WASI's own): only names its network policy's
//! socket rules name (see [`NetworkPolicy::allows_lookup`]); any other is
//! refused with `access-denied` before the host's resolver hears of it.
//! The addresses an allowed lookup returns are kept ([`ResolvedNames`]):
//! connects and datagrams are checked against them, so the host never
//! looks a name up on a guest's (or a peer's) behalf.

use std::net::IpAddr;

use wasmtime::component::{Accessor, HasData, Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::{ip_name_lookup as lookup2, network as network2};
use wasmtime_wasi::p3::bindings::sockets::{ip_name_lookup as lookup3, types as types3};
use wasmtime_wasi::sockets::WasiSocketsCtxView;

use crate::network::NetworkPolicy;
use crate::resolved::ResolvedNames;

/// The name a guest asked for, as WASI resolves it (IDNA, lowercase), or
/// `None` for an address (nothing to look up) or no valid name.
fn domain_of(name: &str) -> Option<String> {
    match url::Host::parse(name) {
        Ok(url::Host::Domain(domain)) => Some(domain),
        _ => None,
    }
}

/// What the shadowing interfaces see of a store: WASI's sockets, the
/// policy and the addresses resolved so far.
pub(crate) struct PolicedView<'a> {
    pub(crate) sockets: WasiSocketsCtxView<'a>,
    pub(crate) policy: &'a NetworkPolicy,
    pub(crate) names: &'a ResolvedNames,
}

/// The [`HasData`] of the shadowing interfaces.
pub(crate) struct Policed;

impl HasData for Policed {
    type Data<'a> = PolicedView<'a>;
}

/// Links the policed `ip-name-lookup` of 0.2 and 0.3 over WASI's, which
/// `linker` must have already.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> PolicedView<'_>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let linked = lookup2::add_to_linker::<T, Policed>(linker, view)
        .and_then(|()| lookup3::add_to_linker::<T, Policed>(linker, view));
    linker.allow_shadowing(false);
    linked
}

impl lookup2::Host for PolicedView<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<network2::Network>,
        name: String,
    ) -> wasmtime_wasi::p2::SocketResult<Resource<lookup2::ResolveAddressStream>> {
        let domain = domain_of(&name);
        if let Some(domain) = &domain
            && !self.policy.allows_lookup(domain)
        {
            tracing::info!(name = %domain, "name lookup denied by the network policy");
            return Err(network2::ErrorCode::AccessDenied.into());
        }
        let stream = lookup2::Host::resolve_addresses(&mut self.sockets, network, name)?;
        if let Some(domain) = domain {
            let mut pending = self.names.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.insert(stream.rep(), domain);
        }
        Ok(stream)
    }
}

impl lookup2::HostResolveAddressStream for PolicedView<'_> {
    fn resolve_next_address(
        &mut self,
        stream: Resource<lookup2::ResolveAddressStream>,
    ) -> wasmtime_wasi::p2::SocketResult<Option<network2::IpAddress>> {
        let rep = stream.rep();
        let next =
            lookup2::HostResolveAddressStream::resolve_next_address(&mut self.sockets, stream)?;
        if let Some(address) = &next {
            let pending = self.names.pending.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(name) = pending.get(&rep) {
                self.names.record(name, &[ip_of(*address)]);
            }
        }
        Ok(next)
    }

    fn subscribe(
        &mut self,
        stream: Resource<lookup2::ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<wasmtime_wasi::p2::DynPollable>> {
        lookup2::HostResolveAddressStream::subscribe(&mut self.sockets, stream)
    }

    fn drop(&mut self, stream: Resource<lookup2::ResolveAddressStream>) -> wasmtime::Result<()> {
        let mut pending = self.names.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.remove(&stream.rep());
        drop(pending);
        lookup2::HostResolveAddressStream::drop(&mut self.sockets, stream)
    }
}

impl network2::Host for PolicedView<'_> {
    fn convert_error_code(
        &mut self,
        error: wasmtime_wasi::p2::SocketError,
    ) -> wasmtime::Result<network2::ErrorCode> {
        network2::Host::convert_error_code(&mut self.sockets, error)
    }

    fn network_error_code(
        &mut self,
        error: Resource<wasmtime_wasi::p2::bindings::io::error::Error>,
    ) -> wasmtime::Result<Option<network2::ErrorCode>> {
        network2::Host::network_error_code(&mut self.sockets, error)
    }
}

impl network2::HostNetwork for PolicedView<'_> {
    fn drop(&mut self, network: Resource<network2::Network>) -> wasmtime::Result<()> {
        network2::HostNetwork::drop(&mut self.sockets, network)
    }
}

impl lookup3::Host for PolicedView<'_> {}

impl<U: 'static> lookup3::HostWithStore<U> for Policed {
    async fn resolve_addresses(
        store: &Accessor<U, Self>,
        name: String,
    ) -> wasmtime::Result<Result<Vec<types3::IpAddress>, lookup3::ErrorCode>> {
        let Some(domain) = domain_of(&name) else {
            // An address resolves to itself; anything else is no name.
            return Ok(match name.trim_matches(['[', ']']).parse::<IpAddr>() {
                Ok(address) => Ok(vec![address.into()]),
                Err(_) => Err(lookup3::ErrorCode::InvalidArgument),
            });
        };
        if !store.with(|mut access| access.get().policy.allows_lookup(&domain)) {
            tracing::info!(name = %domain, "name lookup denied by the network policy");
            return Ok(Err(lookup3::ErrorCode::AccessDenied));
        }
        let found = match tokio::net::lookup_host((domain.as_str(), 0)).await {
            Ok(found) => found.map(|at| at.ip().to_canonical()).collect::<Vec<_>>(),
            Err(error) => {
                tracing::debug!(name = %domain, %error, "name lookup failed");
                return Ok(Err(lookup3::ErrorCode::NameUnresolvable));
            }
        };
        store.with(|mut access| access.get().names.record(&domain, &found));
        Ok(Ok(found.into_iter().map(Into::into).collect()))
    }
}

/// A 0.2 address as the standard library's.
fn ip_of(address: network2::IpAddress) -> IpAddr {
    match address {
        network2::IpAddress::Ipv4((a, b, c, d)) => IpAddr::from([a, b, c, d]),
        network2::IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::from([a, b, c, d, e, f, g, h])
        }
    }
}
