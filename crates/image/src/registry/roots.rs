//! The CA certificates a registry's certificate is checked against.

use std::sync::OnceLock;

use ureq::tls::{Certificate, RootCerts};

/// Mozilla's roots bundled with wharf (`webpki-root-certs`), and the
/// system's store as `rustls-native-certs` finds it: `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` when either is set, else the distribution's bundle
/// (`/etc/ssl/certs` on Debian). A store that cannot be read adds nothing
/// (the bundled roots remain). Read once per process.
pub(crate) fn trusted_roots() -> RootCerts {
    static ROOTS: OnceLock<RootCerts> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()));
            let system = rustls_native_certs::load_native_certs().certs;
            let system = system
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned());
            RootCerts::from(bundled.chain(system).collect::<Vec<_>>())
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_are_always_there() {
        let RootCerts::Specific(roots) = trusted_roots() else {
            panic!("specific roots expected");
        };
        assert!(roots.len() >= webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
    }
}
