//! Tar archives as attackers and other tools write them: each header
//! written field by field, so a test can say what a well-behaved tar
//! writer never would (`..` in names, links anywhere, odd modes).

/// One entry of a crafted tar.
#[derive(Debug, Clone, Copy)]
pub struct TarEntry<'a> {
    /// The path, as the archive spells it.
    pub name: &'a str,
    /// Regular, Directory, Symlink, Link, ...
    pub kind: tar::EntryType,
    /// A link's target (empty for others).
    pub link: &'a str,
    /// Permission bits.
    pub mode: u32,
    /// The owner's uid and gid.
    pub uid: u64,
    /// The content.
    pub data: &'a [u8],
}

impl<'a> TarEntry<'a> {
    /// An entry of `kind`, mode 0644, owned by root.
    pub fn new(name: &'a str, kind: tar::EntryType, link: &'a str, data: &'a [u8]) -> Self {
        TarEntry {
            name,
            kind,
            link,
            mode: 0o644,
            uid: 0,
            data,
        }
    }

    /// A regular file, mode 0644.
    pub fn file(name: &'a str, data: &'a [u8]) -> Self {
        TarEntry::new(name, tar::EntryType::Regular, "", data)
    }

    /// The same entry with `mode`.
    pub fn mode(self, mode: u32) -> Self {
        TarEntry { mode, ..self }
    }

    /// The same entry owned by `uid`.
    pub fn uid(self, uid: u64) -> Self {
        TarEntry { uid, ..self }
    }
}

/// The tar of `entries`. A name or link target longer than a header
/// holds (100 bytes) goes in a GNU long-name entry, as GNU tar writes it.
pub fn crafted_tar(entries: &[TarEntry<'_>]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(entry.kind);
        header.set_size(entry.data.len() as u64);
        header.set_mode(entry.mode);
        header.set_uid(entry.uid);
        header.set_gid(entry.uid);
        if entry.name.len() > 100 || entry.link.len() > 100 {
            if entry.kind.is_symlink() || entry.kind.is_hard_link() {
                tar.append_link(&mut header, entry.name, entry.link)
                    .expect("link entry");
            } else {
                tar.append_data(&mut header, entry.name, entry.data)
                    .expect("entry");
            }
            continue;
        }
        let old = header.as_old_mut();
        old.name.fill(0);
        old.name[..entry.name.len()].copy_from_slice(entry.name.as_bytes());
        old.linkname.fill(0);
        old.linkname[..entry.link.len()].copy_from_slice(entry.link.as_bytes());
        header.set_cksum();
        tar.append(&header, entry.data).expect("append");
    }
    tar.into_inner().expect("finish tar")
}

/// The tar of plain files, mode 0644.
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let entries: Vec<TarEntry<'_>> = files
        .iter()
        .map(|(name, data)| TarEntry::file(name, data))
        .collect();
    crafted_tar(&entries)
}
