//! `wasm-init`: the first process of a Wasm container under runc, which
//! runs the guest on wharf's engine.
//!
//! `wasm-init [--memory BYTES] [--read-only-root] [--root-identity DEV:INO]
//! [--volume DIR[:ro] [--identity DEV:INO]]... [--serve] -- PROGRAM ARGV...`,
//! as [`crate::create`] writes it. The guest gets exactly:
//! - files: the rootfs alone at `/` ([`IN_CONTAINER_ROOTFS`], with nothing
//!   mounted on it: no `/proc`, `/sys` or `/dev`, and `/.wharf` only as the
//!   empty mount points runc made), read-only with `--read-only-root`, and
//!   each `--volume` (the spec's bind mounts of directories and its tmpfs
//!   mounts) at its place; the rootfs and each volume with an identity
//!   (its host directory's device and inode, which a bind mount keeps) must
//!   be that directory, or the guest does not start;
//! - argv `ARGV`, the process's environment and working directory (runc
//!   set them from the spec), the process's stdin, stdout and stderr;
//! - memory capped at `--memory` (the container's limit less the engine's
//!   share), else the engine's default;
//! - no network; a service (`--serve`) listens on `0.0.0.0:$WHARF_HTTP_PORT`
//!   (8080) of the container's network namespace.
//!
//! As pid 1 of its namespace it would ignore SIGTERM, SIGINT and the other
//! stop signals without a handler, so the watchdog's are installed before
//! anything else: a command ends at once with 128+signal, a service drains
//! and exits 0. The guest's exit code is the container's. The compiled code
//! comes from [`IN_CONTAINER_CACHE`], which holds this program's entry only.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use wharf_engine::{DirIdentity, Host, RunSpec, ServeOptions, ServeStats, Stdin, Volume};
use wharf_lifecycle::ports::DEFAULT_SERVICE_PORT;
use wharf_lifecycle::{exit, watchdog};

use crate::engine::{IN_CONTAINER_CACHE, IN_CONTAINER_DIR, IN_CONTAINER_ROOTFS};

/// What `wasm-init`'s arguments say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitArgs {
    /// The guest's memory cap.
    pub memory: Option<u64>,
    /// Whether the rootfs is read-only.
    pub read_only_root: bool,
    /// Mount points to give the guest, whether each is read-only, and the
    /// identity its directory must have.
    pub volumes: Vec<(String, bool, Option<DirIdentity>)>,
    /// The identity the rootfs must have.
    pub root_identity: Option<DirIdentity>,
    /// Whether the program is an HTTP handler to serve.
    pub serve: bool,
    /// The program file, as the container sees it.
    pub program: PathBuf,
    /// The guest's argv.
    pub argv: Vec<String>,
}

impl InitArgs {
    /// Parses the arguments after `wasm-init`.
    pub fn parse(args: &[String]) -> Result<InitArgs, String> {
        let mut parsed = InitArgs {
            memory: None,
            read_only_root: false,
            volumes: Vec::new(),
            root_identity: None,
            serve: false,
            program: PathBuf::new(),
            argv: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--memory" => {
                    let value = args.next().ok_or("--memory needs a value")?;
                    parsed.memory =
                        Some(value.parse().map_err(|_| format!("bad --memory {value}"))?);
                }
                "--read-only-root" => parsed.read_only_root = true,
                "--volume" => {
                    let value = args.next().ok_or("--volume needs a value")?;
                    parsed.volumes.push(match value.strip_suffix(":ro") {
                        Some(dir) => (dir.to_owned(), true, None),
                        None => (value.clone(), false, None),
                    });
                }
                "--identity" => {
                    let value = args.next().ok_or("--identity needs a value")?;
                    let volume = parsed
                        .volumes
                        .last_mut()
                        .ok_or("--identity before any --volume")?;
                    volume.2 = Some(parse_identity(value)?);
                }
                "--root-identity" => {
                    let value = args.next().ok_or("--root-identity needs a value")?;
                    parsed.root_identity = Some(parse_identity(value)?);
                }
                "--serve" => parsed.serve = true,
                "--" => {
                    let program = args.next().ok_or("no program after --")?;
                    parsed.program = PathBuf::from(program);
                    parsed.argv = args.cloned().collect();
                    return Ok(parsed);
                }
                other => return Err(format!("unknown wasm-init argument {other:?}")),
            }
        }
        Err("no program: wasm-init is run by wharf-runc inside a container".to_owned())
    }

    /// The run the guest gets (see the module docs).
    pub fn run_spec(&self) -> RunSpec {
        let mut spec = RunSpec::new(&self.program);
        spec.args = self.argv.clone();
        spec.env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        spec.workdir = std::env::current_dir()
            .ok()
            .and_then(|dir| dir.to_str().map(str::to_owned));
        spec.volumes =
            wharf_lifecycle::rootfs_volumes(Path::new(IN_CONTAINER_ROOTFS), self.read_only_root)
                .into_iter()
                .filter(|v| v.guest != IN_CONTAINER_DIR)
                .collect();
        if let Some(root) = spec.volumes.first_mut() {
            root.identity = self.root_identity;
        }
        for (dir, read_only, identity) in &self.volumes {
            spec.volumes.retain(|v| v.guest != *dir);
            let mut volume = Volume::new(dir, dir.clone(), *read_only);
            volume.identity = *identity;
            spec.volumes.push(volume);
        }
        spec.stdin = Stdin::Inherit;
        if let Some(memory) = self.memory {
            spec.memory_limit = memory;
        }
        spec
    }
}

