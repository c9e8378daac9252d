//! Everything after the program is the guest's.

use crate::common::{assert_code, c_guest, path_str, run, state_root, stdout};

#[test]
fn help_and_version_after_the_program_reach_the_guest() {
    let root = state_root();
    let guest = c_guest("args_env");
    for flag in ["--help", "-h", "--version", "-V"] {
        let output = run(
            root.path(),
            &["-e", "A=1", path_str(&guest), flag, "-v", "x"],
        );
        assert_code(&output, 0);
        let out = stdout(&output);
        assert!(out.contains(&format!("arg 1={flag}\n")), "{flag}: {out}");
        assert!(out.contains("arg 2=-v\narg 3=x\n"), "{flag}: {out}");
        assert!(out.contains("env A=1\n"), "{flag}: {out}");
    }
}

#[test]
fn help_before_the_program_is_still_wharfs() {
    let root = state_root();
    let output = run(root.path(), &["--help"]);
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("Usage: wharf run"),
        "{}",
        stdout(&output)
    );
    let output = run(root.path(), &["-m", "64m", "--help"]);
    assert_code(&output, 0);
}
