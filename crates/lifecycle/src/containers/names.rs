//! Container names: `ROOT/names/<name>` holds the ID of the container of
//! that name. Claims and releases take `ROOT/names.lock`, so of two
//! commands that want one name, exactly one gets it.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::error::ContainerError;
use super::lock;

const ADJECTIVES: [&str; 16] = [
    "brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nimble", "proud", "quiet", "sharp", "tender", "witty",
];
const NOUNS: [&str; 16] = [
    "anchor", "barge", "buoy", "cargo", "dock", "ferry", "harbor", "jetty", "keel", "mast", "pier",
    "quay", "rudder", "sail", "tide", "wharf",
];

/// Names are what Docker accepts: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, and at
/// most 128 characters.
pub(super) fn validate(name: &str) -> Result<(), ContainerError> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && name.len() <= 128 {
        Ok(())
    } else {
        Err(ContainerError::InvalidName(name.to_owned()))
    }
}

/// Claims `wanted` (or a generated name) for container `id`. A name whose
/// container is gone is free again.
pub(super) fn claim(root: &Path, id: &str, wanted: Option<&str>) -> Result<String, ContainerError> {
    let lock_path = root.join("names.lock");
    let _held = lock::wait_lock_exclusive(&lock_path).map_err(ContainerError::io(&lock_path))?;
    let candidates: Vec<String> = match wanted {
        Some(name) => vec![name.to_owned()],
        None => generated(id),
    };
    for name in &candidates {
        let path = root.join("names").join(name);
        if let Ok(owner) = fs::read_to_string(&path) {
            // A container being made is renamed from `.new-<id>` to `<id>`:
            // looking in that order cannot miss it.
            let owner = owner.trim();
            if root.join(format!(".new-{owner}")).is_dir() || root.join(owner).is_dir() {
                if wanted.is_some() {
                    return Err(ContainerError::NameInUse {
                        name: name.clone(),
                        id: owner.to_owned(),
                    });
                }
                continue;
            }
        }
        let temp = root.join("names").join(format!(".{name}.{id}"));
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .and_then(|mut file| file.write_all(id.as_bytes()))
            .and_then(|()| fs::rename(&temp, &path))
            .map_err(ContainerError::io(&path))?;
        return Ok(name.clone());
    }
    Err(ContainerError::NameInUse {
        name: candidates.last().cloned().unwrap_or_default(),
        id: String::new(),
    })
}

/// The ID of the container named `name`, if the name is taken.
pub(super) fn lookup(root: &Path, name: &str) -> Option<String> {
    validate(name).ok()?;
    let id = fs::read_to_string(root.join("names").join(name)).ok()?;
    Some(id.trim().to_owned())
}

/// Frees `name` if it is container `id`'s.
pub(super) fn release(root: &Path, id: &str, name: &str) {
    let lock_path = root.join("names.lock");
    let Ok(_held) = lock::wait_lock_exclusive(&lock_path) else {
        return;
    };
    let path = root.join("names").join(name);
    if fs::read_to_string(&path).is_ok_and(|owner| owner.trim() == id) {
        let _ = fs::remove_file(path);
    }
}

/// Readable names for a container without one: a few from its ID, then
/// the ID's start for certain.
fn generated(id: &str) -> Vec<String> {
    let bytes = id.as_bytes();
    let mut names: Vec<String> = (0..4)
        .map(|i| {
            let pick = |at: usize| usize::from(bytes[at] % 16);
            format!("{}_{}", ADJECTIVES[pick(2 * i)], NOUNS[pick(2 * i + 1)])
        })
        .collect();
    names.push(format!("{}_{}", names[0], &id[..8]));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rules() {
        for good in ["web", "a", "web-1", "Web_2.test", &"x".repeat(128)] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-web",
            "_web",
            ".web",
            "we b",
            "we/b",
            "wé",
            &"x".repeat(129),
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_names_are_valid_and_end_unique() {
        let id = "0123456789abcdef".repeat(4);
        let names = generated(&id);
        assert_eq!(names.len(), 5);
        for name in &names {
            assert!(validate(name).is_ok(), "{name}");
        }
        assert!(names[4].ends_with("_01234567"));
    }
}
