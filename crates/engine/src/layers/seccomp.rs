//! The seccomp allowlist of a guest's threads (the list: `syscalls.rs`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::syscalls;
use crate::config::WallScope;
use crate::error::BoxError;

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

/// Installs the allowlist on the calling thread, or on every thread of the
/// process (`TSYNC`) for [`WallScope::Process`]; `network`: sockets of the
/// Internet families may be made. The filters are compiled once per
/// process (a shim installs them for every container).
pub(super) fn install(network: bool, scope: WallScope) -> Result<(), BoxError> {
    static COMPILED: [OnceLock<Result<[BpfProgram; 2], String>>; 2] =
        [OnceLock::new(), OnceLock::new()];
    let programs = COMPILED[usize::from(network)]
        .get_or_init(|| filters(network, std::process::id()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|message| BoxError::from(message.clone()))?;
    for program in programs {
        // It sets no_new_privs first, as the kernel requires.
        match scope {
            WallScope::Thread => seccompiler::apply_filter(program)?,
            WallScope::Process => seccompiler::apply_filter_all_threads(program)?,
        }
    }
    Ok(())
}

/// The flags glibc's `pthread_create` gives `clone` (nptl's
/// `create_thread`): a thread of this process and nothing else.
const THREAD_FLAGS: i32 = libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_SETTLS
    | libc::CLONE_PARENT_SETTID
    | libc::CLONE_CHILD_CLEARTID;

/// A filter that answers `clone3` with `ENOSYS`, so that threads are made
/// with `clone`, whose flags seccomp can read (a `clone3` argument is a
/// pointer); then the allowlist. The first goes in first, while `seccomp`
/// is still allowed; the allowlist lets `clone3` through, so the first
/// filter's `ENOSYS` is the answer (the stricter action wins).
///
/// Calls that name a process are held to this one (`pid`): `tgkill` only to
/// its own thread group, `prlimit64` only on itself (0 or `pid`).
fn filters(network: bool, pid: u32) -> Result<[BpfProgram; 2], BoxError> {
    let mut allowed: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut allow = |calls: &[libc::c_long]| {
        for call in calls {
            allowed.insert(*call, Vec::new());
        }
    };
    for group in syscalls::ALWAYS {
        allow(group);
    }
    allow(syscalls::ACCEPT);
    if network {
        allow(syscalls::NETWORK);
        allowed.insert(
            libc::SYS_socket,
            [libc::AF_INET, libc::AF_INET6]
                .into_iter()
                .map(|family| arg_is(0, family as u64))
                .collect::<Result<_, _>>()?,
        );
    }
    allowed.insert(libc::SYS_clone3, Vec::new());
    allowed.insert(
        libc::SYS_clone,
        vec![SeccompRule::new(vec![SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::Eq,
            THREAD_FLAGS as u64,
        )?])?],
    );
    allowed.insert(libc::SYS_tgkill, vec![arg_is(0, u64::from(pid))?]);
    allowed.insert(
        libc::SYS_prlimit64,
        vec![arg_is(0, 0)?, arg_is(0, u64::from(pid))?],
    );
    allowed.insert(
        libc::SYS_ioctl,
        [
            libc::TCGETS,
            libc::TIOCGWINSZ,
            libc::FIONBIO,
            libc::FIOCLEX,
            libc::FIONREAD,
        ]
        .into_iter()
        .map(|request| arg_is(1, request))
        .collect::<Result<_, _>>()?,
    );
    let allowlist = SeccompFilter::new(
        allowed,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        ARCH,
    )?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        ARCH,
    )?;
    Ok([clone3.try_into()?, allowlist.try_into()?])
}

fn arg_is(index: u8, value: u64) -> Result<SeccompRule, seccompiler::BackendError> {
    SeccompRule::new(vec![SeccompCondition::new(
        index,
        // Every argument checked this way is 32-bit in the kernel (a
        // family, a request, a pid).
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        value,
    )?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_filters_compile_with_and_without_network() {
        for network in [false, true] {
            let [clone3, allowlist] = filters(network, std::process::id()).expect("filters");
            assert!(!allowlist.is_empty() && !clone3.is_empty());
        }
    }
}
