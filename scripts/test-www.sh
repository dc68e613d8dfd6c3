#!/usr/bin/env bash
# End-to-end tests of the annotation page (www/) and the OpenSeadragon plugin in headless
# Chromium: sets up (scripts/setup-web.sh), builds the wasm bundle, installs the page's pinned
# npm dependencies, then runs www/test/*.test.mjs. Screenshots land in target/screenshots/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup-web.sh
source scripts/env.sh
bash scripts/build-web.sh
stamp=www/node_modules/.histoseg-lock
if ! cmp -s www/package-lock.json "$stamp"; then
  (cd www && npm ci --no-audit --no-fund)
  cp www/package-lock.json "$stamp"
fi
# The model-assistance tests train a small model with the native CLI; HISTOSEG_CLI names a built one.
if [ -z "${HISTOSEG_CLI:-}" ]; then
  cargo build -p histoseg-cli
  export HISTOSEG_CLI="$CARGO_TARGET_DIR/debug/histoseg"
fi
node --test www/test/
echo "screenshots: $(pwd)/target/screenshots/"
