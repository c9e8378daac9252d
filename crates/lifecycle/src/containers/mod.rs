//! Detached containers on disk: one directory per container, written
//! atomically, with flocks for the commands that change it and for its
//! supervisor's life.
//!
//! ```text
//! ROOT/<id>/record.json      what the container is (rewritten by a rename)
//! ROOT/<id>/state.json       how it is doing (replaced at each change)
//! ROOT/<id>/lock             held by a wharf command changing it
//! ROOT/<id>/supervisor.lock  held by its supervisor while it lives
//! ROOT/<id>/container.log    its output (see [`logs`])
//! ROOT/names/<name>          the ID of the container of that name
//! ```
//!
//! A container appears whole (its directory is renamed into place) and
//! goes whole (renamed away, then removed); every file is replaced by a
//! rename. A `wharf` command or supervisor killed at any moment leaves
//! every other container as it was. Directories are 0700 and files 0600:
//! one user's containers and logs are closed to others.

mod error;
mod lock;
pub mod logs;
mod names;
mod process;
mod record;
mod signal;
pub mod time;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub use error::ContainerError;
pub use lock::Held;
pub use process::{Supervisor, own_start_time};
pub use record::{
    LogOptions, Record, RestartPolicy, RunRecord, ServiceRecord, State, Status, VolumeRecord,
};

/// The containers under one root directory.
#[derive(Debug, Clone)]
pub struct Containers {
    root: PathBuf,
}

/// A container as read from disk, its state as it really is: a container
/// whose supervisor died shows as exited.
#[derive(Debug, Clone)]
pub struct Container {
    /// What it is.
    pub record: Record,
    /// How it is doing.
    pub state: State,
    dir: PathBuf,
    /// Whether its supervisor died while the state on disk still says the
    /// guest runs (`state` then shows it exited).
    lost: bool,
}

