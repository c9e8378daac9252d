//! Content-addressed blobs in an OCI image layout: `blobs/sha256/<hex>`.
//!
//! A blob only ever appears under its name complete and verified: bytes
//! stream into `ingest/`, are hashed and counted on the way, and are renamed
//! into place only when digest and size match what was expected. A writer
//! killed half-way leaves an ingest file, never a wrong blob; the next
//! `BlobStore::open` removes ingest files whose writer is gone.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;

const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_CONTENT: &str = "{\"imageLayoutVersion\":\"1.0.0\"}";
const INGEST_SUFFIX: &str = ".part";

/// Why a blob could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The file system refused.
    #[error("{}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The content does not hash to the digest it was sent or stored as.
    #[error("blob content is {actual}, not the expected {expected}")]
    DigestMismatch {
        /// The digest the content was supposed to have.
        expected: Digest,
        /// The digest it has.
        actual: Digest,
    },
    /// The content is not as long as announced.
    #[error("blob {digest} is {actual} bytes, not the announced {expected}")]
    SizeMismatch {
        /// The blob.
        digest: Digest,
        /// The announced size.
        expected: u64,
        /// The size received.
        actual: u64,
    },
    /// The content went past the size limit; reading stopped there.
    #[error("blob {digest} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The blob.
        digest: Digest,
        /// The limit.
        limit: u64,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> BlobError + '_ {
    move |source| BlobError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a write must match.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The content's digest.
    pub digest: Digest,
    /// The content's size, when announced (a manifest always does).
    pub size: Option<u64>,
    /// Bytes to read at most before giving up.
    pub limit: u64,
}

