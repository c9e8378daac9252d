//! Reading a program, telling modules from components, and getting its
//! compiled code from the cache or Cranelift.

use std::path::Path;

use crate::cache::{ArtifactKind, FileIdentity, sha256_hex};
use crate::config::{Precompiled, ProgramShape, WallScope};
use crate::error::{Error, boxed};
use crate::host::Host;
use crate::memo::Program;

/// Reads, decodes and compiles (or loads from cache) the program at `path`.
pub(crate) fn load(host: &Host, path: &Path) -> Result<Program, Error> {
    load_keyed(host, path).map(|(program, _)| program)
}

/// A program's key in the cache: the sha256 of its binary, and its kind.
pub(crate) type Key = (String, ArtifactKind);

/// [`load`], and the program's key in the cache.
pub(crate) fn load_keyed(host: &Host, path: &Path) -> Result<(Program, Key), Error> {
    let identified = identify(host, path)?;
    let key = identified.key;
    if let Some(program) = ready(host, path, &key) {
        return Ok((program, key));
    }
    let bytes = match identified.binary {
        Some(bytes) => bytes,
        // Known by identity, but its code is gone: read it after all.
        None => read_binary(path)?,
    };
    let program = compile(host, path, &bytes, &key)?;
    if !identified.recorded {
        // A long compile may have let a fresh file settle: record it now,
        // so the next run (the first after a pull, say) need not hash it.
        remember(host, &identified.meta, &key);
    }
    Ok((program, key))
}

/// Whether `path`'s program has code ready in `host` (see
/// [`Host::is_warm`]).
pub(crate) fn is_ready(host: &Host, path: &Path) -> bool {
    identify(host, path).is_ok_and(|identified| {
        let (digest, kind) = &identified.key;
        host.memo().get(digest).is_some()
            || host
                .cache()
                .is_some_and(|cache| cache.entry_path(digest, *kind).is_file())
    })
}

/// A program file, identified.
struct Identified {
    key: Key,
    meta: std::fs::Metadata,
    /// The binary, when it had to be read to be identified.
    binary: Option<Vec<u8>>,
    /// Whether its identity is recorded (in this process or the cache).
    recorded: bool,
}

