#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: the Rust workspace (unit, property, golden,
# doc and CLI tests on ../shared/data) and the OpenCV parity check on the real TNBC images.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup.sh
source scripts/env.sh

cargo test --workspace --all-targets
cargo test --workspace --doc
cargo build -p histoseg-cli
"$HISTOSEG_VENV/bin/python" tests/opencv_parity.py "$CARGO_TARGET_DIR/debug/histoseg" "$HISTOSEG_DATA/tnbc"
