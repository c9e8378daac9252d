//! Builds the WASI context from a run description: only what it names.

use std::os::unix::fs::FileTypeExt as _;

use wasmtime_wasi::cli::{AsyncStdinStream, InputFile, OutputFile};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::error::{Error, boxed};
use crate::spec::{Output, RunSpec, Stdin, Volume};
use crate::stdio;

/// A WASI builder holding exactly what `spec` grants.
pub(crate) fn wasi_builder(spec: &RunSpec) -> Result<WasiCtxBuilder, Error> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&spec.args)
        .envs(&spec.env)
        // No network: no sockets of either kind, no name lookup.
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        // Blocking host calls stay futures (a sleep is a timer, file I/O
        // goes to the blocking pool), so a stop can drop them at once.
        .allow_blocking_current_thread(false);
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
        .and_then(|dir| workdir_volume(spec, dir));
    for volume in spec.volumes.iter().chain(&workdir) {
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

/// The working directory as an extra preopen named `.`, when it lies inside
/// a volume. Guests built on wasi-libc for preview 1 ignore the host's
/// initial working directory; they resolve relative paths through a `.`
/// preopen instead. `None` when the directory is not inside a volume, does
/// not exist, or resolves (through a symlink) outside its volume.
fn workdir_volume(spec: &RunSpec, workdir: &str) -> Option<Volume> {
    let volume = spec
        .volumes
        .iter()
        .filter(|v| within(workdir, &v.guest))
        .max_by_key(|v| v.guest.len())?;
    let rest = workdir[volume.guest.len()..].trim_start_matches('/');
    if rest.split('/').any(|part| part == "..") {
        return None;
    }
    let host = volume.host.join(rest).canonicalize().ok()?;
    let root = volume.host.canonicalize().ok()?;
    (host.starts_with(&root) && host.is_dir()).then(|| Volume {
        host,
        guest: ".".to_owned(),
        read_only: volume.read_only,
    })
}

/// Whether guest path `path` is `dir` or below it.
fn within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_path_containment() {
        assert!(within("/data", "/data"));
        assert!(within("/data/x", "/data"));
        assert!(within("/data/x", "/"));
        assert!(!within("/database", "/data"));
    }

    #[test]
    fn workdir_cannot_climb_out_of_its_volume() {
        let tmp = std::env::temp_dir();
        let mut spec = RunSpec::new("x.wasm");
        spec.volumes.push(Volume {
            host: tmp.clone(),
            guest: "/data".to_owned(),
            read_only: true,
        });
        assert!(workdir_volume(&spec, "/data/../etc").is_none());
        assert!(workdir_volume(&spec, "/elsewhere").is_none());
        let found = workdir_volume(&spec, "/data").expect("inside the volume");
        assert_eq!(found.guest, ".");
        assert!(found.read_only);
    }
}
