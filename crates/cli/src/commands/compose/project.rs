//! A Compose project: its file, its name, its services in dependency order,
//! and the containers that are its own (found by Compose's labels, so
//! `wharf ps` and `docker compose`'s habits agree).

use std::path::{Path, PathBuf};

use wharf_lifecycle::containers::{Container, Containers};

use super::file::{self, ComposeFile, Service};
use crate::cli::{ComposeArgs, RunArgs};
use crate::report;

pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
pub const NUMBER_LABEL: &str = "com.docker.compose.container-number";

pub struct Project {
    pub name: String,
    /// Where relative paths in the file start.
    pub dir: PathBuf,
    pub path: PathBuf,
    pub file: ComposeFile,
}

impl Project {
    /// The project `args` name: its file read and checked.
    pub fn load(args: &ComposeArgs) -> Result<Project, String> {
        let path = file::locate(args.file.as_deref())?;
        let file = file::read(&path)?;
        let path = std::path::absolute(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_owned);
        let given = args.project.clone().or_else(|| file.name.clone());
        let name = match given {
            Some(name) => checked_name(&name)?,
            None => normalized(
                dir.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("default"),
            ),
        };
        Ok(Project {
            name,
            dir,
            path,
            file,
        })
    }

    /// `wanted` (all when empty) and what they depend on, each after its
    /// dependencies; a cycle is an error.
    pub fn ordered(&self, wanted: &[String]) -> Result<Vec<String>, String> {
        for name in wanted {
            if !self.file.services.contains_key(name) {
                return Err(format!("no such service: {name}"));
            }
        }
        let roots: Vec<String> = if wanted.is_empty() {
            self.file.services.keys().cloned().collect()
        } else {
            wanted.to_vec()
        };
        let mut order = Vec::new();
        for root in &roots {
            self.visit(root, &mut Vec::new(), &mut order)?;
        }
        Ok(order)
    }

