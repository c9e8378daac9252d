//! `wharf version`, `info`, `system df` and `system prune`: what wharf is
//! built with, what it runs on, and what its store holds.

use std::path::Path;

use serde_json::{Value, json};
use wharf_engine::{Compiler, Enforced, WASI_VERSIONS, WASMTIME_VERSION};

use super::Outcome;
use crate::cli::{FormatArgs, SystemPruneArgs};
use crate::format::Format;
use crate::paths::{self, dir_size};
use crate::progress::human_size;
use crate::{report, volumes};

const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn version(args: FormatArgs) -> Outcome {
    let engine = json!({
        "Version": VERSION,
        "Wasmtime": WASMTIME_VERSION,
        "Wasi": WASI_VERSIONS,
        "Os": std::env::consts::OS,
        "Arch": std::env::consts::ARCH,
    });
    // wharf has no daemon: the engine that runs containers is this binary,
    // so Docker's `.Server` is the same as `.Client`.
    let mut server = engine.clone();
    server["Components"] = json!([
        { "Name": "Engine", "Version": VERSION },
        { "Name": "Wasmtime", "Version": WASMTIME_VERSION },
    ]);
    let value = json!({ "Client": engine, "Server": server });
    if print_one(&args.format, &value)? {
        return Ok(0);
    }
    println!("Client:");
    println!(" Version:           {VERSION}");
    println!(
        " OS/Arch:           {}/{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    println!();
    println!("Server: (none: wharf has no daemon; this binary is the engine)");
    println!(" Engine:");
    println!("  Version:          {VERSION}");
    println!(" Wasmtime:");
    println!("  Version:          {WASMTIME_VERSION}");
    println!(" WASI:");
    println!("  Versions:         {}", WASI_VERSIONS.join(", "));
    Ok(0)
}

pub fn info(args: FormatArgs) -> Outcome {
    let root = paths::wharf_root();
    let containers = super::containers::open()?;
    let (all, _) = containers.list().map_err(|e| report::fail(&e))?;
    let running = all.iter().filter(|c| c.state.is_active()).count();
    let store = super::open_store()?;
    let images = store.refs().list().map_err(|e| report::fail(&e))?.len();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let layers = Enforced::available();
    let value = json!({
        "ID": "",
        "Containers": all.len(),
        "ContainersRunning": running,
        "ContainersPaused": 0,
        "ContainersStopped": all.len() - running,
        "Images": images,
        "ServerVersion": VERSION,
        "Wasmtime": WASMTIME_VERSION,
        "Wasi": WASI_VERSIONS,
        "Compilers": Compiler::ALL.map(Compiler::name),
        "DefaultCompiler": Compiler::default().name(),
        "KernelLayers": layers.to_string(),
        "LandlockRequired": wharf_lifecycle::walls::require_landlock(),
        "KernelVersion": kernel.trim(),
        "OSType": std::env::consts::OS,
        "Architecture": std::env::consts::ARCH,
        "NCPU": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "DockerRootDir": root.display().to_string(),
        "Store": usage(&root),
    });
    if print_one(&args.format, &value)? {
        return Ok(0);
    }
    let text = |key: &str| match &value[key] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let list = |key: &str| {
        value[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    println!("Server:");
    println!(" Containers: {}", text("Containers"));
    println!("  Running: {}", text("ContainersRunning"));
    println!("  Stopped: {}", text("ContainersStopped"));
    println!(" Images: {}", text("Images"));
    println!(" Server Version: {VERSION} (no daemon)");
    println!(" Wasmtime: {WASMTIME_VERSION}");
    println!(" WASI: {}", list("Wasi"));
    println!(
        " Compilers: {} (default {})",
        list("Compilers"),
        text("DefaultCompiler")
    );
    println!(" Kernel Layers: {}", text("KernelLayers"));
    println!(
        " Landlock Required: {}",
        match (value["LandlockRequired"].as_bool(), layers.landlock_files) {
            (Some(true), true) => "yes (WHARF_REQUIRE_LANDLOCK)",
            (Some(true), false) =>
                "yes (WHARF_REQUIRE_LANDLOCK), and this kernel has none: guests will not run",
            _ => "no (set WHARF_REQUIRE_LANDLOCK=1 to refuse guests where the kernel lacks it)",
        }
    );
    println!(" Kernel Version: {}", text("KernelVersion"));
    println!(" OSType: {}", text("OSType"));
    println!(" Architecture: {}", text("Architecture"));
    println!(" CPUs: {}", text("NCPU"));
    println!(" Wharf Root Dir: {}", text("DockerRootDir"));
    for (part, bytes) in value["Store"].as_object().into_iter().flatten() {
        println!("  {part}: {}", human_size(bytes.as_u64().unwrap_or(0)));
    }
    Ok(0)
}

/// Bytes under each part of the root.
fn usage(root: &Path) -> Value {
    json!({
        "Images": dir_size(&root.join("images")) + dir_size(&root.join("rootfs")),
        "Containers": dir_size(&root.join("containers")),
        "Cache": dir_size(&wharf_lifecycle::root::cache_of(root)),
        "Volumes": dir_size(&volumes::root()),
    })
}

pub fn df(args: FormatArgs) -> Outcome {
    let root = paths::wharf_root();
    let containers = super::containers::open()?;
    let (all, _) = containers.list().map_err(|e| report::fail(&e))?;
    let active = all.iter().filter(|c| c.state.is_active()).count();
    let store = super::open_store()?;
    let images = super::images::usage(&store)?;
    let volume_names = volumes::list();
    let used_volumes: Vec<String> = all.iter().flat_map(super::containers::volumes_of).collect();
    let unused_volumes: Vec<&String> = volume_names
        .iter()
        .filter(|v| !used_volumes.contains(v))
        .collect();
    let stopped_bytes: u64 = all
        .iter()
        .filter(|c| !c.state.is_active())
        .map(|c| dir_size(c.dir()))
        .sum();
    let cache = dir_size(&wharf_lifecycle::root::cache_of(&root));
    // Type, total, active, size, reclaimable.
    let rows = [
        (
            "Images",
            images.total,
            images.used,
            images.bytes,
            images.unused_bytes,
        ),
        (
            "Containers",
            all.len(),
            active,
            dir_size(&root.join("containers")),
            stopped_bytes,
        ),
        (
            "Local Volumes",
            volume_names.len(),
            volume_names.len() - unused_volumes.len(),
            dir_size(&volumes::root()),
            unused_volumes
                .iter()
                .map(|v| dir_size(&volumes::root().join(v)))
                .sum(),
        ),
        ("Compiled Code", 0, 0, cache, cache),
    ];
    let rows: Vec<Value> = rows
        .iter()
        .map(|(kind, total, active, bytes, reclaimable)| {
            json!({
                "Type": kind,
                "TotalCount": total,
                "Active": active,
                "Size": human_size(*bytes),
                "Reclaimable": human_size(*reclaimable),
            })
        })
        .collect();
    let format = match &args.format {
        Format::Table => crate::format::parse_format(
            "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
        )
        .map_err(|e| report::fail_with(&e))?,
        other => other.clone(),
    };
    const HEADERS: &[(&str, &str)] = &[
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ];
    format
        .print(&rows, HEADERS)
        .map_err(|e| report::fail_with(&e))?;
    Ok(0)
}

pub fn prune(args: SystemPruneArgs) -> Outcome {
    let mut warning = String::from("This will remove:\n  - all stopped containers\n");
    if args.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    warning.push_str(if args.all {
        "  - all images without at least one container associated to them\n"
    } else {
        "  - all dangling images\n"
    });
    warning.push_str("  - all compiled code (programs compile again on their next run)");
    if !args.force && !super::confirm(&warning) {
        return Ok(0);
    }
    let mut freed = super::containers::prune_stopped()?;
    if args.volumes {
        // As Docker's: anonymous volumes no container uses; named ones stay.
        let store = super::containers::open()?;
        let anonymous: Vec<String> = volumes::list()
            .into_iter()
            .filter(|v| volumes::is_anonymous(v))
            .collect();
        let (all, _) = store.list().map_err(|e| report::fail(&e))?;
        let used: Vec<String> = all.iter().flat_map(super::containers::volumes_of).collect();
        println!("\nDeleted Volumes:");
        for volume in anonymous.iter().filter(|v| !used.contains(v)) {
            println!("{volume}");
        }
        freed += super::containers::remove_unused_volumes(&store, &anonymous)
            .map_err(|m| report::fail_with(&m))?;
    }
    freed += super::images::prune_unused(args.all)?;
    let cache = paths::cache_dir();
    freed += dir_size(&cache);
    if cache.exists() {
        std::fs::remove_dir_all(&cache)
            .map_err(|e| report::fail_with(&format!("cannot clear {}: {e}", cache.display())))?;
    }
    println!("\nTotal reclaimed space: {}", human_size(freed));
    Ok(0)
}

/// Prints `value` as `format` asks; false for `table`.
fn print_one(format: &Format, value: &Value) -> Result<bool, i32> {
    match format
        .render_one(value)
        .map_err(|e| report::fail_with(&e))?
    {
        Some(text) => {
            println!("{text}");
            Ok(true)
        }
        None => Ok(false),
    }
}