/// The blob directory of one OCI image layout.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens (creating) the layout at `root` and clears ingest files left
    /// by writers that no longer run.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let store = BlobStore { root: root.into() };
        for dir in [store.blob_dir(), store.ingest_dir()] {
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        }
        let layout = store.root.join(LAYOUT_FILE);
        if !layout.exists() {
            write_atomically(&layout, LAYOUT_CONTENT.as_bytes())?;
        }
        store.clear_abandoned_ingests()?;
        Ok(store)
    }

    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }

    fn ingest_dir(&self) -> PathBuf {
        self.root.join("ingest")
    }

    /// Where the blob lives (whether or not it is there).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.blob_dir().join(digest.hex())
    }

    /// Whether the blob is stored.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// Stores content the caller made itself; returns its digest.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest, BlobError> {
        let digest = Digest::of(bytes);
        if !self.contains(&digest) {
            self.write(
                &Expected {
                    digest: digest.clone(),
                    size: Some(bytes.len() as u64),
                    limit: bytes.len() as u64,
                },
                bytes,
            )?;
        }
        Ok(digest)
    }

    /// Streams content from outside into the store, checking it against
    /// `expected` on the way; returns the size. Nothing is stored unless
    /// every check passes.
    pub fn write(&self, expected: &Expected, mut content: impl Read) -> Result<u64, BlobError> {
        let ingest = self.ingest_dir().join(format!(
            "{}.{}.{}{INGEST_SUFFIX}",
            expected.digest.hex(),
            std::process::id(),
            unique_suffix()
        ));
        let result = (|| {
            let mut file = fs::File::create(&ingest).map_err(io_error(&ingest))?;
            let (actual, size) = copy_hashing(&mut content, &mut file, expected)?;
            if actual != expected.digest {
                return Err(BlobError::DigestMismatch {
                    expected: expected.digest.clone(),
                    actual,
                });
            }
            file.sync_all().map_err(io_error(&ingest))?;
            let target = self.path(&expected.digest);
            fs::rename(&ingest, &target).map_err(io_error(&target))?;
            Ok(size)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&ingest);
        }
        result
    }

    /// Stores content whose digest nobody announced (an archive being
    /// loaded, a layer being built); returns its digest and size. Reads at
    /// most `limit` bytes.
    pub fn ingest(&self, mut content: impl Read, limit: u64) -> Result<(Digest, u64), BlobError> {
        let ingest = self.ingest_dir().join(format!(
            "unknown.{}.{}{INGEST_SUFFIX}",
            std::process::id(),
            unique_suffix()
        ));
        let result = (|| {
            let mut file = fs::File::create(&ingest).map_err(io_error(&ingest))?;
            let placeholder = Expected {
                digest: Digest::of(b""),
                size: None,
                limit,
            };
            let (digest, size) = copy_hashing(&mut content, &mut file, &placeholder)?;
            file.sync_all().map_err(io_error(&ingest))?;
            let target = self.path(&digest);
            fs::rename(&ingest, &target).map_err(io_error(&target))?;
            Ok((digest, size))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&ingest);
        }
        result
    }

    /// Opens a stored blob for streaming. The caller hashes what it reads
    /// if it needs the check (`read` does it for small blobs).
    pub fn open_blob(&self, digest: &Digest) -> Result<fs::File, BlobError> {
        let path = self.path(digest);
        fs::File::open(&path).map_err(io_error(&path))
    }

    /// The layout's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads a stored document — a manifest, index or config — checking
    /// that it still hashes to its name. Documents are small: one larger
    /// than the largest a registry may send (4 MiB) is refused before it is
    /// read, whatever an archive or a descriptor claims.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, BlobError> {
        let limit =
            crate::manifest::MAX_MANIFEST_SIZE.max(crate::manifest::MAX_CONFIG_SIZE as usize);
        self.read_at_most(digest, limit as u64)
    }

    /// Like [`BlobStore::read`], but a blob larger than `limit` is refused
    /// before it is read.
    pub fn read_at_most(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, BlobError> {
        let path = self.path(digest);
        let file = fs::File::open(&path).map_err(io_error(&path))?;
        let size = file.metadata().map_err(io_error(&path))?.len();
        if size > limit {
            return Err(BlobError::TooLarge {
                digest: digest.clone(),
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(limit)
            .read_to_end(&mut bytes)
            .map_err(io_error(&path))?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(BlobError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    fn clear_abandoned_ingests(&self) -> Result<(), BlobError> {
        let dir = self.ingest_dir();
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))?.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let writer = name
                .strip_suffix(INGEST_SUFFIX)
                .and_then(|stem| stem.split('.').nth(1))
                .and_then(|pid| pid.parse::<i32>().ok());
            if writer.is_none_or(|pid| !process_runs(pid)) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}

/// Copies at most `expected.limit` bytes, hashing them; checks the size.
fn copy_hashing(
    content: &mut impl Read,
    out: &mut fs::File,
    expected: &Expected,
) -> Result<(Digest, u64), BlobError> {
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    let read_error = |source| BlobError::Io {
        path: PathBuf::from("<blob content>"),
        source,
    };
    loop {
        let n = match content.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        };
        size += n as u64;
        let too_large = size > expected.limit || expected.size.is_some_and(|s| size > s);
        if too_large {
            return Err(match expected.size {
                Some(announced) if announced <= expected.limit => BlobError::SizeMismatch {
                    digest: expected.digest.clone(),
                    expected: announced,
                    actual: size,
                },
                _ => BlobError::TooLarge {
                    digest: expected.digest.clone(),
                    limit: expected.limit,
                },
            });
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n]).map_err(read_error)?;
    }
    if let Some(announced) = expected.size
        && announced != size
    {
        return Err(BlobError::SizeMismatch {
            digest: expected.digest.clone(),
            expected: announced,
            actual: size,
        });
    }
    Ok((Digest::from_hasher(hasher), size))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    fs::write(&tmp, bytes).map_err(io_error(&tmp))?;
    fs::rename(&tmp, path).map_err(io_error(path))
}

/// Whether process `pid` exists (ours or another user's).
pub(crate) fn process_runs(pid: i32) -> bool {
    rustix::process::Pid::from_raw(pid).is_some_and(|pid| {
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        )
    })
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = BlobStore::open(dir.path().join("layout")).expect("open");
        (dir, store)
    }

    fn expect(content: &[u8]) -> Expected {
        Expected {
            digest: Digest::of(content),
            size: Some(content.len() as u64),
            limit: 1 << 20,
        }
    }

    fn ingest_files(store: &BlobStore) -> usize {
        fs::read_dir(store.ingest_dir())
            .expect("ingest dir")
            .count()
    }

    #[test]
    fn layout_is_an_oci_image_layout() {
        let (_dir, store) = store();
        let layout = fs::read_to_string(store.root.join(LAYOUT_FILE)).expect("oci-layout");
        assert_eq!(layout, LAYOUT_CONTENT);
        assert!(store.blob_dir().is_dir());
    }

    #[test]
    fn verified_content_is_stored_under_its_digest() {
        let (_dir, store) = store();
        let content = b"a layer";
        let size = store.write(&expect(content), &content[..]).expect("write");
        assert_eq!(size, content.len() as u64);
        assert!(store.contains(&Digest::of(content)));
        assert_eq!(store.read(&Digest::of(content)).expect("read"), content);
        assert_eq!(store.put(content).expect("put"), Digest::of(content));
        assert_eq!(ingest_files(&store), 0);
    }

    #[test]
    fn wrong_digest_is_rejected_and_not_stored() {
        let (_dir, store) = store();
        let claimed = expect(b"what the manifest says");
        let sent = b"what the registry sent!";
        let error = store
            .write(
                &Expected {
                    size: None,
                    ..claimed.clone()
                },
                &sent[..],
            )
            .expect_err("mismatch");
        assert!(matches!(error, BlobError::DigestMismatch { .. }), "{error}");
        assert!(!store.contains(&claimed.digest));
        assert!(!store.contains(&Digest::of(sent)));
        assert_eq!(ingest_files(&store), 0, "no half-written file left");
    }

    #[test]
    fn wrong_size_is_rejected() {
        let (_dir, store) = store();
        let content = b"twelve bytes";
        let short = Expected {
            size: Some(5),
            ..expect(content)
        };
        let error = store.write(&short, &content[..]).expect_err("too long");
        assert!(matches!(error, BlobError::SizeMismatch { .. }), "{error}");
        let long = Expected {
            size: Some(50),
            ..expect(content)
        };
        let error = store.write(&long, &content[..]).expect_err("too short");
        assert!(
            matches!(error, BlobError::SizeMismatch { actual: 12, .. }),
            "{error}"
        );
        assert!(!store.contains(&Digest::of(content)));
        assert_eq!(ingest_files(&store), 0);
    }

    #[test]
    fn endless_content_is_cut_off_at_the_limit() {
        let (_dir, store) = store();
        let endless = io::repeat(0x41);
        let expected = Expected {
            digest: Digest::of(b"anything"),
            size: None,
            limit: 1 << 20,
        };
        let error = store.write(&expected, endless).expect_err("limit");
        assert!(
            matches!(error, BlobError::TooLarge { limit, .. } if limit == 1 << 20),
            "{error}"
        );
        assert_eq!(ingest_files(&store), 0);
    }

    #[test]
    fn capped_reads_refuse_large_blobs_unread() {
        let (_dir, store) = store();
        let digest = store.put(b"twelve bytes").expect("put");
        assert_eq!(
            store.read_at_most(&digest, 12).expect("read"),
            b"twelve bytes"
        );
        assert!(matches!(
            store.read_at_most(&digest, 11),
            Err(BlobError::TooLarge { limit: 11, .. })
        ));
    }

    #[test]
    fn a_stored_document_larger_than_a_manifest_may_be_is_not_read() {
        let (_dir, store) = store();
        let huge = vec![b' '; (4 << 20) + 1];
        let digest = store.put(&huge).expect("put");
        let error = store.read(&digest).expect_err("too large to be a document");
        assert!(matches!(error, BlobError::TooLarge { .. }), "{error}");
        assert_eq!(
            store.read(&store.put(b"{}").expect("put")).expect("small"),
            b"{}"
        );
    }

    #[test]
    fn corruption_on_disk_is_caught_on_read() {
        let (_dir, store) = store();
        let digest = store.put(b"precious").expect("put");
        fs::write(store.path(&digest), b"tampered").expect("tamper");
        assert!(matches!(
            store.read(&digest),
            Err(BlobError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn abandoned_ingests_are_cleared_live_ones_kept() {
        let (dir, store) = store();
        let dead = store
            .ingest_dir()
            .join(format!("abc.{}.1{INGEST_SUFFIX}", i32::MAX));
        let live = store
            .ingest_dir()
            .join(format!("abc.{}.1{INGEST_SUFFIX}", std::process::id()));
        fs::write(&dead, b"half").expect("dead");
        fs::write(&live, b"half").expect("live");
        BlobStore::open(dir.path().join("layout")).expect("reopen");
        assert!(!dead.exists(), "a dead writer's file is removed");
        assert!(live.exists(), "a running writer's file is kept");
    }

    #[test]
    fn concurrent_writers_of_one_blob_both_succeed() {
        let (_dir, store) = store();
        let content = vec![7u8; 300_000];
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| store.write(&expect(&content), &content[..])))
                .collect();
            for writer in writers {
                assert_eq!(writer.join().expect("thread").expect("write"), 300_000);
            }
        });
        assert_eq!(store.read(&Digest::of(&content)).expect("read"), content);
        assert_eq!(ingest_files(&store), 0);
    }
}
