use std::fs;

use super::*;

#[test]
fn pod_sandbox_and_sandbox_id() {
    let json = br#"{"ociVersion":"1.1.0","process":{"args":["/pause"],"terminal":true},
        "annotations":{"io.kubernetes.cri.container-type":"sandbox",
                       "io.kubernetes.cri.sandbox-id":"abc123"}}"#;
    let spec = OciSpec::parse(json, Path::new("config.json")).expect("parse");
    assert!(spec.is_pod_sandbox());
    assert_eq!(spec.sandbox_id(), Some("abc123"));
    assert!(spec.terminal());
    assert_eq!(spec.args(), ["/pause"]);
    let json = br#"{"annotations":{"io.kubernetes.cri.container-type":"container",
                       "io.kubernetes.cri.sandbox-id":"abc123"}}"#;
    let spec = OciSpec::parse(json, Path::new("config.json")).expect("parse");
    assert!(!spec.is_pod_sandbox());
    assert_eq!(spec.sandbox_id(), Some("abc123"));
}

#[test]
fn defaults_and_nulls() {
    let json = br#"{"ociVersion":"1.0.2","process":{"args":null,"env":null,"cwd":""},
        "root":null,"mounts":null,"annotations":null,"linux":{"resources":null}}"#;
    let spec = OciSpec::parse(json, Path::new("config.json")).expect("parse");
    assert_eq!(spec.oci_version(), "1.0.2");
    assert!(spec.args().is_empty() && spec.env().is_empty() && spec.mounts().is_empty());
    assert_eq!(spec.cwd(), "/");
    assert_eq!(spec.root_path(), "rootfs");
    assert_eq!(
        spec.rootfs(Path::new("/b")).expect("inside"),
        Path::new("/b/rootfs")
    );
    assert!(!spec.root_readonly() && !spec.is_pod_sandbox() && !spec.terminal());
    assert_eq!(spec.memory_limit(), None);
    let spec = OciSpec::parse(b"{}", Path::new("config.json")).expect("parse");
    assert_eq!(spec.cwd(), "/");
}

#[test]
fn root_and_mount_fields() {
    let json = br#"{"root":{"path":"/abs/rootfs","readonly":true},
        "mounts":[{"destination":"/d","type":"bind","source":"/s","options":["rbind","ro"]},
                  {"destination":"/p","type":"proc","source":"proc"}]}"#;
    let spec = OciSpec::parse(json, Path::new("config.json")).expect("parse");
    assert_eq!(spec.root_path(), "/abs/rootfs");
    assert!(spec.rootfs(Path::new("/b")).is_err(), "outside the bundle");
    assert_eq!(
        spec.rootfs(Path::new("/abs")).expect("inside"),
        Path::new("/abs/rootfs")
    );
    assert!(spec.root_readonly());
    let [bind, proc] = spec.mounts() else {
        panic!("two mounts")
    };
    assert_eq!(
        (
            bind.destination.as_str(),
            bind.kind.as_str(),
            bind.source.as_str()
        ),
        ("/d", "bind", "/s")
    );
    assert!(bind.is_bind() && bind.is_read_only());
    assert!(!proc.is_bind() && !proc.is_read_only() && proc.options.is_empty());
}

#[test]
fn malformed_config_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    fs::write(&path, r#"{"process": {"args": "not a list"}}"#).expect("write");
    let err = load(dir.path()).expect_err("malformed");
    assert!(matches!(err, LifecycleError::MalformedConfig { .. }));
    assert_eq!(
        err.to_string(),
        format!("{} is not a valid OCI runtime spec", path.display())
    );
    let cause = std::error::Error::source(&err).expect("source").to_string();
    assert!(cause.contains("line 1"), "{cause}");
    fs::write(&path, "not json").expect("write");
    assert!(matches!(
        load(dir.path()),
        Err(LifecycleError::MalformedConfig { .. })
    ));
}

#[test]
fn missing_and_oversized_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load(dir.path()).expect_err("missing");
    assert!(matches!(err, LifecycleError::ReadConfig { .. }));
    assert!(err.to_string().ends_with("config.json"), "{err}");
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_CONFIG_SIZE as usize));
    fs::write(dir.path().join("config.json"), big).expect("write");
    assert!(matches!(
        load(dir.path()),
        Err(LifecycleError::ConfigTooLarge { .. })
    ));
}
