//! The Compose file: the subset of the Compose Specification that Wasm
//! services use, read strictly. A key wharf does not support is an error
//! that names it and its line (serde's `deny_unknown_fields`, located by
//! serde_yaml_ng), never a silent ignore.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A whole Compose file.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeFile {
    /// The project's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Obsolete in the Compose Specification; accepted and ignored, as
    /// `docker compose` does.
    #[serde(default, skip_serializing)]
    #[serde(rename = "version")]
    pub _version: Option<serde_yaml_ng::Value>,
    pub services: BTreeMap<String, Service>,
    /// Named volumes (their options are a driver's business: none here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Option<VolumeOptions>>,
}

/// A named volume's options: wharf keeps every volume on the local disk,
/// so only `name` (the volume's own name) applies.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One service.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Words>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Words>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Pairs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_file: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<DependsOn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Restart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Pairs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// `build: DIR` or `build: {context, dockerfile, args}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Build {
    Context(String),
    Full(BuildOptions),
}

impl<'de> Deserialize<'de> for Build {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Build, D::Error> {
        deserializer.deserialize_any(TextOrMap::new(
            "a context directory or build options",
            Build::Context,
            Build::Full,
        ))
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BuildOptions {
    #[serde(default = "here")]
    pub context: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Pairs>,
}

fn here() -> String {
    ".".to_owned()
}

/// Keys, each with its value if it has one.
pub type Entries = Vec<(String, Option<String>)>;

impl Build {
    /// The context directory, the Dockerfile (relative to the context) and
    /// the build arguments.
    pub fn parts(&self) -> (&str, Option<&str>, Entries) {
        match self {
            Build::Context(context) => (context, None, Vec::new()),
            Build::Full(options) => (
                &options.context,
                options.dockerfile.as_deref(),
                options
                    .args
                    .as_ref()
                    .map(Pairs::entries)
                    .unwrap_or_default(),
            ),
        }
    }
}

/// A command: one string (split as a shell would) or a list of words.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Words {
    Line(String),
    List(Vec<String>),
}

impl Words {
    pub fn words(&self) -> Result<Vec<String>, String> {
        match self {
            Words::List(words) => Ok(words.clone()),
            Words::Line(line) => {
                shlex::split(line).ok_or_else(|| format!("cannot split `{line}` into words"))
            }
        }
    }
}

/// `env_file: FILE` or a list of them.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

/// `KEY=VALUE` entries as a list, or a map of keys to scalars (a key with
/// no value: for the environment, the host's value).
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Pairs {
    List(Vec<String>),
    Map(BTreeMap<String, Option<Scalar>>),
}

/// A map value: YAML reads `1`, `true` and `1.5` as non-strings.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Flag(bool),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Text(text) => f.write_str(text),
            Scalar::Integer(n) => write!(f, "{n}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Flag(b) => write!(f, "{b}"),
        }
    }
}

impl Pairs {
    /// Each key with its value, if it has one.
    pub fn entries(&self) -> Entries {
        match self {
            Pairs::List(items) => items
                .iter()
                .map(|item| match item.split_once('=') {
                    Some((key, value)) => (key.to_owned(), Some(value.to_owned())),
                    None => (item.clone(), None),
                })
                .collect(),
            Pairs::Map(map) => map
                .iter()
                .map(|(key, value)| (key.clone(), value.as_ref().map(ToString::to_string)))
                .collect(),
        }
    }
}

/// A published port: `"8080:80"`, `"127.0.0.1:8080:80/tcp"`, `"80"` (a
/// free host port) or `80`; checked as it is read, so a bad one is an
/// error at its line.
#[derive(Debug, Clone, Serialize)]
#[serde(into = "String")]
pub struct Port(pub wharf_lifecycle::ports::PortBinding);

