//! An OCI runtime spec and its rootfs → the engine's [`RunSpec`].
//!
//! What the guest gets from the spec:
//! - program: `process.args[0]` (after an init program that Docker's or
//!   Podman's `--init` put in front, see [`without_init`]), looked up in the
//!   rootfs as if the rootfs were `/` (a bare name on the spec's `PATH`,
//!   else relative to `process.cwd`; `..` stops at the rootfs, symlinks,
//!   absolute ones too, are followed inside it), and it must be WebAssembly
//!   (see [`run_spec`]);
//! - argv: `process.args` (without the init); environment: `process.env` (entries without `=`
//!   are skipped); working directory: `process.cwd`;
//! - files: the rootfs at `/` and each of its top-level directories on its
//!   own (see [`rootfs_volumes`]), read-only iff `root.readonly`; then each
//!   bind mount of a directory at its destination, read-only iff its options
//!   say `ro`. Every other mount is skipped: `proc`, `sysfs`, `devpts`,
//!   `mqueue`, `tmpfs`, `cgroup`, `cgroup2`, ... serve Linux processes and
//!   mean nothing to a WASI guest. Bind mounts of single files (CRI's
//!   `/etc/hosts`, `/etc/resolv.conf`, `/dev/termination-log`) are skipped
//!   too: a WASI preopen is a directory;
//! - memory: `linux.resources.memory.limit` when set, else the engine's
//!   [`DEFAULT_MEMORY_LIMIT`];
//! - stdio: the engine's defaults (the shim sets them).

use std::path::{Path, PathBuf};

use wharf_engine::{DEFAULT_MEMORY_LIMIT, RunSpec, Volume};

use crate::LifecycleError;
use crate::launch::{has_wasm_name, starts_with_magic};
use crate::spec::{OCI_HANDLER, OciSpec, WASM_VARIANT};

/// How many symlinks a program lookup follows before giving up (Linux's
/// own limit for one path walk).
const MAX_SYMLINKS: u32 = 40;

/// The run that `spec` describes, with its rootfs at `rootfs` (see the
/// module docs for what the guest gets).
///
/// Whether the program is Wasm follows crun: annotation
/// `module.wasm.image/variant=compat` or `run.oci.handler=wasm` means
/// always; `compat-smart` means when `args[0]` ends in `.wasm` or `.wat`;
/// with neither, the file must start with `\0asm` or end in `.wat`.
/// Otherwise the error is [`LifecycleError::NotWasm`]: a Linux container.
/// A pod sandbox ([`OciSpec::is_pod_sandbox`]) has no Wasm program; the
/// caller handles it before calling this.
pub fn run_spec(spec: &OciSpec, rootfs: &Path) -> Result<RunSpec, LifecycleError> {
    let args = without_init(spec.args());
    let program = args.first().ok_or(LifecycleError::NoProgram)?;
    let cwd = spec.cwd();
    if !cwd.starts_with('/') {
        return Err(LifecycleError::RelativeCwd {
            cwd: cwd.to_owned(),
        });
    }
    let hint = WasmHint::of(spec);
    if hint == WasmHint::Smart && !has_wasm_name(program) {
        return Err(LifecycleError::NotWasm {
            program: program.clone(),
            reason: "variant compat-smart and args[0] does not end in .wasm or .wat",
        });
    }
    let host_program = program_on_path(rootfs, program, cwd, &spec.env())?;
    if hint == WasmHint::Magic && !is_wasm_file(&host_program)? {
        return Err(LifecycleError::NotWasm {
            program: program.clone(),
            reason: "no \\0asm magic",
        });
    }
    let mut run = RunSpec::new(host_program);
    run.args = args.to_vec();
    run.workdir = Some(cwd.to_owned());
    run.volumes = rootfs_volumes(rootfs, spec.root_readonly());
    apply_process_and_mounts(spec, &mut run);
    Ok(run)
}

/// Whether the annotations say the program is Wasm (crun's `compat`,
/// `compat-smart` or `run.oci.handler=wasm`), so that a program that is not
/// found or not Wasm is an error rather than a Linux container.
pub fn annotated_as_wasm(spec: &OciSpec) -> bool {
    WasmHint::of(spec) != WasmHint::Magic
}

/// The init programs Docker's and Podman's `--init` put before the
/// container's own argv (`/sbin/docker-init -- PROGRAM ARGS...`).
const INIT_PROGRAMS: [&str; 4] = ["docker-init", "podman-init", "catatonit", "tini"];

/// `args` without an init program in front: a Wasm guest runs with the
/// engine as the container's first process, which handles the stop
/// signals itself (and a guest starts no processes to reap).
pub fn without_init(args: &[String]) -> &[String] {
    match args {
        [init, dashes, rest @ ..]
            if dashes == "--"
                && !rest.is_empty()
                && INIT_PROGRAMS
                    .iter()
                    .any(|name| Path::new(init).file_name().is_some_and(|f| f == *name)) =>
        {
            rest
        }
        _ => args,
    }
}

