//! Layer tars built from structured entries (`wharf_image::unpack_layer`):
//! names and link targets are made of the parts an attack needs (`..`,
//! `.`, `/`, whiteouts, names that are already there), so that the fuzzer
//! reaches the unpacker's checks instead of tar's header checksum. Each
//! input unpacks into a fresh tree beside a sentinel; see
//! `wharf_fuzz::unpack_and_check` for what is checked.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Layer {
    gzip: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Arbitrary)]
struct Entry {
    name: Vec<Part>,
    kind: Kind,
    link: Vec<Part>,
    mode: u16,
    data: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
enum Kind {
    File,
    Dir,
    Symlink,
    HardLink,
    Fifo,
    Char,
    Continuous,
    Other(u8),
}

/// One path component, or the separator between them.
#[derive(Debug, Arbitrary)]
enum Part {
    Slash,
    Dot,
    DotDot,
    Name(u8),
    Whiteout(u8),
    Opaque,
    WhiteoutPrefix,
    Sentinel,
    Layer,
    Raw(String),
}

const NAMES: [&str; 4] = ["a", "b", "app.wasm", "etc"];

fn path(parts: &[Part]) -> Vec<u8> {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Slash => out.push('/'),
            Part::Dot => out.push('.'),
            Part::DotDot => out.push_str(".."),
            Part::Name(n) => out.push_str(NAMES[usize::from(*n) % NAMES.len()]),
            Part::Whiteout(n) => {
                out.push_str(".wh.");
                out.push_str(NAMES[usize::from(*n) % NAMES.len()]);
            }
            Part::Opaque => out.push_str(".wh..wh..opq"),
            Part::WhiteoutPrefix => out.push_str(".wh."),
            Part::Sentinel => out.push_str("sentinel/keep"),
            Part::Layer => out.push_str("layer"),
            Part::Raw(text) => out.push_str(text),
        }
    }
    out.into_bytes()
}

fuzz_target!(|layer: Layer| {
    let mut tar = Vec::new();
    for entry in &layer.entries {
        let kind = match entry.kind {
            Kind::File => tar::EntryType::Regular,
            Kind::Dir => tar::EntryType::Directory,
            Kind::Symlink => tar::EntryType::Symlink,
            Kind::HardLink => tar::EntryType::Link,
            Kind::Fifo => tar::EntryType::Fifo,
            Kind::Char => tar::EntryType::Char,
            Kind::Continuous => tar::EntryType::Continuous,
            Kind::Other(byte) => tar::EntryType::new(byte),
        };
        let data = match entry.kind {
            Kind::Dir | Kind::Symlink | Kind::HardLink | Kind::Fifo | Kind::Char => &[][..],
            Kind::File | Kind::Continuous | Kind::Other(_) => &entry.data[..],
        };
        wharf_fuzz::raw_entry(
            &mut tar,
            &path(&entry.name),
            kind,
            &path(&entry.link),
            u32::from(entry.mode),
            data,
        );
    }
    wharf_fuzz::finish(&mut tar);
    if layer.gzip {
        let gz = wharf_fuzz::gzip(&tar);
        wharf_fuzz::unpack_and_check(&gz, "application/vnd.oci.image.layer.v1.tar+gzip");
    } else {
        wharf_fuzz::unpack_and_check(&tar, "application/vnd.oci.image.layer.v1.tar");
    }
});
