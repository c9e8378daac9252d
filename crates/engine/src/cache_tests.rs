use std::io::Read as _;

use super::*;

const DIGEST: &str = "ab00000000000000000000000000000000000000000000000000000000000000";

fn cache() -> (tempfile::TempDir, CodeCache) {
    let root = tempfile::tempdir().expect("temp dir");
    let cache = CodeCache::open(root.path(), &wasmtime::Engine::default(), "test").expect("open");
    (root, cache)
}

fn read(mut file: fs::File) -> Vec<u8> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).expect("read");
    bytes
}

#[test]
fn a_stored_entry_loads_sealed_and_only_for_its_kind() {
    let (_root, cache) = cache();
    assert!(cache.load(DIGEST, ArtifactKind::Module).is_none());
    cache
        .store(DIGEST, ArtifactKind::Module, b"payload")
        .expect("store");
    let file = cache.load(DIGEST, ArtifactKind::Module).expect("loads");
    assert_eq!(read(file), b"payload");
    assert!(cache.load(DIGEST, ArtifactKind::Component).is_none());
}

#[test]
fn a_changed_entry_is_removed_with_its_seal() {
    let (_root, cache) = cache();
    cache
        .store(DIGEST, ArtifactKind::Module, b"payload")
        .expect("store");
    let path = cache.entry_path(DIGEST, ArtifactKind::Module);
    fs::write(&path, b"paylOad").expect("tamper");
    assert!(cache.load(DIGEST, ArtifactKind::Module).is_none());
    assert!(!path.exists(), "a corrupt entry is removed");
    assert!(!cache.seal_path(DIGEST, ArtifactKind::Module).exists());
}

#[test]
fn an_entry_with_the_same_bytes_but_a_new_identity_is_hashed_and_sealed_again() {
    let (_root, cache) = cache();
    cache
        .store(DIGEST, ArtifactKind::Module, b"payload")
        .expect("store");
    let path = cache.entry_path(DIGEST, ArtifactKind::Module);
    let seal = cache.seal_path(DIGEST, ArtifactKind::Module);
    let before = fs::read_to_string(&seal).expect("seal");
    // A copy back in place: the same bytes in another inode.
    let copy = path.with_extension("copy");
    fs::copy(&path, &copy).expect("copy");
    fs::rename(&copy, &path).expect("replace");
    let file = cache
        .load(DIGEST, ArtifactKind::Module)
        .expect("still loads");
    assert_eq!(read(file), b"payload");
    let after = fs::read_to_string(&seal).expect("seal");
    assert_ne!(before, after, "sealed again with the new identity");
    assert_eq!(after, {
        let meta = fs::metadata(&path).expect("stat");
        format!(
            "{SEAL_MAGIC} {} {}\n",
            sha256_hex(b"payload"),
            FileIdentity::of(&meta).to_words()
        )
    });
}

#[test]
fn an_entry_without_a_seal_is_refused() {
    let (_root, cache) = cache();
    cache
        .store(DIGEST, ArtifactKind::Module, b"payload")
        .expect("store");
    fs::remove_file(cache.seal_path(DIGEST, ArtifactKind::Module)).expect("unseal");
    assert!(cache.load(DIGEST, ArtifactKind::Module).is_none());
    assert!(!cache.entry_path(DIGEST, ArtifactKind::Module).exists());
}

#[test]
fn a_foreign_writable_entry_is_refused() {
    let (_root, cache) = cache();
    cache
        .store(DIGEST, ArtifactKind::Module, b"x")
        .expect("store");
    let path = cache.entry_path(DIGEST, ArtifactKind::Module);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).expect("chmod");
    assert!(cache.load(DIGEST, ArtifactKind::Module).is_none());
}

#[test]
fn a_symlinked_entry_is_refused() {
    let (_root, cache) = cache();
    cache
        .store(DIGEST, ArtifactKind::Module, b"x")
        .expect("store");
    let other = DIGEST.replace("ab", "cd");
    std::os::unix::fs::symlink(
        cache.entry_path(DIGEST, ArtifactKind::Module),
        cache.entry_path(&other, ArtifactKind::Module),
    )
    .expect("symlink");
    assert!(cache.load(&other, ArtifactKind::Module).is_none());
}

#[test]
fn a_program_file_is_known_by_identity_only_once_settled_and_until_changed() {
    let (root, cache) = cache();
    let program = root.path().join("program.wasm");
    fs::write(&program, b"\0asm\x01\0\0\0").expect("write");
    let meta = fs::metadata(&program).expect("stat");
    cache.remember_program(&meta, DIGEST, ArtifactKind::Module);
    assert_eq!(
        cache.known_program(&meta),
        None,
        "just written: not settled"
    );

    let later = SystemTime::now() + Duration::from_secs(3);
    cache.remember_program_at(&meta, DIGEST, ArtifactKind::Module, later);
    assert_eq!(
        cache.known_program(&meta),
        Some((DIGEST.to_owned(), ArtifactKind::Module))
    );

    std::thread::sleep(Duration::from_millis(50));
    fs::write(&program, b"\0asm\x01\0\0\x01").expect("same size, other bytes");
    let changed = fs::metadata(&program).expect("stat");
    assert_eq!(cache.known_program(&changed), None);
}

#[test]
fn sha256_is_hex() {
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
