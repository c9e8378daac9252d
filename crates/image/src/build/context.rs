//! The build context: COPY sources resolved inside it (globs,
//! `.dockerignore`), never outside it, and turned into image entries.

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::error::{BuildError, InstructionError};
use super::layer::{DIR_MODE, Node, Tree};

/// The largest file a build copies.
pub(crate) const MAX_FILE_SIZE: u64 = 1 << 30;

/// A build context directory and its `.dockerignore`.
#[derive(Debug)]
pub(crate) struct Context {
    /// The canonical context directory.
    root: PathBuf,
    ignore: Vec<Pattern>,
}

/// One `.dockerignore` line: a pattern matched against context paths and
/// their parents, with Docker's rules (`*` and `?` within a component, `**`
/// across components, `[...]` classes, `\\` escapes), or an exception (`!`).
#[derive(Debug)]
struct Pattern {
    matcher: globset::GlobMatcher,
    exception: bool,
}

/// How COPY writes what it copies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CopyMode {
    /// `--chmod`, applied to every file and directory copied.
    pub chmod: Option<u32>,
}

impl Context {
    /// Opens `dir` and reads its `.dockerignore`, if any.
    pub fn open(dir: &Path) -> Result<Context, BuildError> {
        let root = fs::canonicalize(dir).map_err(|source| BuildError::Io {
            path: dir.to_owned(),
            source,
        })?;
        if !root.is_dir() {
            return Err(BuildError::ContextNotDirectory(dir.to_owned()));
        }
        let ignore_file = root.join(".dockerignore");
        let ignore = match fs::read_to_string(&ignore_file) {
            Ok(text) => parse_ignore_file(&ignore_file, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(BuildError::Io {
                    path: ignore_file,
                    source,
                });
            }
        };
        Ok(Context { root, ignore })
    }

    /// Whether `.dockerignore` hides `rel` (a `/`-separated context path):
    /// the last pattern matching it or one of its parents decides.
    pub fn ignored(&self, rel: &str) -> bool {
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        let prefixes: Vec<String> = (1..=parts.len()).map(|k| parts[..k].join("/")).collect();
        let mut ignored = false;
        for pattern in &self.ignore {
            if prefixes
                .iter()
                .any(|prefix| pattern.matcher.is_match(prefix))
            {
                ignored = !pattern.exception;
            }
        }
        ignored
    }

    /// Copies `sources` to `dest` (an image path; `dest_is_dir` when it
    /// ends in `/` or already is a directory), returning the new entries.
    pub fn copy(
        &self,
        sources: &[String],
        dest: &str,
        dest_is_dir: bool,
        mode: CopyMode,
    ) -> Result<Tree, InstructionError> {
        let mut matches = Vec::new();
        for source in sources {
            matches.extend(self.expand(source)?);
        }
        let into_dir = dest_is_dir || matches.len() > 1;
        let mut entries = Tree::new();
        for rel in matches {
            let (path, meta) = self.checked(&rel)?;
            if meta.is_dir() {
                if !dest.is_empty() {
                    entries.insert(dest.to_owned(), dir_node(mode));
                }
                self.walk(&path, &rel, dest, mode, &mut entries)?;
            } else {
                let target = if into_dir {
                    let name = rel.rsplit('/').next().unwrap_or(&rel);
                    join(dest, name)
                } else {
                    dest.to_owned()
                };
                entries.insert(target, file_node(&path, &rel, &meta, mode)?);
            }
        }
        Ok(entries)
    }