/// The default `PATH` when the spec's environment has none (runc's).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Like [`program_in_rootfs`], but a name without `/` is looked up on the
/// `PATH` of `env` first, as runc's `execve` does; when it is on none of
/// them it is taken relative to `cwd`.
pub fn program_on_path(
    rootfs: &Path,
    program: &str,
    cwd: &str,
    env: &[(String, String)],
) -> Result<PathBuf, LifecycleError> {
    if !program.contains('/') {
        let path = env
            .iter()
            .rev()
            .find(|(key, _)| key == "PATH")
            .map_or(DEFAULT_PATH, |(_, value)| value.as_str());
        let found = path
            .split(':')
            .filter(|dir| dir.starts_with('/'))
            .find_map(|dir| program_in_rootfs(rootfs, &format!("{dir}/{program}"), cwd).ok());
        if let Some(found) = found {
            return Ok(found);
        }
    }
    program_in_rootfs(rootfs, program, cwd)
}

/// The run of a Wasm artifact or component-layer image: `module` is the
/// image's one module, argv is `process.args`, or `argv0` alone when the
/// spec has none. The guest gets the spec's environment, its bind mounts,
/// and its working directory when that is one of them; there is no rootfs.
pub fn module_run_spec(spec: &OciSpec, module: PathBuf, argv0: &str) -> RunSpec {
    let mut run = RunSpec::new(module);
    run.args = match spec.args() {
        [] => vec![argv0.to_owned()],
        args => args.to_vec(),
    };
    apply_process_and_mounts(spec, &mut run);
    let cwd = guest_path(spec.cwd());
    if run
        .volumes
        .iter()
        .any(|v| Path::new(&cwd).starts_with(&v.guest))
    {
        run.workdir = Some(cwd);
    }
    run
}

/// The run of `spec` ([`run_spec`]); when the rootfs holds no program,
/// the run of the module `module` finds (a Wasm artifact's or
/// component-layer image's, which engines leave out of the rootfs, with the
/// image's name), else `run_spec`'s error. `module`'s own error is the
/// caller's.
pub fn spec_or_module_run<E>(
    spec: &OciSpec,
    rootfs: &Path,
    module: impl FnOnce() -> Result<Option<(PathBuf, String)>, E>,
) -> Result<Result<RunSpec, LifecycleError>, E> {
    let error = match run_spec(spec, rootfs) {
        Ok(run) => return Ok(Ok(run)),
        Err(error) => error,
    };
    if !matches!(
        error,
        LifecycleError::NoProgram | LifecycleError::ProgramNotFound { .. }
    ) {
        return Ok(Err(error));
    }
    Ok(match module()? {
        Some((module, image)) => Ok(module_run_spec(spec, module, &image)),
        None => Err(error),
    })
}

/// The spec's environment, bind mounts (over any rootfs volume at the same
/// place) and memory limit.
fn apply_process_and_mounts(spec: &OciSpec, run: &mut RunSpec) {
    run.env = spec.env();
    for volume in mount_volumes(spec) {
        run.volumes.retain(|v| v.guest != volume.guest);
        run.volumes.push(volume);
    }
    run.memory_limit = spec.memory_limit().unwrap_or(DEFAULT_MEMORY_LIMIT);
}

/// What the annotations say about the program being Wasm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WasmHint {
    /// `compat` or `run.oci.handler=wasm`: Wasm, whatever the file.
    Always,
    /// `compat-smart`: Wasm when `args[0]` ends in `.wasm` or `.wat`.
    Smart,
    /// No annotation: the file's magic decides.
    Magic,
}

impl WasmHint {
    fn of(spec: &OciSpec) -> WasmHint {
        match (spec.annotation(WASM_VARIANT), spec.annotation(OCI_HANDLER)) {
            (Some("compat"), _) | (_, Some("wasm")) => WasmHint::Always,
            (Some("compat-smart"), _) => WasmHint::Smart,
            _ => WasmHint::Magic,
        }
    }
}

/// Whether `path` is `.wat` text or starts with the binary magic.
fn is_wasm_file(path: &Path) -> Result<bool, LifecycleError> {
    if path.extension().is_some_and(|ext| ext == "wat") {
        return Ok(true);
    }
    starts_with_magic(path).map_err(|source| LifecycleError::ReadProgram {
        path: path.to_owned(),
        source,
    })
}

/// The volumes the spec's mounts become, in order: bind mounts of
/// directories, at their destinations.
pub fn mount_volumes(spec: &OciSpec) -> Vec<Volume> {
    spec.mounts().iter().filter_map(mount_volume).collect()
}