impl From<Port> for String {
    fn from(port: Port) -> String {
        let binding = port.0;
        format!(
            "{}:{}:{}/tcp",
            binding.host_ip, binding.host_port, binding.container_port
        )
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Port, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u16),
            Text(String),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Number(port) => port.to_string(),
            Raw::Text(text) => text,
        };
        let spec = if text.trim_end_matches("/tcp").contains(':') {
            text.clone()
        } else {
            format!("0:{text}")
        };
        crate::flags::parse_publish(&spec).map(Port).map_err(|_| {
            serde::de::Error::custom(format!(
                "invalid port `{text}`: expected [IP:][HOSTPORT:]CONTAINERPORT[/tcp]"
            ))
        })
    }
}

/// `depends_on: [a, b]` or `depends_on: {a: {condition: ...}}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum DependsOn {
    List(Vec<String>),
    Map(BTreeMap<String, Dependency>),
}

impl<'de> Deserialize<'de> for DependsOn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<DependsOn, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = DependsOn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of services or a map of services to conditions")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<DependsOn, A::Error> {
                Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(DependsOn::List)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<DependsOn, A::Error> {
                BTreeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(DependsOn::Map)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Reads a string as one thing and a map as another, keeping the map's
/// own errors (an unknown key in it is named, not lost in "no variant
/// matched").
struct TextOrMap<T, M> {
    expecting: &'static str,
    text: fn(String) -> T,
    map: fn(M) -> T,
}

impl<T, M> TextOrMap<T, M> {
    fn new(expecting: &'static str, text: fn(String) -> T, map: fn(M) -> T) -> Self {
        TextOrMap {
            expecting,
            text,
            map,
        }
    }
}

impl<'de, T, M: Deserialize<'de>> serde::de::Visitor<'de> for TextOrMap<T, M> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        Ok((self.text)(text.to_owned()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        M::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(self.map)
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    #[serde(default)]
    pub condition: Condition,
}

/// When a dependency counts as ready. Health checks have no meaning yet
/// for a Wasm guest, so `service_healthy` is refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    #[default]
    ServiceStarted,
    ServiceCompletedSuccessfully,
}

impl DependsOn {
    pub fn entries(&self) -> Vec<(String, Condition)> {
        match self {
            DependsOn::List(names) => names
                .iter()
                .map(|name| (name.clone(), Condition::ServiceStarted))
                .collect(),
            DependsOn::Map(map) => map
                .iter()
                .map(|(name, dependency)| (name.clone(), dependency.condition))
                .collect(),
        }
    }
}

/// `restart:` as Compose spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Restart {
    #[serde(rename = "no")]
    No,
    #[serde(rename = "always")]
    Always,
    #[serde(rename = "on-failure")]
    OnFailure,
    #[serde(rename = "unless-stopped")]
    UnlessStopped,
}

impl Restart {
    /// As `--restart` takes it (`unless-stopped`: wharf restarts no guest
    /// a user stopped, so it is `always`).
    pub fn flag(self) -> &'static str {
        match self {
            Restart::No => "no",
            Restart::Always | Restart::UnlessStopped => "always",
            Restart::OnFailure => "on-failure",
        }
    }
}

/// The one platform a wharf service can have.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub enum Platform {
    #[serde(rename = "wasi/wasm")]
    Wasi,
    #[serde(rename = "wasip1/wasm")]
    Wasip1,
    #[serde(rename = "wasip2/wasm")]
    Wasip2,
}

/// Where a Compose file is looked for, in Compose's order.
const NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The file given, or the first of Compose's names in this directory.
pub fn locate(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return Ok(path.to_owned());
    }
    NAMES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .ok_or_else(|| {
            "no configuration file provided: not found (compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml)".to_owned()
        })
}

/// Reads and checks the file at `path`.
pub fn read(path: &Path) -> Result<ComposeFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|message| format!("{}: {message}", path.display()))
}

