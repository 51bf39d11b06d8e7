#!/usr/bin/env bash
# Builds the browser playground into target/playground/: the scaleguard-playground cdylib (release profile,
# wasm32-unknown-unknown), its JavaScript bindings by wasm-bindgen (--target web) of the version the crate
# pins, `wasm-opt -Oz` when Debian's binaryen is installed, and the static site (playground/site/).
# Needs the target and that wasm-bindgen-cli (`make deps`). Used by `make playground`.
set -euo pipefail
cd "$(dirname "$0")/.."

target=wasm32-unknown-unknown
out=target/playground
# wasm-bindgen of the version the workspace pins (`wasm-bindgen = "=X.Y.Z"`), as scripts/deps.sh reads it.
bash scripts/deps.sh check "target:$target" wasm-bindgen

# Unstripped, so wasm-bindgen reads the module's target_features section (the symbols go below).
CARGO_PROFILE_RELEASE_STRIP=false cargo build --release --target "$target" -p scaleguard-playground
module="target/$target/release/scaleguard_playground.wasm"
if command -v wasm-opt > /dev/null; then
    # Before wasm-bindgen: binaryen 108 (Debian 12) mistypes the externref table wasm-bindgen adds, so
    # it optimises cargo's module, whose exports (wasm-bindgen's descriptors among them) it keeps.
    optimised=target/playground-opt/scaleguard_playground.wasm
    mkdir -p "$(dirname "$optimised")"
    # The features Rust's wasm32 targets turn on by default.
    wasm-opt -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-mutable-globals \
        --enable-nontrapping-float-to-int --enable-sign-ext --enable-reference-types \
        --enable-multivalue "$module" -o "$optimised"
    echo "wasm-opt -Oz: $(stat -c %s "$module") -> $(stat -c %s "$optimised") bytes"
    module=$optimised
else
    echo "wasm-opt not found (Debian package binaryen): the module is left as cargo built it"
fi
rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" "$module"
wasm="$out/scaleguard_playground_bg.wasm"
cp -r playground/site/. "$out/"
printf '%-45s %8d bytes\n' "$wasm" "$(stat -c %s "$wasm")"
echo "the site is in $out/: serve it, e.g. python3 -m http.server -d $out 8000 --bind 127.0.0.1"
