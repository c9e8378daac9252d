#!/usr/bin/env bash
# Rebuilds hello.wasm from hello.c: the WIT of wasi:http 0.2 (from the
# wasmtime-wasi-http crate's sources), C bindings from wit-bindgen, clang-14
# with wasi-libc for the core module, and the proxy adapter of
# wasi-preview1-component-adapter-provider to make it a component.
# Needs: clang-14 lld-14 wasi-libc (Debian), and from crates.io
# `cargo install wit-bindgen-cli wasm-tools` (the bindings in gen/ are
# committed, so only wasm-tools is needed unless the WIT changes).
set -euo pipefail
cd "$(dirname "$0")"
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
find_crate() { ls -d "$registry"/*/"$1" 2>/dev/null | head -n 1; }
http_crate="$(find_crate wasmtime-wasi-http-48.0.8)"
adapter_crate="$(find_crate wasi-preview1-component-adapter-provider-48.0.8)"
if [[ -z "$http_crate" || -z "$adapter_crate" ]]; then
    echo "build.sh: run 'cargo fetch' in the repository first (it brings the WIT and the adapter)" >&2
    exit 1
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/wit"
cp -r "$http_crate/wit/deps" "$scratch/wit/"
cp world.wit "$scratch/wit/"
if [[ "${REGENERATE:-0}" == 1 ]]; then
    wit-bindgen c --world hello "$scratch/wit" --out-dir gen
fi
clang-14 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -Wl,--strip-all \
    -o "$scratch/hello.core.wasm" hello.c gen/hello.c gen/hello_component_type.o
wasm-tools component new "$scratch/hello.core.wasm" \
    --adapt "wasi_snapshot_preview1=$adapter_crate/artefacts/wasi_snapshot_preview1.proxy.wasm" \
    -o hello.wasm
wasm-tools validate hello.wasm
echo "built $(pwd)/hello.wasm"
