//! `WWW-Authenticate` headers, as the registry client reads them
//! (`registry::auth::parse_challenges`): each line of the input is one
//! header value. Nothing panics; and a bearer challenge written with
//! quoted, escaped parameters reads back as written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_image::fuzzing::{Challenge, www_authenticate};

fn quoted(value: &str) -> String {
    let mut out = String::from('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = www_authenticate(text.lines());
    // The first two lines as realm and service of a well-formed challenge.
    let mut lines = text.lines();
    let realm = lines.next().unwrap_or_default().trim();
    let service = lines.next().unwrap_or_default().trim();
    let header = format!(
        "Bearer realm={},service={},scope=\"repository:a:pull\"",
        quoted(realm),
        quoted(service)
    );
    assert_eq!(
        www_authenticate([header.as_str()]),
        Some(Challenge::Bearer {
            realm: realm.to_owned(),
            service: Some(service.to_owned()),
        }),
        "{header}"
    );
});
