#!/usr/bin/env bash
# Our preprocessing chain against OpenCV's on real BreCaHAD images, one core each, one run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release -p histoseg-core --example time_preprocess
"$HISTOSEG_VENV/bin/python" bench/preprocess_vs_opencv.py "$CARGO_TARGET_DIR/release/examples/time_preprocess" "${1:-30}"
