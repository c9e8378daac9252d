//! `create` and `run`: tell a Wasm container from a Linux one, and turn a
//! Wasm container's bundle into one runc runs with wharf's engine inside.
//!
//! runc keeps doing everything Docker and Podman expect of it —
//! namespaces, cgroups, seccomp, capabilities, the console, the pid file,
//! state, pause, update — for Wasm containers too, and wharf keeps no state
//! of its own: the container's process becomes this binary's `wasm-init`
//! (see [`crate::init`]), bind-mounted read-only, with the original argv.
//! The program is compiled here, outside the container, into the shared
//! cache; the container sees that program's entry alone, read-only: the
//! guest never reaches it (its `/` is the rootfs alone), the engine inside
//! cannot change it, and no container reads another's code.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wharf_engine::{DirIdentity, Host, Precompiled, ProgramShape, Volume};
use wharf_lifecycle::OciSpec;

use crate::engine::{
    IN_CONTAINER_CACHE, IN_CONTAINER_DIR, IN_CONTAINER_ENGINE, IN_CONTAINER_ROOTFS, INIT_COMMAND,
    cache_root, command_host, guest_memory, service_host,
};
use crate::rewrite;

/// The annotation a rewritten bundle carries (so it is rewritten once).
pub const REWRITTEN: &str = "dev.wharf.runc.wasm";

/// Looks at `bundle` and, for a Wasm container (a Linux container, or a
/// bundle already rewritten, is left as it is), compiles its program into
/// the cache under `wharf_root` and rewrites its `config.json`.
pub fn prepare(bundle: &Path, wharf_root: Option<&Path>) -> Result<(), String> {
    // A spec wharf cannot read is runc's to judge and to report.
    let Ok(spec) = wharf_lifecycle::load(bundle) else {
        return Ok(());
    };
    if spec.annotation(REWRITTEN).is_some() {
        return Ok(());
    }
    let rootfs = rootfs_of(&spec, bundle);
    let run = match wharf_lifecycle::run_spec(&spec, &rootfs) {
        Ok(run) => run,
        // compat-smart with a program not named .wasm, or no annotation
        // and no \0asm: crun's rules say Linux.
        Err(wharf_lifecycle::LifecycleError::NotWasm { .. }) => return Ok(()),
        Err(error) if wharf_lifecycle::annotated_as_wasm(&spec) => {
            return Err(format!("Wasm container: {error}"));
        }
        Err(_) => return Ok(()),
    };
    // Without an annotation only the binary magic says Wasm: a Linux
    // program may be named `.wat`.
    if !wharf_lifecycle::annotated_as_wasm(&spec)
        && !wharf_lifecycle::launch::starts_with_magic(&run.program).unwrap_or(false)
    {
        return Ok(());
    }
    let engine = own_executable()?;
    let root = rootfs
        .canonicalize()
        .map_err(|e| format!("rootfs {}: {e}", rootfs.display()))?;
    refuse_linked_mount_points(&root)?;
    let program = run
        .program
        .strip_prefix(&root)
        .map(|inside| format!("/{}", inside.display()))
        .map_err(|_| format!("{} is outside the rootfs", run.program.display()))?;
    let (volumes, root_identity) = guest_volumes(&spec, &root)?;
    let cache = cache_root(wharf_root);
    let cache = std::fs::create_dir_all(&cache)
        .and_then(|()| cache.canonicalize())
        .map_err(|e| format!("cannot make the cache {}: {e}", cache.display()))?;
    let memory = spec.memory_limit().map(guest_memory);
    let compiled = compile(&run.program, &cache, memory.unwrap_or(run.memory_limit))?;
    let shape = compiled.shape;
    let own_cache = own_cache(bundle, &cache, &compiled)?;

    let mut init = vec![IN_CONTAINER_ENGINE.to_owned(), INIT_COMMAND.to_owned()];
    if let Some(memory) = memory {
        init.extend(["--memory".to_owned(), memory.to_string()]);
    }
    if spec.root_readonly() {
        init.push("--read-only-root".to_owned());
    }
    init.extend([
        "--root-identity".to_owned(),
        crate::init::identity_arg(root_identity),
    ]);
    init.extend(volumes);
    if shape == ProgramShape::HttpHandler {
        init.push("--serve".to_owned());
    }
    init.push("--".to_owned());
    init.push(program);
    init.extend(run.args.iter().cloned());

    let mut mounts = vec![
        bind(IN_CONTAINER_ENGINE, &engine, &["ro", "nosuid", "nodev"]),
        bind(
            IN_CONTAINER_ROOTFS,
            &root,
            &[
                if spec.root_readonly() { "ro" } else { "rw" },
                "nosuid",
                "nodev",
                "noexec",
            ],
        ),
        bind(
            IN_CONTAINER_CACHE,
            &own_cache.dir,
            &["ro", "nosuid", "nodev", "noexec"],
        ),
    ];
    if let Some((entry, at)) = &own_cache.entry {
        let destination = format!("{IN_CONTAINER_CACHE}/{at}");
        mounts.push(bind(
            &destination,
            entry,
            &["ro", "nosuid", "nodev", "noexec"],
        ));
    }
    rewrite::config(bundle, |config| {
        rewrite::set_process_args(config, &init)?;
        rewrite::add_mounts(config, &mounts)?;
        rewrite::annotate(config, REWRITTEN, "true")
    })?;
    Ok(())
}

