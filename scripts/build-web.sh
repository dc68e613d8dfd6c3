#!/usr/bin/env bash
# Builds the core wasm bundle of the browser library into web/pkg/ (git-ignored) and prints
# its size, raw and gzipped. No wasm-opt: Debian's binaryen breaks the module
# (../shared/TOOLCHAIN.md). Wasm SIMD (simd128, in every current browser) makes the overview
# and regions about 1.2x faster in Chromium here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
cd "$here/.."

export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:--C target-feature=+simd128}"
cargo build --release --target wasm32-unknown-unknown -p histoseg-wasm
wasm-bindgen --target web --no-typescript --out-dir web/pkg --out-name histoseg_wasm \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/histoseg_wasm.wasm"

wasm=web/pkg/histoseg_wasm_bg.wasm
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
js=$(gzip -9 -c web/pkg/histoseg_wasm.js | wc -c)
echo "core bundle: $wasm $raw bytes, $gz gzipped (+ glue JS $js gzipped)"
