//! The compiled-code cache: hits, corruption, concurrency.

use crate::common::*;

#[test]
fn second_run_does_not_compile() {
    for (shape, guest) in both_shapes("args_env") {
        let root = temp();
        let first = run_logged(root.path(), &[path_str(&guest)]);
        assert_code(&first, 0);
        assert!(
            stderr(&first).contains("compiling"),
            "{shape}: {}",
            stderr(&first)
        );
        let second = run_logged(root.path(), &[path_str(&guest)]);
        assert_code(&second, 0);
        let log = stderr(&second);
        assert!(log.contains("loaded from cache"), "{shape}: {log}");
        assert!(!log.contains("compiling"), "{shape}: {log}");
        assert_eq!(stdout(&first), stdout(&second));
        assert_eq!(cached_code(root.path()).len(), 1, "{shape}");
    }
}

#[test]
fn flipped_byte_is_detected_and_rebuilt() {
    for (shape, guest) in both_shapes("args_env") {
        let root = temp();
        assert_code(&run_logged(root.path(), &[path_str(&guest)]), 0);
        let entry = cached_code(root.path()).pop().expect("a cache entry");
        let mut bytes = std::fs::read(&entry).expect("read entry");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&entry, &bytes).expect("corrupt entry");

        let output = run_logged(root.path(), &[path_str(&guest)]);
        assert_code(&output, 0);
        let log = stderr(&output);
        assert!(
            log.contains("its content does not match its seal"),
            "{shape}: {log}"
        );
        assert!(log.contains("compiling"), "{shape}: {log}");
        assert!(stdout(&output).contains("arg 0="), "{shape}");

        let third = run_logged(root.path(), &[path_str(&guest)]);
        assert!(
            stderr(&third).contains("loaded from cache"),
            "{shape}: rebuilt entry is good"
        );
    }
}

#[test]
fn entry_writable_by_others_is_not_loaded() {
    use std::os::unix::fs::PermissionsExt;
    let root = temp();
    let guest = c_guest("args_env");
    assert_code(&run_logged(root.path(), &[path_str(&guest)]), 0);
    let entry = cached_code(root.path()).pop().expect("a cache entry");
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let output = run_logged(root.path(), &[path_str(&guest)]);
    assert_code(&output, 0);
    assert!(stderr(&output).contains("compiling"), "{}", stderr(&output));
}

#[test]
fn concurrent_first_runs_all_succeed() {
    let root = temp();
    let guest = c_guest("args_env");
    let children: Vec<_> = (0..6)
        .map(|i| {
            wharf(root.path())
                .arg("run")
                .arg(&guest)
                .arg(format!("run-{i}"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().expect("wait");
        assert_code(&output, 0);
        assert!(stdout(&output).contains(&format!("arg 1=run-{i}")));
    }
    let entries = cached_code(root.path());
    assert_eq!(entries.len(), 1, "one entry: {entries:?}");
    let files = wharf_testkit::files_under(&root.path().join("cache"));
    assert!(
        files.iter().all(|f| !f.to_string_lossy().ends_with(".tmp")),
        "no temporary files: {files:?}"
    );
    let output = run_logged(root.path(), &[path_str(&guest)]);
    assert!(stderr(&output).contains("loaded from cache"));
}

#[test]
fn unusable_cache_location_still_runs() {
    // The cache's place is a file: no cache can live there. The run goes
    // on without one, and says so.
    let root = temp();
    std::fs::write(root.path().join("cache"), "").expect("file");
    let guest = c_guest("args_env");
    let output = run_logged(root.path(), &[path_str(&guest)]);
    assert_code(&output, 0);
    assert!(
        stderr(&output).contains("cache disabled"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).contains("arg 0="));
    // A state directory that is a file is refused, in one line.
    let file = root.path().join("not-a-directory");
    std::fs::write(&file, "").expect("file");
    let refused = run_logged(&file, &[path_str(&guest)]);
    assert_code(&refused, 125);
    assert!(
        stderr(&refused).contains("cannot make the state directory"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn cache_owned_by_another_user_is_never_used() {
    let test = "cache_owned_by_another_user_is_never_used";
    if wharf_testkit::skip_unless_root(test, "to chown the cache to another user") {
        return;
    }
    let root = temp();
    let guest = c_guest("args_env");
    assert_code(&run_logged(root.path(), &[path_str(&guest)]), 0);
    let cache = root.path().join("cache");
    let nobody = 65534;
    for entry in std::iter::once(cache.clone()).chain(cached_code(root.path())) {
        std::os::unix::fs::chown(&entry, Some(nobody), Some(nobody)).expect("chown");
    }
    for engine in std::fs::read_dir(&cache).expect("cache").flatten() {
        std::os::unix::fs::chown(engine.path(), Some(nobody), Some(nobody)).expect("chown");
    }
    let output = run_logged(root.path(), &[path_str(&guest)]);
    assert_code(&output, 0);
    let log = stderr(&output);
    assert!(log.contains("cache disabled"), "{log}");
    assert!(log.contains("compiling"), "{log}");
    assert!(!log.contains("loaded from cache"), "{log}");
}
