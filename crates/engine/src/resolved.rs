//! The addresses a guest's allowed name lookups returned: its connects and
//! datagrams are checked against them ([`crate::network`]), and only
//! [`crate::names`] adds to them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// How many addresses one guest's lookups may leave allowed.
const MAX_ADDRESSES: usize = 4096;

/// The addresses the guest's allowed lookups returned, each with the names
/// that gave it; and the names of 0.2 lookups still being read.
#[derive(Debug, Default)]
pub(crate) struct ResolvedNames {
    addresses: Mutex<HashMap<IpAddr, Vec<String>>>,
    pub(crate) pending: Mutex<HashMap<u32, String>>,
}

impl ResolvedNames {
    /// Keeps that `name` resolved to `addresses` (up to [`MAX_ADDRESSES`]).
    pub(crate) fn record(&self, name: &str, addresses: &[IpAddr]) {
        let mut known = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        for address in addresses.iter().map(IpAddr::to_canonical) {
            // Past the cap, only addresses already kept gain a name.
            if known.len() >= MAX_ADDRESSES && !known.contains_key(&address) {
                continue;
            }
            let names = known.entry(address).or_default();
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }

    /// The names that resolved to `address`.
    pub(crate) fn names_of(&self, address: IpAddr) -> Vec<String> {
        let known = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(&address.to_canonical())
            .cloned()
            .unwrap_or_default()
    }
}
