//! On-disk cache of compiled code, keyed by program digest and engine, and
//! the records that find a program's digest without reading the program.
//!
//! Loading compiled code runs it without validation, so an entry is only
//! ever loaded when wharf wrote it: the cache directory must belong to the
//! current user and be closed to everyone else, each entry too, and each
//! entry has a seal written beside it once it is complete.
//!
//! Layout, under `<root>/<engine>/` (`<engine>` hashes Wasmtime's
//! compatibility data and the compiler):
//! - `<digest>.<kind>`: Wasmtime's serialized code as it is, so a load
//!   maps it (pages come in as they run) instead of reading it all;
//! - `<digest>.<kind>.seal`: the sha256 of the entry and the identity of
//!   the file that holds it (see [`FileIdentity`]);
//! - `files/<dev>-<inode>`: for a program file run before, its identity and
//!   its digest.
//!
//! Why a warm start need not hash anything. A seal is written after its
//! entry is complete and renamed into place, and names the entry's inode,
//! size, mtime and ctime. Writing the entry's bytes changes its mtime and
//! ctime, and nobody can set a ctime back: so while the entry's identity is
//! the sealed one, its bytes are the sealed bytes. Only the owner (or root)
//! can write either file — and could as well write the seal — so hashing
//! would add no guarantee against them, only against the disk; the
//! identity check keeps what the hash gave against torn or interrupted
//! writes, which never leave a seal. When the identity differs (the cache
//! was copied, restored, or touched), the entry is hashed against its
//! seal's digest once, and sealed again.
//!
//! The same holds for program files: a record maps a file's identity to the
//! digest it had. A file changed since has another ctime, so it is hashed
//! again. Only files whose ctime is a few seconds old are recorded: a
//! change within the same tick of the file system's clock could leave size,
//! mtime and ctime alike (git's "racily clean" files).

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

const SEAL_MAGIC: &str = "WHARFSEAL1";
const RECORD_MAGIC: &str = "WHARFFILE1";
/// How old a program file's ctime must be before its identity is recorded.
const SETTLED: Duration = Duration::from_secs(2);

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

    fn from_extension(text: &str) -> Option<Self> {
        [ArtifactKind::Module, ArtifactKind::Component]
            .into_iter()
            .find(|kind| kind.extension() == text)
    }
}

/// What tells one version of a file from another without reading it:
/// device, inode, size, and modification and change times (nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i128,
    ctime: i128,
}

impl FileIdentity {
    pub(crate) fn of(meta: &fs::Metadata) -> Self {
        let nanos = |secs: i64, nsecs: i64| i128::from(secs) * 1_000_000_000 + i128::from(nsecs);
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: nanos(meta.mtime(), meta.mtime_nsec()),
            ctime: nanos(meta.ctime(), meta.ctime_nsec()),
        }
    }

    fn to_words(self) -> String {
        format!(
            "{} {} {} {} {}",
            self.dev, self.ino, self.size, self.mtime, self.ctime
        )
    }

    fn from_words<'a>(words: &mut impl Iterator<Item = &'a str>) -> Option<Self> {
        Some(FileIdentity {
            dev: words.next()?.parse().ok()?,
            ino: words.next()?.parse().ok()?,
            size: words.next()?.parse().ok()?,
            mtime: words.next()?.parse().ok()?,
            ctime: words.next()?.parse().ok()?,
        })
    }

    /// Whether the file's last change is old enough that a change from now
    /// on would show in its ctime.
    pub(crate) fn is_settled(self) -> bool {
        self.settled(SystemTime::now())
    }

    /// Whether the file's last change is old enough, at `now`, that a
    /// change from now on would show in its ctime (see the module docs).
    fn settled(self, now: SystemTime) -> bool {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        self.ctime + SETTLED.as_nanos() as i128 <= now
    }
}

/// The compiled-code cache of one engine configuration.
#[derive(Debug)]
pub(crate) struct CodeCache {
    dir: PathBuf,
}

impl CodeCache {
    /// Opens (creating) the cache under `root` for `engine` and its
    /// `compiler`. Fails when the directory cannot be made private to the
    /// current user.
    pub(crate) fn open(root: &Path, engine: &wasmtime::Engine, compiler: &str) -> io::Result<Self> {
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        compiler.hash(&mut hasher);
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

    /// The directory of this engine's entries.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file an entry lives in (whether or not it exists).
    pub(crate) fn entry_path(&self, digest: &str, kind: ArtifactKind) -> PathBuf {
        self.dir.join(format!("{digest}.{}", kind.extension()))
    }

    /// The seal of an entry and the identity record of the program file
    /// `meta` describes (whether or not they exist).
    pub(crate) fn records_of(
        &self,
        digest: &str,
        kind: ArtifactKind,
        meta: &fs::Metadata,
    ) -> [PathBuf; 2] {
        [
            self.seal_path(digest, kind),
            self.record_path(FileIdentity::of(meta)),
        ]
    }

    fn seal_path(&self, digest: &str, kind: ArtifactKind) -> PathBuf {
        self.dir.join(format!("{digest}.{}.seal", kind.extension()))
    }

    fn record_path(&self, identity: FileIdentity) -> PathBuf {
        self.dir
            .join("files")
            .join(format!("{:x}-{:x}", identity.dev, identity.ino))
    }

    /// The entry's file, open, once it passed its checks; `None` when there
    /// is none or it failed one (then it is removed).
    pub(crate) fn load(&self, digest: &str, kind: ArtifactKind) -> Option<fs::File> {
        let path = self.entry_path(digest, kind);
        let discard = |why: &dyn std::fmt::Display| {
            tracing::warn!(path = %path.display(), "discarding cache entry: {why}");
            let _ = fs::remove_file(&path);
            let _ = fs::remove_file(self.seal_path(digest, kind));
        };
        let (file, meta) = match open_own_file(&path) {
            Ok(opened) => opened,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                discard(&error);
                return None;
            }
        };
        let Some((sealed_digest, sealed)) = self.read_seal(digest, kind) else {
            discard(&"it has no valid seal");
            return None;
        };
        let identity = FileIdentity::of(&meta);
        if identity == sealed {
            return Some(file);
        }
        let hashed = hash_file(&file).and_then(|digest| {
            io::Seek::rewind(&mut &file)?;
            Ok(digest)
        });
        match hashed {
            Ok(actual) if actual == sealed_digest => {
                tracing::debug!(path = %path.display(), "cache entry moved or touched: sealed again");
                let _ = self.write_seal(digest, kind, &actual, identity);
                Some(file)
            }
            Ok(_) => {
                discard(&"its content does not match its seal");
                None
            }
            Err(error) => {
                discard(&error);
                None
            }
        }
    }