/// Parses and checks a Compose file's text.
pub fn parse(text: &str) -> Result<ComposeFile, String> {
    let file: ComposeFile = serde_yaml_ng::from_str(text).map_err(|e| one_line(&e.to_string()))?;
    if file.services.is_empty() {
        return Err("no services".to_owned());
    }
    for (name, service) in &file.services {
        let one_letter = name.len() == 1 && name.bytes().all(|b| b.is_ascii_alphanumeric());
        if !crate::volumes::is_volume_name(name) && !one_letter {
            return Err(format!(
                "services.{name}: a service name is letters, digits, `_`, `.` and `-`"
            ));
        }
        if service.image.is_none() && service.build.is_none() {
            return Err(format!("services.{name}: has neither an image nor a build"));
        }
        for (key, _) in service.labels.iter().flat_map(Pairs::entries) {
            if key.starts_with("com.docker.compose.") {
                return Err(format!(
                    "services.{name}.labels: `{key}` is Compose's own label"
                ));
            }
        }
        for (dependency, _) in service.depends_on.iter().flat_map(DependsOn::entries) {
            if !file.services.contains_key(&dependency) {
                return Err(format!(
                    "services.{name}.depends_on: no service `{dependency}`"
                ));
            }
        }
    }
    for (volume, options) in &file.volumes {
        let named = options
            .as_ref()
            .and_then(|o| o.name.as_deref())
            .unwrap_or(volume);
        if !crate::volumes::is_volume_name(named) {
            return Err(format!(
                "volumes.{volume}: `{named}` is not a volume name (letters, digits, `_`, `.` and `-`)"
            ));
        }
    }
    Ok(file)
}

/// serde's messages can span lines (an untagged enum lists its tries):
/// one line is what a user reads.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let error = parse("services:\n  web:\n    image: app\n    privileged: true\n")
            .expect_err("unknown key");
        assert!(error.contains("unknown field `privileged`"), "{error}");
        assert!(error.contains("line 4"), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }

    #[test]
    fn a_bad_port_is_named_with_its_line() {
        let error = parse("services:\n  web:\n    image: app\n    ports:\n      - \"8080:http\"\n")
            .expect_err("bad port");
        assert!(error.contains("invalid port `8080:http`"), "{error}");
        assert!(error.contains("line 5"), "{error}");
    }

    #[test]
    fn the_long_and_short_forms_read_alike() {
        let file = parse(
            "name: demo\nservices:\n  web:\n    build: ./web\n    command: serve --port 80\n    environment:\n      A: 1\n      B:\n    ports: [80, \"127.0.0.1:8080:80\"]\n    depends_on:\n      db:\n        condition: service_started\n    restart: unless-stopped\n    platform: wasi/wasm\n  db:\n    image: db\n    environment: [\"X=y\"]\n    depends_on: [job]\n  job:\n    image: job\n",
        )
        .expect("valid");
        let web = &file.services["web"];
        assert_eq!(
            web.command
                .as_ref()
                .expect("command")
                .words()
                .expect("words"),
            ["serve", "--port", "80"]
        );
        let env = web.environment.as_ref().expect("environment").entries();
        assert_eq!(
            env,
            [
                ("A".to_owned(), Some("1".to_owned())),
                ("B".to_owned(), None)
            ]
        );
        assert_eq!(web.ports[0].0.host_port, 0);
        assert_eq!(web.ports[1].0.host_port, 8080);
        assert_eq!(web.restart.expect("restart").flag(), "always");
        let db = &file.services["db"];
        assert_eq!(
            db.depends_on.as_ref().expect("depends_on").entries()[0].0,
            "job"
        );
    }

    #[test]
    fn a_dependency_on_no_service_and_a_service_with_nothing_to_run_are_errors() {
        assert!(parse("services:\n  web:\n    image: a\n    depends_on: [db]\n").is_err());
        assert!(parse("services:\n  web:\n    command: x\n").is_err());
        assert!(parse("services:\n  web:\n    image: a\n    platform: linux/amd64\n").is_err());
        assert!(parse("services:\n  /:\n    image: a\n").is_err());
        assert!(
            parse("services:\n  a:\n    image: a\nvolumes:\n  data:\n    name: ../etc\n").is_err()
        );
        assert!(parse("services:\n  a:\n    image: a\n    labels:\n      com.docker.compose.project: other\n").is_err());
        assert!(parse("services:\n  web:\n    image: a\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: b\n").is_err());
    }
}