/// The volume a spec mount becomes: bind mounts of directories only.
fn mount_volume(mount: &crate::SpecMount) -> Option<Volume> {
    if !mount.is_bind() || !Path::new(&mount.source).is_dir() {
        return None;
    }
    Some(Volume::new(
        &mount.source,
        guest_path(&mount.destination),
        mount.is_read_only(),
    ))
}

/// `path` as a clean absolute guest path: no `.`, no `..` (stopping at
/// `/`), no doubled or trailing slashes.
pub fn guest_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The rootfs at `/`, and each top-level directory of it on its own: wasi-libc
/// of preview 1 resolves absolute paths by the longest preopen prefix and
/// (in the versions distributions ship) does not match `/etc/x` against a
/// preopen named `/`. Top-level symlinks and non-UTF-8 names are not given
/// on their own (they stay reachable through `/`).
pub fn rootfs_volumes(rootfs: &Path, read_only: bool) -> Vec<Volume> {
    let volume = |host: PathBuf, guest: String| Volume::new(host, guest, read_only);
    let mut volumes = vec![volume(rootfs.to_owned(), "/".to_owned())];
    let mut top: Vec<(PathBuf, String)> = std::fs::read_dir(rootfs)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| Some((entry.path(), format!("/{}", entry.file_name().to_str()?))))
        .collect();
    top.sort();
    volumes.extend(top.into_iter().map(|(host, guest)| volume(host, guest)));
    volumes
}

/// The host file of the container's program `program` (absolute, or
/// relative to `cwd`), resolved as if `rootfs` were `/`: `..` stops at the
/// rootfs and symlinks, absolute ones included, are followed inside it. The
/// result is canonical, inside the canonical rootfs, and a regular file;
/// anything else is [`LifecycleError::ProgramNotFound`].
pub fn program_in_rootfs(
    rootfs: &Path,
    program: &str,
    cwd: &str,
) -> Result<PathBuf, LifecycleError> {
    let in_container = if program.starts_with('/') {
        program.to_owned()
    } else {
        format!("{}/{program}", cwd.trim_end_matches('/'))
    };
    let not_found = || LifecycleError::ProgramNotFound {
        program: in_container.clone(),
    };
    let root = rootfs.canonicalize().map_err(|_| not_found())?;
    let resolved = resolve_in(&root, &in_container, false).ok_or_else(not_found)?;
    // The walk never leaves the root; canonicalizing again guards against
    // the tree changing under it.
    let canonical = resolved.canonicalize().map_err(|_| not_found())?;
    if !canonical.starts_with(&root) || !canonical.is_file() {
        return Err(not_found());
    }
    Ok(canonical)
}

/// Where `path` (absolute, as the container sees it) leads in `rootfs`,
/// symlinks followed inside it as a runtime follows a mount destination's;
/// a missing tail is taken as written (a runtime makes it). The result is
/// a container path (`/x/y`); `None` when a link is unreadable or links
/// nest too deep.
pub fn destination_in_rootfs(rootfs: &Path, path: &str) -> Option<String> {
    let root = rootfs.canonicalize().ok()?;
    let resolved = resolve_in(&root, path, true)?;
    let inside = resolved.strip_prefix(&root).ok()?;
    Some(format!("/{}", inside.to_str()?))
}

/// `path` walked from `root` as if `root` were `/`. `None` when a link is
/// unreadable or not UTF-8, links nest too deep, or (unless `missing_ok`)
/// a component is missing.
fn resolve_in(root: &Path, path: &str, missing_ok: bool) -> Option<PathBuf> {
    // Components still to walk, the next one last.
    let mut pending: Vec<String> = path.split('/').rev().map(str::to_owned).collect();
    let mut current = root.to_path_buf();
    let mut depth = 0usize;
    let mut links = 0u32;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "" | "." => {}
            ".." => {
                if depth > 0 {
                    current.pop();
                    depth -= 1;
                }
            }
            name => {
                let next = current.join(name);
                let found = match std::fs::symlink_metadata(&next) {
                    Ok(found) => Some(found),
                    Err(error) if missing_ok && error.kind() == std::io::ErrorKind::NotFound => {
                        None
                    }
                    Err(_) => return None,
                };
                if !found.is_some_and(|f| f.file_type().is_symlink()) {
                    current = next;
                    depth += 1;
                    continue;
                }
                links += 1;
                if links > MAX_SYMLINKS {
                    return None;
                }
                let target = std::fs::read_link(&next).ok()?;
                let target = target.to_str()?;
                if target.starts_with('/') {
                    current = root.to_path_buf();
                    depth = 0;
                }
                pending.extend(target.split('/').rev().map(str::to_owned));
            }
        }
    }
    Some(current)
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
