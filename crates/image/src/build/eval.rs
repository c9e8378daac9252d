//! Runs the Dockerfile's instructions in order: variables in scope, the
//! image config as it grows, and the files of each COPY.

use std::collections::{BTreeMap, BTreeSet};

use super::context::{Context, CopyMode};
use super::dockerfile::{
    Dockerfile, Instruction, Vars, json_array, name_values, split_raw, take_flags, valid_name,
    word, words,
};
use super::error::InstructionError;
use super::layer::{DIR_MODE, Node, Tree, with_parents};

/// One history entry, with the layer it adds if any.
#[derive(Debug)]
pub(crate) struct Step {
    /// The instruction, as written.
    pub created_by: String,
    /// The entries of the layer it adds, parents included.
    pub layer: Option<Tree>,
}

/// The runtime config the Dockerfile sets.
#[derive(Debug, Default)]
pub(crate) struct RunConfig {
    /// `ENV`, in the order first set.
    pub env: Vec<(String, String)>,
    /// `ENTRYPOINT`.
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`.
    pub cmd: Option<Vec<String>>,
    /// `WORKDIR`, absolute; empty when never set.
    pub workdir: String,
    /// `LABEL`.
    pub labels: BTreeMap<String, String>,
    /// `EXPOSE`, as `PORT/PROTO`.
    pub exposed: BTreeSet<String>,
    /// `STOPSIGNAL`.
    pub stop_signal: Option<String>,
}

/// What the Dockerfile amounts to.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Every instruction that goes into history.
    pub steps: Vec<Step>,
    /// The runtime config.
    pub config: RunConfig,
    /// The image's files once every layer is applied.
    pub image: Tree,
    /// Things ignored along the way.
    pub warnings: Vec<String>,
}

/// Evaluates `dockerfile`. `target` (os, architecture) feeds the
/// `TARGETOS`, `TARGETARCH` and `TARGETPLATFORM` args. Errors carry the line of the instruction.
pub(crate) fn evaluate(
    dockerfile: &Dockerfile,
    file: &str,
    context: &Context,
    build_args: &[(String, String)],
    target: (&str, &str),
) -> Result<Plan, (usize, InstructionError)> {
    let (target_os, target_arch) = target;
    let mut state = State {
        escape: dockerfile.escape,
        file,
        context,
        build_args: build_args.iter().cloned().collect(),
        predefined: [
            ("TARGETPLATFORM", format!("{target_os}/{target_arch}")),
            ("TARGETOS", target_os.to_owned()),
            ("TARGETARCH", target_arch.to_owned()),
            ("TARGETVARIANT", String::new()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        global: Vars::new(),
        stage: None,
        declared: BTreeSet::new(),
        config: RunConfig::default(),
        image: Tree::new(),
        steps: Vec::new(),
        warnings: Vec::new(),
    };
    for instruction in &dockerfile.instructions {
        state
            .step(instruction)
            .map_err(|kind| (instruction.line, kind))?;
    }
    for (name, _) in build_args {
        if !state.declared.contains(name) && !state.predefined.contains_key(name) {
            state.warnings.push(format!(
                "build-arg {name} was not consumed: no ARG in {file} declares it"
            ));
        }
    }
    Ok(Plan {
        steps: state.steps,
        config: state.config,
        image: state.image,
        warnings: state.warnings,
    })
}

struct State<'a> {
    escape: char,
    file: &'a str,
    context: &'a Context,
    build_args: BTreeMap<String, String>,
    predefined: Vars,
    /// ARGs declared before FROM.
    global: Vars,
    /// ARGs of the stage; `None` before FROM.
    stage: Option<Vars>,
    declared: BTreeSet<String>,
    config: RunConfig,
    image: Tree,
    steps: Vec<Step>,
    warnings: Vec<String>,
}

impl State<'_> {
    /// The variables an instruction sees: before FROM the global ARGs,
    /// after it the stage's ARGs overridden by ENV.
    fn vars(&self) -> Vars {
        match &self.stage {
            None => self.global.clone(),
            Some(args) => {
                let mut vars = args.clone();
                vars.extend(self.config.env.iter().cloned());
                vars
            }
        }
    }

    fn step(&mut self, instruction: &Instruction) -> Result<(), InstructionError> {
        let keyword = instruction.keyword.as_str();
        let args = instruction.args.as_str();
        if self.stage.is_none() && !matches!(keyword, "ARG" | "FROM") {
            if is_known(keyword) {
                return Err(InstructionError::BeforeFrom(keyword.to_owned()));
            }
            return Err(InstructionError::Unknown(keyword.to_owned()));
        }
        let mut layer = None;
        match keyword {
            "ARG" => return self.arg(args),
            "FROM" => return self.from(args),
            "COPY" => layer = Some(self.copy(args, instruction.line)?),
            "ENV" => {
                let pairs = self.pairs(keyword, args)?;
                for (name, value) in pairs {
                    match self.config.env.iter_mut().find(|(k, _)| *k == name) {
                        Some(slot) => slot.1 = value,
                        None => self.config.env.push((name, value)),
                    }
                }
            }
            "LABEL" => {
                let pairs = self.pairs(keyword, args)?;
                self.config.labels.extend(pairs);
            }
            "WORKDIR" => layer = self.workdir(args)?,
            "ENTRYPOINT" => self.config.entrypoint = Some(exec_form(keyword, args)?),
            "CMD" => self.config.cmd = Some(exec_form(keyword, args)?),
            "EXPOSE" => {
                for port in words(args, self.escape, &self.vars())? {
                    self.config.exposed.insert(port_spec(&port)?);
                }
            }
            "STOPSIGNAL" => {
                let signal = word(args, self.escape, &self.vars())?;
                if signal.is_empty() {
                    return Err(missing(keyword, "a signal"));
                }
                self.config.stop_signal = Some(signal);
            }
            "USER" | "VOLUME" | "HEALTHCHECK" | "MAINTAINER" => {
                let why = match keyword {
                    "USER" => "a Wasm guest has no users",
                    "VOLUME" => "mount volumes with `wharf run -v`",
                    "HEALTHCHECK" => "a Wasm image has no command to check health with",
                    _ => "deprecated; use LABEL",
                };
                let line = instruction.line;
                let file = self.file;
                self.warnings
                    .push(format!("{file}:{line}: {keyword} is ignored: {why}"));
                return Ok(());
            }
            other => return Err(refusal(other)),
        }
        self.steps.push(Step {
            created_by: instruction.text(),
            layer,
        });
        Ok(())
    }

    fn arg(&mut self, args: &str) -> Result<(), InstructionError> {
        let vars = self.vars();
        let pieces = split_raw(args, self.escape)?;
        if pieces.is_empty() {
            return Err(missing("ARG", "a name"));
        }
        for piece in pieces {
            let (name, default) = match piece.split_once('=') {
                Some((name, value)) => (name, Some(word(value, self.escape, &vars)?)),
                None => (piece, None),
            };
            if !valid_name(name) {
                return Err(InstructionError::BadName(name.to_owned()));
            }
            self.declared.insert(name.to_owned());
            let inherited = match &self.stage {
                Some(_) => self.global.get(name).cloned(),
                None => None,
            };
            let value = self
                .build_args
                .get(name)
                .cloned()
                .or(default)
                .or(inherited)
                .or_else(|| self.predefined.get(name).cloned());
            let scope = self.stage.as_mut().unwrap_or(&mut self.global);
            match value {
                Some(value) => scope.insert(name.to_owned(), value),
                None => scope.remove(name),
            };
        }
        Ok(())
    }

    fn from(&mut self, args: &str) -> Result<(), InstructionError> {
        if self.stage.is_some() {
            return Err(InstructionError::SecondFrom);
        }
        let (flags, rest) = take_flags(args);
        if let Some((flag, _)) = flags.iter().find(|(name, _)| name != "platform") {
            return Err(unknown_flag("FROM", flag));
        }
        let mut vars = self.predefined.clone();
        vars.extend(self.global.clone());
        let parts = words(rest, self.escape, &vars)?;
        let image = match parts.as_slice() {
            [image] => image,
            [image, r#as, _] if r#as.eq_ignore_ascii_case("as") => image,
            [] => return Err(missing("FROM", "an image (scratch)")),
            _ => return Err(InstructionError::NotScratch(rest.to_owned())),
        };
        if image != "scratch" {
            return Err(InstructionError::NotScratch(image.clone()));
        }
        self.stage = Some(Vars::new());
        Ok(())
    }

    fn pairs(&self, keyword: &str, args: &str) -> Result<Vec<(String, String)>, InstructionError> {
        let pairs = name_values(args, self.escape, &self.vars(), true)?;
        if pairs.is_empty() {
            return Err(missing(keyword, "name=value"));
        }
        for (name, _) in &pairs {
            if keyword == "ENV" && !valid_name(name) || name.is_empty() {
                return Err(InstructionError::BadName(name.clone()));
            }
            if keyword == "ENV" && !args.contains('=') && args.split_whitespace().nth(1).is_none() {
                return Err(missing(keyword, "a value"));
            }
        }
        Ok(pairs)
    }

    fn copy(&mut self, args: &str, line: usize) -> Result<Tree, InstructionError> {
        let (flags, rest) = take_flags(args);
        let mut mode = CopyMode { chmod: None };
        for (flag, value) in flags {
            match (flag.as_str(), value) {
                ("chmod", Some(value)) => mode.chmod = Some(parse_chmod(&value)?),
                ("chown", Some(_)) => self.warnings.push(format!(
                    "{}:{line}: COPY --chown is ignored: files in a Wasm image belong to uid 0",
                    self.file
                )),
                ("link", _) => {}
                ("from", _) => {
                    return Err(InstructionError::Unsupported {
                        instruction: "COPY --from".into(),
                        reason: "there is only one build stage",
                    });
                }
                (other, _) => return Err(unknown_flag("COPY", other)),
            }
        }
        let vars = self.vars();
        let mut parts = match json_array(rest) {
            Some(items) => items
                .iter()
                .map(|item| word(item, self.escape, &vars))
                .collect::<Result<Vec<_>, _>>()?,
            None => words(rest, self.escape, &vars)?,
        };
        if parts.len() < 2 {
            return Err(missing("COPY", "a source and a destination"));
        }
        let dest = parts.pop().unwrap_or_default();
        let dest_path = self.image_path(&dest);
        let dest_is_dir = dest.ends_with('/')
            || dest.ends_with("/.")
            || dest == "."
            || dest_path.is_empty()
            || matches!(self.image.get(&dest_path), Some(Node::Dir { .. }));
        let entries = self.context.copy(&parts, &dest_path, dest_is_dir, mode)?;
        self.apply(entries)
    }

    /// Checks the entries against the image (a file where a directory is
    /// needed is refused), adds their parents, and applies them.
    fn apply(&mut self, entries: Tree) -> Result<Tree, InstructionError> {
        let entries = with_parents(entries, &self.image);
        for (path, node) in &entries {
            check_image_path(path)?;
            let existing = self.image.get(path);
            let clash = matches!(node, Node::Dir { .. })
                && existing.is_some_and(|n| !matches!(n, Node::Dir { .. }));
            if clash {
                return Err(InstructionError::NotDirectory(format!("/{path}")));
            }
        }
        self.image
            .extend(entries.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(entries)
    }

    fn workdir(&mut self, args: &str) -> Result<Option<Tree>, InstructionError> {
        let dir = word(args, self.escape, &self.vars())?;
        if dir.is_empty() {
            return Err(missing("WORKDIR", "a directory"));
        }
        let path = self.image_path(&dir);
        self.config.workdir = format!("/{path}");
        if path.is_empty() || matches!(self.image.get(&path), Some(Node::Dir { .. })) {
            return Ok(None);
        }
        let entries = Tree::from([(path, Node::Dir { mode: DIR_MODE })]);
        self.apply(entries).map(Some)
    }

    /// An image path (no leading `/`) for `path`, relative to WORKDIR
    /// when not absolute; `..` stops at the root, as in Docker.
    fn image_path(&self, path: &str) -> String {
        super::image::resolve(&self.config.workdir, path)
    }
}

/// Refuses an image path that would build a layer no one can unpack as
/// meant: a NUL byte, a name too long for any file system, or a name that
/// unpacking reads as a whiteout (`.wh.NAME` deletes NAME of the layers
/// below).
fn check_image_path(path: &str) -> Result<(), InstructionError> {
    let bad = |reason| {
        Err(InstructionError::BadImagePath {
            path: format!("/{path}"),
            reason,
        })
    };
    if path.contains('\0') {
        return bad("it has a NUL byte");
    }
    if path.split('/').any(|name| name.len() > 255) {
        return bad("a name in it is longer than 255 bytes");
    }
    if path.split('/').any(|name| name.starts_with(".wh.")) {
        return bad("a name in it starts with .wh., which marks a whiteout");
    }
    Ok(())
}

/// ENTRYPOINT and CMD: the JSON form as is; the shell form split on
/// whitespace, since a Wasm image has no shell to hand the line to.
fn exec_form(keyword: &str, args: &str) -> Result<Vec<String>, InstructionError> {
    if let Some(items) = json_array(args) {
        return Ok(items);
    }
    if args.is_empty() {
        return Err(missing(keyword, "a command"));
    }
    Ok(args.split_whitespace().map(str::to_owned).collect())
}

fn port_spec(port: &str) -> Result<String, InstructionError> {
    let bad = || InstructionError::BadPort(port.to_owned());
    let (number, proto) = port.split_once('/').unwrap_or((port, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if number.parse::<u16>().is_err() || !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad());
    }
    Ok(format!("{number}/{proto}"))
}

fn parse_chmod(value: &str) -> Result<u32, InstructionError> {
    let valid =
        !value.is_empty() && value.len() <= 4 && value.bytes().all(|b| (b'0'..=b'7').contains(&b));
    valid
        .then(|| u32::from_str_radix(value, 8).ok())
        .flatten()
        .ok_or_else(|| InstructionError::BadChmod(value.to_owned()))
}

fn is_known(keyword: &str) -> bool {
    matches!(
        keyword,
        "COPY"
            | "ENV"
            | "LABEL"
            | "WORKDIR"
            | "ENTRYPOINT"
            | "CMD"
            | "EXPOSE"
            | "STOPSIGNAL"
            | "USER"
            | "VOLUME"
            | "HEALTHCHECK"
            | "MAINTAINER"
            | "RUN"
            | "ADD"
            | "SHELL"
            | "ONBUILD"
    )
}

fn refusal(keyword: &str) -> InstructionError {
    let reason = match keyword {
        "RUN" => "a Wasm image has no shell to run it in",
        "SHELL" => "a Wasm image has no shell",
        "ADD" => "use COPY (wharf neither fetches URLs nor unpacks archives)",
        "ONBUILD" => "a Wasm image built FROM scratch is never a base image",
        other => return InstructionError::Unknown(other.to_owned()),
    };
    InstructionError::Unsupported {
        instruction: keyword.to_owned(),
        reason,
    }
}

fn missing(instruction: &str, what: &'static str) -> InstructionError {
    InstructionError::Missing {
        instruction: instruction.to_owned(),
        what,
    }
}

fn unknown_flag(instruction: &str, flag: &str) -> InstructionError {
    InstructionError::UnknownFlag {
        instruction: instruction.to_owned(),
        flag: format!("--{flag}"),
    }
}