/// Refuses a rootfs whose `/.wharf` (or a mount point under it) is a
/// symbolic link: runc would follow it inside the rootfs and put the
/// engine, the rootfs and the cache wherever it points — into a volume,
/// where the guest would see them.
fn refuse_linked_mount_points(root: &Path) -> Result<(), String> {
    let inside = |at: &str| root.join(at.trim_start_matches('/'));
    for at in [
        IN_CONTAINER_DIR,
        IN_CONTAINER_ENGINE,
        IN_CONTAINER_ROOTFS,
        IN_CONTAINER_CACHE,
    ] {
        if std::fs::symlink_metadata(inside(at)).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!(
                "the image's {at} is a symbolic link; wharf-runc mounts its engine there"
            ));
        }
    }
    Ok(())
}

/// The rootfs runc will use: `root.path`, absolute (Podman's overlay
/// mounts live outside the bundle) or relative to the bundle.
fn rootfs_of(spec: &OciSpec, bundle: &Path) -> PathBuf {
    bundle.join(spec.root_path())
}

/// Compiles the program for the engine configuration it will run on:
/// its shape, and the cache files of its code. This process is root and the
/// program is the image's: each compile is walled in, in a process of its
/// own that reads only the program and writes only the cache.
fn compile(program: &Path, cache: &Path, memory: u64) -> Result<Precompiled, String> {
    let failed = |e: wharf_engine::Error| wharf_lifecycle::report::chain(&e);
    let compiled = Host::new(command_host(cache))
        .and_then(|host| host.precompile_walled(program))
        .map_err(failed)?;
    if compiled.shape == ProgramShape::HttpHandler {
        return Host::new(service_host(cache, memory))
            .and_then(|host| host.precompile_walled(program))
            .map_err(failed);
    }
    Ok(compiled)
}

/// The cache a container sees: a directory of the bundle's own, private
/// to root, that holds only its program's entry (bound over an empty file
/// at the same place) and copies of the entry's seal and the program's
/// identity record, so that no container reads another's code and the
/// guest starts without hashing either.
struct OwnCache {
    dir: PathBuf,
    /// The shared entry, and its path under the cache directory.
    entry: Option<(PathBuf, String)>,
}

fn own_cache(bundle: &Path, cache: &Path, compiled: &Precompiled) -> Result<OwnCache, String> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let dir = bundle.join("wharf-cache");
    let made = |e: std::io::Error| format!("cannot make {}: {e}", dir.display());
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(made)?;
    let dir = dir.canonicalize().map_err(made)?;
    let under_cache = |file: &Path| Some(file.strip_prefix(cache).ok()?.to_str()?.to_owned());
    let entry = compiled
        .code
        .as_deref()
        .and_then(|code| Some((code.to_owned(), under_cache(code)?)));
    let Some((_, at)) = &entry else {
        return Ok(OwnCache { dir, entry });
    };
    let private_parent = |file: &Path| match file.parent() {
        Some(parent) => std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(parent),
        None => Ok(()),
    };
    let placeholder = dir.join(at);
    private_parent(&placeholder).map_err(made)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&placeholder)
        .map_err(made)?;
    for record in &compiled.records {
        let Some(at) = under_cache(record) else {
            continue;
        };
        let copy = dir.join(at);
        private_parent(&copy)
            .and_then(|()| std::fs::read(record))
            .and_then(|bytes| {
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&copy)?;
                std::io::Write::write_all(&mut file, &bytes)
            })
            .map_err(made)?;
    }
    Ok(OwnCache { dir, entry })
}

