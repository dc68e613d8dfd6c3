#!/usr/bin/env bash
# Open + overview + tissue regions of cmu-1-small-region.svs in headless Chromium against the
# same work natively, in one run; prints both medians and their ratio (goal: within 2x).
# Usage: bench/browser_vs_native.sh [SLIDE] [RUNS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
source scripts/env.sh
bash scripts/setup-web.sh
HISTOSEG_BUNDLES=core bash scripts/build-web.sh
cargo build --release -p histoseg-wasm --example regions_native
slide="${1:-$HISTOSEG_DATA/slides/cmu-1-small-region.svs}"
node bench/browser_vs_native.mjs "$CARGO_TARGET_DIR/release/examples/regions_native" "$slide" "${2:-10}"
