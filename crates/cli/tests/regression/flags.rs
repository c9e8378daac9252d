//! Flag values that once panicked.

use crate::common::{assert_code, c_guest, path_str, run, state_root, stderr, stdout, temp, wharf};
use crate::support::detached;

#[test]
fn a_trailing_slash_on_a_volume_path_does_not_panic() {
    let root = state_root();
    let data = temp();
    std::fs::create_dir(data.path().join("sub")).expect("sub");
    std::fs::write(data.path().join("relative.txt"), "top\n").expect("top");
    std::fs::write(data.path().join("sub/relative.txt"), "sub\n").expect("sub file");
    let guest = c_guest("cwd");
    let volume = format!("{}:/data/", data.path().display());
    for (workdir, found) in [("/data", "top"), ("/data/", "top"), ("/data/sub/", "sub")] {
        let output = run(
            root.path(),
            &["-v", &volume, "-w", workdir, path_str(&guest)],
        );
        assert_code(&output, 0);
        assert_eq!(stdout(&output), format!("relative: {found}\n"), "{workdir}");
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    }
}

#[test]
fn a_guest_path_with_dotdot_is_a_one_line_error() {
    let root = state_root();
    let data = temp();
    let volume = format!("{}:/data/../etc", data.path().display());
    let output = run(root.path(), &["-v", &volume, path_str(&c_guest("cwd"))]);
    assert_code(&output, 125);
    assert!(stderr(&output).contains(".."), "{}", stderr(&output));
}

#[test]
fn a_since_further_back_than_the_clock_does_not_panic() {
    let root = state_root();
    let ticker = c_guest("ticker");
    detached(root.path(), "far", &[], &ticker);
    for since in ["3000000000000000h", "99999999999999999999h", "1e300s"] {
        let output = wharf(root.path())
            .args(["logs", "--since", since, "far"])
            .output()
            .expect("logs");
        let code = output.status.code();
        assert!(
            code == Some(0) || code == Some(125),
            "{since}: {code:?}\n{}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains("panicked"),
            "{since}: {}",
            stderr(&output)
        );
        if code == Some(125) {
            assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
        }
    }
    let _ = wharf(root.path()).args(["rm", "-f", "far"]).output();
}

/// More published ports than a supervisor is handed listeners for is one
/// line, and no container is made.
#[test]
fn more_published_ports_than_a_detached_container_takes_is_refused() {
    let root = state_root();
    let mut args = vec!["run".to_owned(), "-d".to_owned()];
    for port in 0..65 {
        args.push("-p".to_owned());
        args.push(format!("127.0.0.1:0:{}", 8000 + port));
    }
    args.push(path_str(&c_guest("ticker")).to_owned());
    let output = wharf(root.path()).args(&args).output().expect("run");
    assert_code(&output, 125);
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("65 published ports"), "{text}");
    let listed = wharf(root.path())
        .args(["ps", "-a", "-q"])
        .output()
        .expect("ps");
    assert_eq!(stdout(&listed), "", "no container was made");
}