/// The key of the program at `path`: by its file's identity when this
/// process or the cache saw that very version of it (without reading it;
/// see `cache` for why that is safe), else by reading and hashing it.
fn identify(host: &Host, path: &Path) -> Result<Identified, Error> {
    let read_error = |source| Error::ReadProgram {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if let Some(key) = known(host, &meta) {
        return Ok(Identified {
            key,
            meta,
            binary: None,
            recorded: true,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(read_error)?;
    let bytes = to_binary(path, bytes)?;
    let kind = kind_of(&bytes).ok_or_else(|| Error::NotWasm {
        path: path.to_owned(),
    })?;
    let key = (sha256_hex(&bytes), kind);
    let recorded = remember(host, &meta, &key);
    Ok(Identified {
        key,
        meta,
        binary: Some(bytes),
        recorded,
    })
}

/// The program at `path` as a binary module or component.
fn read_binary(path: &Path) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadProgram {
        path: path.to_owned(),
        source,
    })?;
    to_binary(path, bytes)
}

/// Programs this process identified, by file identity, and whether the
/// file had settled (see `cache`). A settled file's entry holds for any
/// host; an unsettled one's only for a host whose process ends after its
/// one run (the CLI's): such a process reads each program once and runs it
/// as it was then, even if it changes within the same clock tick — so its
/// checks, its precompile and its run hash the program once between them.
static SEEN: std::sync::Mutex<Vec<(FileIdentity, Key, bool)>> = std::sync::Mutex::new(Vec::new());

/// How many identities [`SEEN`] keeps: the most recent.
const SEEN_KEPT: usize = 8;

/// The key of the program file `meta` describes, when this process or the
/// cache saw that very version of it.
fn known(host: &Host, meta: &std::fs::Metadata) -> Option<Key> {
    let identity = FileIdentity::of(meta);
    let seen = SEEN.lock().ok().and_then(|seen| {
        seen.iter()
            .find(|(id, _, settled)| *id == identity && (*settled || host.exit_after_run()))
            .map(|(_, key, _)| key.clone())
    });
    if seen.is_some() {
        return seen;
    }
    let recorded = host.cache()?.known_program(meta)?;
    keep_seen(identity, &recorded, true);
    Some(recorded)
}

fn keep_seen(identity: FileIdentity, key: &Key, settled: bool) {
    if let Ok(mut seen) = SEEN.lock() {
        seen.retain(|(id, _, _)| *id != identity);
        seen.insert(0, (identity, key.clone(), settled));
        seen.truncate(SEEN_KEPT);
    }
}

/// Keeps what identifies the program file `meta` describes (see
/// [`SEEN`]), and records it in the cache once the file settled; whether
/// it did.
fn remember(host: &Host, meta: &std::fs::Metadata, key: &Key) -> bool {
    let identity = FileIdentity::of(meta);
    let settled = identity.is_settled();
    if settled || host.exit_after_run() {
        keep_seen(identity, key, settled);
    }
    if settled && let Some(cache) = host.cache() {
        cache.remember_program(meta, &key.0, key.1);
    }
    settled
}

/// The compiled program for `key` if this host keeps it or the cache has
/// it.
fn ready(host: &Host, path: &Path, (digest, kind): &Key) -> Option<Program> {
    if let Some(program) = host.memo().get(digest) {
        return Some(program);
    }
    let program = load_cached(host, digest, *kind)?;
    tracing::debug!(program = %path.display(), %digest, "compiled code loaded from cache");
    host.memo().keep(digest, &program);
    Some(program)
}

/// Compiles `bytes`, and stores the code in the cache when the host has
/// one (serializing it only then: for a large program that is much work).
fn compile(host: &Host, path: &Path, bytes: &[u8], (digest, kind): &Key) -> Result<Program, Error> {
    tracing::debug!(program = %path.display(), %digest, compiler = host.compiler().name(), "compiling");
    host.count_compilation();
    let invalid = |e| Error::Invalid {
        path: path.to_owned(),
        source: boxed(e),
    };
    let build = || match kind {
        ArtifactKind::Module => wasmtime::Module::new(host.engine(), bytes).map(Program::Module),
        ArtifactKind::Component => {
            wasmtime::component::Component::new(host.engine(), bytes).map(Program::Component)
        }
    };
    let program = match host.wall() {
        WallScope::Thread => build(),
        // A process that is to be walled whole compiles on threads that
        // end with the compile, not on a global pool that lives on.
        WallScope::Process => match rayon::ThreadPoolBuilder::new().build() {
            Ok(pool) => pool.install(build),
            Err(_) => build(),
        },
    }
    .map_err(invalid)?;
    if let Some(cache) = host.cache() {
        let serialized = match &program {
            Program::Module(module) => module.serialize(),
            Program::Component(component) => component.serialize(),
        };
        match serialized.map_err(boxed) {
            Ok(serialized) => {
                if let Err(error) = cache.store(digest, *kind, &serialized) {
                    tracing::warn!(%error, "cannot write compiled code to the cache");
                }
            }
            Err(error) => tracing::warn!(%error, "cannot serialize compiled code"),
        }
    }
    host.memo().keep(digest, &program);
    Ok(program)
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
    let file = host.cache()?.load(digest, kind)?;
    // Mapped through the open file's descriptor: the very file the cache
    // checked, whatever its path names by now.
    let mapped = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file));
    // SAFETY (both loads): the file is what this program serialized with
    // an engine of the same compatibility hash and compiler (the cache
    // directory is keyed by them), sealed once complete; the cache checked
    // that it is ours, closed to others, and that it is the sealed file
    // (see `cache`). Entries are replaced by renames, never written in
    // place, so a mapped file does not change under the code.
    let loaded = unsafe {
        match kind {
            ArtifactKind::Module => {
                wasmtime::Module::deserialize_file(host.engine(), &mapped).map(Program::Module)
            }
            ArtifactKind::Component => {
                wasmtime::component::Component::deserialize_file(host.engine(), &mapped)
                    .map(Program::Component)
            }
        }
    };
    // A cache on a `noexec` mount (wharf-runc's, inside a container) cannot
    // be mapped executable: read the code into memory instead.
    let loaded = loaded.or_else(|mapping| {
        tracing::debug!(%mapping, "cache entry not mapped: reading it");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut bytes)?;
        unsafe {
            match kind {
                ArtifactKind::Module => {
                    wasmtime::Module::deserialize(host.engine(), &bytes).map(Program::Module)
                }
                ArtifactKind::Component => {
                    wasmtime::component::Component::deserialize(host.engine(), &bytes)
                        .map(Program::Component)
                }
            }
        }
    });
    loaded
        .inspect_err(|error| tracing::warn!(%error, "cache entry rejected by Wasmtime"))
        .ok()
}

/// Whether `component` exports an HTTP handler that could be served.
pub(crate) fn is_http_handler(component: &wasmtime::component::Component) -> bool {
    let ty = component.component_type();
    let engine = component.engine();
    ty.exports(engine).any(|(name, _)| {
        name.starts_with("wasi:http/incoming-handler@0.2")
            || name.starts_with("wasi:http/handler@0.3")
    })
}

impl Host {
    /// Compiles the program at `path` into the cache (or finds it there)
    /// without running it, and says what it is: a run of it starts warm.
    pub fn precompile(&self, path: &std::path::Path) -> Result<Precompiled, Error> {
        let (program, (digest, kind)) = load_keyed(self, path)?;
        let shape = match program {
            Program::Component(component) if is_http_handler(&component) => {
                ProgramShape::HttpHandler
            }
            _ => ProgramShape::Command,
        };
        let code = self
            .cache()
            .map(|cache| cache.entry_path(&digest, kind))
            .filter(|entry| entry.is_file());
        let records = match (self.cache(), std::fs::metadata(path)) {
            (Some(cache), Ok(meta)) if code.is_some() => cache
                .records_of(&digest, kind, &meta)
                .into_iter()
                .filter(|record| record.is_file())
                .collect(),
            _ => Vec::new(),
        };
        Ok(Precompiled {
            shape,
            code,
            records,
        })
    }

    /// Whether the program at `path` has compiled code ready: kept by this
    /// host or in its cache. Reads the program only when its file was not
    /// seen before.
    pub fn is_warm(&self, path: &std::path::Path) -> bool {
        is_ready(self, path)
    }
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