    fn visit(
        &self,
        name: &str,
        path: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Result<(), String> {
        if order.iter().any(|done| done == name) {
            return Ok(());
        }
        if path.iter().any(|on| on == name) {
            path.push(name.to_owned());
            return Err(format!("dependency cycle: {}", path.join(" -> ")));
        }
        path.push(name.to_owned());
        for (dependency, _) in self
            .service(name)
            .depends_on
            .iter()
            .flat_map(|d| d.entries())
        {
            self.visit(&dependency, path, order)?;
        }
        path.pop();
        order.push(name.to_owned());
        Ok(())
    }

    pub fn service(&self, name: &str) -> &Service {
        &self.file.services[name]
    }

    /// `PROJECT-SERVICE-1`, as Compose names a service's first container.
    pub fn container_name(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }

    /// The image a service runs: its `image`, or the one its build makes.
    pub fn image(&self, service: &str) -> String {
        self.service(service)
            .image
            .clone()
            .unwrap_or_else(|| format!("{}-{service}", self.name))
    }

    /// A named volume's name on disk: `PROJECT_VOLUME`, unless the file
    /// names it.
    pub fn volume_name(&self, volume: &str) -> String {
        self.file
            .volumes
            .get(volume)
            .and_then(|options| options.as_ref()?.name.clone())
            .unwrap_or_else(|| format!("{}_{volume}", self.name))
    }

    /// Every container of this project (services named or not, so that
    /// `down` leaves no orphan), oldest first.
    pub fn containers(&self, store: &Containers) -> Result<Vec<Container>, String> {
        let (all, _) = store.list().map_err(|e| report::chain(&e))?;
        Ok(all
            .into_iter()
            .filter(|c| c.record.labels.get(PROJECT_LABEL) == Some(&self.name))
            .collect())
    }

    /// The containers of `services` (all when empty).
    pub fn containers_of(
        &self,
        store: &Containers,
        services: &[String],
    ) -> Result<Vec<Container>, String> {
        for name in services {
            if !self.file.services.contains_key(name) {
                return Err(format!("no such service: {name}"));
            }
        }
        Ok(self
            .containers(store)?
            .into_iter()
            .filter(|c| {
                services.is_empty()
                    || c.record
                        .labels
                        .get(SERVICE_LABEL)
                        .is_some_and(|s| services.contains(s))
            })
            .collect())
    }

    /// The `wharf run` arguments of a service's container.
    pub fn run_args(&self, name: &str) -> Result<RunArgs, String> {
        let service = self.service(name);
        let mut args = crate::cli::run_args_for(&self.image(name))?;
        args.detach = true;
        args.name = Some(self.container_name(name));
        args.pull = "missing".to_owned();
        args.labels = vec![
            format!("{PROJECT_LABEL}={}", self.name),
            format!("{SERVICE_LABEL}={name}"),
            format!("{NUMBER_LABEL}=1"),
            "com.docker.compose.oneoff=False".to_owned(),
            format!(
                "com.docker.compose.project.config_files={}",
                self.path.display()
            ),
            format!(
                "com.docker.compose.project.working_dir={}",
                self.dir.display()
            ),
        ];
        for (key, value) in service.labels.iter().flat_map(|l| l.entries()) {
            args.labels
                .push(format!("{key}={}", value.unwrap_or_default()));
        }
        for file in service.env_file.iter().flat_map(|f| f.items()) {
            args.env_files.push(self.dir.join(file));
        }
        for (key, value) in service.environment.iter().flat_map(|e| e.entries()) {
            args.env.push(match value {
                Some(value) => format!("{key}={value}"),
                None => key,
            });
        }
        args.publish = service.ports.iter().map(|port| port.0).collect();
        for volume in &service.volumes {
            args.volumes.push(self.volume(name, volume)?);
        }
        if let Some(restart) = service.restart {
            args.restart = restart.flag().to_owned();
        }
        let entrypoint = service.entrypoint.as_ref().map(|e| e.words()).transpose()?;
        let command = service.command.as_ref().map(|c| c.words()).transpose()?;
        if let Some(entrypoint) = entrypoint {
            let mut words = entrypoint.into_iter();
            args.entrypoint = words.next();
            args.args.extend(words);
        }
        args.args.extend(command.unwrap_or_default());
        Ok(args)
    }

    /// A service's volume: `NAME:/path` (declared under `volumes`), or a
    /// host directory, relative to the file's directory.
    fn volume(&self, service: &str, text: &str) -> Result<wharf_engine::Volume, String> {
        let (source, rest) = text.split_once(':').ok_or_else(|| {
            format!("services.{service}.volumes: `{text}` is not SOURCE:TARGET[:ro]")
        })?;
        let source = if crate::volumes::is_volume_name(source) {
            if !self.file.volumes.contains_key(source) {
                return Err(format!(
                    "services.{service}.volumes: `{source}` is not declared under the top-level volumes"
                ));
            }
            let named = self.volume_name(source);
            // Checked when the file was read; a name must never become a path.
            if !crate::volumes::is_volume_name(&named) {
                return Err(format!("volumes.{source}: `{named}` is not a volume name"));
            }
            named
        } else {
            self.dir.join(source).display().to_string()
        };
        crate::flags::parse_volume(&format!("{source}:{rest}"))
            .map_err(|e| format!("services.{service}.volumes: {e}"))
    }
}

/// A project name as Compose takes it: lowercase letters, digits, `_` and
/// `-`, starting with a letter or digit.
fn checked_name(name: &str) -> Result<String, String> {
    let ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "invalid project name `{name}`: use lowercase letters, digits, dashes and underscores, starting with a letter or digit"
        ))
    }
}

/// A directory's name made a project name, as Compose makes it.
fn normalized(dir: &str) -> String {
    let name: String = dir
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    let name = name.trim_start_matches(['_', '-']).to_owned();
    if name.is_empty() {
        "default".to_owned()
    } else {
        name
    }
}
