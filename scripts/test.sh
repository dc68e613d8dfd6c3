#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: the Rust workspace (unit, property, golden,
# doc and CLI tests on ../shared/data, the model tests on burn's CPU backend and burn-wgpu on
# lavapipe), the OpenCV parity check on the real TNBC images, and the browser tests (library and
# annotation page) in Chromium.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup.sh
source scripts/env.sh

cargo test --workspace --all-targets
cargo test --workspace --doc
# `cargo test --workspace --all-targets` has built target/debug/histoseg with the workspace's
# unified features; a separate `cargo build -p histoseg-cli` would resolve other features and
# rebuild burn.
"$HISTOSEG_VENV/bin/python" tests/opencv_parity.py "$CARGO_TARGET_DIR/debug/histoseg" "$HISTOSEG_DATA/tnbc"
HISTOSEG_CLI="$CARGO_TARGET_DIR/debug/histoseg" bash scripts/test-web.sh
HISTOSEG_CLI="$CARGO_TARGET_DIR/debug/histoseg" bash scripts/test-www.sh
