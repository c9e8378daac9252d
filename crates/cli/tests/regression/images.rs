//! Images: crafted layers pulled from a real registry, and images removed
//! under the containers made from them.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use serde_json::json;
use wharf_testkit::{TarEntry, TestRegistry, crafted_tar};

use crate::common::{assert_code, c_guest, state_root, stderr, temp};
use crate::layout::{Layout, build, gzip, sha256_hex, wharf};
use crate::support::{detached, eventually, inspect, ok};

/// A layer holding the chain of symlinks that once led a directory entry
/// out of the tree to `victim`, then `esc/` with mode 0777, then a file.
fn escaping_layer(victim: &Path) -> Vec<u8> {
    let deep: Vec<String> = (0..20).map(|i| format!("d{i}")).collect();
    let deep = deep.join("/");
    let up = format!("{deep}/up");
    let back = vec![".."; 20].join("/");
    let climb = vec![".."; 21].join("/");
    let victim = victim.to_str().expect("utf-8").trim_start_matches('/');
    let esc = format!("{up}/{climb}/{victim}");
    use tar::EntryType::{Directory, Symlink};
    let deep_dir = format!("{deep}/");
    crafted_tar(&[
        TarEntry::new(&deep_dir, Directory, "", b"").mode(0o755),
        TarEntry::new(&up, Symlink, &back, b"").mode(0o777),
        TarEntry::new("esc", Symlink, &esc, b"").mode(0o777),
        TarEntry::new("esc/", Directory, "", b"").mode(0o777),
        TarEntry::file("esc/planted", b"planted"),
        TarEntry::file("app.wasm", b"\0asm\x01\0\0\0").mode(0o755),
    ])
}

#[test]
fn a_pulled_layer_cannot_change_a_host_directory() {
    let registry = TestRegistry::start();
    let work = temp();
    let victim = work.path().join("victim");
    fs::create_dir(&victim).expect("victim");
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o700)).expect("chmod");
    let mut layout = Layout::new(work.path().join("layout"));
    let tar = escaping_layer(&victim);
    let layer = layout.blob("application/vnd.oci.image.layer.v1.tar+gzip", &gzip(&tar));
    let config = json!({
        "architecture": "wasm", "os": "wasi",
        "config": {"Entrypoint": ["/app.wasm"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(&tar))]},
    });
    let config = layout.blob(
        "application/vnd.oci.image.config.v1+json",
        &serde_json::to_vec(&config).expect("json"),
    );
    let manifest = layout.manifest(config, &[layer]);
    layout.tag("1", manifest);
    let name = format!("{}/escape:1", registry.address());
    layout.push_with_skopeo("1", &name);

    let root = state_root();
    assert_code(&wharf(root.path(), &["pull", &name]), 0);
    let output = wharf(root.path(), &["run", &name]);
    assert_eq!(
        fs::metadata(&victim).expect("victim").permissions().mode() & 0o7777,
        0o700,
        "the host directory's mode is unchanged"
    );
    let planted: Vec<_> = fs::read_dir(&victim).expect("victim").collect();
    assert!(planted.is_empty(), "nothing was planted outside");
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}

/// A build context whose image runs the ticker guest (runs until stopped).
fn ticker_image(root: &Path, name: &str) {
    let context = temp();
    fs::copy(c_guest("ticker"), context.path().join("ticker.wasm")).expect("guest");
    fs::write(
        context.path().join("Dockerfile"),
        format!(
            "FROM scratch\nCOPY ticker.wasm /ticker.wasm\nLABEL name={name}\nENTRYPOINT [\"/ticker.wasm\"]\n"
        ),
    )
    .expect("Dockerfile");
    build(root, name, context.path());
}

fn trees(root: &Path) -> usize {
    fs::read_dir(root.join("rootfs")).map_or(0, |d| d.count())
}

#[test]
fn an_image_in_use_by_a_container_is_not_removed() {
    let root = state_root();
    ticker_image(root.path(), "ticker:1");
    let id = detached(
        root.path(),
        "user",
        &["--restart", "always"],
        Path::new("ticker:1"),
    );
    eventually(std::time::Duration::from_secs(10), "running", || {
        inspect(root.path(), "user")["State"]["Status"] == "running"
    });
    assert_eq!(trees(root.path()), 1);

    let refused = wharf(root.path(), &["rmi", "ticker:1"]);
    assert_code(&refused, 125);
    let message = stderr(&refused);
    assert!(
        message.contains("conflict: unable to remove repository reference \"ticker:1\"")
            && message.contains(&id[..12]),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        ok(root.path(), &["images"]).contains("ticker"),
        "still named"
    );

    // -f removes the name; the files stay while the container needs them.
    assert_code(&wharf(root.path(), &["rmi", "-f", "ticker:1"]), 0);
    assert!(!ok(root.path(), &["images"]).contains("ticker"));
    assert_eq!(trees(root.path()), 1, "the tree stays");
    assert_eq!(inspect(root.path(), "user")["State"]["Status"], "running");
    ok(root.path(), &["stop", "user"]);
    // A stopped container still needs it (it may be started again).
    ticker_image(root.path(), "other:1");
    assert_code(&wharf(root.path(), &["rmi", "other:1"]), 0);
    assert_eq!(trees(root.path()), 1, "kept for the stopped container");
    let refused = wharf(root.path(), &["rmi", "-f", "ticker:1"]);
    assert_code(&refused, 125); // no such name any more

    ok(root.path(), &["rm", "user"]);
    ticker_image(root.path(), "other:2");
    assert_code(&wharf(root.path(), &["rmi", "other:2"]), 0);
    assert_eq!(
        trees(root.path()),
        0,
        "collected once no container needs it"
    );
}