/// What a new container is made of.
#[derive(Debug, Clone)]
pub struct NewContainer {
    /// Its name; a generated one when `None`.
    pub name: Option<String>,
    /// What the user ran: an image reference or a program file.
    pub image: String,
    /// The run.
    pub run: RunRecord,
    /// `--restart`.
    pub restart: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--log-opt`.
    pub log: LogOptions,
    /// `--label`s, over the image's.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Whether `name` is a container name wharf accepts (Docker's rules).
pub fn validate_name(name: &str) -> Result<(), ContainerError> {
    names::validate(name)
}

/// How long a command waits for another that holds a container's lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The error shown for such a container.
const SUPERVISOR_DIED: &str = "its supervisor died";

impl Containers {
    /// The store at `root`, made (0700) if missing.
    pub fn open(root: PathBuf) -> Result<Containers, ContainerError> {
        for dir in [root.clone(), root.join("names")] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(ContainerError::io(&dir))?;
        }
        Ok(Containers { root })
    }

    /// Makes a container: its directory appears whole, with its name
    /// claimed; a name in use is an error and leaves nothing behind.
    pub fn create(&self, new: NewContainer) -> Result<Container, ContainerError> {
        if let Some(name) = &new.name {
            names::validate(name)?;
        }
        let id = new_id()?;
        let making = self.root.join(format!(".new-{id}"));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&making)
            .map_err(ContainerError::io(&making))?;
        let made = names::claim(&self.root, &id, new.name.as_deref()).and_then(|name| {
            let record = Record {
                id: id.clone(),
                name,
                created: time::rfc3339(std::time::SystemTime::now()),
                image: new.image,
                run: new.run,
                restart: new.restart,
                auto_remove: new.auto_remove,
                log: new.log,
                labels: new.labels,
            };
            let dir = self.root.join(&id);
            let placed = write_json(&making.join("record.json"), &record)
                .and_then(|()| write_json(&making.join("state.json"), &State::created()))
                .and_then(|()| fs::rename(&making, &dir).map_err(ContainerError::io(&dir)));
            if placed.is_err() {
                names::release(&self.root, &id, &record.name);
            }
            placed.map(|()| Container {
                record,
                state: State::created(),
                dir,
                lost: false,
            })
        });
        if made.is_err() {
            let _ = fs::remove_dir_all(&making);
        }
        made
    }

    /// Every container, oldest first; a damaged one is reported beside.
    pub fn list(&self) -> Result<(Vec<Container>, Vec<ContainerError>), ContainerError> {
        let entries = fs::read_dir(&self.root).map_err(ContainerError::io(&self.root))?;
        let (mut containers, mut damaged) = (Vec::new(), Vec::new());
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().filter(|n| is_id(n)) else {
                continue;
            };
            match self.read(id) {
                Ok(container) => containers.push(container),
                Err(error) => damaged.push(error),
            }
        }
        containers.sort_by(|a, b| a.record.created.cmp(&b.record.created));
        Ok((containers, damaged))
    }

    /// The container with this name, ID, or unique ID prefix.
    pub fn find(&self, query: &str) -> Result<Container, ContainerError> {
        if let Some(id) = names::lookup(&self.root, query) {
            match self.read(&id) {
                Ok(container) => return Ok(container),
                // A name whose container is damaged names it still.
                Err(error @ (ContainerError::Damaged { .. } | ContainerError::WrongId { .. })) => {
                    return Err(error);
                }
                Err(_) => {}
            }
        }
        let lowered = query.to_ascii_lowercase();
        if lowered.is_empty() || !lowered.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ContainerError::NotFound(query.to_owned()));
        }
        let entries = fs::read_dir(&self.root).map_err(ContainerError::io(&self.root))?;
        let matching: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| is_id(name) && name.starts_with(&lowered))
            .collect();
        match matching.as_slice() {
            [id] => self.read(id),
            [] => Err(ContainerError::NotFound(query.to_owned())),
            _ => Err(ContainerError::Ambiguous {
                prefix: query.to_owned(),
                count: matching.len(),
            }),
        }
    }

    /// Gives `container` (whose lock the caller holds) the name `new`: the
    /// new name is claimed first, so a name in use changes nothing.
    pub fn rename(&self, container: &mut Container, new: &str) -> Result<(), ContainerError> {
        names::validate(new)?;
        let id = container.record.id.clone();
        if container.record.name == new {
            return Ok(());
        }
        names::claim(&self.root, &id, Some(new))?;
        let mut record = container.record.clone();
        let old = std::mem::replace(&mut record.name, new.to_owned());
        if let Err(error) = write_json(&container.dir.join("record.json"), &record) {
            names::release(&self.root, &id, new);
            return Err(error);
        }
        names::release(&self.root, &id, &old);
        container.record = record;
        Ok(())
    }

    /// Removes `container` (the caller holds its lock and made sure its
    /// supervisor is gone): its name first, then its directory.
    pub fn remove(&self, container: &Container) -> Result<(), ContainerError> {
        // A rename since `container` was read moved its name.
        if let Ok(record) = read_json::<Record>(&container.dir.join("record.json")) {
            names::release(&self.root, &record.id, &record.name);
        }
        names::release(&self.root, &container.record.id, &container.record.name);
        let going = self.root.join(format!(".gone-{}", container.record.id));
        fs::rename(&container.dir, &going).map_err(ContainerError::io(&container.dir))?;
        fs::remove_dir_all(&going).map_err(ContainerError::io(&going))
    }

    fn read(&self, id: &str) -> Result<Container, ContainerError> {
        if !is_id(id) {
            return Err(ContainerError::NotFound(id.to_owned()));
        }
        let dir = self.root.join(id);
        let path = dir.join("record.json");
        let record: Record = read_json(&path)?;
        if record.id != id {
            return Err(ContainerError::WrongId { path });
        }
        let state: State = read_json(&dir.join("state.json"))?;
        let mut container = Container {
            record,
            state,
            dir,
            lost: false,
        };
        if container.state.is_active() && !container.supervisor_alive() {
            container.state = lost(container.state);
            container.lost = true;
        }
        Ok(container)
    }
}

/// The state of a container whose supervisor died while it ran.
fn lost(state: State) -> State {
    State {
        status: Status::Exited,
        pid: None,
        pid_start_time: None,
        exit_code: Some(crate::exit::LOST),
        finished_at: None,
        error: Some(SUPERVISOR_DIED.to_owned()),
        ..state
    }
}

impl Container {
    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("container.log")
    }

    /// Where a served container's supervisor keeps the count of requests
    /// it answered.
    pub fn requests_path(&self) -> PathBuf {
        self.dir.join("requests.json")
    }

    /// Requests a served container answered, as its supervisor last wrote.
    pub fn requests_served(&self) -> Option<u64> {
        let text = fs::read_to_string(self.requests_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Its name, or its short ID when it has none.
    pub fn label(&self) -> &str {
        if self.record.name.is_empty() {
            &self.record.id[..12]
        } else {
            &self.record.name
        }
    }

    /// The lock that wharf commands take to change this container; busy
    /// when another command still holds it after 2 s (an `rm`
    /// that refuses holds it for a moment; a `stop` for its grace period).
    pub fn lock(&self) -> Result<Held, ContainerError> {
        let path = self.dir.join("lock");
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            if let Some(held) = lock::try_lock(&path, true).map_err(ContainerError::io(&path))? {
                return Ok(held);
            }
            if std::time::Instant::now() >= deadline {
                return Err(ContainerError::Busy(self.label().to_owned()));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// The lock of [`Container::lock`] if no command holds it now: for a
    /// supervisor, which must not wait on the command that stops it.
    pub fn try_lock(&self) -> Result<Option<Held>, ContainerError> {
        let path = self.dir.join("lock");
        lock::try_lock(&path, true).map_err(ContainerError::io(&path))
    }

    /// Whether its supervisor runs.
    pub fn supervisor_alive(&self) -> bool {
        // Taking the supervisor's lock shared succeeds only when nobody
        // holds it: then no supervisor lives.
        matches!(
            lock::try_lock(&self.dir.join("supervisor.lock"), false),
            Ok(None)
        )
    }

    /// Its supervisor's process, to signal: `None` when no supervisor
    /// lives (or it has not yet recorded its pid); an error when one lives
    /// but the state names a process that is not it.
    pub fn supervisor(&self) -> Result<Option<Supervisor>, ContainerError> {
        let Some(pid) = self.state.pid.filter(|_| self.supervisor_alive()) else {
            return Ok(None);
        };
        let lock = self.dir.join("supervisor.lock");
        process::find(pid, self.state.pid_start_time, &lock)
            .map_err(ContainerError::io(format!("/proc/{pid}")))?
            .ok_or_else(|| ContainerError::NotItsSupervisor {
                container: self.label().to_owned(),
                pid,
            })
            .map(Some)
    }

    /// For the supervisor: holds the supervisor's lock for as long as the
    /// returned value lives; `None` when another supervisor holds it.
    pub fn hold_supervision(&self) -> Result<Option<Held>, ContainerError> {
        let path = self.dir.join("supervisor.lock");
        lock::try_lock(&path, true).map_err(ContainerError::io(&path))
    }

    /// Waits until no supervisor runs; then the guest's last exit code:
    /// from the state, or, for a container that removed itself (`--rm`),
    /// from what its supervisor left in its lock file.
    pub fn wait_for_supervisor(&self, store: &Containers) -> Result<Option<i32>, ContainerError> {
        self.watch_exit()?.wait(store)
    }

    /// A watch on its supervisor's end, open before a start so that it
    /// holds even when a `--rm` container removes itself at once.
    pub fn watch_exit(&self) -> Result<ExitWatch, ContainerError> {
        let path = self.dir.join("supervisor.lock");
        let file = crate::flock::open_lock_file(&path).map_err(ContainerError::io(&path))?;
        Ok(ExitWatch {
            file,
            path,
            id: self.record.id.clone(),
        })
    }

    /// Writes down the exit of a supervisor that died (killed by a wharf
    /// command, which knows it ended just now), so that the exit no longer
    /// depends on the supervisor being gone; nothing when it did not die.
    pub fn settle_lost(&mut self) -> Result<(), ContainerError> {
        if !self.lost {
            return Ok(());
        }
        let mut state = self.state.clone();
        state.finished_at = Some(time::rfc3339(std::time::SystemTime::now()));
        state.error = None;
        self.set_state(state)?;
        self.lost = false;
        Ok(())
    }

    /// Replaces its state on disk (and here).
    pub fn set_state(&mut self, state: State) -> Result<(), ContainerError> {
        write_json(&self.dir.join("state.json"), &state)?;
        self.state = state;
        Ok(())
    }
}

/// The supervisor lock of a container, opened ahead; see
/// [`Container::watch_exit`].
#[derive(Debug)]
pub struct ExitWatch {
    file: fs::File,
    path: PathBuf,
    id: String,
}

impl ExitWatch {
    /// Waits until the supervisor (started after the watch was made) ends;
    /// then the guest's last exit code, from the state or, when the
    /// container is gone, from what its supervisor left in the lock file.
    pub fn wait(self, store: &Containers) -> Result<Option<i32>, ContainerError> {
        crate::flock::lock_open_file(&self.file, false, true)
            .map_err(ContainerError::io(&self.path))?;
        match store.read(&self.id) {
            Ok(container) => Ok(container.state.exit_code),
            Err(error) => Held { file: self.file }
                .read()
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .map(Some)
                .ok_or(error),
        }
    }
}

/// A new container ID (or any other fresh name): 32 random bytes as 64
/// hex digits.
pub fn new_id() -> Result<String, ContainerError> {
    let mut bytes = [0u8; 32];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: getrandom writes at most the given length into the buffer.
        let got = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        if got < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(ContainerError::io("getrandom")(error));
        }
        filled += got as usize;
    }
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn is_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ContainerError> {
    let bytes = fs::read(path).map_err(ContainerError::io(path))?;
    serde_json::from_slice(&bytes).map_err(|source| ContainerError::Damaged {
        path: path.to_owned(),
        source,
    })
}

/// Writes `value` as JSON to `path` through a temporary file renamed over
/// it: readers see the old file or the new one, never a part.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), ContainerError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| ContainerError::Damaged {
        path: path.to_owned(),
        source,
    })?;
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| file.write_all(&bytes))
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written.map_err(ContainerError::io(path))
}

#[cfg(test)]
mod tests;
