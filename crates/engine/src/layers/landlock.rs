//! Landlock: the guest's thread reaches only its preopens (with the rights
//! their mode gives) and, where the kernel's ABI
//! has it, the TCP ports its network policy names.

use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, NetPort,
    PathBeneath, PathFd, RestrictSelfAttr, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    Scope,
};

use super::enforced::Enforced;
use crate::config::WallScope;
use crate::error::BoxError;
use crate::spec::{Output, RunSpec, Stdin};
use crate::volume::HeldVolume;

/// The newest ABI wharf asks for; older kernels enforce what they have.
const WANTED: ABI = ABI::V7;

/// What a name lookup reads (glibc's resolver and its NSS modules).
pub(super) const NAME_LOOKUP_FILES: &[&str] = &[
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/ld.so.cache",
    "/lib",
    "/lib64",
    "/usr/lib",
];

/// Restricts the calling thread (and threads it starts; every thread with
/// [`WallScope::Process`]) to `volumes` (the spec's, held) and to
/// `readable` (read-only); paths that do not exist are skipped.
pub(super) fn restrict(
    spec: &RunSpec,
    volumes: &[HeldVolume],
    readable: &[PathBuf],
    scope: WallScope,
) -> Result<Enforced, BoxError> {
    let tcp = crate::network::tcp_ports(&spec.network);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(WANTED))?
        .scope(Scope::from_all(WANTED))?;
    if tcp.is_some() {
        ruleset = ruleset.handle_access(AccessNet::from_all(WANTED))?;
    }
    // Every thread at once where the kernel can (ABI 8); below it the
    // caller made sure it is the only thread.
    let mut created = ruleset
        .create()?
        .no_new_privs(true)
        .all_threads(scope == WallScope::Process)?;
    for volume in volumes {
        let access = if volume.read_only {
            read_only()
        } else {
            read_write()
        };
        // The descriptor the guest's preopen was made from, not its path.
        created = created.add_rule(PathBeneath::new(volume.dir(), access))?;
    }
    for (path, access) in stdio_files(spec) {
        created = created.add_rule(beneath(path, access)?)?;
    }
    for path in readable.iter().filter(|path| Path::exists(path)) {
        created = created.add_rule(beneath(path, read_only())?)?;
    }
    if let Some(ports) = &tcp {
        for port in &ports.connect {
            created = created.add_rule(NetPort::new(*port, AccessNet::ConnectTcp))?;
        }
        for port in &ports.bind {
            created = created.add_rule(NetPort::new(*port, AccessNet::BindTcp))?;
        }
    }
    let status = created.restrict_self()?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi as u8,
        LandlockStatus::NotEnabled | LandlockStatus::NotImplemented => 0,
    };
    let on = status.ruleset != RulesetStatus::NotEnforced;
    Ok(Enforced {
        no_new_privs: status.no_new_privs,
        landlock_abi: abi,
        landlock_files: on && abi >= 1,
        landlock_tcp: on && abi >= 4 && tcp.is_some(),
        landlock_scopes: on && abi >= 6,
        seccomp: false,
    })
}

/// The stdio files a run opens by name (a service opens them for each
/// request): each with only the right its direction needs.
fn stdio_files(spec: &RunSpec) -> Vec<(&Path, BitFlags<AccessFs>)> {
    let mut files = Vec::new();
    if let Stdin::File(path) = &spec.stdin {
        files.push((path.as_path(), BitFlags::from(AccessFs::ReadFile)));
    }
    for output in [&spec.stdout, &spec.stderr] {
        // Read too: a fifo is opened read-write, so that opening never waits.
        if let Output::File(path) = output {
            files.push((path.as_path(), AccessFs::ReadFile | AccessFs::WriteFile));
        }
    }
    files
}

/// A rule for `path`: a file takes only the rights a file can have.
fn beneath(path: &Path, access: BitFlags<AccessFs>) -> Result<PathBeneath<PathFd>, BoxError> {
    let access = if path.is_dir() {
        access
    } else {
        access & AccessFs::from_file(WANTED)
    };
    Ok(PathBeneath::new(PathFd::new(path)?, access))
}

fn read_only() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir
}

/// Everything WASI can do to a tree: no execute, no devices, no sockets.
fn read_write() -> BitFlags<AccessFs> {
    read_only()
        | AccessFs::WriteFile
        | AccessFs::RemoveDir
        | AccessFs::RemoveFile
        | AccessFs::MakeDir
        | AccessFs::MakeReg
        | AccessFs::MakeSym
        | AccessFs::Refer
        | AccessFs::Truncate
}
