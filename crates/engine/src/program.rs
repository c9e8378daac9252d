//! Reading a program, telling modules from components, and getting its
//! compiled code from the cache or Cranelift.

use std::path::Path;

use crate::cache::{ArtifactKind, sha256_hex};
use crate::error::{Error, boxed};
use crate::host::Host;

/// A compiled program, ready to instantiate (a clone shares the code).
#[derive(Clone)]
pub(crate) enum Program {
    Module(wasmtime::Module),
    Component(wasmtime::component::Component),
}

/// Reads, decodes and compiles (or loads from cache) the program at `path`.
pub(crate) fn load(host: &Host, path: &Path) -> Result<Program, Error> {
    load_keyed(host, path).map(|(program, _)| program)
}

/// [`load`], and the program's key in the cache: its digest and kind.
pub(crate) fn load_keyed(
    host: &Host,
    path: &Path,
) -> Result<(Program, (String, ArtifactKind)), Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadProgram {
        path: path.to_owned(),
        source,
    })?;
    let bytes = to_binary(path, bytes)?;
    let kind = kind_of(&bytes).ok_or_else(|| Error::NotWasm {
        path: path.to_owned(),
    })?;
    let digest = sha256_hex(&bytes);
    if let Some(program) = host.memo().get(&digest) {
        return Ok((program, (digest, kind)));
    }
    if let Some(program) = load_cached(host, &digest, kind) {
        tracing::debug!(program = %path.display(), %digest, "compiled code loaded from cache");
        host.memo().keep(&digest, &program);
        return Ok((program, (digest, kind)));
    }
    tracing::debug!(program = %path.display(), %digest, "compiling");
    host.count_compilation();
    let invalid = |e| Error::Invalid {
        path: path.to_owned(),
        source: boxed(e),
    };
    let (program, serialized) = match kind {
        ArtifactKind::Module => {
            let module = wasmtime::Module::new(host.engine(), &bytes).map_err(invalid)?;
            let serialized = module.serialize();
            (Program::Module(module), serialized)
        }
        ArtifactKind::Component => {
            let component =
                wasmtime::component::Component::new(host.engine(), &bytes).map_err(invalid)?;
            let serialized = component.serialize();
            (Program::Component(component), serialized)
        }
    };
    if let Some(cache) = host.cache() {
        match serialized.map_err(boxed) {
            Ok(serialized) => {
                if let Err(error) = cache.store(&digest, kind, &serialized) {
                    tracing::warn!(%error, "cannot write compiled code to the cache");
                }
            }
            Err(error) => tracing::warn!(%error, "cannot serialize compiled code"),
        }
    }
    host.memo().keep(&digest, &program);
    Ok((program, (digest, kind)))
}

/// Binary programs pass through; text (a `.wat` file, or one that starts
/// like WebAssembly text) is assembled.
fn to_binary(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    let is_wat = path.extension().is_some_and(|ext| ext == "wat") || looks_like_text(&bytes);
    if !is_wat {
        return Err(Error::NotWasm {
            path: path.to_owned(),
        });
    }
    wat::parse_bytes(&bytes)
        .map(|binary| binary.into_owned())
        .map_err(|mut source| {
            source.set_path(path);
            Error::ParseText {
                path: path.to_owned(),
                source,
            }
        })
}

/// Whether the first non-blank byte opens an s-expression or a comment.
fn looks_like_text(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'(' | b';'))
}

/// Module or component, from the header's layer field.
fn kind_of(bytes: &[u8]) -> Option<ArtifactKind> {
    match bytes.get(..8)? {
        [0, b'a', b's', b'm', _, _, 0, 0] => Some(ArtifactKind::Module),
        [0, b'a', b's', b'm', _, _, 1, 0] => Some(ArtifactKind::Component),
        _ => None,
    }
}

fn load_cached(host: &Host, digest: &str, kind: ArtifactKind) -> Option<Program> {
    let payload = host.cache()?.load(digest, kind)?;
    // SAFETY: the payload is what this program serialized with an engine of
    // the same compatibility hash (the cache directory is keyed by it); the
    // cache checked that the file is ours, closed to others, and that its
    // sha256 matches the digest written beside it.
    let loaded = unsafe {
        match kind {
            ArtifactKind::Module => {
                wasmtime::Module::deserialize(host.engine(), &payload).map(Program::Module)
            }
            ArtifactKind::Component => {
                wasmtime::component::Component::deserialize(host.engine(), &payload)
                    .map(Program::Component)
            }
        }
    };
    loaded
        .inspect_err(|error| tracing::warn!(%error, "cache entry rejected by Wasmtime"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_header() {
        assert_eq!(kind_of(b"\0asm\x01\0\0\0"), Some(ArtifactKind::Module));
        assert_eq!(kind_of(b"\0asm\x0d\0\x01\0"), Some(ArtifactKind::Component));
        assert_eq!(kind_of(b"\0asm\x01\0"), None);
        assert_eq!(kind_of(b"\x7fELF\x02\x01\x01\0"), None);
    }

    #[test]
    fn binary_garbage_is_not_text() {
        let error = to_binary(Path::new("x.wasm"), vec![0xff, 0xfe, 0x00]).expect_err("rejected");
        assert!(matches!(error, Error::NotWasm { .. }));
        let error =
            to_binary(Path::new("x.wasm"), b"\x7fELF\x02\x01".to_vec()).expect_err("rejected");
        assert!(matches!(error, Error::NotWasm { .. }));
        assert!(to_binary(Path::new("x"), b" (module)".to_vec()).is_ok());
    }
}
