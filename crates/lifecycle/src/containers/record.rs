//! What a container is (its record, written when it is made and rewritten
//! only by a rename) and how it is doing (its state, rewritten at each
//! change).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wharf_engine::{DirIdentity, NetworkPolicy, OutboundRule, RunSpec, Volume};

use crate::ports::PortBinding;

use super::error::ContainerError;

/// A container as created: afterwards only its name changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// 64 lowercase hex digits.
    pub id: String,
    /// Unique among the containers of a store.
    pub name: String,
    /// When it was created (RFC 3339, UTC).
    pub created: String,
    /// What the user ran: an image reference or a program file.
    pub image: String,
    /// The run: program, arguments, environment, volumes, limits.
    pub run: RunRecord,
    /// Whether and how often the guest is started again when it exits.
    pub restart: RestartPolicy,
    /// Whether the container is removed when it exits for good.
    pub auto_remove: bool,
    /// How much output is kept.
    #[serde(default)]
    pub log: LogOptions,
    /// Its labels: its image's, then `--label`s over them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// `--log-opt max-size=SIZE` and `--log-opt max-file=N`, as Docker's
/// json-file driver has them: the log is rotated at `max_size` bytes and
/// at most `max_files` files (the current one included) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOptions {
    /// Size at which the log is rotated.
    pub max_size: u64,
    /// Files kept, the current one included (at least 1).
    pub max_files: u32,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_size: super::logs::MAX_SIZE,
            max_files: super::logs::KEPT + 1,
        }
    }
}

impl LogOptions {
    /// Rotated files kept beside the current one.
    pub fn rotated(self) -> u32 {
        self.max_files.saturating_sub(1)
    }
}

/// The parts of an engine run that a detached container keeps (its stdio
/// is the supervisor's business).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// The program file on the host.
    pub program: PathBuf,
    /// argv, program name first.
    pub args: Vec<String>,
    /// The environment, in order.
    pub env: Vec<(String, String)>,
    /// Host directories and where the guest sees them.
    pub volumes: Vec<VolumeRecord>,
    /// The guest's working directory.
    pub workdir: Option<String>,
    /// Cap on linear memory and tables, in bytes.
    pub memory_limit: u64,
    /// The guest's network allow-list (`--allow-outbound` rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound: Vec<String>,
    /// The compiler asked for (`--compiler`), by name; none: Cranelift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<String>,
    /// Where the guest may listen (`--allow-listen` rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<String>,
    /// How the guest is served, when it is an HTTP service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceRecord>,
    /// `--security-opt no-layers`: no kernel layers around the guest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_layers: bool,
    /// `--cpus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// `--cpu-shares`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
    /// `-t`: the guest's output goes to a pseudo-terminal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
}

/// A served container's ports and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// The published ports as asked for (a host port 0 is picked at each
    /// start; [`State::ports`] has them as bound).
    pub ports: Vec<PortBinding>,
    /// `--request-timeout`, in milliseconds.
    pub request_timeout_ms: u64,
    /// `--max-concurrency`.
    pub max_concurrency: usize,
    /// Whether every request gets a fresh instance (`--isolate-requests`;
    /// 0.2 handlers always do).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub isolate_requests: bool,
    /// `--body-timeout`, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub body_timeout_ms: u64,
    /// `--keep-alive-timeout`, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub keep_alive_timeout_ms: u64,
    /// `--max-connections`.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// `--max-connections-per-client`.
    #[serde(default = "default_max_connections_per_client")]
    pub max_connections_per_client: usize,
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_max_connections() -> usize {
    wharf_engine::DEFAULT_MAX_CONNECTIONS
}

fn default_max_connections_per_client() -> usize {
    wharf_engine::DEFAULT_MAX_CONNECTIONS_PER_CLIENT
}

impl ServiceRecord {
    /// How the service is served, on `listeners`.
    pub fn serve_options(
        &self,
        listeners: Vec<std::net::TcpListener>,
    ) -> wharf_engine::ServeOptions {
        let millis = std::time::Duration::from_millis;
        let mut options = wharf_engine::ServeOptions::new(listeners);
        options.request_timeout = millis(self.request_timeout_ms);
        options.max_concurrency = self.max_concurrency;
        options.body_timeout = millis(self.body_timeout_ms);
        options.header_timeout = millis(self.keep_alive_timeout_ms);
        options.max_connections = self.max_connections;
        options.max_connections_per_client = self.max_connections_per_client;
        if self.isolate_requests {
            options.reuse = wharf_engine::InstanceReuse::isolated();
        }
        options
    }
}

