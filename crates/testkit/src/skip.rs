//! Tests that need what a machine may lack (root, a daemon): one that
//! cannot have it says so where it shows, and fails in CI, which must run
//! every test.

use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;

/// Whether test `test` is to be skipped for want of `need` (which says
/// what it needs and why). `false` when `met`. Otherwise, in CI (see
/// [`in_ci`]) it panics; elsewhere it prints `SKIPPED <test>: <need>` and
/// returns `true`.
///
/// The line goes to the process's stderr itself, not through `eprintln!`,
/// whose output libtest captures and shows only for a failed test: a
/// skipped test passes, so its reason would never be seen.
///
/// # Panics
/// In CI, when `met` is false.
pub fn skip_unless(test: &str, met: bool, need: &str) -> bool {
    if met {
        return false;
    }
    if in_ci() {
        panic!("{test} {need}, and CI must run every test: give it that");
    }
    let line = format!("SKIPPED {test}: {need}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    true
}

/// [`skip_unless`] for a test that needs root; `why` says what for.
pub fn skip_unless_root(test: &str, why: &str) -> bool {
    skip_unless(test, is_root(), &format!("needs root ({why})"))
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Whether the tests run in CI: `CI` is set, and not to ``, `0` or
/// `false`.
pub fn in_ci() -> bool {
    is_ci_value(std::env::var("CI").ok().as_deref())
}

fn is_ci_value(value: Option<&str>) -> bool {
    value.is_some_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_any_value_but_empty_0_or_false() {
        for (value, ci) in [
            (None, false),
            (Some(""), false),
            (Some("0"), false),
            (Some("false"), false),
            (Some("true"), true),
            (Some("1"), true),
        ] {
            assert_eq!(is_ci_value(value), ci, "{value:?}");
        }
    }

    #[test]
    fn a_need_that_is_met_is_no_skip() {
        assert!(!skip_unless("t", true, "nothing"));
        if !in_ci() {
            assert!(skip_unless(
                "t",
                false,
                "what it lacks (a test of the skip)"
            ));
        }
    }
}
