//! On-disk cache of compiled code, keyed by program digest and engine.
//!
//! Loading compiled code runs it without validation, so an entry is only
//! ever loaded when wharf wrote it: the cache directory must belong to the
//! current user and be closed to everyone else, and every entry carries the
//! sha256 of its payload, checked before the payload reaches Wasmtime. An
//! entry that fails any check is deleted and rebuilt.
//!
//! Layout: `<root>/<engine>/<program-sha256>.<kind>` where `<engine>` hashes
//! Wasmtime's compatibility data, and each file is
//! `MAGIC | sha256(payload) | payload`.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"WHARFCC1";
const HEADER_LEN: usize = MAGIC.len() + 32;

/// What kind of compiled artifact an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArtifactKind {
    Module,
    Component,
}

impl ArtifactKind {
    fn extension(self) -> &'static str {
        match self {
            ArtifactKind::Module => "cwasm",
            ArtifactKind::Component => "ccomp",
        }
    }
}

/// The compiled-code cache of one engine configuration.
#[derive(Debug)]
pub(crate) struct CodeCache {
    dir: PathBuf,
}

impl CodeCache {
    /// Opens (creating) the cache under `root` for `engine`. Fails when the
    /// directory cannot be made private to the current user.
    pub(crate) fn open(root: &Path, engine: &wasmtime::Engine) -> io::Result<Self> {
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        let dir = root.join(format!("{:016x}", hasher.finish()));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        for path in [root, dir.as_path()] {
            ensure_private(path)?;
        }
        Ok(CodeCache { dir })
    }

    /// The file an entry lives in (whether or not it exists).
    pub(crate) fn entry_path(&self, digest: &str, kind: ArtifactKind) -> PathBuf {
        self.dir.join(format!("{digest}.{}", kind.extension()))
    }

    /// The verified payload of an entry, or `None` when there is none or it
    /// failed a check (then it is removed).
    pub(crate) fn load(&self, digest: &str, kind: ArtifactKind) -> Option<Vec<u8>> {
        let path = self.entry_path(digest, kind);
        let bytes = match read_own_file(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "discarding unreadable cache entry");
                let _ = fs::remove_file(&path);
                return None;
            }
        };
        match verify(bytes) {
            Some(payload) => Some(payload),
            None => {
                tracing::warn!(path = %path.display(), "discarding corrupt cache entry");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores `payload` atomically: a reader sees the old entry, no entry,
    /// or the whole new one.
    pub(crate) fn store(&self, digest: &str, kind: ArtifactKind, payload: &[u8]) -> io::Result<()> {
        let path = self.entry_path(digest, kind);
        let tmp = self.dir.join(format!(
            ".{digest}.{}.{}.tmp",
            std::process::id(),
            unique_suffix()
        ));
        let result = write_entry(&tmp, payload).and_then(|()| fs::rename(&tmp, &path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

fn write_entry(path: &Path, payload: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(MAGIC)?;
    file.write_all(&Sha256::digest(payload))?;
    file.write_all(payload)
}

/// Reads a file only if it belongs to us and nobody else may write it
/// (and is no symlink).
fn read_own_file(path: &Path) -> io::Result<Vec<u8>> {
    let no_follow = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(no_follow)
        .open(path)?;
    ensure_owned(&file.metadata()?, path)?;
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

/// Splits off and checks the header; the payload if its digest matches.
fn verify(mut bytes: Vec<u8>) -> Option<Vec<u8>> {
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let expected = &bytes[MAGIC.len()..HEADER_LEN];
    if Sha256::digest(&bytes[HEADER_LEN..]).as_slice() != expected {
        return None;
    }
    bytes.drain(..HEADER_LEN);
    Some(bytes)
}

fn ensure_private(dir: &Path) -> io::Result<()> {
    let meta = fs::metadata(dir)?;
    ensure_owned(&meta, dir)?;
    if meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn ensure_owned(meta: &fs::Metadata, path: &Path) -> io::Result<()> {
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not owned by uid {me} or is writable by others",
                path.display()
            ),
        ));
    }
    Ok(())
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// The lowercase hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        use std::fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "wharf-cache-test-{name}-{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn round_trip_and_corruption() {
        let root = temp_dir("rt");
        let engine = wasmtime::Engine::default();
        let cache = CodeCache::open(&root, &engine).expect("open");
        assert!(cache.load("ab", ArtifactKind::Module).is_none());
        cache
            .store("ab", ArtifactKind::Module, b"payload")
            .expect("store");
        assert_eq!(
            cache.load("ab", ArtifactKind::Module).as_deref(),
            Some(&b"payload"[..])
        );
        assert!(cache.load("ab", ArtifactKind::Component).is_none());

        let path = cache.entry_path("ab", ArtifactKind::Module);
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).expect("write");
        assert!(cache.load("ab", ArtifactKind::Module).is_none());
        assert!(!path.exists(), "a corrupt entry is removed");
        fs::remove_dir_all(&root).expect("cleanup");
    }

    #[test]
    fn foreign_writable_entry_is_refused() {
        let root = temp_dir("foreign");
        let engine = wasmtime::Engine::default();
        let cache = CodeCache::open(&root, &engine).expect("open");
        cache
            .store("cd", ArtifactKind::Module, b"x")
            .expect("store");
        let path = cache.entry_path("cd", ArtifactKind::Module);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).expect("chmod");
        assert!(cache.load("cd", ArtifactKind::Module).is_none());
        fs::remove_dir_all(&root).expect("cleanup");
    }

    #[test]
    fn symlinked_entry_is_refused() {
        let root = temp_dir("symlink");
        let engine = wasmtime::Engine::default();
        let cache = CodeCache::open(&root, &engine).expect("open");
        cache
            .store("real", ArtifactKind::Module, b"x")
            .expect("store");
        let link = cache.entry_path("link", ArtifactKind::Module);
        std::os::unix::fs::symlink(cache.entry_path("real", ArtifactKind::Module), &link)
            .expect("symlink");
        assert!(cache.load("link", ArtifactKind::Module).is_none());
        fs::remove_dir_all(&root).expect("cleanup");
    }

    #[test]
    fn sha256_is_hex() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
