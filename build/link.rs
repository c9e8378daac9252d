//! How wharf's binaries (`wharf` and the shim) are linked, for a fast start:
//!
//! - position-dependent (`-no-pie`): no load-time relocations to apply, so
//!   fewer pages are dirtied;
//! - with GCC's unwinder linked in statically instead of `libgcc_s.so`:
//!   loading that library costs a mapping and its constructor's `cpuid`
//!   probes, each a trap to the hypervisor on a virtual machine. Rust's
//!   standard library asks for `-lgcc_s` itself, so a linker script of that
//!   name in OUT_DIR points the request at `libgcc_eh.a`.
use std::path::PathBuf;

fn main() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("libgcc_s.so"), "INPUT ( -lgcc_eh )\n")
        .expect("write the libgcc_s linker script");
    println!("cargo:rustc-link-search=native={}", out_dir.display());
    println!("cargo:rustc-link-arg=-static-libgcc");
    println!("cargo:rustc-link-arg-bins=-no-pie");
    // Both packages live at crates/NAME.
    println!("cargo:rerun-if-changed=../../build/link.rs");
}
