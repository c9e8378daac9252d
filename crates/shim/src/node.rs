//! What a container's spec asks of the node that the node's operator
//! decides: taking the kernel's layers away, and a CPU cgroup.

use wharf_engine::Layers;
use wharf_lifecycle::cgroup::CpuCgroup;

/// The annotation that asks for no kernel layers around a guest.
pub const SECURITY_OPT: &str = "io.wharf.security-opt";

/// The daemon's environment variable that lets containers ask for that.
pub const ALLOW_NO_LAYERS: &str = "WHARF_ALLOW_NO_LAYERS";

/// The kernel's layers for a container: on, unless it is annotated
/// `io.wharf.security-opt=no-layers` and the node's operator allowed that
/// (`WHARF_ALLOW_NO_LAYERS=1` in containerd's environment): whoever may
/// create a container must not be able to take the second wall down alone.
pub fn layers_asked(spec: &wharf_lifecycle::OciSpec) -> Result<Layers, String> {
    match spec.annotation(SECURITY_OPT) {
        None => Ok(Layers::On),
        Some("no-layers") if std::env::var(ALLOW_NO_LAYERS).is_ok_and(|v| v == "1") => {
            Ok(Layers::Off)
        }
        Some("no-layers") => Err(format!(
            "{SECURITY_OPT}=no-layers is refused: this node does not allow containers \
             without the kernel's layers ({ALLOW_NO_LAYERS}=1 in containerd's environment)"
        )),
        Some(other) => Err(format!(
            "{SECURITY_OPT}={other} is not an option: the one option is no-layers"
        )),
    }
}

/// The container's cgroup when its spec limits CPU; without one (not root,
/// no cpu controller) the limit is not applied, and the log says so.
pub fn cpu_cgroup(spec: &wharf_lifecycle::OciSpec, id: &str) -> Option<CpuCgroup> {
    let limit = spec.cpu_limit()?;
    match CpuCgroup::create(&format!("shim-{id}"), Some(&limit), true) {
        Ok(cgroup) => Some(cgroup),
        Err(error) => {
            eprintln!(
                "containerd-shim-wharf-v1: container {id}: the CPU limit is not applied: {}",
                crate::report::chain(&error)
            );
            None
        }
    }
}