/// Runs `wasm-init` with `args`; returns the container's exit code.
pub fn main(args: &[String]) -> i32 {
    // First: a signal that comes while the engine starts ends the run too.
    if let Err(error) = watchdog::arm(None) {
        return fail(&format!("cannot watch for signals: {error}"));
    }
    let init = match InitArgs::parse(args) {
        Ok(init) => init,
        Err(message) => return fail(&message),
    };
    let spec = init.run_spec();
    let cache = Path::new(IN_CONTAINER_CACHE);
    if init.serve {
        return serve(&spec, cache);
    }
    let host = match Host::new(crate::engine::command_host(cache)) {
        Ok(host) => host,
        Err(error) => return exit::of_error(&error),
    };
    if !host.has_cache() {
        eprintln!(
            "wharf: the compiled-code cache is not readable by this container's user: \
             compiling at start"
        );
    }
    let outcome = host.run(&spec, &host.stop_handle());
    if host.has_cache() && host.compilations() > 0 {
        eprintln!("wharf: compiled at start: the cache had no code for this program");
    }
    // The process ends right after this.
    std::mem::forget(host);
    exit::of_run(outcome)
}

/// Serves the HTTP handler until a stop signal, then drains.
fn serve(spec: &RunSpec, cache: &Path) -> i32 {
    let host = match Host::new(crate::engine::service_host(cache, spec.memory_limit)) {
        Ok(host) => host,
        Err(error) => return exit::of_error(&error),
    };
    let service = match host.service(spec) {
        Ok(service) => service,
        Err(error) => return exit::of_error(&error),
    };
    let port = spec
        .env
        .iter()
        .rev()
        .find(|(key, _)| key == "WHARF_HTTP_PORT")
        .and_then(|(_, value)| value.parse::<u16>().ok())
        .unwrap_or(DEFAULT_SERVICE_PORT);
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(listener) => listener,
        Err(error) => return fail(&format!("cannot listen on port {port}: {error}")),
    };
    let stop = host.stop_handle();
    if let Err(error) = watchdog::arm_drain(stop.clone()) {
        return fail(&format!("cannot watch for signals: {error}"));
    }
    eprintln!("Serving HTTP on http://0.0.0.0:{port}/");
    let served = service.serve(
        ServeOptions::new(vec![listener]),
        &ServeStats::default(),
        &stop,
    );
    std::mem::forget(host);
    match served {
        Ok(()) => 0,
        Err(error) => exit::of_error(&error),
    }
}

/// `DEV:INO`, as [`identity_arg`] writes it.
fn parse_identity(text: &str) -> Result<DirIdentity, String> {
    let bad = || format!("bad identity {text:?} (DEV:INO)");
    let (dev, ino) = text.split_once(':').ok_or_else(bad)?;
    Ok(DirIdentity {
        dev: dev.parse().map_err(|_| bad())?,
        ino: ino.parse().map_err(|_| bad())?,
    })
}

/// A directory's identity as `wasm-init` takes it.
pub fn identity_arg(identity: DirIdentity) -> String {
    format!("{}:{}", identity.dev, identity.ino)
}

fn fail(message: &str) -> i32 {
    eprintln!("wharf: {message}");
    exit::ERROR
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments_as_create_writes_them() {
        let init = InitArgs::parse(&strings(&[
            "--memory",
            "50331648",
            "--read-only-root",
            "--volume",
            "/data:ro",
            "--volume",
            "/out",
            "--identity",
            "64:12",
            "--root-identity",
            "2049:2",
            "--",
            "/app.wasm",
            "/app.wasm",
            "--",
            "x",
        ]))
        .expect("parse");
        assert_eq!(init.memory, Some(48 << 20));
        assert!(init.read_only_root);
        let out = DirIdentity { dev: 64, ino: 12 };
        assert_eq!(
            init.volumes,
            [
                ("/data".to_owned(), true, None),
                ("/out".to_owned(), false, Some(out))
            ]
        );
        assert_eq!(init.program, PathBuf::from("/app.wasm"));
        assert_eq!(init.argv, ["/app.wasm", "--", "x"]);
        let spec = init.run_spec();
        assert_eq!(spec.memory_limit, 48 << 20);
        let data = spec
            .volumes
            .iter()
            .find(|v| v.guest == "/data")
            .expect("data");
        assert!(data.read_only);
        assert_eq!(data.host, PathBuf::from("/data"));
        assert_eq!(spec.volumes[0].host, PathBuf::from(IN_CONTAINER_ROOTFS));
        assert_eq!(spec.volumes[0].guest, "/");
        assert_eq!(
            spec.volumes[0].identity,
            Some(DirIdentity { dev: 2049, ino: 2 })
        );
        let out = spec
            .volumes
            .iter()
            .find(|v| v.guest == "/out")
            .expect("out");
        assert_eq!(out.identity, Some(DirIdentity { dev: 64, ino: 12 }));
    }

    #[test]
    fn bad_arguments_are_errors() {
        for bad in [
            &["--memory"][..],
            &["--memory", "x", "--", "p"],
            &["--bogus"],
            &["--identity", "1:2", "--", "p"],
            &["--volume", "/d", "--identity", "12", "--", "p"],
            &[],
        ] {
            assert!(InitArgs::parse(&strings(bad)).is_err(), "{bad:?}");
        }
    }
}
