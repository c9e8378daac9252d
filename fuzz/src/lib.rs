//! Helpers shared by wharf's fuzz targets: scratch directories, a sentinel
//! that tells whether anything outside a target tree changed, and tar
//! entries written header field by header field.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A directory of this process for the targets' scratch trees, removed
/// when the process ends normally. On tmpfs (`/dev/shm`) when there is
/// one: the blob store syncs every blob it writes.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_owned()
        } else {
            std::env::temp_dir()
        };
        tempfile::Builder::new()
            .prefix("wharf-fuzz-")
            .tempdir_in(base)
            .expect("scratch directory")
    })
    .path()
}

/// A fresh directory under [`scratch`], removed when dropped.
pub fn fresh_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(scratch()).expect("fresh directory")
}

const SENTINEL_CONTENT: &[u8] = b"outside the target: never to change\n";
const SENTINEL_MODE: u32 = 0o640;

/// A directory beside a target holding one file of known content and
/// mode: [`Sentinel::check`] fails if either changed, or if the file or
/// directory is gone.
#[derive(Debug)]
pub struct Sentinel {
    dir: PathBuf,
}

impl Sentinel {
    /// Makes `parent/sentinel/keep`.
    pub fn new(parent: &Path) -> Sentinel {
        let dir = parent.join("sentinel");
        fs::create_dir(&dir).expect("sentinel directory");
        let file = dir.join("keep");
        fs::write(&file, SENTINEL_CONTENT).expect("sentinel file");
        fs::set_permissions(&file, fs::Permissions::from_mode(SENTINEL_MODE)).expect("chmod");
        Sentinel { dir }
    }

    /// Panics if anything of the sentinel changed.
    #[track_caller]
    pub fn check(&self) {
        let meta = fs::symlink_metadata(&self.dir).expect("the sentinel directory is gone");
        assert!(meta.is_dir(), "the sentinel directory was replaced");
        let names = names(&self.dir);
        assert_eq!(names, ["keep"], "the sentinel directory changed");
        let file = self.dir.join("keep");
        let meta = fs::symlink_metadata(&file).expect("the sentinel file is gone");
        assert!(meta.is_file(), "the sentinel file was replaced");
        assert_eq!(meta.nlink(), 1, "the sentinel file got a hard link");
        assert_eq!(
            meta.permissions().mode() & 0o7777,
            SENTINEL_MODE,
            "the sentinel's mode changed"
        );
        assert_eq!(
            fs::read(&file).expect("read sentinel"),
            SENTINEL_CONTENT,
            "the sentinel's content changed"
        );
    }
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One tar entry exactly as given: name and link name are copied into the
/// old header fields (cut at 100 bytes), nothing is checked or cleaned.
pub fn raw_entry(
    tar: &mut Vec<u8>,
    name: &[u8],
    kind: tar::EntryType,
    link: &[u8],
    mode: u32,
    data: &[u8],
) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    let old = header.as_old_mut();
    let name = &name[..name.len().min(100)];
    old.name.fill(0);
    old.name[..name.len()].copy_from_slice(name);
    let link = &link[..link.len().min(100)];
    old.linkname.fill(0);
    old.linkname[..link.len()].copy_from_slice(link);
    header.set_cksum();
    tar.extend_from_slice(header.as_bytes());
    tar.extend_from_slice(data);
    let padding = (512 - data.len() % 512) % 512;
    tar.resize(tar.len() + padding, 0);
}

/// Ends a tar stream: two zero blocks.
pub fn finish(tar: &mut Vec<u8>) {
    tar.resize(tar.len() + 1024, 0);
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Unpacks `content` as a layer of `media_type` into a fresh target beside
/// a [`Sentinel`], and checks what `unpack_layer` promises: nothing outside
/// the target changed; on success the target is a directory whose symlinks
/// all point inside it; on error nothing is left at the target, nor any
/// partial tree beside it.
pub fn unpack_and_check(content: &[u8], media_type: &str) {
    let case = fresh_dir();
    let sentinel = Sentinel::new(case.path());
    let target = case.path().join("layer");
    let limits = wharf_image::UnpackLimits {
        max_bytes: 1 << 20,
        max_entries: 256,
        ..wharf_image::UnpackLimits::default()
    };
    let result = wharf_image::unpack_layer(content, media_type, &target, limits);
    sentinel.check();
    match result {
        Ok(()) => {
            assert_eq!(names(case.path()), ["layer", "sentinel"]);
            let meta = fs::symlink_metadata(&target).expect("the target is missing");
            assert!(meta.is_dir(), "the target is not a directory");
            let root = target.canonicalize().expect("canonical target");
            check_links_inside(&root, Path::new(""));
        }
        Err(_) => {
            assert_eq!(
                names(case.path()),
                ["sentinel"],
                "an unpack that failed left something behind"
            );
        }
    }
}

/// Panics if a symlink under `root/rel` (`root` canonical) points outside
/// `root`: where it resolves, by where it leads; where it dangles, by its
/// text.
fn check_links_inside(root: &Path, rel: &Path) {
    let dir = root.join(rel);
    for entry in fs::read_dir(&dir).expect("list unpacked directory") {
        let entry = entry.expect("entry");
        let child = rel.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            check_links_inside(root, &child);
        } else if kind.is_symlink() {
            let link = fs::read_link(root.join(&child)).expect("read link");
            if let Ok(real) = root.join(&child).canonicalize() {
                assert!(
                    real.starts_with(root),
                    "{} -> {} leads to {}, outside the tree",
                    child.display(),
                    link.display(),
                    real.display()
                );
                continue;
            }
            let mut depth = child.components().count() - 1;
            for component in link.components() {
                match component {
                    std::path::Component::Normal(_) => depth += 1,
                    std::path::Component::CurDir => {}
                    std::path::Component::ParentDir => {
                        depth = depth.checked_sub(1).unwrap_or_else(|| {
                            panic!("{} -> {} leaves the tree", child.display(), link.display())
                        })
                    }
                    _ => panic!("{} -> {} is absolute", child.display(), link.display()),
                }
            }
        }
    }
}

/// `error` and its sources, one after the other.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
