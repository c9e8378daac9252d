//! Image references (`wharf_image::Reference`): any text parses or is
//! refused with an error; what parses prints back to itself, and its
//! short (familiar) form names the same image.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_image::Reference;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(reference) = text.parse::<Reference>() else {
        return;
    };
    let full = reference.to_string();
    let again: Reference = full
        .parse()
        .unwrap_or_else(|e| panic!("`{full}` (from `{text}`) does not parse back: {e}"));
    assert_eq!(again, reference, "`{full}` from `{text}`");
    let familiar = reference.familiar();
    let short: Reference = familiar
        .parse()
        .unwrap_or_else(|e| panic!("familiar `{familiar}` (from `{text}`) does not parse: {e}"));
    assert_eq!(short, reference, "familiar `{familiar}` from `{text}`");
    let _ = reference.registry_reference();
});
