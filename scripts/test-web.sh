#!/usr/bin/env bash
# Browser tests of the npm package (web/): sets up (scripts/setup-web.sh), builds the wasm
# bundle and the native CLI the results are compared with, then runs the tests in headless
# Chromium.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup-web.sh
source scripts/env.sh
bash scripts/build-web.sh
# The native CLI the browser's results are compared with; HISTOSEG_CLI names a built one.
if [ -z "${HISTOSEG_CLI:-}" ]; then
  cargo build -p histoseg-cli
  export HISTOSEG_CLI="$CARGO_TARGET_DIR/debug/histoseg"
fi
(cd web && node --test test/browser.test.mjs test/inference.test.mjs)