/// One volume of a [`RunRecord`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeRecord {
    /// The host directory.
    pub host: PathBuf,
    /// Where the guest sees it.
    pub guest: String,
    /// Whether every change is refused.
    pub read_only: bool,
    /// The directory's device and inode when the container was made: a
    /// start finds the same directory or refuses. Absent in records made
    /// before wharf kept it (such a volume is resolved at each start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<(u64, u64)>,
}

impl RunRecord {
    /// What `spec` runs (its stdio aside).
    pub fn of(spec: &RunSpec) -> RunRecord {
        RunRecord {
            program: spec.program.clone(),
            args: spec.args.clone(),
            env: spec.env.clone(),
            volumes: spec
                .volumes
                .iter()
                .map(|v| VolumeRecord {
                    host: v.host.clone(),
                    guest: v.guest.clone(),
                    read_only: v.read_only,
                    identity: v.identity.map(|id| (id.dev, id.ino)),
                })
                .collect(),
            workdir: spec.workdir.clone(),
            memory_limit: spec.memory_limit,
            outbound: spec
                .network
                .rules()
                .iter()
                .map(ToString::to_string)
                .collect(),
            listen: spec
                .network
                .listen_rules()
                .iter()
                .map(ToString::to_string)
                .collect(),
            compiler: None,
            service: None,
            no_layers: spec.layers == wharf_engine::Layers::Off,
            cpus: None,
            cpu_shares: None,
            tty: false,
        }
    }

    /// The engine's run, with the engine's default stdio.
    pub fn spec(&self) -> RunSpec {
        let mut spec = RunSpec::new(&self.program);
        spec.args = self.args.clone();
        spec.env = self.env.clone();
        spec.volumes = self
            .volumes
            .iter()
            .map(|v| Volume {
                host: v.host.clone(),
                guest: v.guest.clone(),
                read_only: v.read_only,
                identity: v.identity.map(|(dev, ino)| DirIdentity { dev, ino }),
            })
            .collect();
        spec.workdir = self.workdir.clone();
        spec.memory_limit = self.memory_limit;
        // A rule that no longer parses allows nothing.
        let outbound = self.outbound.iter().filter_map(|rule| rule.parse().ok());
        let listen = self
            .listen
            .iter()
            .filter_map(|rule| OutboundRule::listen(rule).ok());
        spec.network = NetworkPolicy::new(outbound.collect()).with_listen(listen.collect());
        if self.no_layers {
            spec.layers = wharf_engine::Layers::Off;
        }
        spec
    }
}

/// `--restart`: when a guest that exited is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "name")]
pub enum RestartPolicy {
    /// Never.
    No,
    /// When it exits with a code other than 0, at most `max` times (no
    /// limit when `None`).
    OnFailure {
        /// The most restarts.
        max: Option<u32>,
    },
    /// Whatever its exit code.
    Always,
}

impl RestartPolicy {
    /// Parses `no`, `on-failure`, `on-failure:N` or `always`.
    pub fn parse(value: &str) -> Result<RestartPolicy, ContainerError> {
        let invalid = || ContainerError::InvalidRestart(value.to_owned());
        match value.split_once(':') {
            None if value == "no" => Ok(RestartPolicy::No),
            None if value == "always" => Ok(RestartPolicy::Always),
            None if value == "on-failure" => Ok(RestartPolicy::OnFailure { max: None }),
            Some(("on-failure", count)) => count
                .parse()
                .map(|max| RestartPolicy::OnFailure { max: Some(max) })
                .map_err(|_| invalid()),
            _ => Err(invalid()),
        }
    }

    /// Whether a guest that exited with `code`, after `restarts` restarts,
    /// is started again.
    pub fn restarts(self, code: i32, restarts: u32) -> bool {
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure { max } => code != 0 && max.is_none_or(|max| restarts < max),
        }
    }

    /// As `--restart` spells it.
    pub fn label(self) -> String {
        match self {
            RestartPolicy::No => "no".to_owned(),
            RestartPolicy::Always => "always".to_owned(),
            RestartPolicy::OnFailure { max: None } => "on-failure".to_owned(),
            RestartPolicy::OnFailure { max: Some(max) } => format!("on-failure:{max}"),
        }
    }
}