/// The arguments that give the guest the spec's mounts (bind mounts of
/// directories and tmpfs mounts, at their destinations), and the rootfs's
/// identity. A mount whose destination runc would reach through a symbolic
/// link of the image is refused when it is a volume or lands on wharf's
/// mounts: the engine opens volumes by their container path, and a link
/// could lead one onto `/.wharf` or into `/dev`. Bind mounts are resolved
/// here, on the host, with the rootfs: a source that leads through a link
/// inside the writable rootfs or another writable volume is refused (the
/// guest of an earlier run could have put it there), and each carries its
/// directory's identity, which `wasm-init` checks again in the container.
fn guest_volumes(spec: &OciSpec, root: &Path) -> Result<(Vec<String>, DirIdentity), String> {
    let binds = wharf_lifecycle::mount_volumes(spec);
    let mut resolved = vec![Volume::new(root, "/", spec.root_readonly())];
    resolved.extend(binds.iter().filter(|v| is_given(v)).cloned());
    wharf_engine::resolve_volumes(&mut resolved).map_err(|e| wharf_lifecycle::report::chain(&e))?;
    let root_identity = resolved[0].identity.ok_or("the rootfs was not resolved")?;
    let mut volumes = resolved.split_off(1);
    for mount in spec.mounts() {
        let literal = wharf_lifecycle::guest_path(&mount.destination);
        if mount.kind == "tmpfs" {
            volumes.push(Volume::new(&literal, literal.clone(), mount.is_read_only()));
        }
        let resolved = wharf_lifecycle::destination_in_rootfs(root, &mount.destination)
            .ok_or_else(|| format!("cannot resolve mount destination {literal} in the rootfs"))?;
        if resolved != literal
            && (Path::new(&resolved).starts_with(IN_CONTAINER_DIR)
                || binds.iter().chain(&volumes).any(|v| v.guest == literal))
        {
            return Err(format!(
                "mount destination {literal} is a symbolic link in the image (to {resolved})"
            ));
        }
    }
    let args = volumes.iter().filter_map(volume_args).flatten().collect();
    Ok((args, root_identity))
}

/// Whether a spec mount is given to the guest: not those that serve Linux
/// processes (`/proc`, `/sys`, `/dev` and below: with `/proc` a guest could
/// write the engine's memory through `/proc/self/mem`), nor wharf's own.
fn is_given(volume: &Volume) -> bool {
    let guest = Path::new(&volume.guest);
    let hidden = ["/proc", "/sys", "/dev", IN_CONTAINER_DIR]
        .iter()
        .any(|prefix| guest.starts_with(prefix));
    !hidden && volume.guest != "/" && !volume.guest.contains(':')
}

/// `--volume DIR[:ro]` (and `--identity DEV:INO` when it has one) of a
/// mount given to the guest; `None` for the others (see [`is_given`]).
fn volume_args(volume: &Volume) -> Option<Vec<String>> {
    if !is_given(volume) {
        return None;
    }
    let mut args = vec![
        "--volume".to_owned(),
        if volume.read_only {
            format!("{}:ro", volume.guest)
        } else {
            volume.guest.clone()
        },
    ];
    if let Some(id) = volume.identity {
        args.extend(["--identity".to_owned(), crate::init::identity_arg(id)]);
    }
    Some(args)
}

/// A bind mount (never recursive: nothing mounted below `source` comes).
fn bind(destination: &str, source: &Path, options: &[&str]) -> Value {
    let mut all = vec!["bind"];
    all.extend_from_slice(options);
    json!({
        "destination": destination,
        "type": "bind",
        "source": source,
        "options": all,
    })
}

/// This binary, which must be statically linked: inside a Wasm container
/// there is no dynamic loader or libc to run it with.
fn own_executable() -> Result<PathBuf, String> {
    // SAFETY: getauxval reads the process's auxiliary vector; AT_BASE is
    // the dynamic loader's address, 0 when there is none.
    if unsafe { libc::getauxval(libc::AT_BASE) } != 0 {
        return Err(
            "this wharf-runc is dynamically linked and cannot run inside a container: \
             build it with scripts/build-runc (statically linked)"
                .to_owned(),
        );
    }
    std::env::current_exe().map_err(|e| format!("cannot find wharf-runc's own binary: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(guest: &str, read_only: bool) -> Volume {
        Volume::new("/h", guest, read_only)
    }

    #[test]
    fn linux_mounts_are_not_volumes() {
        for hidden in [
            "/proc",
            "/proc/sys",
            "/sys/fs/cgroup",
            "/dev/shm",
            "/.wharf/x",
            "/",
        ] {
            assert_eq!(volume_args(&volume(hidden, false)), None, "{hidden}");
        }
        assert_eq!(
            volume_args(&volume("/data", true)),
            Some(vec!["--volume".to_owned(), "/data:ro".to_owned()])
        );
        let mut devices = volume("/devices", false);
        devices.identity = Some(DirIdentity { dev: 3, ino: 9 });
        assert_eq!(
            volume_args(&devices),
            Some(
                ["--volume", "/devices", "--identity", "3:9"]
                    .map(str::to_owned)
                    .to_vec()
            )
        );
    }
}
