//! Layer tars (`wharf_image::unpack_layer`), as a registry or archive
//! sends them: plain bytes, gzip when they start with gzip's magic. Each
//! input unpacks into a fresh tree beside a sentinel; see
//! `wharf_fuzz::unpack_and_check` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let media_type = if data.starts_with(&[0x1f, 0x8b]) {
        "application/vnd.oci.image.layer.v1.tar+gzip"
    } else {
        "application/vnd.oci.image.layer.v1.tar"
    };
    wharf_fuzz::unpack_and_check(data, media_type);
});
