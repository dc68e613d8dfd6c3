#!/usr/bin/env bash
# Frame times of the annotation page with 20,000 annotations and 100,000 proposals
# (ANNOTATIONS and PROPOSALS override) while
# panning and zooming, in headless Chromium. Sets up and builds like scripts/test-www.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup-web.sh >/dev/null
source scripts/env.sh
[ -f web/pkg/histoseg_wasm_bg.wasm ] || bash scripts/build-web.sh
if ! cmp -s www/package-lock.json www/node_modules/.histoseg-lock; then
  (cd www && npm ci --no-audit --no-fund)
  cp www/package-lock.json www/node_modules/.histoseg-lock
fi
node bench/annotation_frame.mjs
