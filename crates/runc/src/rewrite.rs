//! Edits of a bundle's `config.json` as JSON, so that every field wharf
//! does not know survives as runc and the engine wrote it; written back
//! atomically (a reader sees the old file or the new one).

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use serde_json::Value;

/// Reads `bundle/config.json`, applies `edit`, and writes it back.
pub fn config(
    bundle: &Path,
    edit: impl FnOnce(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let path = bundle.join("config.json");
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut config: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("malformed {}: {e}", path.display()))?;
    edit(&mut config)?;
    let mode = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let tmp = bundle.join(format!(".config.json.wharf-{}", std::process::id()));
    let written = serde_json::to_vec(&config)
        .map_err(|e| e.to_string())
        .and_then(|json| std::fs::write(&tmp, json).map_err(|e| e.to_string()))
        .and_then(|()| {
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
                .map_err(|e| e.to_string())
        })
        .and_then(|()| std::fs::rename(&tmp, &path).map_err(|e| e.to_string()));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {error}", path.display()));
    }
    Ok(())
}

/// Sets `process.args`.
pub fn set_process_args(config: &mut Value, args: &[String]) -> Result<(), String> {
    let process = object_at(config, "process")?;
    process.insert("args".to_owned(), Value::from(args.to_vec()));
    Ok(())
}

/// Appends `mounts` to the spec's `mounts`.
pub fn add_mounts(config: &mut Value, mounts: &[Value]) -> Result<(), String> {
    let root = config
        .as_object_mut()
        .ok_or("config.json is not an object")?;
    let list = root
        .entry("mounts")
        .or_insert_with(|| Value::Array(Vec::new()));
    if list.is_null() {
        *list = Value::Array(Vec::new());
    }
    let list = list.as_array_mut().ok_or("`mounts` is not an array")?;
    list.extend(mounts.iter().cloned());
    Ok(())
}

/// Sets annotation `key` to `value`.
pub fn annotate(config: &mut Value, key: &str, value: &str) -> Result<(), String> {
    let annotations = object_at(config, "annotations")?;
    annotations.insert(key.to_owned(), Value::from(value));
    Ok(())
}

/// The object at `key` of the top-level object, made when missing or null.
fn object_at<'a>(
    config: &'a mut Value,
    key: &str,
) -> Result<&'a mut serde_json::Map<String, Value>, String> {
    let root = config
        .as_object_mut()
        .ok_or("config.json is not an object")?;
    let entry = root
        .entry(key)
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if entry.is_null() {
        *entry = Value::Object(serde_json::Map::new());
    }
    entry
        .as_object_mut()
        .ok_or_else(|| format!("`{key}` is not an object"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_survive_an_edit() {
        let dir = tempfile::tempdir().expect("dir");
        let original = json!({
            "ociVersion": "1.0.2",
            "process": {"args": ["/app.wasm"], "user": {"uid": 7}, "rlimits": [1]},
            "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}},
            "hooks": {"prestart": []},
        });
        std::fs::write(dir.path().join("config.json"), original.to_string()).expect("write");
        config(dir.path(), |c| {
            set_process_args(c, &["/e".to_owned(), "x".to_owned()])?;
            add_mounts(c, &[json!({"destination": "/d"})])?;
            annotate(c, "k", "v")
        })
        .expect("edit");
        let edited: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).expect("read"))
                .expect("json");
        assert_eq!(edited["process"]["args"], json!(["/e", "x"]));
        assert_eq!(edited["process"]["user"], original["process"]["user"]);
        assert_eq!(edited["process"]["rlimits"], original["process"]["rlimits"]);
        assert_eq!(edited["linux"], original["linux"]);
        assert_eq!(edited["hooks"], original["hooks"]);
        assert_eq!(edited["mounts"], json!([{"destination": "/d"}]));
        assert_eq!(edited["annotations"]["k"], "v");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "only config.json is left");
    }

    #[test]
    fn a_config_of_the_wrong_shape_is_an_error_and_unchanged() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"process": 3}"#).expect("write");
        let error = config(dir.path(), |c| set_process_args(c, &[])).expect_err("refused");
        assert!(error.contains("`process` is not an object"), "{error}");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            r#"{"process": 3}"#
        );
    }
}
