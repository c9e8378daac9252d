//! Placing one tar entry of a layer into the tree: files, directories,
//! links and whiteouts.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Component, Path, PathBuf};

use rustix::fs::AtFlags;

use super::tree::{self, Kind, Tree, WalkError};
use super::{Budget, UnpackError};

/// Permission bits kept from an entry's mode: no set-id or sticky bits,
/// and no group or other write (the tree is shared by every run).
const MODE_MASK: u32 = 0o755;

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_WHITEOUT: &str = ".wh..wh..opq";
/// Whiteout names of overlay metadata: `.wh..wh.` then anything.
const WHITEOUT_META_PREFIX: &str = ".wh..wh.";

/// One layer being placed over the lower ones.
pub(super) struct Layer<'a> {
    tree: &'a Tree,
    /// Paths this layer put there (and their parents): whiteouts of this
    /// layer hide only what lower layers put.
    placed: HashSet<PathBuf>,
}

impl<'a> Layer<'a> {
    pub(super) fn new(tree: &'a Tree) -> Layer<'a> {
        Layer {
            tree,
            placed: HashSet::new(),
        }
    }

    pub(super) fn place<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
        budget: &Budget,
    ) -> Result<(), UnpackError> {
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let refuse = |reason| UnpackError::Unsafe {
            entry: name.clone(),
            reason,
        };
        let relative = contained(Path::new(OsStr::from_bytes(&raw)))
            .ok_or_else(|| refuse("its path is absolute or climbs out with `..`"))?;
        budget.take_entry(relative.components().count())?;
        let parts: Vec<&OsStr> = relative.iter().collect();
        let Some((&leaf, parents)) = parts.split_last() else {
            return Ok(()); // the layer's root, `./`
        };
        let walk_refusal = |error: WalkError| match error {
            WalkError::Symlink => refuse("it would be written through a symlink"),
            WalkError::NotDirectory => refuse("a directory on its path is not a directory"),
            WalkError::Missing => refuse("a directory on its path is missing"),
            WalkError::Io(source) => UnpackError::Io {
                path: PathBuf::from(&name),
                source,
            },
        };
        if let Some(leaf) = leaf.to_str().filter(|l| l.starts_with(WHITEOUT_PREFIX)) {
            let whiteout = parse_whiteout(leaf).map_err(refuse)?;
            return self.apply_whiteout(&relative, parents, whiteout, &walk_refusal);
        }
        let parent = self.tree.open_dir(parents, true).map_err(walk_refusal)?;
        let parent = parent.as_fd();
        self.placed
            .extend(relative.ancestors().map(Path::to_path_buf));
        let io = |source: io::Error| UnpackError::Io {
            path: PathBuf::from(&name),
            source,
        };
        let mode = entry.header().mode().unwrap_or(0o644) & MODE_MASK;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            // A directory over a file or symlink replaces it, never follows it.
            if tree::kind_at(parent, leaf).map_err(io)? != Some(Kind::Directory) {
                tree::remove_at(parent, leaf).map_err(io)?;
                rustix::fs::mkdirat(parent, leaf, rustix::fs::Mode::from_raw_mode(0o700))
                    .map_err(|e| io(e.into()))?;
            }
            let dir = tree::open_child_dir(parent, leaf).map_err(walk_refusal)?;
            return tree::set_mode(dir.as_fd(), mode | 0o700).map_err(io);
        }
        if kind.is_file() || kind == tar::EntryType::Continuous {
            tree::remove_at(parent, leaf).map_err(io)?;
            let mut file = tree::create_file(parent, leaf, mode).map_err(io)?;
            io::copy(&mut entry, &mut file).map_err(io)?;
            return Ok(());
        }
        let link = entry
            .link_name_bytes()
            .map(|bytes| bytes.into_owned())
            .ok_or_else(|| refuse("a link without a target"))?;
        let link = Path::new(OsStr::from_bytes(&link));
        if kind.is_symlink() {
            let base = relative.parent().unwrap_or(Path::new(""));
            if link.is_absolute()
                || contained(&base.join(link)).is_none()
                || descends_then_climbs(link)
            {
                return Err(refuse("it is a symlink pointing outside the layer"));
            }
            tree::remove_at(parent, leaf).map_err(io)?;
            return rustix::fs::symlinkat(link, parent, leaf).map_err(|e| io(e.into()));
        }
        if kind.is_hard_link() {
            let not_a_file = || refuse("it is a hard link to something not a file of the layer");
            let source = contained(link)
                .filter(|p| !p.as_os_str().is_empty())
                .ok_or_else(|| refuse("it is a hard link to outside the layer"))?;
            let source: Vec<&OsStr> = source.iter().collect();
            let Some((&source_leaf, source_parents)) = source.split_last() else {
                return Err(not_a_file());
            };
            let source_dir = match self.tree.open_dir(source_parents, false) {
                Ok(dir) => dir,
                Err(WalkError::Symlink) => {
                    return Err(refuse("it is a hard link through a symlink"));
                }
                Err(WalkError::Io(source)) => return Err(io(source)),
                Err(_) => return Err(not_a_file()),
            };
            if tree::kind_at(source_dir.as_fd(), source_leaf).map_err(io)?
                != Some(Kind::RegularFile)
            {
                return Err(not_a_file());
            }
            if (source_parents, source_leaf) != (parents, leaf) {
                tree::remove_at(parent, leaf).map_err(io)?;
            }
            return rustix::fs::linkat(
                source_dir.as_fd(),
                source_leaf,
                parent,
                leaf,
                AtFlags::empty(),
            )
            .map_err(|e| io(e.into()));
        }
        Err(refuse(
            "device files, fifos and other special entries are not allowed",
        ))
    }

    fn apply_whiteout(
        &self,
        relative: &Path,
        parents: &[&OsStr],
        whiteout: Whiteout<'_>,
        walk_refusal: &dyn Fn(WalkError) -> UnpackError,
    ) -> Result<(), UnpackError> {
        let io = |source: io::Error| UnpackError::Io {
            path: relative.to_owned(),
            source,
        };
        let dir = match self.tree.open_dir(parents, false) {
            Ok(dir) => dir,
            // Nothing below: nothing to hide.
            Err(WalkError::Missing) => return Ok(()),
            Err(error) => return Err(walk_refusal(error)),
        };
        let parent = relative.parent().unwrap_or(Path::new(""));
        match whiteout {
            Whiteout::Meta => Ok(()),
            Whiteout::Entry(hidden) => {
                if self.placed.contains(&parent.join(hidden)) {
                    return Ok(());
                }
                tree::remove_at(dir.as_fd(), hidden).map_err(io)
            }
            Whiteout::Opaque => {
                for child in tree::children(dir.as_fd()).map_err(io)? {
                    if !self.placed.contains(&parent.join(&child)) {
                        tree::remove_at(dir.as_fd(), &child).map_err(io)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// What a whiteout entry hides in its directory.
#[derive(Debug, PartialEq, Eq)]
enum Whiteout<'a> {
    /// `.wh.NAME`: NAME of lower layers is gone.
    Entry(&'a OsStr),
    /// `.wh..wh..opq`: everything lower layers put in the directory is gone.
    Opaque,
    /// Another `.wh..wh.` name: overlay metadata, ignored (as moby does).
    Meta,
}

/// The whiteout named `leaf` (which starts with `.wh.`); names that hide
/// nothing, the directory itself or its parent are refused.
fn parse_whiteout(leaf: &str) -> Result<Whiteout<'_>, &'static str> {
    if leaf == OPAQUE_WHITEOUT {
        return Ok(Whiteout::Opaque);
    }
    if leaf.starts_with(WHITEOUT_META_PREFIX) {
        return Ok(Whiteout::Meta);
    }
    match &leaf[WHITEOUT_PREFIX.len()..] {
        "" | "." | ".." => Err("it is a whiteout naming nothing, `.` or `..`"),
        hidden if hidden.contains('/') => Err("it is a whiteout naming a path"),
        hidden => Ok(Whiteout::Entry(OsStr::new(hidden))),
    }
}

/// `path` made relative with `.` removed, or `None` if it is absolute or
/// climbs above its start. The text alone decides: this says where an entry
/// belongs, never whether reaching it is safe (the walk decides that).
pub(super) fn contained(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// Whether `link` climbs (`..`) after going down: `a/l/..` stays inside
/// by its text, but where `a/l` is itself a link to `..` it leads out of
/// the tree. Links that only climb first each stay inside, and so does any
/// chain of them. (Unpacking never follows links; this keeps the tree it
/// leaves from pointing out, for whatever reads it later.)
fn descends_then_climbs(link: &Path) -> bool {
    let mut descended = false;
    link.components().any(|component| match component {
        Component::Normal(_) => {
            descended = true;
            false
        }
        Component::ParentDir => descended,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteout_names() {
        assert_eq!(
            parse_whiteout(".wh.a"),
            Ok(Whiteout::Entry(OsStr::new("a")))
        );
        assert_eq!(parse_whiteout(".wh..wh..opq"), Ok(Whiteout::Opaque));
        assert_eq!(parse_whiteout(".wh..wh.plnk"), Ok(Whiteout::Meta));
        for refused in [".wh.", ".wh..", ".wh..."] {
            assert!(parse_whiteout(refused).is_err(), "{refused}");
        }
    }
}
