//! The state directory is never one another user could have made or can
//! write (issue 23): no shared default such as `/tmp/wharf`, and a root, or
//! a store or containers directory in it, not the caller's or writable by
//! group or others is refused before anything is read from it.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output};

use crate::common::{assert_code, stderr, temp, wharf};

const NOBODY: u32 = 65534;

#[track_caller]
fn assert_refused(output: &Output, says: &str) {
    assert_code(output, 125);
    let text = stderr(output);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(text.contains(says), "{text}");
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).expect("chown");
}

#[test]
fn a_state_directory_of_another_user_or_that_others_may_write_is_refused() {
    if wharf_testkit::skip_unless_root(
        "a_state_directory_of_another_user",
        "to give a directory away",
    ) {
        return;
    }
    let theirs = temp();
    chown(theirs.path(), NOBODY);
    let refused = wharf(theirs.path()).arg("ps").output().expect("ps");
    assert_refused(&refused, &format!("belongs to uid {NOBODY}"));
    assert!(
        !theirs.path().join("containers").exists(),
        "nothing was made in it"
    );

    let open = temp();
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    assert_refused(
        &wharf(open.path()).arg("ps").output().expect("ps"),
        "group or others may write",
    );

    // A planted containers directory in an otherwise good root.
    let ours = temp();
    let planted = ours.path().join("containers");
    std::fs::create_dir(&planted).expect("containers");
    chown(&planted, NOBODY);
    assert_refused(
        &wharf(ours.path()).arg("ps").output().expect("ps"),
        "containers",
    );
    chown(&planted, 0);
    assert_code(&wharf(ours.path()).arg("ps").output().expect("ps"), 0);
    let mode = std::fs::metadata(ours.path()).expect("root").mode() & 0o777;
    assert_eq!(mode, 0o700, "the root is made private");
}

#[test]
fn with_no_home_there_is_no_shared_default() {
    if wharf_testkit::skip_unless_root(
        "with_no_home_there_is_no_shared_default",
        "to run as another user",
    ) {
        return;
    }
    // A copy of wharf another user may run, and a runtime directory of its.
    let bin = temp();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let wharf_copy = bin.path().join("wharf");
    std::fs::copy(env!("CARGO_BIN_EXE_wharf"), &wharf_copy).expect("copy wharf");
    let runtime = temp();
    chown(runtime.path(), NOBODY);
    let tmp_wharf = Path::new("/tmp/wharf");
    let existed = tmp_wharf.exists();
    let as_nobody = |runtime_dir: Option<&Path>| {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&wharf_copy)
            .arg("ps")
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        if let Some(dir) = runtime_dir {
            command.env("XDG_RUNTIME_DIR", dir);
        }
        command.output().expect("setpriv (util-linux)")
    };
    assert_refused(&as_nobody(None), "no state directory");
    assert_code(&as_nobody(Some(runtime.path())), 0);
    let made = runtime.path().join("wharf");
    let meta = std::fs::metadata(&made).expect("the runtime directory's wharf");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o700));
    assert_eq!(tmp_wharf.exists(), existed, "/tmp/wharf was made");
}