    /// Stores `payload` atomically, then seals it: a reader sees the old
    /// entry, no entry, or the whole new one, and loads it only sealed.
    pub(crate) fn store(&self, digest: &str, kind: ArtifactKind, payload: &[u8]) -> io::Result<()> {
        let path = self.entry_path(digest, kind);
        let tmp = self.temp_path(digest);
        let written = write_private(&tmp, payload).and_then(|file| {
            fs::rename(&tmp, &path)?;
            // The rename changed the ctime: the identity is the file's now.
            Ok(FileIdentity::of(&file.metadata()?))
        });
        let identity = match written {
            Ok(identity) => identity,
            Err(error) => {
                let _ = fs::remove_file(&tmp);
                return Err(error);
            }
        };
        self.write_seal(digest, kind, &sha256_hex(payload), identity)
    }

    /// The digest and kind recorded for the program file `meta` describes,
    /// if that very version of it was seen before.
    pub(crate) fn known_program(&self, meta: &fs::Metadata) -> Option<(String, ArtifactKind)> {
        let identity = FileIdentity::of(meta);
        let text = read_own_small_file(&self.record_path(identity)).ok()?;
        let mut words = text.split_ascii_whitespace();
        if words.next()? != RECORD_MAGIC || FileIdentity::from_words(&mut words)? != identity {
            return None;
        }
        let kind = ArtifactKind::from_extension(words.next()?)?;
        let digest = words.next()?;
        is_sha256_hex(digest).then(|| (digest.to_owned(), kind))
    }

    /// Records that the program file `meta` describes has `digest`, when
    /// its last change is old enough to be told from the next one.
    pub(crate) fn remember_program(&self, meta: &fs::Metadata, digest: &str, kind: ArtifactKind) {
        self.remember_program_at(meta, digest, kind, SystemTime::now());
    }

    fn remember_program_at(
        &self,
        meta: &fs::Metadata,
        digest: &str,
        kind: ArtifactKind,
        now: SystemTime,
    ) {
        let identity = FileIdentity::of(meta);
        if !identity.settled(now) || self.known_program(meta).is_some() {
            return;
        }
        let text = format!(
            "{RECORD_MAGIC} {} {} {digest}\n",
            identity.to_words(),
            kind.extension()
        );
        let path = self.record_path(identity);
        let written = fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(self.dir.join("files"))
            .and_then(|()| self.replace_with(&path, text.as_bytes()));
        if let Err(error) = written {
            tracing::debug!(%error, "cannot record the program file's identity");
        }
    }

    fn read_seal(&self, digest: &str, kind: ArtifactKind) -> Option<(String, FileIdentity)> {
        let text = read_own_small_file(&self.seal_path(digest, kind)).ok()?;
        let mut words = text.split_ascii_whitespace();
        if words.next()? != SEAL_MAGIC {
            return None;
        }
        let sealed_digest = words.next().filter(|d| is_sha256_hex(d))?.to_owned();
        Some((sealed_digest, FileIdentity::from_words(&mut words)?))
    }

    fn write_seal(
        &self,
        digest: &str,
        kind: ArtifactKind,
        content_digest: &str,
        identity: FileIdentity,
    ) -> io::Result<()> {
        let text = format!("{SEAL_MAGIC} {content_digest} {}\n", identity.to_words());
        self.replace_with(&self.seal_path(digest, kind), text.as_bytes())
    }

    /// Writes `path` atomically (a private temporary file, renamed).
    fn replace_with(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.temp_path("small");
        let result = write_private(&tmp, bytes).and_then(|_| fs::rename(&tmp, path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn temp_path(&self, stem: &str) -> PathBuf {
        self.dir.join(format!(
            ".{stem}.{}.{}.tmp",
            std::process::id(),
            unique_suffix()
        ))
    }
}

/// Creates `path` (which must not exist), private to the user, holding
/// `bytes`; returns it open.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<fs::File> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    Ok(file)
}

/// Opens a file only if it belongs to us and nobody else may write it
/// (and is no symlink).
fn open_own_file(path: &Path) -> io::Result<(fs::File, fs::Metadata)> {
    let no_follow = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(no_follow)
        .open(path)?;
    let meta = file.metadata()?;
    ensure_owned(&meta, path)?;
    Ok((file, meta))
}

/// A seal or record: one of our own files, and small.
fn read_own_small_file(path: &Path) -> io::Result<String> {
    const LIMIT: u64 = 4096;
    let (file, _) = open_own_file(path)?;
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(file, LIMIT), &mut text)?;
    Ok(text)
}

fn hash_file(file: &fs::File) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut reader = io::BufReader::with_capacity(1 << 20, file);
    io::copy(&mut reader, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
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
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The lowercase hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        use std::fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
