//! `wharf build --artifact`: the Wasm OCI artifact of a core module or
//! a component.

use super::tests::{COMPONENT, CORE, Fixture, digest};
use super::{BuildError, BuildOptions, Built};
use crate::manifest::media_type;

fn artifact(fx: &Fixture, dockerfile: &str) -> Result<Built, BuildError> {
    let options = BuildOptions {
        artifact: true,
        ..fx.options()
    };
    fx.build_with(dockerfile, options)
}

#[test]
fn artifact_of_a_core_module_and_of_a_component() {
    for (module, os) in [(CORE, "wasip1"), (COMPONENT, "wasip2")] {
        let fx = Fixture::new();
        fx.file("app.wasm", module).file("README", b"r");
        let dockerfile = "FROM scratch\nWORKDIR /app\nCOPY app.wasm README ./\n\
                          ENV A=1\nLABEL org.example.x=y\nCMD [\"app.wasm\", \"--flag\"]\n";
        let built = artifact(&fx, dockerfile).expect("build");
        assert_eq!(built.manifest.platform.clone().expect("platform").os, os);
        let manifest = fx.manifest(&built);
        assert_eq!(manifest["mediaType"], media_type::OCI_MANIFEST);
        assert_eq!(manifest["artifactType"], media_type::WASM_CONFIG);
        assert_eq!(manifest["config"]["mediaType"], media_type::WASM_CONFIG);
        assert_eq!(manifest["annotations"]["org.example.x"], "y");
        let layers = manifest["layers"].as_array().expect("layers");
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0]["mediaType"], media_type::WASM_LAYER);
        let layer = digest(&layers[0]["digest"]);
        assert_eq!(fx.store.read(&layer).expect("layer"), module);
        let config = fx.config(&built);
        assert_eq!(
            config,
            serde_json::json!({"architecture": "wasm", "os": os, "layerDigests": [layer.to_string()]})
        );
        let warnings = built.warnings.join("\n");
        for dropped in ["ENV A", "--flag", "WORKDIR /app", "/app/README"] {
            assert!(warnings.contains(dropped), "{dropped} not in {warnings}");
        }
    }
}

#[test]
fn artifact_refuses_what_is_not_a_wasm_entrypoint() {
    let fx = Fixture::new();
    fx.file("app.wasm", CORE)
        .file("script.sh", b"#!/bin/sh\necho hi\n");
    let error = artifact(&fx, "FROM scratch\nCOPY . /\nENTRYPOINT [\"/script.sh\"]\n")
        .expect_err("not wasm");
    assert!(
        matches!(error, BuildError::NotWasm(ref p) if p == "/script.sh"),
        "{error}"
    );
    let error = artifact(
        &fx,
        "FROM scratch\nCOPY . /\nENTRYPOINT [\"/missing.wasm\"]\n",
    )
    .expect_err("missing");
    assert!(
        matches!(error, BuildError::EntrypointNotFound(_)),
        "{error}"
    );
    let error = artifact(&fx, "FROM scratch\nCOPY . /\n").expect_err("no entrypoint");
    assert!(matches!(error, BuildError::NoEntrypoint), "{error}");
    let options = BuildOptions {
        artifact: true,
        platform: Some("wasip2/wasm".into()),
        ..fx.options()
    };
    let error = fx
        .build_with(
            "FROM scratch\nCOPY app.wasm /\nENTRYPOINT [\"/app.wasm\"]\n",
            options,
        )
        .expect_err("mismatch");
    assert!(
        matches!(error, BuildError::PlatformMismatch { .. }),
        "{error}"
    );
    let built = artifact(
        &fx,
        "FROM scratch\nCOPY app.wasm /\nENTRYPOINT [\"/app.wasm\"]\n",
    )
    .expect("plain artifact");
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
}
