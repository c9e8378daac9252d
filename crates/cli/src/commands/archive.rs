//! `wharf save` and `wharf load`: images as tar archives.

use std::fs;
use std::io::{self, BufReader, BufWriter, IsTerminal, Write};
use std::path::Path;

use wharf_image::archive::{self, ArchiveFormat, ArchivedImage};

use super::{Outcome, open_store, reference};
use crate::cli::{LoadArgs, SaveArgs};
use crate::report;

pub fn save(args: SaveArgs) -> Outcome {
    let store = open_store()?;
    let mut images = Vec::new();
    for text in &args.references {
        let name = reference(text)?;
        let manifest = store.lookup(&name).map_err(|e| report::fail(&e))?;
        images.push(ArchivedImage {
            name: Some(name),
            manifest,
        });
    }
    let format = if args.format == "oci" {
        ArchiveFormat::Oci
    } else {
        ArchiveFormat::Docker
    };
    match &args.output {
        Some(path) => save_to_file(store.blobs(), &images, format, path),
        None => {
            let stdout = io::stdout();
            if stdout.is_terminal() {
                return Err(report::fail_with(
                    "refusing to write an archive to a terminal: use -o FILE or redirect",
                ));
            }
            let mut out = BufWriter::new(stdout.lock());
            archive::save(store.blobs(), &images, format, &mut out)
                .map_err(|e| report::fail(&e))?;
            out.flush()
                .map_err(|e| report::fail_with(&format!("stdout: {e}")))?;
            Ok(0)
        }
    }
}

/// Writes beside `path` and renames: a failed save leaves no half archive.
fn save_to_file(
    blobs: &wharf_image::BlobStore,
    images: &[ArchivedImage],
    format: ArchiveFormat,
    path: &Path,
) -> Outcome {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let result = (|| -> Result<(), String> {
        let file = fs::File::create(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
        let mut out = BufWriter::new(file);
        archive::save(blobs, images, format, &mut out).map_err(|e| report::chain(&e))?;
        let file = out
            .into_inner()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.sync_all()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        fs::rename(&partial, path).map_err(|e| format!("{}: {e}", path.display()))
    })();
    result.map(|()| 0).map_err(|message| {
        let _ = fs::remove_file(&partial);
        report::fail_with(&message)
    })
}

pub fn load(args: LoadArgs) -> Outcome {
    let store = open_store()?;
    let _hold = store.writing().map_err(|e| report::fail(&e))?;
    let loaded = match &args.input {
        Some(path) => {
            let file = fs::File::open(path)
                .map_err(|e| report::fail_with(&format!("{}: {e}", path.display())))?;
            archive::load(store.blobs(), BufReader::new(file))
        }
        None => archive::load(store.blobs(), BufReader::new(io::stdin().lock())),
    }
    .map_err(|e| report::fail(&e))?;
    for image in &loaded {
        match &image.name {
            Some(name) => {
                store
                    .refs()
                    .set(name, &image.manifest)
                    .map_err(|e| report::fail(&e))?;
                println!("Loaded image: {}", name.familiar());
            }
            None => println!("Loaded image ID: {}", image.manifest.digest),
        }
    }
    drop(_hold);
    for image in &loaded {
        super::compile::ahead_of_stored(&store, image.name.as_ref(), &image.manifest, args.quiet);
    }
    Ok(0)
}
