//! Named and anonymous volumes, as Docker keeps and removes them.

use crate::common::{assert_code, c_guest, state_root, stdout};
use crate::support::{inspect, ok, wharf_output};

#[test]
fn named_volumes_stay_and_anonymous_ones_go_with_rm_v_or_rm() {
    let root = state_root();
    let root = root.path();
    let fs = c_guest("fs");
    let fs = fs.to_str().expect("path");
    let write = ["run", "-v", "notes:/data", fs, "write", "/data/a.txt"];
    assert_eq!(ok(root, &write), "ok\n");
    let read = ["run", "-v", "notes:/data", fs, "read", "/data/a.txt"];
    assert_eq!(ok(root, &read), "content: written by guest\nok\n");
    assert!(root.join("volumes/notes/a.txt").is_file());
    ok(
        root,
        &[
            "create",
            "--name",
            "one",
            "-v",
            "notes:/data",
            fs,
            "read",
            "/data/a.txt",
        ],
    );
    // A named volume is the user's: rm -v keeps it, as Docker's does.
    assert_eq!(ok(root, &["rm", "-v", "one"]), "one\n");
    assert!(root.join("volumes/notes/a.txt").is_file());

    // `-v /scratch` is an anonymous volume: made for the container, gone
    // with its rm -v.
    ok(
        root,
        &[
            "create",
            "--name",
            "anon",
            "-v",
            "/scratch",
            fs,
            "write",
            "/scratch/x",
        ],
    );
    let started = wharf_output(root, &["start", "-a", "anon"]);
    assert_eq!(stdout(&started), "ok\n");
    let binds = inspect(root, "anon")["HostConfig"]["Binds"][0]
        .as_str()
        .expect("a bind")
        .to_owned();
    let (host, guest) = binds.split_once(':').expect("HOST:GUEST");
    assert_eq!(guest, "/scratch");
    assert!(std::path::Path::new(host).join("x").is_file(), "{binds}");
    ok(root, &["rm", "anon"]);
    assert!(
        std::path::Path::new(host).is_dir(),
        "rm without -v keeps it"
    );
    ok(
        root,
        &[
            "create",
            "--name",
            "again",
            "-v",
            "/scratch",
            fs,
            "write",
            "/scratch/x",
        ],
    );
    let volumes = || {
        let mut names: Vec<String> = std::fs::read_dir(root.join("volumes"))
            .expect("volumes")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(volumes().len(), 3);
    ok(root, &["rm", "-v", "again"]);
    assert_eq!(volumes().len(), 2, "rm -v removed its anonymous volume");
    // --rm takes the anonymous volumes with the container.
    let output = wharf_output(
        root,
        &[
            "run",
            "--rm",
            "--name",
            "brief",
            "-v",
            "/scratch",
            fs,
            "write",
            "/scratch/x",
        ],
    );
    assert_code(&output, 0);
    assert_eq!(volumes().len(), 2, "{:?}", volumes());
    assert!(volumes().contains(&"notes".to_owned()));
}
