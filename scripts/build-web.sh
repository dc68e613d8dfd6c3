#!/usr/bin/env bash
# Builds the two wasm bundles of the browser library (git-ignored) and prints their sizes, raw
# and gzipped:
#   web/pkg/histoseg_wasm*             the core: slides, regions, fragments, filters, formats;
#   web/pkg-inference/histoseg_inference*  the same plus the models (burn: WebGPU, CPU).
# `HISTOSEG_BUNDLES=core` builds the core only. No wasm-opt: Debian's binaryen breaks the
# module (../shared/TOOLCHAIN.md). Wasm SIMD (simd128, in every current browser) makes the
# overview and regions about 1.2x faster in Chromium here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/env.sh"
cd "$here/.."

export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:--C target-feature=+simd128}"
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/histoseg_wasm.wasm"

# bundle NAME OUT_DIR OUT_NAME [cargo features...]
bundle() {
  local name=$1 out=$2 stem=$3
  shift 3
  cargo build --release --target wasm32-unknown-unknown -p histoseg-wasm "$@"
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "$stem" "$wasm"
  local raw gz js
  raw=$(stat -c %s "$out/${stem}_bg.wasm")
  gz=$(gzip -9 -c "$out/${stem}_bg.wasm" | wc -c)
  js=$(gzip -9 -c "$out/$stem.js" | wc -c)
  echo "$name bundle: $out/${stem}_bg.wasm $raw bytes, $gz gzipped (+ glue JS $js gzipped)"
}

bundle core web/pkg histoseg_wasm
if [ "${HISTOSEG_BUNDLES:-all}" != core ]; then
  bundle inference web/pkg-inference histoseg_inference --features inference
fi
