//! runc's command line, as Docker's containerd-shim-runc-v2 (go-runc) and
//! Podman's conmon write it: global flags, a command, its flags, the id.
//!
//! Parsed only as far as wharf needs: where the log goes, which command
//! runs, and for `create`/`run` the bundle. Everything else passes to runc
//! as it came, byte for byte; only wharf's own global flags (`--runc`,
//! `--wharf-root`) are taken out. Go's flag syntax: one or two dashes, the
//! value after `=` or in the next argument. Hand-parsed because clap would
//! have to know every flag of every runc version to pass them on unchanged.

use std::ffi::OsString;
use std::path::PathBuf;

/// runc's global flags that take a value (runc 1.1).
const VALUE_FLAGS: [&str; 5] = ["root", "log", "log-format", "criu", "rootless"];
/// wharf's own global flags; never passed to runc.
const RUNC_FLAG: &str = "runc";
const ROOT_FLAG: &str = "wharf-root";
/// Where Debian's runc package puts runc.
pub const DEFAULT_RUNC: &str = "/usr/sbin/runc";
/// The environment variable naming runc when `--runc` does not.
pub const RUNC_ENV: &str = "WHARF_RUNC";

/// One invocation of the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The arguments for runc (no program name): ours, without wharf's.
    pub runc_args: Vec<OsString>,
    /// runc to hand Linux containers (and every command) to.
    pub runc: PathBuf,
    /// wharf's state directory (the compiled-code cache is under it).
    pub wharf_root: Option<PathBuf>,
    /// `--log`: where errors go as well as stderr.
    pub log: Option<PathBuf>,
    /// `--log-format json`.
    pub log_json: bool,
    /// `--version` / `-v` before any command.
    pub version: bool,
    /// The command (`create`, `start`, ...), `None` when there is none.
    pub command: Option<String>,
    /// The command's own arguments, after its name.
    pub command_args: Vec<String>,
}

impl Invocation {
    /// Parses `args` (without the program name); `runc_env` is the value
    /// of [`RUNC_ENV`].
    pub fn parse(args: Vec<OsString>, runc_env: Option<OsString>) -> Invocation {
        let mut invocation = Invocation {
            runc_args: Vec::with_capacity(args.len()),
            runc: runc_env
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(DEFAULT_RUNC), PathBuf::from),
            wharf_root: None,
            log: None,
            log_json: false,
            version: false,
            command: None,
            command_args: Vec::new(),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let text = arg.to_string_lossy().into_owned();
            if text == "--" {
                // The end of the global flags: the command comes next.
                invocation.runc_args.push(arg);
                if let Some(command) = args.next() {
                    invocation.command = Some(command.to_string_lossy().into_owned());
                    invocation.runc_args.push(command);
                }
                break;
            }
            let Some(flag) = flag_name(&text) else {
                invocation.command = Some(text);
                invocation.runc_args.push(arg);
                break;
            };
            let (name, inline) = match flag.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (flag.to_owned(), None),
            };
            let takes_value =
                VALUE_FLAGS.contains(&name.as_str()) || name == RUNC_FLAG || name == ROOT_FLAG;
            let mut separate = None;
            if takes_value && inline.is_none() {
                separate = args.next();
            }
            let value =
                inline.or_else(|| separate.as_ref().map(|v| v.to_string_lossy().into_owned()));
            match (name.as_str(), value) {
                (RUNC_FLAG, Some(value)) if !value.is_empty() => {
                    invocation.runc = PathBuf::from(value);
                }
                (ROOT_FLAG, Some(value)) => invocation.wharf_root = Some(PathBuf::from(value)),
                (RUNC_FLAG | ROOT_FLAG, _) => {}
                (other, value) => {
                    match (other, value) {
                        ("log", Some(path)) => invocation.log = Some(PathBuf::from(path)),
                        ("log-format", Some(format)) => invocation.log_json = format == "json",
                        ("version" | "v", _) => invocation.version = true,
                        _ => {}
                    }
                    invocation.runc_args.push(arg);
                    invocation.runc_args.extend(separate);
                }
            }
        }
        for arg in args {
            invocation
                .command_args
                .push(arg.to_string_lossy().into_owned());
            invocation.runc_args.push(arg);
        }
        invocation
    }

    /// The bundle of a `create` or `run`: the last `--bundle`/`-b` (as
    /// Go's flag package keeps the last), else the current directory
    /// (runc's default).
    pub fn bundle(&self) -> Option<PathBuf> {
        // Only flags come before the id, so `-b` cannot be a value of
        // another flag.
        let mut bundle = None;
        let mut args = self.command_args.iter();
        while let Some(arg) = args.next() {
            if arg == "--" {
                break;
            }
            let Some(flag) = flag_name(arg) else {
                continue;
            };
            match flag.split_once('=') {
                Some(("bundle" | "b", value)) => bundle = Some(PathBuf::from(value)),
                None if flag == "bundle" || flag == "b" => bundle = args.next().map(PathBuf::from),
                _ => {}
            }
        }
        bundle.or_else(|| std::env::current_dir().ok())
    }
}

/// The name of a flag (`-x`, `--x`, `--x=v`), `None` for a positional
/// argument (`-` alone included).
fn flag_name(arg: &str) -> Option<&str> {
    let name = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
#[path = "argv_tests.rs"]
mod tests;
