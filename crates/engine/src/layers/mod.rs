//! The kernel's wall around a guest: no_new_privs, Landlock and seccomp,
//! applied once its program is compiled and its preopens are open, before
//! any guest instruction runs.
//!
//! In a process that holds one guest ([`WallScope::Process`]) all three
//! hold for every thread of the process. In one that runs many (the shim,
//! [`WallScope::Thread`]) they hold for the calling thread and every thread
//! it starts later (the run's blocking pool, a service's workers), and for
//! nothing else: a daemon's control threads keep their rights. Landlock is
//! best effort unless required: what the kernel's ABI enforces is reported
//! in [`Enforced`].

pub(crate) mod compile;
mod landlock;
mod seccomp;
mod syscalls;
mod threads;

use std::fmt;
use std::path::PathBuf;

use crate::config::WallScope;
use crate::error::Error;
use crate::host::Host;
use crate::spec::RunSpec;
use crate::stop::StopHandle;
use crate::volume::HeldVolume;

/// Whether the kernel's layers wrap the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layers {
    /// no_new_privs, Landlock and seccomp (the default).
    #[default]
    On,
    /// None of them: the guest's thread keeps every right of its user
    /// (`--security-opt no-layers`).
    Off,
}

/// What the kernel enforces around a guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enforced {
    /// `PR_SET_NO_NEW_PRIVS` is set.
    pub no_new_privs: bool,
    /// The kernel's Landlock ABI (0: none).
    pub landlock_abi: u8,
    /// File access is limited to the preopens and the code cache.
    pub landlock_files: bool,
    /// TCP bind and connect are limited to the network policy's ports.
    pub landlock_tcp: bool,
    /// Signals and abstract unix sockets stay within the domain.
    pub landlock_scopes: bool,
    /// The seccomp allowlist is installed.
    pub seccomp: bool,
}

impl Enforced {
    /// Nothing: the layers were turned off.
    pub fn none() -> Self {
        Enforced::default()
    }

    /// What this kernel offers, asked without enforcing anything: Landlock's
    /// ABI (and what it can limit at that ABI) and seccomp filters.
    pub fn available() -> Self {
        // SAFETY: with a null attribute, size 0 and the VERSION flag, the
        // call only returns the ABI (or fails); it makes no ruleset.
        let abi = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                1u32,
            )
        };
        let abi = u8::try_from(abi.max(0)).unwrap_or(u8::MAX);
        // SAFETY: PR_GET_SECCOMP only reads this thread's seccomp mode.
        let seccomp = unsafe { libc::prctl(libc::PR_GET_SECCOMP) } >= 0;
        Enforced {
            no_new_privs: true,
            landlock_abi: abi,
            landlock_files: abi >= 1,
            landlock_tcp: abi >= 4,
            landlock_scopes: abi >= 6,
            seccomp,
        }
    }
}

impl fmt::Display for Enforced {
    /// `no_new_privs landlock(abi 7: files tcp scopes) seccomp`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.no_new_privs {
            parts.push("no_new_privs".to_owned());
        }
        if self.landlock_abi > 0 {
            let what: Vec<&str> = [
                (self.landlock_files, "files"),
                (self.landlock_tcp, "tcp"),
                (self.landlock_scopes, "scopes"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            parts.push(format!(
                "landlock(abi {}: {})",
                self.landlock_abi,
                what.join(" ")
            ));
        }
        if self.seccomp {
            parts.push("seccomp".to_owned());
        }
        if parts.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&parts.join(" "))
    }
}

/// Walls in the calling thread, or the whole process, as `host` says (see
/// [`WallScope`]) with what `spec` and its `volumes` give, and tells `stop`
/// what holds. The program's compiled code is loaded before: nothing of
/// the code cache stays reachable through the wall.
pub(crate) fn wall_in(
    host: &Host,
    spec: &RunSpec,
    volumes: &[HeldVolume],
    stop: &StopHandle,
) -> Result<(), Error> {
    let enforced = apply(spec, volumes, host.wall(), host.require_landlock())?;
    stop.set_enforced(enforced);
    Ok(())
}

fn apply(
    spec: &RunSpec,
    volumes: &[HeldVolume],
    scope: WallScope,
    require_landlock: bool,
) -> Result<Enforced, Error> {
    if spec.layers == Layers::Off {
        tracing::debug!(program = %spec.program.display(), "kernel layers: off");
        return Ok(Enforced::none());
    }
    let layer_error = |layer| move |source| Error::Layers { layer, source };
    if require_landlock && !Enforced::available().landlock_files {
        return Err(layer_error("landlock")(
            "this kernel has no Landlock, and WHARF_REQUIRE_LANDLOCK asks for it".into(),
        ));
    }
    if scope == WallScope::Process {
        threads::wait_until_alone().map_err(layer_error("landlock"))?;
    }
    let mut readable = Vec::new();
    if spec.network.needs_name_lookup() {
        readable.extend(landlock::NAME_LOOKUP_FILES.iter().map(PathBuf::from));
    }
    let mut enforced =
        landlock::restrict(spec, volumes, &readable, scope).map_err(layer_error("landlock"))?;
    if require_landlock && !enforced.landlock_files {
        return Err(layer_error("landlock")(
            "Landlock was not enforced, and WHARF_REQUIRE_LANDLOCK asks for it".into(),
        ));
    }
    seccomp::install(!spec.network.denies_all(), scope).map_err(layer_error("seccomp"))?;
    // Landlock sets it when the kernel has Landlock; installing a filter
    // sets it in any case.
    enforced.no_new_privs = true;
    enforced.seccomp = true;
    tracing::debug!(program = %spec.program.display(), "kernel layers: {enforced}");
    Ok(enforced)
}
