//! Entry points for the fuzz targets in `fuzz/`: thin public wrappers of
//! crate-private parsers. Built only with the `fuzzing` feature; not part
//! of the API.

use std::path::Path;

use crate::build::BuildError;

/// A `WWW-Authenticate` challenge as the registry client understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// HTTP basic credentials.
    Basic,
    /// A bearer token from `realm`, for `service`.
    Bearer {
        /// The token service's URL.
        realm: String,
        /// The `service` parameter, if given.
        service: Option<String>,
    },
}

/// The challenge the registry client takes from these `WWW-Authenticate`
/// header values, if any.
pub fn www_authenticate<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    use crate::registry::auth::{self, parse_challenges};
    parse_challenges(headers).map(|challenge| match challenge {
        auth::Challenge::Basic => Challenge::Basic,
        auth::Challenge::Bearer { realm, service } => Challenge::Bearer { realm, service },
    })
}

/// Whether the `.dockerignore` of the build context `dir` hides each of
/// `paths` (context paths, `/`-separated).
pub fn dockerignore(dir: &Path, paths: &[&str]) -> Result<Vec<bool>, BuildError> {
    let context = crate::build::context::Context::open(dir)?;
    Ok(paths.iter().map(|path| context.ignored(path)).collect())
}
