//! What a container runs, decided once for every face: a program file, an
//! image's program with the image's defaults ([`image_run`]), or an OCI
//! runtime spec's ([`crate::run`]). A face says what it was asked; the
//! guest's program, argv, environment, working directory and files come
//! from here, and the face puts its flags over them.
//!
//! From an image, as Docker runs one: its files at `/`, read-only (the
//! unpacked tree is shared by every run of the image, so no run can change
//! what the next one sees; data a guest writes goes to volumes), its `Env`,
//! its `WorkingDir`, and argv = Entrypoint + Cmd, where an entrypoint
//! override replaces the first (and drops Cmd) and arguments replace the
//! second. Wasm artifacts and component layers carry only the module: the
//! guest gets no files, argv is the image's name and the arguments.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use wharf_engine::RunSpec;
use wharf_image::store::Shape;
use wharf_image::{Image, Store};

use crate::LifecycleError;

/// The first bytes of every binary WebAssembly module and component.
const WASM_MAGIC: &[u8; 4] = b"\0asm";

/// What a request says over an image's run (Docker's `--entrypoint` and
/// the arguments after the image), or over a program file's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides<'a> {
    /// Replaces the image's Entrypoint (and drops its Cmd).
    pub entrypoint: Option<&'a str>,
    /// Replace the image's Cmd; follow a program file's name.
    pub args: &'a [String],
}

/// Whether a program argument names a file rather than an image: it
/// exists, ends in `.wasm` or `.wat`, or is a path (`/…`, `./…`, `../…`).
pub fn names_a_file(program: &str) -> bool {
    Path::new(program).exists()
        || has_wasm_name(program)
        || ["/", "./", "../"].iter().any(|p| program.starts_with(p))
}

/// Whether `program` is named as Wasm is: `.wasm` or `.wat`.
pub fn has_wasm_name(program: &str) -> bool {
    program.ends_with(".wasm") || program.ends_with(".wat")
}

/// Whether the file at `path` starts with the binary Wasm magic.
pub fn starts_with_magic(path: &Path) -> std::io::Result<bool> {
    let mut head = Vec::with_capacity(WASM_MAGIC.len());
    std::fs::File::open(path)?
        .take(WASM_MAGIC.len() as u64)
        .read_to_end(&mut head)?;
    Ok(head == WASM_MAGIC)
}

/// The run of a program file: argv is the file's name (as wasmtime and a
/// shell give it) and the arguments.
pub fn file_run(program: &str, overrides: Overrides) -> Result<RunSpec, LifecycleError> {
    if overrides.entrypoint.is_some() {
        return Err(LifecycleError::EntrypointOfFile);
    }
    let mut run = RunSpec::new(program);
    if let Some(name) = Path::new(program).file_name() {
        run.args[0] = name.to_string_lossy().into_owned();
    }
    run.args.extend(overrides.args.iter().cloned());
    Ok(run)
}

/// The run of `image` (stored in `store`) with `overrides` over its
/// defaults (see the module docs).
pub fn image_run(
    store: &Store,
    image: &Image,
    overrides: Overrides,
) -> Result<RunSpec, LifecycleError> {
    match image.shape {
        Shape::Docker => files_run(store, image, overrides),
        Shape::Artifact | Shape::Component => module_run(store, image, overrides),
    }
}