/// Where a container is in its life, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Made, its supervisor not yet running the guest.
    Created,
    /// Its guest runs.
    Running,
    /// Its guest exited and waits out the back-off before it starts again.
    Restarting,
    /// Its guest exited and will not start again.
    Exited,
}

impl Status {
    /// As `ps` and `inspect` show it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
        }
    }
}

/// How a container is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Where it is in its life.
    pub status: Status,
    /// The supervisor's process ID while it runs.
    pub pid: Option<u32>,
    /// When that process started: field 22 of `/proc/PID/stat`, in clock
    /// ticks after boot. It tells the supervisor apart from a later
    /// process given the same pid; states of older wharfs lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start_time: Option<u64>,
    /// When the guest last started (RFC 3339, UTC).
    pub started_at: Option<String>,
    /// When the guest last ended (RFC 3339, UTC).
    pub finished_at: Option<String>,
    /// The guest's last exit code.
    pub exit_code: Option<i32>,
    /// How often the guest was started again.
    pub restarts: u32,
    /// Why the last run failed, when wharf (not the guest) failed it.
    pub error: Option<String>,
    /// What the kernel enforces around the running guest (see
    /// [`wharf_engine::Enforced`]), once its wall is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<String>,
    /// A served container's ports as its supervisor bound them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortBinding>,
}

impl State {
    /// The state of a container just made.
    pub fn created() -> State {
        State {
            status: Status::Created,
            pid: None,
            pid_start_time: None,
            started_at: None,
            finished_at: None,
            exit_code: None,
            restarts: 0,
            error: None,
            layers: None,
            ports: Vec::new(),
        }
    }

    /// Records this process as the supervisor: its pid and start time.
    pub fn supervised_here(&mut self) {
        self.pid = Some(std::process::id());
        self.pid_start_time = super::own_start_time();
    }

    /// Records that no supervisor runs the guest any more.
    pub fn unsupervised(&mut self) {
        self.pid = None;
        self.pid_start_time = None;
    }

    /// Whether the guest runs or will run again.
    pub fn is_active(&self) -> bool {
        matches!(self.status, Status::Running | Status::Restarting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_parse_and_decide() {
        let parse = |v| RestartPolicy::parse(v).expect(v);
        assert_eq!(parse("no"), RestartPolicy::No);
        assert_eq!(parse("always"), RestartPolicy::Always);
        assert_eq!(parse("on-failure"), RestartPolicy::OnFailure { max: None });
        let three = parse("on-failure:3");
        assert_eq!(three, RestartPolicy::OnFailure { max: Some(3) });
        for bad in [
            "",
            "sometimes",
            "on-failure:",
            "on-failure:x",
            "always:2",
            "no:1",
        ] {
            assert!(RestartPolicy::parse(bad).is_err(), "{bad}");
        }
        assert!(!RestartPolicy::No.restarts(1, 0));
        assert!(RestartPolicy::Always.restarts(0, 100));
        assert!(three.restarts(1, 2));
        assert!(!three.restarts(1, 3));
        assert!(!three.restarts(0, 0), "a clean exit is not a failure");
        assert_eq!(three.label(), "on-failure:3");
    }

    #[test]
    fn a_run_survives_the_round_trip() {
        let mut spec = RunSpec::new("/images/app.wasm");
        spec.args.push("--port".to_owned());
        spec.env.push(("A".to_owned(), "1".to_owned()));
        spec.volumes.push(Volume {
            host: "/srv".into(),
            guest: "/data".to_owned(),
            read_only: true,
            identity: Some(DirIdentity { dev: 2049, ino: 7 }),
        });
        spec.workdir = Some("/data".to_owned());
        spec.memory_limit = 1 << 20;
        let json = serde_json::to_string(&RunRecord::of(&spec)).expect("json");
        let back: RunRecord = serde_json::from_str(&json).expect("parse");
        let again = back.spec();
        assert_eq!(again.program, spec.program);
        assert_eq!(again.args, spec.args);
        assert_eq!(again.env, spec.env);
        assert_eq!(again.volumes, spec.volumes);
        assert_eq!(again.workdir, spec.workdir);
        assert_eq!(again.memory_limit, 1 << 20);
    }
}
