//! The names of stored images: the layout's `index.json`, one descriptor per
//! reference, as containerd and skopeo write it.
//!
//! Every change is a read-modify-write under an exclusive lock on
//! `index.json.lock`, and the new index replaces the old one by rename, so
//! concurrent commands never lose each other's tags and a killed command
//! leaves the old index or the new one, never half of one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::manifest::{Descriptor, Index, media_type};
use crate::reference::Reference;

/// Annotation holding the full reference (containerd's convention).
pub const NAME_ANNOTATION: &str = "io.containerd.image.name";
/// Annotation holding the tag (the OCI layout convention skopeo reads).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// Why the index could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum RefsError {
    /// The file system refused.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `index.json` is not an OCI index.
    #[error("{} is not a valid OCI index", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        source: serde_json::Error,
    },
}

/// The named images of one OCI image layout.
#[derive(Debug, Clone)]
pub struct Refs {
    index: PathBuf,
    lock: PathBuf,
}

impl Refs {
    /// The refs of the layout at `root` (which must exist).
    pub fn new(root: &Path) -> Self {
        Refs {
            index: root.join("index.json"),
            lock: root.join("index.json.lock"),
        }
    }

    /// What `reference` names, if it names anything.
    pub fn resolve(&self, reference: &Reference) -> Result<Option<Descriptor>, RefsError> {
        let name = reference.to_string();
        Ok(self
            .read()?
            .manifests
            .into_iter()
            .find(|d| d.annotations.get(NAME_ANNOTATION) == Some(&name)))
    }

    /// Every reference and what it names, in index order.
    pub fn list(&self) -> Result<Vec<(String, Descriptor)>, RefsError> {
        Ok(self
            .read()?
            .manifests
            .into_iter()
            .filter_map(|d| Some((d.annotations.get(NAME_ANNOTATION)?.clone(), d)))
            .collect())
    }

    /// Points `reference` at `target`, replacing what it named before.
    pub fn set(&self, reference: &Reference, target: &Descriptor) -> Result<(), RefsError> {
        let name = reference.to_string();
        let mut entry = target.clone();
        entry
            .annotations
            .insert(NAME_ANNOTATION.to_owned(), name.clone());
        if let Some(tag) = reference.tag() {
            entry
                .annotations
                .insert(REF_NAME_ANNOTATION.to_owned(), tag.to_owned());
        }
        self.update(|index| {
            index
                .manifests
                .retain(|d| d.annotations.get(NAME_ANNOTATION) != Some(&name));
            index.manifests.push(entry);
        })
    }

    /// Forgets `reference`; whether it named anything.
    pub fn remove(&self, reference: &Reference) -> Result<bool, RefsError> {
        let name = reference.to_string();
        let mut removed = false;
        self.update(|index| {
            let before = index.manifests.len();
            index
                .manifests
                .retain(|d| d.annotations.get(NAME_ANNOTATION) != Some(&name));
            removed = index.manifests.len() != before;
        })?;
        Ok(removed)
    }

    fn read(&self) -> Result<Index, RefsError> {
        match fs::read(&self.index) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| RefsError::Corrupt {
                path: self.index.clone(),
                source,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(empty_index()),
            Err(source) => Err(RefsError::Io {
                path: self.index.clone(),
                source,
            }),
        }
    }

    fn update(&self, change: impl FnOnce(&mut Index)) -> Result<(), RefsError> {
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| RefsError::Io { path, source }
        };
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(io_error(&self.lock))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io_error(&self.lock)(e.into()))?;
        let mut index = self.read()?;
        change(&mut index);
        let bytes = serde_json::to_vec_pretty(&index).map_err(|source| RefsError::Corrupt {
            path: self.index.clone(),
            source,
        })?;
        let tmp = self
            .index
            .with_extension(format!("json.{}.tmp", std::process::id()));
        fs::write(&tmp, bytes).map_err(io_error(&tmp))?;
        fs::rename(&tmp, &self.index).map_err(io_error(&self.index))
        // The lock is released when `lock` is dropped.
    }
}

fn empty_index() -> Index {
    Index {
        schema_version: 2,
        media_type: Some(media_type::OCI_INDEX.to_owned()),
        manifests: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    fn descriptor(content: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type::OCI_MANIFEST.to_owned(),
            digest: Digest::of(content),
            size: content.len() as u64,
            platform: None,
            annotations: Default::default(),
        }
    }

    fn reference(text: &str) -> Reference {
        text.parse().expect("reference")
    }

    #[test]
    fn set_resolve_replace_remove() {
        let dir = tempfile::tempdir().expect("dir");
        let refs = Refs::new(dir.path());
        let app = reference("localhost:5000/app:1");
        assert_eq!(refs.resolve(&app).expect("resolve"), None);
        refs.set(&app, &descriptor(b"one")).expect("set");
        let found = refs.resolve(&app).expect("resolve").expect("named");
        assert_eq!(found.digest, Digest::of(b"one"));
        assert_eq!(found.annotations[REF_NAME_ANNOTATION], "1");
        refs.set(&app, &descriptor(b"two")).expect("retag");
        assert_eq!(
            refs.list().expect("list").len(),
            1,
            "a name points at one image"
        );
        assert_eq!(
            refs.resolve(&app).expect("resolve").expect("named").digest,
            Digest::of(b"two")
        );
        assert!(refs.remove(&app).expect("remove"));
        assert!(!refs.remove(&app).expect("remove again"));
        assert_eq!(refs.resolve(&app).expect("resolve"), None);
    }

    #[test]
    fn short_and_full_names_are_one_name() {
        let dir = tempfile::tempdir().expect("dir");
        let refs = Refs::new(dir.path());
        refs.set(&reference("alpine"), &descriptor(b"a"))
            .expect("set");
        let full = reference("docker.io/library/alpine:latest");
        assert!(refs.resolve(&full).expect("resolve").is_some());
    }

    #[test]
    fn concurrent_tagging_loses_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let root = dir.path();
                scope.spawn(move || {
                    let refs = Refs::new(root);
                    for i in 0..10 {
                        let name = reference(&format!("app{thread}:{i}"));
                        refs.set(&name, &descriptor(name.to_string().as_bytes()))
                            .expect("set");
                    }
                });
            }
        });
        assert_eq!(Refs::new(dir.path()).list().expect("list").len(), 40);
    }

    #[test]
    fn corrupt_index_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("dir");
        fs::write(
            dir.path().join("index.json"),
            b"{\"schemaVersion\": 2, \"manif",
        )
        .expect("write");
        let error = Refs::new(dir.path()).list().expect_err("corrupt");
        assert!(matches!(error, RefsError::Corrupt { .. }), "{error}");
        assert!(error.to_string().contains("index.json"));
    }
}
