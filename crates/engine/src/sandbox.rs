//! Builds the WASI context from a run description: only what it names.

use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::fs::FileTypeExt as _;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};

use std::sync::Arc;

use wasmtime_wasi::cli::{AsyncStdinStream, InputFile, OutputFile};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::error::{Error, boxed};
use crate::network::NetworkPolicy;
use crate::resolved::ResolvedNames;
use crate::spec::{Output, RunSpec, Stdin};
use crate::stdio;
use crate::volume::HeldVolume;

/// A WASI builder holding exactly what `spec` grants, its files through
/// `volumes` (the spec's, held).
pub(crate) fn wasi_builder(
    spec: &RunSpec,
    volumes: &[HeldVolume],
    names: &Arc<ResolvedNames>,
) -> Result<WasiCtxBuilder, Error> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&spec.args)
        .envs(&spec.env)
        // Blocking host calls stay futures (a sleep is a timer, file I/O
        // goes to the blocking pool), so a stop can drop them at once.
        .allow_blocking_current_thread(false);
    apply_network_policy(&mut builder, &spec.network, names);
    match &spec.stdin {
        Stdin::Empty => {}
        Stdin::Inherit => {
            builder.inherit_stdin();
        }
        Stdin::File(path) => {
            let file = stdio::open_input(path)?;
            if file.metadata().is_ok_and(|m| m.file_type().is_fifo()) {
                // Read through the run's reactor: a guest waiting for input
                // can then be stopped at once (see `run::until_stopped`).
                let pipe = tokio::net::unix::pipe::Receiver::from_file(file).map_err(|source| {
                    Error::Stdio {
                        path: path.clone(),
                        source,
                    }
                })?;
                builder.stdin(AsyncStdinStream::new(pipe));
            } else {
                builder.stdin(InputFile::new(file));
            }
        }
    }
    match &spec.stdout {
        Output::Inherit => {
            builder.inherit_stdout();
        }
        Output::File(path) => {
            builder.stdout(OutputFile::new(stdio::open_output(path)?));
        }
        Output::Null => {}
    }
    match &spec.stderr {
        Output::Inherit => {
            builder.inherit_stderr();
        }
        Output::File(path) => {
            builder.stderr(OutputFile::new(stdio::open_output(path)?));
        }
        Output::Null => {}
    }
    if let Some(workdir) = &spec.workdir {
        builder.initial_cwd(workdir);
    }
    let workdir = spec
        .workdir
        .as_deref()
        .and_then(|dir| workdir_preopen(volumes, dir));
    let preopens = volumes
        .iter()
        .map(|volume| (volume.proc_path(), volume.guest.as_str(), volume.read_only))
        .chain(workdir.as_ref().map(|w| (w.path.clone(), ".", w.read_only)));
    for (host, guest, read_only) in preopens {
        let perms = if read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        // Through the held descriptor's magic link: the very directory
        // that was opened and checked, whatever its name leads to now.
        builder
            .preopened_dir(&host, guest, perms)
            .map_err(|e| Error::Volume {
                host,
                source: boxed(e),
            })?;
    }
    Ok(builder)
}

/// Sockets only as far as `policy` allows: none at all by default; with
/// rules, TCP or UDP sockets exist only for schemes a rule names, connects
/// and datagrams go only where a rule allows (an address a rule names, or
/// one the guest's own allowed lookups returned, `names`: see
/// [`crate::names`]), and nothing listens but where a listen rule allows
/// (otherwise a bind is allowed only as the implicit one of a connect: any
/// address, port 0). No check looks a name up.
fn apply_network_policy(
    builder: &mut WasiCtxBuilder,
    policy: &NetworkPolicy,
    names: &Arc<ResolvedNames>,
) {
    builder
        .allow_tcp(policy.allows_scheme("tcp"))
        .allow_udp(policy.allows_scheme("udp"))
        .allow_ip_name_lookup(policy.allows_scheme("tcp") || policy.allows_scheme("udp"));
    let policy = Arc::new(policy.clone());
    let names = names.clone();
    builder.socket_addr_check(move |addr, purpose| {
        let (policy, names) = (policy.clone(), names.clone());
        Box::pin(async move {
            let allowed = match purpose {
                SocketAddrUse::TcpConnect => policy.allows_address("tcp", addr, &names),
                SocketAddrUse::UdpSend => policy.allows_address("udp", addr, &names),
                // From anyone once a listen rule lets it take datagrams, or
                // from a peer it may send to.
                SocketAddrUse::UdpReceive => {
                    policy.listens("udp") || policy.allows_address("udp", addr, &names)
                }
                SocketAddrUse::TcpBind => policy.allows_bind("tcp", addr),
                SocketAddrUse::UdpBind => policy.allows_bind("udp", addr),
                SocketAddrUse::TcpListen => policy.allows_listen("tcp", addr),
                // Whoever may connect to a socket the policy let listen.
                SocketAddrUse::TcpAccept => true,
            };
            if !allowed {
                tracing::info!(%addr, ?purpose, "socket use denied by the network policy");
            }
            allowed
        })
    });
}

