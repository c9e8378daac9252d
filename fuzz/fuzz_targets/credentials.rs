//! Docker's `config.json` credentials (`registry::stored_credentials_in`,
//! `store_credentials_in`, `remove_credentials_in`): the input is the
//! file. Reading fails with an error or finds credentials; storing keeps
//! the file readable and reads back what was stored; removing leaves none.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_image::registry::{
    Credentials, remove_credentials_in, store_credentials_in, stored_credentials_in,
};

const REGISTRIES: [&str; 6] = [
    "docker.io",
    "index.docker.io",
    "https://index.docker.io/v1/",
    "localhost:5000",
    "Registry.Example.com",
    "",
];

fuzz_target!(|data: &[u8]| {
    let dir = wharf_fuzz::fresh_dir();
    let path = dir.path().join("config.json");
    std::fs::write(&path, data).expect("write config.json");
    for registry in REGISTRIES {
        let _ = stored_credentials_in(&path, registry);
    }
    let registry = REGISTRIES[data.len() % REGISTRIES.len()];
    let credentials = Credentials {
        username: "fuzz".to_owned(),
        password: "pass:word\u{e9}".to_owned(),
    };
    if store_credentials_in(&path, registry, &credentials).is_err() {
        return;
    }
    let read = stored_credentials_in(&path, registry)
        .unwrap_or_else(|e| panic!("stored credentials cannot be read: {e}"));
    assert_eq!(read, Some(credentials), "credentials for `{registry}`");
    let removed = remove_credentials_in(&path, registry)
        .unwrap_or_else(|e| panic!("stored credentials cannot be removed: {e}"));
    assert!(removed, "nothing removed for `{registry}`");
    let read = stored_credentials_in(&path, registry)
        .unwrap_or_else(|e| panic!("the file cannot be read after a removal: {e}"));
    assert_eq!(read, None, "credentials for `{registry}` after removal");
});
