//! flocks on a container's files: one that wharf commands take to change a
//! container, and one its supervisor holds for its whole life, which the
//! kernel drops however the supervisor ends.

use std::fs::File;
use std::path::Path;

use crate::flock;

/// A held flock, released when dropped.
#[derive(Debug)]
pub struct Held {
    pub(super) file: File,
}

impl Held {
    /// Replaces what the locked file holds with `text`.
    pub fn write(&self, text: &str) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        let mut file = &self.file;
        file.set_len(0)?;
        file.seek(std::io::SeekFrom::Start(0))?;
        file.write_all(text.as_bytes())
    }

    /// Another handle on the same lock (it is held until both are gone).
    pub fn clone_handle(&self) -> std::io::Result<Held> {
        Ok(Held {
            file: self.file.try_clone()?,
        })
    }

    /// What the locked file holds.
    pub fn read(&self) -> std::io::Result<String> {
        use std::io::{Read, Seek};
        let mut file = &self.file;
        file.seek(std::io::SeekFrom::Start(0))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(text)
    }
}

/// Takes `path`'s flock, `exclusive` or shared, without waiting; `None`
/// when someone else holds it in a way that conflicts.
pub(crate) fn try_lock(path: &Path, exclusive: bool) -> std::io::Result<Option<Held>> {
    Ok(flock::lock_file(path, exclusive, false)?.map(|file| Held { file }))
}

/// Takes `path`'s flock exclusive, waiting as long as it takes.
pub(crate) fn wait_lock_exclusive(path: &Path) -> std::io::Result<Held> {
    flock::wait_for_lock(path, true).map(|file| Held { file })
}
