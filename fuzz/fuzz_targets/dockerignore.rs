//! `.dockerignore` patterns matched against context paths
//! (`build::context::Context::ignored`). The input is the `.dockerignore`
//! text, then a NUL, then one path per line. Nothing panics, and a
//! path's answer does not depend on how its separators are written; an
//! invalid pattern is an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_image::fuzzing::dockerignore;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (patterns, paths) = text.split_once('\0').unwrap_or((&text, "a/b"));
    let paths: Vec<&str> = paths.lines().take(16).collect();
    let context = wharf_fuzz::fresh_dir();
    std::fs::write(context.path().join(".dockerignore"), patterns).expect("write .dockerignore");
    // An invalid pattern is a build error naming its line, as in Docker.
    let Ok(answers) = dockerignore(context.path(), &paths) else {
        return;
    };
    // `a//b/` and `/a/b` are `a/b`.
    let respelled: Vec<String> = paths
        .iter()
        .map(|p| format!("/{}/", p.replace('/', "//")))
        .collect();
    let respelled: Vec<&str> = respelled.iter().map(String::as_str).collect();
    let again = dockerignore(context.path(), &respelled).expect("open the context");
    assert_eq!(answers, again, "{paths:?}");
});
