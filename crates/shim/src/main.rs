//! containerd-shim-wharf-v1 (being written).

fn main() {}
