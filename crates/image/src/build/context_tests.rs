//! `.dockerignore` patterns and COPY globs, with Docker's rules.

use super::*;

fn ignores(lines: &str, path: &str) -> bool {
    let patterns = parse_ignore_file(Path::new(".dockerignore"), lines).expect("valid patterns");
    let context = Context {
        root: PathBuf::from("/"),
        ignore: patterns,
    };
    context.ignored(path)
}

#[test]
fn double_star_crosses_directories() {
    assert!(ignores("**/*.log", "a.log"));
    assert!(ignores("**/*.log", "a/b/c.log"));
    assert!(ignores("docs/**", "docs/a/b"));
    assert!(ignores("a/**/z", "a/z"));
    assert!(ignores("a/**/z", "a/b/c/z"));
    assert!(!ignores("*.log", "a/b.log"), "* stays in one component");
}

#[test]
fn exceptions_come_back_and_the_last_match_decides() {
    let lines = "*.md\n!README.md\n";
    assert!(ignores(lines, "CHANGES.md"));
    assert!(!ignores(lines, "README.md"));
    assert!(ignores("!README.md\n*.md\n", "README.md"), "order matters");
}

#[test]
fn classes_escapes_and_parents() {
    assert!(ignores("file[0-9].txt", "file7.txt"));
    assert!(!ignores("file[0-9].txt", "filex.txt"));
    assert!(ignores("file[!0-9].txt", "filex.txt"));
    assert!(ignores("q\\?", "q?"));
    assert!(!ignores("q\\?", "qx"));
    assert!(
        ignores("build", "build/out/app.wasm"),
        "a parent's match covers its tree"
    );
    assert!(ignores("/build/", "build"), "leading and trailing slashes");
    assert!(ignores("./a/../b", "b"), "cleaned as Docker cleans");
    assert!(ignores("{a,b}", "{a,b}"), "braces are literal");
    assert!(!ignores("{a,b}", "a"));
}

#[test]
fn comments_blanks_and_the_context_itself() {
    assert!(!ignores("# *\n\n", "x"));
    assert!(!ignores(".\n", "x"), "`.` ignores nothing");
}

#[test]
fn an_invalid_pattern_is_an_error_naming_its_line() {
    let error = parse_ignore_file(Path::new(".dockerignore"), "ok\n[z-a\n").expect_err("invalid");
    let text = error.to_string();
    assert!(text.contains(":2:") && text.contains("[z-a"), "{text}");
    // Found by the dockerignore fuzz target: a dangling escape.
    let error = parse_ignore_file(Path::new(".dockerignore"), "**/ld/**b\n!.x/a\\\n")
        .expect_err("a pattern ending in a lone backslash");
    assert!(error.to_string().contains(":2:"), "{error}");
}
