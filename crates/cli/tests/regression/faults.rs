//! Faults: a full disk, and commands killed at any moment. Afterwards the
//! store and every container must still work, and nothing half-made stays.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use wharf_testkit::TestRegistry;

use crate::common::{assert_code, c_guest, path_str, state_root, stderr, stdout, temp};
use crate::layout::{self, Layout, gzip, sha256_hex, wharf};
use crate::support::ok;

/// Deterministic noise (xorshift), so a failing run can be repeated from
/// the seed it prints.
struct Noise(u64);

impl Noise {
    fn from_clock() -> Noise {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 | 1);
        eprintln!("fault seed {seed}");
        Noise(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Pushes `name` to `registry`: a wasi/wasm image with the args_env guest
/// and `payload` as a second layer's file.
fn push_image(registry: &TestRegistry, dir: &Path, name: &str, payload: &[u8]) -> String {
    let mut layout = Layout::new(dir.to_owned());
    let guest = fs::read(c_guest("args_env")).expect("guest");
    let app = layout::tar_of(&[("app.wasm", &guest)]);
    let data = layout::tar_of(&[("data.bin", payload)]);
    let gzip_layer = "application/vnd.oci.image.layer.v1.tar+gzip";
    let layers = [
        layout.blob(gzip_layer, &gzip(&app)),
        layout.blob(gzip_layer, &gzip(&data)),
    ];
    let config = json!({
        "architecture": "wasm", "os": "wasi",
        "config": {"Entrypoint": ["/app.wasm"]},
        "rootfs": {"type": "layers", "diff_ids": [
            format!("sha256:{}", sha256_hex(&app)), format!("sha256:{}", sha256_hex(&data))]},
    });
    let config = layout.blob(
        "application/vnd.oci.image.config.v1+json",
        &serde_json::to_vec(&config).expect("json"),
    );
    let manifest = layout.manifest(config, &layers);
    layout.tag("1", manifest);
    let reference = format!("{}/{name}:1", registry.address());
    layout.push_with_skopeo("1", &reference);
    reference
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = temp();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(status.success(), "mount a tmpfs (needs root)");
        SmallDisk { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// The names in `dir`, a directory the store made when it opened: one
/// that cannot be read is a wrong path, never an empty directory.
fn names_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| {
            let entry =
                entry.unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn a_full_disk_fails_a_pull_with_one_line_and_leaves_no_image() {
    if wharf_testkit::skip_unless_root(
        "a_full_disk_fails_a_pull_with_one_line_and_leaves_no_image",
        "mounts a tmpfs",
    ) {
        return;
    }
    let registry = TestRegistry::start();
    let work = temp();
    let mut noise = Noise::from_clock();
    let reference = push_image(
        &registry,
        &work.path().join("big"),
        "big",
        &noise.bytes(6 << 20),
    );
    let disk = SmallDisk::mount("3m");
    let root = disk.dir.path().join("wharf");
    let output = wharf(&root, &["pull", &reference]);
    assert_code(&output, 125);
    let message = stderr(&output);
    let errors: Vec<&str> = message
        .lines()
        .filter(|l| l.starts_with("wharf:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {message}");
    assert!(errors[0].to_lowercase().contains("no space"), "{message}");
    assert_eq!(stdout(&crate::layout::wharf(&root, &["images", "-q"])), "");
    assert!(
        names_in(&root.join("images/ingest")).is_empty(),
        "no ingest file stays"
    );
    assert!(names_in(&root.join("rootfs")).is_empty(), "no tree");

    // A small image still pulls and runs on what is left.
    let small = push_image(&registry, &work.path().join("small"), "small", b"tiny");
    assert_code(&wharf(&root, &["pull", &small]), 0);
    assert_code(&wharf(&root, &["run", &small]), 0);
}

#[test]
fn a_tree_that_does_not_fit_leaves_no_partial_tree() {
    if wharf_testkit::skip_unless_root(
        "a_tree_that_does_not_fit_leaves_no_partial_tree",
        "mounts a tmpfs",
    ) {
        return;
    }
    let registry = TestRegistry::start();
    let work = temp();
    // Zeros: a small download that unpacks past the disk.
    let reference = push_image(
        &registry,
        &work.path().join("zeros"),
        "zeros",
        &vec![0; 6 << 20],
    );
    let disk = SmallDisk::mount("4m");
    let root = disk.dir.path().join("wharf");
    assert_code(&wharf(&root, &["pull", &reference]), 0);
    let output = wharf(&root, &["run", &reference]);
    assert_code(&output, 125);
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    assert!(
        names_in(&root.join("rootfs")).is_empty(),
        "no partial tree stays"
    );
    assert!(
        stdout(&wharf(&root, &["images", "-q"])).trim().len() >= 12,
        "the image stays named"
    );
}

/// Starts `wharf ARGS` under `root` and kills it with SIGKILL after
/// `delay`; whatever it had done stays as it was.
fn kill_after(root: &Path, args: &[&str], delay: Duration) {
    let mut child = crate::common::wharf(root)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wharf");
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            return;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn commands_killed_at_random_moments_leave_a_working_store() {
    let registry = TestRegistry::start();
    let work = temp();
    let mut noise = Noise::from_clock();
    let reference = push_image(
        &registry,
        &work.path().join("img"),
        "img",
        &noise.bytes(2 << 20),
    );
    let context = layout::context(layout::APP_DOCKERFILE);
    let root = state_root();
    let root = root.path();
    let archive = work.path().join("saved.tar");
    ok(
        root,
        &["build", "-q", "-t", "seed:1", path_str(context.path())],
    );
    ok(root, &["save", "-o", path_str(&archive), "seed:1"]);
    let ticker = c_guest("ticker");
    for round in 0..12 {
        let delay = Duration::from_millis(noise.next() % 60);
        let name = format!("c{round}");
        let tag = format!("built:{round}");
        let commands: [Vec<&str>; 6] = [
            vec!["pull", &reference],
            vec!["build", "-q", "-t", &tag, path_str(context.path())],
            vec!["load", "-i", path_str(&archive)],
            vec!["rmi", &reference],
            vec!["run", "-d", "--name", &name, path_str(&ticker)],
            vec!["run", &reference],
        ];
        let command = &commands[(noise.next() % commands.len() as u64) as usize];
        kill_after(root, command, delay);
        // Whatever was cut off, every listing works and names stay usable.
        ok(root, &["images"]);
        ok(root, &["ps", "-a"]);
    }
    // Afterwards every command works from where the faults left things.
    ok(root, &["pull", &reference]);
    let output = wharf(root, &["run", &reference, "after"]);
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("arg 1=after\n"),
        "{}",
        stdout(&output)
    );
    ok(
        root,
        &["build", "-q", "-t", "final:1", path_str(context.path())],
    );
    ok(root, &["load", "-i", path_str(&archive)]);
    ok(root, &["rmi", "final:1"]);
    let listed = ok(root, &["ps", "-a", "-q"]);
    for id in listed.lines() {
        ok(root, &["rm", "-f", id]);
    }
    assert_eq!(
        ok(root, &["ps", "-a", "-q"]),
        "",
        "every container could be removed"
    );
    let id = ok(root, &["run", "-d", path_str(&ticker)]);
    ok(root, &["rm", "-f", id.trim()]);
    assert!(
        names_in(&root.join("rootfs"))
            .iter()
            .all(|n| !n.contains(".partial-"))
    );
}
