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
pub(crate) mod enforced;
mod landlock;
mod seccomp;
mod syscalls;
mod threads;

use std::path::PathBuf;

use crate::config::WallScope;
use crate::error::Error;
use crate::host::Host;
use crate::spec::RunSpec;
use crate::stop::StopHandle;
use crate::volume::HeldVolume;
use enforced::{Enforced, Layers};

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