    /// One COPY source to the context paths it names (globs expanded).
    fn expand(&self, source: &str) -> Result<Vec<String>, InstructionError> {
        let outside = || InstructionError::OutsideContext(source.to_owned());
        let mut parts: Vec<&str> = Vec::new();
        for component in Path::new(source).components() {
            match component {
                Component::Normal(part) => parts.push(part.to_str().ok_or_else(outside)?),
                Component::ParentDir => {
                    parts.pop().ok_or_else(outside)?;
                }
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        let mut found = vec![String::new()];
        for part in parts {
            let mut next = Vec::new();
            for base in found {
                if is_glob(part) {
                    let matcher =
                        path_matcher(part).map_err(|source| InstructionError::Pattern {
                            pattern: part.to_owned(),
                            source,
                        })?;
                    let dir = self.root.join(&base);
                    let Ok(listing) = fs::read_dir(&dir) else {
                        continue;
                    };
                    let mut names: Vec<String> = listing
                        .flatten()
                        .filter_map(|e| e.file_name().into_string().ok())
                        .filter(|name| matcher.is_match(name))
                        .collect();
                    names.sort();
                    next.extend(names.iter().map(|name| join(&base, name)));
                } else {
                    next.push(join(&base, part));
                }
            }
            found = next;
        }
        found.retain(|rel| !self.ignored(rel) && fs::symlink_metadata(self.root.join(rel)).is_ok());
        if found.is_empty() {
            return Err(InstructionError::NotFound(source.to_owned()));
        }
        Ok(found)
    }

    /// The real path and metadata of a source, refusing one whose parents
    /// or whose own symlink lead outside the context. A symlink named as a
    /// source is followed, as Docker does.
    fn checked(&self, rel: &str) -> Result<(PathBuf, fs::Metadata), InstructionError> {
        let path = self.root.join(rel);
        let not_found = || InstructionError::NotFound(rel.to_owned());
        let real = fs::canonicalize(&path).map_err(|_| not_found())?;
        if !real.starts_with(&self.root) {
            let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
            return Err(if is_link {
                InstructionError::SymlinkOutsideContext(rel.to_owned())
            } else {
                InstructionError::OutsideContext(rel.to_owned())
            });
        }
        let meta = fs::metadata(&real).map_err(|_| not_found())?;
        Ok((real, meta))
    }

    /// Adds the contents of directory `dir` (context path `rel`) under
    /// image path `dest`, never following symlinks.
    fn walk(
        &self,
        dir: &Path,
        rel: &str,
        dest: &str,
        mode: CopyMode,
        entries: &mut Tree,
    ) -> Result<(), InstructionError> {
        let listing = fs::read_dir(dir).map_err(|_| InstructionError::NotFound(rel.to_owned()))?;
        let mut children = Vec::new();
        for entry in listing.flatten() {
            let name = entry.file_name().into_string().map_err(|name| {
                InstructionError::NotUtf8(Path::new(rel).join(name).display().to_string())
            })?;
            children.push(name);
        }
        children.sort();
        for name in children {
            let child_rel = join(rel, &name);
            let child_dest = join(dest, &name);
            let path = dir.join(&name);
            let meta = fs::symlink_metadata(&path)
                .map_err(|_| InstructionError::NotFound(child_rel.clone()))?;
            if meta.is_dir() {
                if !self.ignored(&child_rel) {
                    entries.insert(child_dest.clone(), dir_node(mode));
                }
                self.walk(&path, &child_rel, &child_dest, mode, entries)?;
                continue;
            }
            if self.ignored(&child_rel) {
                continue;
            }
            let node = if meta.is_symlink() {
                symlink_node(&path, &child_rel, &child_dest)?
            } else {
                file_node(&path, &child_rel, &meta, mode)?
            };
            entries.insert(child_dest, node);
        }
        Ok(())
    }
}

/// The patterns of a `.dockerignore` file, in order.
fn parse_ignore_file(path: &Path, text: &str) -> Result<Vec<Pattern>, BuildError> {
    let mut patterns = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (exception, text) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        let Some(cleaned) = clean_pattern(text) else {
            continue;
        };
        let matcher = path_matcher(&cleaned).map_err(|source| BuildError::IgnorePattern {
            path: path.to_owned(),
            line: index + 1,
            pattern: text.to_owned(),
            source,
        })?;
        patterns.push(Pattern { matcher, exception });
    }
    Ok(patterns)
}

/// A pattern as Docker cleans it: relative to the context root, `.` parts
/// and empty parts dropped, `..` taking the part before it away; `None`
/// when nothing is left (the context itself is never ignored).
fn clean_pattern(text: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A matcher of `/`-separated context paths (or of one component: `*`
/// never crosses a `/`).
fn path_matcher(pattern: &str) -> Result<globset::GlobMatcher, globset::Error> {
    Ok(globset::GlobBuilder::new(&literal_braces(pattern))
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(false)
        .build()?
        .compile_matcher())
}

/// `pattern` with `{` and `}` outside classes escaped: Docker's patterns
/// (Go's `filepath.Match`) have no alternates, globset's do.
fn literal_braces(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let (mut in_class, mut escaped) = (false, false);
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' | '}' if !in_class => out.push('\\'),
            _ => {}
        }
        out.push(c);
    }
    out
}

fn dir_node(mode: CopyMode) -> Node {
    Node::Dir {
        mode: mode.chmod.unwrap_or(DIR_MODE),
    }
}

fn file_node(
    path: &Path,
    rel: &str,
    meta: &fs::Metadata,
    mode: CopyMode,
) -> Result<Node, InstructionError> {
    use std::os::unix::fs::PermissionsExt as _;
    if !meta.is_file() {
        return Err(InstructionError::NotRegular(rel.to_owned()));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(InstructionError::TooLarge {
            path: rel.to_owned(),
            size: meta.len(),
            limit: MAX_FILE_SIZE,
        });
    }
    let executable = meta.permissions().mode() & 0o111 != 0;
    Ok(Node::File {
        source: path.to_owned(),
        mode: mode.chmod.unwrap_or(if executable { 0o755 } else { 0o644 }),
        size: meta.len(),
    })
}

/// A symlink kept as a symlink, if its target stays inside the image: an
/// absolute target is the image's own path; a relative one must not climb
/// above the image root from where the link lands (`dest`).
fn symlink_node(path: &Path, rel: &str, dest: &str) -> Result<Node, InstructionError> {
    let target = fs::read_link(path).map_err(|_| InstructionError::NotFound(rel.to_owned()))?;
    let target = target
        .to_str()
        .ok_or_else(|| InstructionError::NotUtf8(rel.to_owned()))?
        .to_owned();
    let outside = || InstructionError::SymlinkOutsideImage {
        path: rel.to_owned(),
        target: target.clone(),
    };
    if !target.starts_with('/') {
        let mut depth = dest
            .split('/')
            .filter(|p| !p.is_empty())
            .count()
            .saturating_sub(1);
        // `..` after a name is refused too, as unpacking refuses it: through
        // a link on the way, `a/l/..` can lead out of the image.
        let mut descended = false;
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." if descended => return Err(outside()),
                ".." => depth = depth.checked_sub(1).ok_or_else(outside)?,
                _ => {
                    depth += 1;
                    descended = true;
                }
            }
        }
    }
    Ok(Node::Symlink { target })
}

/// `base/name`, where an empty base is the root.
pub(crate) fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_owned()
    } else {
        format!("{base}/{name}")
    }
}

fn is_glob(part: &str) -> bool {
    part.contains(['*', '?', '['])
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