/// The file of the program a plain run of `image` runs: the module of an
/// artifact, or the image's Entrypoint (else Cmd) in its files; `None` when
/// the image names none.
pub fn image_program(store: &Store, image: &Image) -> Result<Option<PathBuf>, LifecycleError> {
    match image_run(store, image, Overrides::default()) {
        Ok(run) => Ok(Some(run.program)),
        Err(LifecycleError::NoImageProgram | LifecycleError::NoModuleLayer) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Docker's argv: Entrypoint + Cmd, an entrypoint override replacing the
/// first and dropping the second, arguments replacing the second.
fn argv(entrypoint: &[String], cmd: &[String], overrides: Overrides) -> Vec<String> {
    let mut argv: Vec<String> = match overrides.entrypoint {
        Some(entrypoint) => vec![entrypoint.to_owned()],
        None => entrypoint.to_vec(),
    };
    if !overrides.args.is_empty() {
        argv.extend(overrides.args.iter().cloned());
    } else if overrides.entrypoint.is_none() {
        argv.extend(cmd.iter().cloned());
    }
    argv
}

fn files_run(
    store: &Store,
    image: &Image,
    overrides: Overrides,
) -> Result<RunSpec, LifecycleError> {
    let defaults = image.run_defaults();
    let argv = argv(&defaults.entrypoint, &defaults.cmd, overrides);
    let program = argv.first().ok_or(LifecycleError::NoImageProgram)?;
    let rootfs = store.rootfs(image)?;
    let cwd = defaults.workdir.as_deref().unwrap_or("/");
    // As the OCI path finds it: a bare name on the image's PATH first.
    let found = crate::program_on_path(&rootfs, program, cwd, &defaults.env)?;
    let mut run = RunSpec::new(found);
    run.args = argv;
    run.env = defaults.env;
    run.workdir = defaults.workdir;
    run.volumes = crate::rootfs_volumes(&rootfs, true);
    Ok(run)
}

fn module_run(
    store: &Store,
    image: &Image,
    overrides: Overrides,
) -> Result<RunSpec, LifecycleError> {
    if overrides.entrypoint.is_some() {
        return Err(LifecycleError::EntrypointOfModule);
    }
    let layer = image.module_layer().ok_or(LifecycleError::NoModuleLayer)?;
    let mut run = RunSpec::new(store.blobs().path(&layer.digest));
    run.args = vec![image.name.clone()];
    run.args.extend(overrides.args.iter().cloned());
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn argv_follows_dockers_rules() {
        let entrypoint = strings(&["/app.wasm", "--serve"]);
        let cmd = strings(&["--port", "80"]);
        let args = strings(&["--port", "90"]);
        let none = Overrides::default();
        assert_eq!(
            argv(&entrypoint, &cmd, none),
            strings(&["/app.wasm", "--serve", "--port", "80"])
        );
        let with_args = Overrides {
            entrypoint: None,
            args: &args,
        };
        assert_eq!(
            argv(&entrypoint, &cmd, with_args),
            strings(&["/app.wasm", "--serve", "--port", "90"])
        );
        let replaced = Overrides {
            entrypoint: Some("/other.wasm"),
            args: &[],
        };
        assert_eq!(argv(&entrypoint, &cmd, replaced), strings(&["/other.wasm"]));
        assert_eq!(argv(&[], &cmd, none), cmd, "Cmd alone names the program");
        assert!(argv(&[], &[], none).is_empty());
    }

    #[test]
    fn a_file_run_is_named_by_its_file_and_refuses_an_entrypoint() {
        let args = strings(&["a", "b"]);
        let over = Overrides {
            entrypoint: None,
            args: &args,
        };
        let run = file_run("dir/app.wasm", over).expect("run");
        assert_eq!(run.args, strings(&["app.wasm", "a", "b"]));
        assert_eq!(run.program, PathBuf::from("dir/app.wasm"));
        let entry = Overrides {
            entrypoint: Some("x"),
            args: &[],
        };
        assert!(matches!(
            file_run("app.wasm", entry),
            Err(LifecycleError::EntrypointOfFile)
        ));
    }

    #[test]
    fn the_magic_is_read_not_guessed() {
        let dir = tempfile::tempdir().expect("dir");
        let wasm = dir.path().join("a");
        let short = dir.path().join("b");
        std::fs::write(&wasm, b"\0asm\x01\0\0\0").expect("write");
        std::fs::write(&short, b"\0as").expect("write");
        assert!(starts_with_magic(&wasm).expect("read"));
        assert!(!starts_with_magic(&short).expect("read"));
        assert!(starts_with_magic(&dir.path().join("missing")).is_err());
    }
}
