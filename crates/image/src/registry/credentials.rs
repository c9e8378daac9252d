//! Registry credentials where Docker keeps them: `$DOCKER_CONFIG/config.json`,
//! else `~/.docker/config.json`, under `auths`.
//!
//! Only credentials stored in the file itself are read and written
//! (`auths.<registry>.auth`, base64 of `user:password`, or `username` and
//! `password` fields). Credential helpers (`credsStore`, `credHelpers`)
//! are not supported: those keys are ignored, and kept as they are.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{Credentials, RegistryError};

/// The key Docker files Docker Hub's credentials under.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Docker's config file: `$DOCKER_CONFIG/config.json`, else
/// `$HOME/.docker/config.json`; `None` when neither variable is set.
pub fn config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".docker/config.json"))
}

fn required_config_path() -> Result<PathBuf, RegistryError> {
    config_path().ok_or_else(|| RegistryError::CredentialsFormat {
        path: PathBuf::from("~/.docker/config.json"),
        detail: "neither DOCKER_CONFIG nor HOME is set".to_owned(),
    })
}

/// The credentials stored for `registry` in Docker's config file.
pub fn stored_credentials(registry: &str) -> Result<Option<Credentials>, RegistryError> {
    match config_path() {
        Some(path) => stored_credentials_in(&path, registry),
        None => Ok(None),
    }
}

/// Stores credentials for `registry` in Docker's config file; returns the file.
pub fn store_credentials(
    registry: &str,
    credentials: &Credentials,
) -> Result<PathBuf, RegistryError> {
    let path = required_config_path()?;
    store_credentials_in(&path, registry, credentials)?;
    Ok(path)
}

/// Removes the credentials for `registry` from Docker's config file;
/// returns whether there were any.
pub fn remove_credentials(registry: &str) -> Result<bool, RegistryError> {
    match config_path() {
        Some(path) => remove_credentials_in(&path, registry),
        None => Ok(false),
    }
}

/// The credentials for `registry` in the config file at `path` (a missing
/// file has none).
pub fn stored_credentials_in(
    path: &Path,
    registry: &str,
) -> Result<Option<Credentials>, RegistryError> {
    let Some(config) = read_config(path)? else {
        return Ok(None);
    };
    let wanted = normalize(registry);
    let Some(auths) = config.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    // The exact key Docker writes first, then any spelling of the same host.
    let entry = auths.get(&key(registry)).or_else(|| {
        auths
            .iter()
            .find(|(k, _)| normalize(k) == wanted)
            .map(|(_, v)| v)
    });
    let Some(entry) = entry else {
        return Ok(None);
    };
    let format = |detail: &str| RegistryError::CredentialsFormat {
        path: path.to_owned(),
        detail: format!("auths entry for {registry}: {detail}"),
    };
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(auth) = field("auth") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| format("`auth` is not base64"))?;
        let text = String::from_utf8(decoded).map_err(|_| format("`auth` is not UTF-8"))?;
        let (username, password) = text
            .split_once(':')
            .ok_or_else(|| format("`auth` is not user:password"))?;
        return Ok(Some(Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        }));
    }
    match (field("username"), field("password")) {
        (Some(username), Some(password)) => Ok(Some(Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        })),
        _ => Ok(None),
    }
}

/// Stores credentials for `registry` in the config file at `path`, keeping
/// everything else in it; the file is replaced atomically, mode 0600 (its
/// directory, when created, 0700).
pub fn store_credentials_in(
    path: &Path,
    registry: &str,
    credentials: &Credentials,
) -> Result<(), RegistryError> {
    let mut config = read_config(path)?.unwrap_or_default();
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(auths) = auths.as_object_mut() else {
        return Err(RegistryError::CredentialsFormat {
            path: path.to_owned(),
            detail: "`auths` is not an object".to_owned(),
        });
    };
    let wanted = normalize(registry);
    let own_key = key(registry);
    auths.retain(|k, _| k == &own_key || normalize(k) != wanted);
    let entry = auths
        .entry(own_key)
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Some(entry) = entry.as_object_mut() {
        for stale in ["username", "password", "identitytoken"] {
            entry.remove(stale);
        }
        let pair = format!("{}:{}", credentials.username, credentials.password);
        let auth = base64::engine::general_purpose::STANDARD.encode(pair);
        entry.insert("auth".to_owned(), Value::String(auth));
    }
    write_config(path, &config)
}

/// Removes every entry for `registry` from the config file at `path`;
/// returns whether there was one.
pub fn remove_credentials_in(path: &Path, registry: &str) -> Result<bool, RegistryError> {
    let Some(mut config) = read_config(path)? else {
        return Ok(false);
    };
    let Some(auths) = config.get_mut("auths").and_then(Value::as_object_mut) else {
        return Ok(false);
    };
    let wanted = normalize(registry);
    let before = auths.len();
    auths.retain(|k, _| normalize(k) != wanted);
    if auths.len() == before {
        return Ok(false);
    }
    write_config(path, &config)?;
    Ok(true)
}

/// The `auths` key Docker writes for a registry.
fn key(registry: &str) -> String {
    if normalize(registry) == "docker.io" {
        DOCKER_HUB_KEY.to_owned()
    } else {
        registry.to_owned()
    }
}

/// A registry name or `auths` key reduced to its lowercase host[:port],
/// with Docker Hub's names folded into `docker.io`.
fn normalize(name: &str) -> String {
    let name = name.trim();
    let name = name.split_once("://").map_or(name, |(_, rest)| rest);
    let host = name
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_owned(),
        _ => host,
    }
}

fn read_config(path: &Path) -> Result<Option<Map<String, Value>>, RegistryError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RegistryError::CredentialsIo {
                path: path.to_owned(),
                source,
            });
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Map::new()));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(RegistryError::CredentialsFormat {
            path: path.to_owned(),
            detail: "not a JSON object".to_owned(),
        }),
        Err(e) => Err(RegistryError::CredentialsFormat {
            path: path.to_owned(),
            detail: format!("not valid JSON: {e}"),
        }),
    }
}

fn write_config(path: &Path, config: &Map<String, Value>) -> Result<(), RegistryError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| RegistryError::CredentialsIo { path, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
    }
    let mut text =
        serde_json::to_vec_pretty(config).map_err(|e| RegistryError::CredentialsFormat {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    text.push(b'\n');
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        file.write_all(&text).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_names_share_one_key() {
        assert_eq!(key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(key("index.docker.io"), DOCKER_HUB_KEY);
        assert_eq!(key("localhost:5000"), "localhost:5000");
        assert_eq!(normalize(DOCKER_HUB_KEY), "docker.io");
        assert_eq!(normalize("https://Ghcr.io/v2/"), "ghcr.io");
    }
}
