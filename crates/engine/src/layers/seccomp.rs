//! The seccomp allowlist of a guest's threads (the list: `syscalls.rs`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::syscalls;
use crate::error::BoxError;

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

/// Installs the allowlist on the calling thread; `network`: sockets of the
/// Internet families may be made. The filters are compiled once per
/// process (a shim installs them for every container).
pub(super) fn install(network: bool) -> Result<(), BoxError> {
    static COMPILED: [OnceLock<Result<[BpfProgram; 2], String>>; 2] =
        [OnceLock::new(), OnceLock::new()];
    let programs = COMPILED[usize::from(network)]
        .get_or_init(|| filters(network).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|message| BoxError::from(message.clone()))?;
    for program in programs {
        // It sets no_new_privs first, as the kernel requires.
        seccompiler::apply_filter(program)?;
    }
    Ok(())
}

/// A filter that answers `clone3` with `ENOSYS`, so that threads are made
/// with `clone`, whose flags seccomp can read (a `clone3` argument is a
/// pointer); then the allowlist. The first goes in first, while `seccomp`
/// is still allowed; the allowlist lets `clone3` through, so the first
/// filter's `ENOSYS` is the answer (the stricter action wins).
fn filters(network: bool) -> Result<[BpfProgram; 2], BoxError> {
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
            SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64),
            libc::CLONE_THREAD as u64,
        )?])?],
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
        // Both arguments checked are 32-bit in the kernel (int, unsigned int).
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
            let [clone3, allowlist] = filters(network).expect("filters");
            assert!(!allowlist.is_empty() && !clone3.is_empty());
        }
    }
}
