//! Links the `wharf` binary as a position-dependent executable: with no
//! load-time relocations to apply, it starts faster and dirties fewer pages.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
