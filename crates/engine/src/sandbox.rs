//! Builds the WASI context from a run description: only what it names.

use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::error::{Error, boxed};
use crate::spec::{RunSpec, Stdin};

/// A WASI builder holding exactly what `spec` grants.
pub(crate) fn wasi_builder(spec: &RunSpec) -> Result<WasiCtxBuilder, Error> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&spec.args)
        .envs(&spec.env)
        .inherit_stdout()
        .inherit_stderr()
        // No network: no sockets of either kind, no name lookup.
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        // Guests run synchronously on this thread; file I/O need not hop
        // to a worker thread.
        .allow_blocking_current_thread(true);
    if spec.stdin == Stdin::Inherit {
        builder.inherit_stdin();
    }
    if let Some(workdir) = &spec.workdir {
        builder.initial_cwd(workdir);
    }
    for volume in &spec.volumes {
        let perms = if volume.read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        builder
            .preopened_dir(&volume.host, &volume.guest, perms)
            .map_err(|e| Error::Volume {
                host: volume.host.clone(),
                source: boxed(e),
            })?;
    }
    Ok(builder)
}