/// The working directory as an extra preopen named `.`, when it lies inside
/// a volume. Guests built on wasi-libc for preview 1 ignore the host's
/// initial working directory; they resolve relative paths through a `.`
/// preopen instead. The directory is opened beneath the volume's held
/// descriptor (`openat2` with `RESOLVE_BENEATH`), so no symlink — including
/// one swapped in after any check — leads it out of the volume, and the
/// preopen is made from that descriptor. `None` when the directory is not
/// inside a volume, does not exist, or resolves outside its volume.
fn workdir_preopen(volumes: &[HeldVolume], workdir: &str) -> Option<WorkdirPreopen> {
    let (volume, rest) = volumes
        .iter()
        .filter_map(|v| Some((v, Path::new(workdir).strip_prefix(&v.guest).ok()?)))
        .max_by_key(|(v, _)| Path::new(&v.guest).components().count())?;
    if rest.components().any(|c| c == Component::ParentDir) {
        return None;
    }
    let rest = if rest.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rest
    };
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    let dir = rustix::fs::openat2(volume.dir(), rest, flags, Mode::empty(), resolve).ok()?;
    Some(WorkdirPreopen {
        path: PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd())),
        read_only: volume.read_only,
        _dir: dir,
    })
}

/// The `.` preopen: the path its descriptor's magic link has, and the
/// descriptor (held until the builder has opened it).
struct WorkdirPreopen {
    path: PathBuf,
    read_only: bool,
    _dir: OwnedFd,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Volume;

    fn held(host: &Path, guest: &str, read_only: bool) -> Vec<HeldVolume> {
        HeldVolume::open_all(&[Volume::new(host, guest, read_only)]).expect("open the volume")
    }

    #[test]
    fn workdir_cannot_climb_out_of_its_volume() {
        let dir = tempfile::tempdir().expect("dir");
        let volumes = held(dir.path(), "/data", true);
        assert!(workdir_preopen(&volumes, "/data/../etc").is_none());
        assert!(workdir_preopen(&volumes, "/elsewhere").is_none());
        assert!(workdir_preopen(&volumes, "/database").is_none());
        let found = workdir_preopen(&volumes, "/data").expect("inside the volume");
        assert!(found.read_only);
        assert!(
            workdir_preopen(&volumes, "/data/").is_some(),
            "a trailing slash"
        );
    }

    #[test]
    fn workdir_through_a_symlink_out_of_its_volume_is_not_preopened() {
        let dir = tempfile::tempdir().expect("dir");
        let volume = dir.path().join("volume");
        std::fs::create_dir(&volume).expect("volume");
        std::os::unix::fs::symlink("/etc", volume.join("out")).expect("absolute link");
        std::os::unix::fs::symlink("../", volume.join("up")).expect("relative link");
        std::fs::create_dir(volume.join("in")).expect("in");
        std::os::unix::fs::symlink("in", volume.join("inside")).expect("inside link");
        let volumes = held(&volume, "/data/", false);
        assert!(workdir_preopen(&volumes, "/data/out").is_none());
        assert!(workdir_preopen(&volumes, "/data/up").is_none());
        assert!(workdir_preopen(&volumes, "/data/inside").is_some());
    }

    #[test]
    fn workdir_is_the_directory_it_was_when_the_run_began() {
        let dir = tempfile::tempdir().expect("dir");
        let volume = dir.path().join("volume");
        std::fs::create_dir_all(volume.join("work")).expect("work");
        std::fs::write(volume.join("work/mark"), "inside").expect("mark");
        let volumes = held(&volume, "/data", false);
        let found = workdir_preopen(&volumes, "/data/work").expect("workdir");
        // Swapped for a link out of the volume after it was opened.
        std::fs::rename(volume.join("work"), volume.join("old")).expect("move");
        std::os::unix::fs::symlink("/etc", volume.join("work")).expect("link");
        let mark = std::fs::read_to_string(found.path.join("mark")).expect("read");
        assert_eq!(mark, "inside");
        assert!(
            workdir_preopen(&volumes, "/data/work").is_none(),
            "opened again, the link leads out"
        );
    }
}
